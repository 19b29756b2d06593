import type { CustomerTotals, RangeQuery } from '../../shared/api.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import type { ProviderId } from '../../shared/providers.js';
import { parseTimeWindow, type TimeWindow } from '../../shared/time-range.js';
import type { Db } from '../store/db.js';
import { windowBounds } from '../store/spend-sql.js';

/** The customer_id of the customers beyond the cardinality cap, summed. */
export const OTHER_CUSTOMERS = 'other';

/** How many customers the dashboard lists when the request does not say. */
export const DEFAULT_CUSTOMER_LIMIT = 100;

/** SDK totals of one (provider, model, customer) over a window; cost estimated from the price table. */
export interface CustomerSeries {
  provider: string;
  model: string;
  /** '' for requests that named no customer; OTHER_CUSTOMERS for those beyond the cap. */
  customerId: string;
  costNano: bigint;
  requests: number;
  inputTokens: number;
  outputTokens: number;
}

interface SeriesRow {
  provider: string;
  model: string;
  customer_id: string;
  cost_nano: bigint;
  requests: bigint;
  input_tokens: bigint;
  output_tokens: bigint;
}

/**
 * Per-customer totals per (provider, model) over a window, from the hourly rollup, for the
 * attribution metric families. The `cap` customers with the most cost in the window (ties: more
 * requests, then by id) keep their id; the rest are summed as `other`, so a scrape never has more
 * than cap + 2 customer values (`other`, and '' for requests that named none). An hour belongs to
 * the window when it starts in it, as usage buckets do.
 */
export function queryCustomerSeries(db: Db, window: TimeWindow, cap: number): CustomerSeries[] {
  const rows = db
    .prepare(
      `WITH hours AS (SELECT * FROM sdk_usage_hourly WHERE hour >= @from AND hour < @to),
       ranked AS (
         SELECT customer_id, ROW_NUMBER() OVER (ORDER BY SUM(cost_nano) DESC, SUM(requests) DESC, customer_id) AS rank
         FROM hours WHERE customer_id <> '' GROUP BY customer_id)
       SELECT provider, model,
         CASE WHEN hours.customer_id = '' OR ranked.rank <= @cap THEN hours.customer_id ELSE '${OTHER_CUSTOMERS}' END AS customer_id,
         SUM(cost_nano) AS cost_nano, SUM(requests) AS requests, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens
       FROM hours LEFT JOIN ranked ON ranked.customer_id = hours.customer_id
       GROUP BY 1, 2, 3
       ORDER BY 1, 2, 3`,
    )
    .safeIntegers(true)
    .all({ ...boundParams(window), cap }) as SeriesRow[];
  return rows.map((row) => ({
    provider: row.provider,
    model: row.model,
    customerId: row.customer_id,
    costNano: row.cost_nano,
    requests: Number(row.requests),
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
  }));
}

/**
 * The `limit` customers with the most (estimated) cost over a window, optionally of some providers
 * only, for the dashboard. Requests that named no customer are not a customer and are left out.
 */
export function queryCustomerTotals(db: Db, window: TimeWindow, limit: number, providers: readonly ProviderId[] = []): CustomerTotals[] {
  const providerFilter = providers.length > 0 ? ` AND provider IN (${providers.map(() => '?').join(', ')})` : '';
  const rows = db
    .prepare(
      `SELECT customer_id, SUM(cost_nano) AS cost_nano, SUM(requests) AS requests, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens
       FROM sdk_usage_hourly
       WHERE hour >= ? AND hour < ? AND customer_id <> ''${providerFilter}
       GROUP BY customer_id
       ORDER BY SUM(cost_nano) DESC, SUM(requests) DESC, customer_id
       LIMIT ?`,
    )
    .safeIntegers(true)
    .all(...windowBounds(window), ...providers, limit) as Array<Omit<SeriesRow, 'provider' | 'model'>>;
  return rows.map((row) => ({
    customerId: row.customer_id,
    costUsd: formatNanoAsDecimal(row.cost_nano),
    requests: Number(row.requests),
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
  }));
}

/** The dashboard API's `getCustomers` over this database (ApiServiceDeps.customers). */
export function customerTotalsSource(db: Db, now: () => number): (query: RangeQuery & { limit?: number }) => CustomerTotals[] {
  return (query) => queryCustomerTotals(db, parseTimeWindow(query.from ?? null, query.to ?? null, now()), query.limit ?? DEFAULT_CUSTOMER_LIMIT, query.providers);
}

function boundParams(window: TimeWindow): { from: number; to: number } {
  const [from, to] = windowBounds(window);
  return { from, to };
}
