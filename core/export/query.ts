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

/** A grouped row as SQLite returns it (raw arrays: no object per row), in EXPORT_SELECT's column order. */
type RawRow = [
  periodStart: number,
  periodEnd: number,
  provider: ProviderId,
  model: string,
  project: string,
  lineItem: string,
  source: UsageSource,
  rowKind: ExportCostKind,
  /** As text: nano-dollar sums may exceed 2^53, every other column stays a plain number. */
  costNano: string,
  requests: number | null,
  inputTokens: number,
  cachedInputTokens: number,
  cacheWriteTokens: number,
  outputTokens: number,
];

/** Start of the UTC day or month after the one containing `sec`: the export reads one such chunk at a time. */
function nextChunk(sec: number, granularity: Granularity): number {
  if (granularity !== 'month') return sec - (sec % DAY) + DAY;
  const date = new Date(sec * 1000);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / 1000;
}

/**
 * Streams the export's rows from SQLite, grouped in SQL per (period, provider, model, project,
 * line item, source, cost kind) and ordered by period. A bucket belongs to the window when its
 * start does, and spend is counted as the metrics count it, so the rows add up to the metrics.
 *
 * The rows are read a UTC day at a time (a month at a time per month), each chunk grouped and
 * sorted on its own: no period crosses a chunk, so the order is the same as one sort of everything,
 * but the first rows come at once and no sort ever holds more than a chunk. Empty stretches are
 * skipped with one index seek.
 *
 * The iterator keeps the connection busy until it is finished or returned: give it a connection
 * nothing else uses meanwhile (see openExportConnection).
 */
export function* queryExportRows(db: Db, query: ExportQuery): Generator<ExportRow, void, undefined> {
  const period = PERIOD_SQL[query.granularity];
  // Rows that count for nothing (SDK events where billing is the truth) stay out, as in the metrics.
  const filters = ['bucket_start >= ? AND bucket_start < ?', COUNTED_ROWS_SQL];
  const parameters: string[] = [];
  if (query.providers.length > 0) {
    filters.push(`provider IN (${query.providers.map(() => '?').join(', ')})`);
    parameters.push(...query.providers);
  }
  if (query.models.length > 0) {
    filters.push(`model IN (${query.models.map(() => '?').join(', ')})`);
    parameters.push(...query.models);
  }
  // GROUP BY and ORDER BY list the same keys in the same order, so SQLite sorts once per chunk.
  const keys = 'period_start, period_end, provider, model, project, line_item, source, row_kind';
  const statement = db
    .prepare(
      `SELECT ${keys},
         CAST(${SPEND_NANO_SQL} AS TEXT) AS cost_nano,
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
    .raw(true);
  const [from, to] = windowBounds(query.window);
  const nextBucket = db.prepare('SELECT MIN(bucket_start) FROM usage WHERE bucket_start >= ? AND bucket_start < ?').pluck();
  for (let at = nextBucket.get(from, to) as number | null; at !== null; ) {
    const chunkEnd = Math.min(nextChunk(at, query.granularity), to);
    for (const row of statement.iterate(at, chunkEnd, ...parameters) as IterableIterator<RawRow>) {
      yield {
        periodStart: row[0],
        periodEnd: row[1],
        provider: row[2],
        model: row[3],
        project: row[4],
        lineItem: row[5],
        source: row[6],
        costKind: row[7],
        costNano: BigInt(row[8]),
        requests: row[9],
        inputTokens: row[10],
        cachedInputTokens: row[11],
        cacheWriteTokens: row[12],
        outputTokens: row[13],
      };
    }
    at = chunkEnd >= to ? null : (nextBucket.get(chunkEnd, to) as number | null);
  }
}
