import type { Granularity } from '../../shared/api.js';
import { isProviderId, PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import { parseTimeWindow, TimeRangeError, type TimeWindow } from '../../shared/time-range.js';
import type { UsageSource } from '../../shared/usage.js';
import type { Db } from '../store/db.js';
import { COUNTED_ROWS_SQL, SPEND_NANO_SQL, windowBounds } from '../store/spend-sql.js';

/** The file formats of an export. */
export type ExportFormat = 'csv' | 'jsonl';

/** What to export, validated: every field is safe to run. */
export interface ExportQuery {
  format: ExportFormat;
  granularity: Granularity;
  window: TimeWindow;
  /** Empty means every provider. */
  providers: ProviderId[];
  /** Empty means every model. */
  models: string[];
}

/** An export request as people and programs write it (CLI flags, URL parameters, the typed API). */
export interface ExportInput {
  /** `csv` (default), `jsonl`, or `json` (meaning JSON Lines). */
  format?: string | null;
  /** `hour`, `day` (default) or `month`. */
  granularity?: string | null;
  from?: string | null;
  to?: string | null;
  providers?: readonly string[];
  models?: readonly string[];
}

/** A request that cannot be run; the message says what to change. */
export class ExportQueryError extends Error {}

/**
 * How a row's cost reads. `billed` and `estimated` carry a cost. `superseded` rows carry the
 * tokens of days the provider has billed since (their cost is in that day's `cost` rows);
 * `unpriced` rows carry tokens of a model with no known price (no cost until it is billed).
 */
export type ExportCostKind = 'billed' | 'estimated' | 'superseded' | 'unpriced';

/** One exported row: the usage of one group in one period. Times in Unix seconds, UTC. */
export interface ExportRow {
  periodStart: number;
  periodEnd: number;
  provider: ProviderId;
  model: string;
  project: string;
  lineItem: string;
  source: UsageSource;
  costKind: ExportCostKind;
  /** Counted spend in nano-dollars, exactly as the metrics count it. */
  costNano: bigint;
  /** Null when no row of the group reports requests. */
  requests: number | null;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
}

const GRANULARITIES: readonly Granularity[] = ['hour', 'day', 'month'];
const FORMATS: Record<string, ExportFormat> = { csv: 'csv', jsonl: 'jsonl', json: 'jsonl' };
const MAX_FILTER_VALUES = 500;

/** Validates an export request; throws ExportQueryError with a one-line reason. */
export function resolveExportQuery(input: ExportInput, nowMs: number): ExportQuery {
  const formatName = (input.format ?? 'csv').trim().toLowerCase();
  const format = FORMATS[formatName];
  if (!format) throw new ExportQueryError(`format "${formatName.slice(0, 40)}" is not known; use csv, or json / jsonl (JSON Lines)`);
  const granularity = (input.granularity ?? 'day').trim().toLowerCase() as Granularity;
  if (!GRANULARITIES.includes(granularity)) throw new ExportQueryError(`granularity "${granularity.slice(0, 40)}" is not known; use hour, day or month`);
  let window: TimeWindow;
  try {
    window = parseTimeWindow(input.from ?? null, input.to ?? null, nowMs);
  } catch (err) {
    if (err instanceof TimeRangeError) throw new ExportQueryError(err.message);
    throw err;
  }
  const providers = [...new Set(input.providers ?? [])];
  for (const provider of providers) {
    if (!isProviderId(provider)) throw new ExportQueryError(`provider "${provider.slice(0, 40)}" is not known; use ${PROVIDER_IDS.join(', ')}`);
  }
  const models = [...new Set(input.models ?? [])];
  if (models.length > MAX_FILTER_VALUES) throw new ExportQueryError(`at most ${MAX_FILTER_VALUES} models can be named in one export`);
  return { format, granularity, window, providers: providers as ProviderId[], models };
}

const HOUR = 3_600;
const DAY = 86_400;

/**
 * Period bounds per granularity, as SQL over one usage row. Daily buckets (cost endpoints) stay
 * whole under `hour`: their period is the day they bill, so an hour row never claims a day's cost.
 */
const PERIOD_SQL: Record<Granularity, { start: string; end: string }> = {
  hour: {
    start: `bucket_start - bucket_start % (CASE bucket_width WHEN '1h' THEN ${HOUR} ELSE ${DAY} END)`,
    end: `bucket_start - bucket_start % (CASE bucket_width WHEN '1h' THEN ${HOUR} ELSE ${DAY} END) + (CASE bucket_width WHEN '1h' THEN ${HOUR} ELSE ${DAY} END)`,
  },
  day: { start: `bucket_start - bucket_start % ${DAY}`, end: `bucket_start - bucket_start % ${DAY} + ${DAY}` },
  month: {
    start: `CAST(strftime('%s', bucket_start, 'unixepoch', 'start of month') AS INTEGER)`,
    end: `CAST(strftime('%s', bucket_start, 'unixepoch', 'start of month', '+1 month') AS INTEGER)`,
  },
};

const COST_KIND_SQL = `CASE WHEN superseded = 1 THEN 'superseded' WHEN unpriced = 1 THEN 'unpriced' ELSE cost_kind END`;

interface RawRow {
  period_start: bigint;
  period_end: bigint;
  provider: ProviderId;
  model: string;
  project: string;
  line_item: string;
  source: UsageSource;
  row_kind: ExportCostKind;
  cost_nano: bigint;
  requests: bigint | null;
  input_tokens: bigint;
  cached_input_tokens: bigint;
  cache_write_tokens: bigint;
  output_tokens: bigint;
}

/**
 * Streams the export's rows from SQLite, grouped in SQL per (period, provider, model, project,
 * line item, source, cost kind) and ordered by period. A bucket belongs to the window when its
 * start does, and spend is counted as the metrics count it, so the rows add up to the metrics.
 *
 * The iterator keeps the connection busy until it is finished or returned: give it a connection
 * nothing else uses meanwhile (see openExportConnection).
 */
export function* queryExportRows(db: Db, query: ExportQuery): Generator<ExportRow, void, undefined> {
  const period = PERIOD_SQL[query.granularity];
  // Rows that count for nothing (SDK events where billing is the truth) stay out, as in the metrics.
  const filters = ['bucket_start >= ? AND bucket_start < ?', COUNTED_ROWS_SQL];
  const parameters: Array<string | number> = [...windowBounds(query.window)];
  if (query.providers.length > 0) {
    filters.push(`provider IN (${query.providers.map(() => '?').join(', ')})`);
    parameters.push(...query.providers);
  }
  if (query.models.length > 0) {
    filters.push(`model IN (${query.models.map(() => '?').join(', ')})`);
    parameters.push(...query.models);
  }
  // GROUP BY and ORDER BY list the same keys in the same order, so SQLite sorts once; the sorter
  // spills to temporary files, so memory stays flat however many rows there are.
  const keys = 'period_start, period_end, provider, model, project, line_item, source, row_kind';
  const statement = db
    .prepare(
      `SELECT ${keys},
         ${SPEND_NANO_SQL} AS cost_nano,
         SUM(requests) AS requests,
         SUM(input_tokens) AS input_tokens,
         SUM(cached_input_tokens) AS cached_input_tokens,
         SUM(cache_write_tokens) AS cache_write_tokens,
         SUM(output_tokens) AS output_tokens
       FROM (SELECT *, ${period.start} AS period_start, ${period.end} AS period_end, ${COST_KIND_SQL} AS row_kind FROM usage
             WHERE ${filters.join(' AND ')})
       GROUP BY ${keys}
       ORDER BY ${keys}`,
    )
    .safeIntegers(true);
  for (const row of statement.iterate(...parameters) as IterableIterator<RawRow>) {
    yield {
      periodStart: Number(row.period_start),
      periodEnd: Number(row.period_end),
      provider: row.provider,
      model: row.model,
      project: row.project,
      lineItem: row.line_item,
      source: row.source,
      costKind: row.row_kind,
      costNano: row.cost_nano,
      requests: row.requests === null ? null : Number(row.requests),
      inputTokens: Number(row.input_tokens),
      cachedInputTokens: Number(row.cached_input_tokens),
      cacheWriteTokens: Number(row.cache_write_tokens),
      outputTokens: Number(row.output_tokens),
    };
  }
}
