import type { CustomerTotals, RangeQuery } from '../../shared/api.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import type { ProviderId } from '../../shared/providers.js';
import { parseTimeWindow, type TimeWindow } from '../../shared/time-range.js';
import type { Db } from '../store/db.js';
import { windowBounds } from '../store/spend-sql.js';
import { planParams, planWindow } from '../store/rollups.js';
import { cachedStatement } from '../store/statements.js';
import { foldPendingHours, hasPendingHours, pendingHoursFolded, pendingWriteCount } from './pending-hours.js';

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

interface CustomerTotalsRow {
  customer_id: string;
  cost_nano: bigint;
  requests: bigint;
  input_tokens: bigint;
  output_tokens: bigint;
}

type CustomerSums = Array<[provider: string, model: string, customerId: string, costNano: bigint, requests: bigint, inputTokens: bigint, outputTokens: bigint]>;

const CUSTOMER_COLUMNS = 'customer_key, cost_nano, requests, input_tokens, output_tokens';
const CUSTOMER_ROLLUP_COLUMNS = `rows, ${CUSTOMER_COLUMNS}`;

const CUSTOMER_SUMS = 'SUM(rows), SUM(cost_nano), SUM(requests), SUM(input_tokens), SUM(output_tokens)';
const CUSTOMER_COLUMNS_SUMMED = 'rows, cost_nano, requests, input_tokens, output_tokens';

/** The customer rollups' changes not folded into them yet (migration 5), of the days a planned window reads whole. */
const PENDING_IN_WINDOW = `SELECT ${CUSTOMER_ROLLUP_COLUMNS} FROM sdk_customers_pending
  WHERE (day >= @days1From AND day < @days1To) OR (day >= @monthsFrom AND day < @monthsTo) OR (day >= @days2From AND day < @days2To)`;

/**
 * SQL of rows (CUSTOMER_ROLLUP_COLUMNS) whose sums per customer key (a (provider, model, customer)
 * of `sdk_customer_keys`, migration 9) are the SDK hourly rows of a window, with its named
 * parameters: all time from the totals (migration 4), otherwise full months and days from theirs
 * and the hours at the edges from `sdk_usage_hourly_keyed` (planWindow). Changes not folded yet (sdk_customers_pending, day-sized) are added to the days
 * and months they fall in. A group whose `rows` sum to 0 has no hourly row left in the window.
 * `grouped`: every customer key is one row already (all time, nothing pending).
 */
function customerWindowSql(db: Db, window: TimeWindow): { sql: string; params: Record<string, number>; grouped: boolean } {
  foldPendingWrites(db);
  const [from, to] = windowBounds(window);
  const pending = cachedStatement(db, 'SELECT EXISTS (SELECT 1 FROM sdk_customers_pending)').pluck().get() === 1;
  if (from === Number.MIN_SAFE_INTEGER && to === Number.MAX_SAFE_INTEGER) {
    const totals = `SELECT ${CUSTOMER_ROLLUP_COLUMNS} FROM sdk_customers_totals`;
    return { sql: pending ? `${totals} UNION ALL SELECT ${CUSTOMER_ROLLUP_COLUMNS} FROM sdk_customers_pending` : totals, params: {}, grouped: !pending };
  }
  const hours = (n: 1 | 2) => `SELECT 1 AS rows, ${CUSTOMER_COLUMNS} FROM sdk_usage_hourly_keyed WHERE hour >= @raw${n}From AND hour < @raw${n}To`;
  const days = (n: 1 | 2) => `SELECT ${CUSTOMER_ROLLUP_COLUMNS} FROM sdk_customers_daily WHERE day >= @days${n}From AND day < @days${n}To`;
  const parts = [hours(1), days(1), `SELECT ${CUSTOMER_ROLLUP_COLUMNS} FROM sdk_customers_monthly WHERE month >= @monthsFrom AND month < @monthsTo`, days(2), hours(2), ...(pending ? [PENDING_IN_WINDOW] : [])];
  return { sql: parts.join(' UNION ALL '), params: planParams(planWindow(from, to, true)), grouped: false };
}

/** Sums per (provider, model, customer) over a window (customerWindowSql), named from their keys. */
function customerSums(db: Db, window: TimeWindow): CustomerSums {
  const { sql, params, grouped } = customerWindowSql(db, window);
  const sums = grouped
    ? `SELECT ${CUSTOMER_COLUMNS} FROM (${sql}) WHERE rows > 0`
    : `SELECT customer_key, SUM(cost_nano) AS cost_nano, SUM(requests) AS requests, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens
       FROM (${sql}) GROUP BY customer_key HAVING SUM(rows) > 0`;
  const named = `SELECT k.provider, k.model, k.customer_id, s.cost_nano, s.requests, s.input_tokens, s.output_tokens
    FROM (${sums}) AS s JOIN sdk_customer_keys AS k ON k.id = s.customer_key`;
  return cachedStatement(db, named).raw(true).safeIntegers(true).all(params) as CustomerSums;
}

/** Folds the rollups' logged changes once this many have gathered (see writeSdkEvents); readers add up to this many rows meanwhile. */
export const CUSTOMER_FOLD_THRESHOLD = 10_000;

/** How many changes of the customer rollups the pending log holds. */
export function loggedCustomerChanges(db: Db): number {
  return cachedStatement(db, 'SELECT COUNT(*) FROM sdk_customers_pending').pluck().get() as number;
}

/** How many changes of the customer rollups wait to be folded: logged, and SDK writes pending (core/ingest/pending-hours.ts). */
export function pendingCustomerChanges(db: Db): number {
  return loggedCustomerChanges(db) + pendingWriteCount(db);
}

/**
 * Folds the SDK writes pending in `sdk_hourly_pending`, if any, so that a read of the hourly rows
 * or the customer rollups finds them; every reader here does it first. Only those: readers add the
 * logged changes themselves, and folding a long log (written by another program, say) would cost
 * a rendering tens of milliseconds that the quiet second's fold takes off it. Inside a caller's
 * transaction the fold is part of it, and rolls back with it.
 */
function foldPendingWrites(db: Db): void {
  if (hasPendingHours(db)) fold(db, false);
}

/** foldPendingWrites when SDK writes are pending, else null: for a caller that runs the fold apart from its reads (see MetricsSource.pendingWrite). */
export function pendingWritesFold(db: Db): (() => void) | null {
  return hasPendingHours(db) ? () => fold(db, false) : null;
}

/**
 * A value that changes whenever what the customer families report may have changed, and only then
 * (it stays put across a fold, which changes no reported number): how many changes of the customer
 * rollups were ever logged and SDK writes ever stored, the folded ones (migration 8) plus those
 * pending, each numbered from 1 since the last fold. Every change of an SDK hourly row's customer
 * numbers is one of these: the SDK writer's pending writes (core/ingest/pending-hours.ts), and any
 * other through the `sdk_usage_hourly` view logged by its triggers (migration 10). One read, a few
 * microseconds. Read it before the data it keys.
 */
export function customerDataKey(db: Db): number {
  return cachedStatement(
    db,
    'SELECT changes + COALESCE((SELECT MAX(rowid) FROM sdk_customers_pending), 0) + COALESCE((SELECT MAX(id) FROM sdk_hourly_pending), 0) FROM sdk_customers_folded',
  )
    .pluck()
    .get() as number;
}

/** The pending changes summed per (customer key, day) during a fold: a connection's own scratch table. */
const FOLD_GROUPS = 'temp.sdk_customers_fold_by_key';

/**
 * Folds the pending SDK writes into the hourly rows (foldPendingHours), then sums the changes of
 * the customer rollups, theirs and those logged (migration 5), into the daily, monthly and
 * all-time rollups and empties the log, in one transaction: many changes of one (provider, model,
 * customer) become one update per rollup row. The log is sorted and summed once, per day, into a
 * scratch table that the three upserts read in that order; the monthly and all-time upserts add
 * the days of one group one after the other, which sums them without sorting the log twice more
 * (three GROUP BYs over the log were two thirds of a fold). Readers give the same sums before and after.
 */
export function foldCustomerRollups(db: Db): void {
  fold(db, true);
}

/** foldCustomerRollups, of the pending SDK writes only (`withLog` false) or of the log too. */
function fold(db: Db, withLog: boolean): void {
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS ${FOLD_GROUPS} (
    customer_key INTEGER NOT NULL, day INTEGER NOT NULL,
    rows INTEGER NOT NULL, cost_nano INTEGER NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    PRIMARY KEY (customer_key, day)
  ) WITHOUT ROWID`);
  const add = ['rows', 'cost_nano', 'requests', 'input_tokens', 'output_tokens'].map((column) => `${column} = ${column} + excluded.${column}`).join(', ');
  const addPending = cachedStatement(db, `INSERT INTO ${FOLD_GROUPS} VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET ${add}`);
  const logGroups = cachedStatement(db, `INSERT INTO ${FOLD_GROUPS} SELECT customer_key, day, ${CUSTOMER_SUMS} FROM sdk_customers_pending GROUP BY customer_key, day`);
  // "WHERE true": an upsert's SELECT needs a WHERE clause before ON CONFLICT (SQLite's parsing ambiguity).
  const addToRollups = [
    `INSERT INTO sdk_customers_daily SELECT day, customer_key, ${CUSTOMER_COLUMNS_SUMMED} FROM ${FOLD_GROUPS} WHERE true ON CONFLICT DO UPDATE SET ${add}`,
    `INSERT INTO sdk_customers_monthly SELECT CAST(strftime('%s', day, 'unixepoch', 'start of month') AS INTEGER), customer_key, ${CUSTOMER_COLUMNS_SUMMED}
       FROM ${FOLD_GROUPS} WHERE true ON CONFLICT DO UPDATE SET ${add}`,
    `INSERT INTO sdk_customers_totals SELECT customer_key, ${CUSTOMER_COLUMNS_SUMMED} FROM ${FOLD_GROUPS} WHERE true ON CONFLICT DO UPDATE SET ${add}`,
    `DELETE FROM ${FOLD_GROUPS}`,
  ].map((sql) => cachedStatement(db, sql));
  // Keeps customerDataKey where it was: the log's rows and the pending writes are numbered from 1 again after this.
  const countFolded = cachedStatement(db, `UPDATE sdk_customers_folded SET changes = changes + ${withLog ? 'COALESCE((SELECT MAX(rowid) FROM sdk_customers_pending), 0) + ' : ''}?`);
  const emptyLog = cachedStatement(db, 'DELETE FROM sdk_customers_pending');
  db.transaction(() => {
    const pending = foldPendingHours(db);
    if (withLog) logGroups.run();
    for (const [day, sums] of pending.days) {
      for (const [key, sum] of sums) addPending.run(key, day, sum.rows, sum.costNano, sum.requests, sum.inputTokens, sum.outputTokens);
    }
    for (const statement of addToRollups) statement.run();
    countFolded.run(pending.lastId);
    if (withLog) emptyLog.run();
  }).immediate();
  pendingHoursFolded(db);
}

/**
 * Orders text as SQLite's BINARY collation does (UTF-8 bytes), which JS's code-unit order matches
 * except between a surrogate pair (a code point above U+FFFF) and U+E000–U+FFFF.
 */
function compareText(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate && (xSurrogate ? y : x) >= 0xe000) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * Per-customer totals per (provider, model) over a window, from the hourly rollup, for the
 * attribution metric families. The `cap` customers with the most cost in the window (ties: more
 * requests, then by id) keep their id; the rest are summed as `other`, so a scrape never has more
 * than cap + 2 customer values (`other`, and '' for requests that named none). An hour belongs to
 * the window when it starts in it, as usage buckets do. Sums per (provider, model, customer) come
 * from the customer rollups (customerSums); ranking and folding them is done here.
 */
export function queryCustomerSeries(db: Db, window: TimeWindow, cap: number): CustomerSeries[] {
  const rows = customerSums(db, window);
  const totals = new Map<string, { cost: bigint; requests: bigint }>();
  for (const [, , customerId, costNano, requests] of rows) {
    if (customerId === '') continue;
    const total = totals.get(customerId);
    if (total) {
      total.cost += costNano;
      total.requests += requests;
    } else totals.set(customerId, { cost: costNano, requests });
  }
  const kept = new Set(
    [...totals]
      .sort(([a, x], [b, y]) => (x.cost !== y.cost ? (x.cost > y.cost ? -1 : 1) : x.requests !== y.requests ? (x.requests > y.requests ? -1 : 1) : compareText(a, b)))
      .slice(0, Math.max(0, cap))
      .map(([customerId]) => customerId),
  );
  const series = new Map<string, CustomerSeries>();
  for (const [provider, model, customerId, costNano, requests, inputTokens, outputTokens] of rows) {
    const shown = customerId === '' || kept.has(customerId) ? customerId : OTHER_CUSTOMERS;
    const key = `${provider}\u0000${model}\u0000${shown}`;
    const entry = series.get(key);
    if (entry) {
      entry.costNano += costNano;
      entry.requests += Number(requests);
      entry.inputTokens += Number(inputTokens);
      entry.outputTokens += Number(outputTokens);
    } else {
      series.set(key, { provider, model, customerId: shown, costNano, requests: Number(requests), inputTokens: Number(inputTokens), outputTokens: Number(outputTokens) });
    }
  }
  return [...series.values()].sort((a, b) => compareText(a.provider, b.provider) || compareText(a.model, b.model) || compareText(a.customerId, b.customerId));
}

/**
 * The `limit` customers with the most (estimated) cost over a window, optionally of some providers
 * only, for the dashboard. Requests that named no customer are not a customer and are left out.
 * Summed from the customer rollups (customerWindowSql), not from every hourly row of the window.
 */
export function queryCustomerTotals(db: Db, window: TimeWindow, limit: number, providers: readonly ProviderId[] = []): CustomerTotals[] {
  const { sql, params } = customerWindowSql(db, window);
  const providerFilter = providers.length > 0 ? ' AND k.provider IN (SELECT value FROM json_each(@providers))' : '';
  const rows = cachedStatement(
    db,
    `SELECT k.customer_id, SUM(u.cost_nano) AS cost_nano, SUM(u.requests) AS requests, SUM(u.input_tokens) AS input_tokens, SUM(u.output_tokens) AS output_tokens
     FROM (${sql}) AS u JOIN sdk_customer_keys AS k ON k.id = u.customer_key
     WHERE k.customer_id <> ''${providerFilter}
     GROUP BY k.customer_id HAVING SUM(u.rows) > 0
     ORDER BY SUM(u.cost_nano) DESC, SUM(u.requests) DESC, k.customer_id
     LIMIT @limit`,
  )
    .safeIntegers(true)
    .all({ ...params, limit, ...(providers.length > 0 ? { providers: JSON.stringify(providers) } : {}) }) as CustomerTotalsRow[];
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
