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

/**
 * One exported row as its cells, in EXPORT_COLUMNS order (core/export/format.ts): the period's
 * start and end as ISO 8601 UTC, provider, model, project, line item, requests (null when no row of
 * the group reports them), the four token counts, cost_usd as an exact decimal string (null when a
 * superseded or unpriced row has no cost), cost kind and source.
 */
export type ExportCells = [
  periodStart: string,
  periodEnd: string,
  provider: ProviderId,
  model: string,
  project: string,
  lineItem: string,
  requests: number | null,
  inputTokens: number,
  cachedInputTokens: number,
  cacheWriteTokens: number,
  outputTokens: number,
  costUsd: string | null,
  costKind: ExportCostKind,
  source: UsageSource,
];

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

/**
 * Integer nano-dollars `nano` (an SQL expression) as exact decimal dollars, the text
 * formatNanoAsDecimal (shared/money.ts) writes: "-0.5", "12.000000001", "0". Integer division
 * and zero-padding only, no float; SQLite writes it so that no row needs a BigInt in JS.
 */
function exactDollarsSql(nano: string): string {
  return `(CASE WHEN ${nano} < 0 THEN '-' ELSE '' END || (abs(${nano}) / 1000000000) || rtrim(rtrim(printf('.%09d', abs(${nano}) % 1000000000), '0'), '.'))`;
}

/** Every source a usage row can have (the table's CHECK constraint). */
const SOURCES = Object.keys({ usage: true, cost: true, sdk: true } satisfies Record<UsageSource, true>);

/** The providers that have rows, each found with one seek on the primary key. */
function storedProviders(db: Db): string[] {
  const first = db.prepare('SELECT MIN(provider) FROM usage').pluck();
  const next = db.prepare('SELECT MIN(provider) FROM usage WHERE provider > ?').pluck();
  const providers: string[] = [];
  for (let provider = first.get() as string | null; provider !== null; provider = next.get(provider) as string | null) providers.push(provider);
  return providers;
}

/**
 * Rows per yielded batch: enough that the CSV writer works on many rows at once, few enough that
 * a batch dies young (a whole day of rows outlived the young generation and cost full GCs).
 */
const BATCH_ROWS = 1024;

/**
 * The most rows a chunk may have (all rows of its days, before grouping) to be read in one call:
 * a call per row costs more than the row does, but one call holds the chunk in memory, so a
 * chunk of more rows (a month of rows per month, an unusually busy day) is read row by row.
 */
const ROWS_AT_ONCE = 8192;

/** Start of the UTC day or month after the one containing `sec`: the export reads one such chunk at a time. */
function nextChunk(sec: number, granularity: Granularity): number {
  if (granularity !== 'month') return sec - (sec % DAY) + DAY;
  const date = new Date(sec * 1000);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / 1000;
}

/** ISO 8601 seconds of Unix seconds, remembering the last answer: rows of one period follow each other. */
function isoSecondsMemo(): (sec: number) => string {
  let lastSec = Number.NaN;
  let lastText = '';
  return (sec) => {
    if (sec !== lastSec) {
      lastSec = sec;
      lastText = new Date(sec * 1000).toISOString().replace('.000Z', 'Z');
    }
    return lastText;
  };
}

/**
 * Streams the export's rows from SQLite as cells (ExportCells), in batches, grouped in SQL per (period,
 * provider, model, project, line item, source, cost kind) and ordered by period. A bucket belongs
 * to the window when its start does, and spend is counted as the metrics count it, so the rows add
 * up to the metrics.
 *
 * SQLite groups and sorts a UTC day at a time (a month at a time per month): no period crosses a
 * day, so the order is that of one sort of everything, but the first rows come at once and no sort
 * holds more than a day. Each day is read through the primary key (provider, source, time), not
 * the time index and a look-up per row. All days are read in one transaction, so the export is one
 * consistent snapshot.
 *
 * The iterator keeps the connection busy until it is finished or returned: give it a connection
 * nothing else uses meanwhile (see openExportConnection).
 */
export function* queryExportBatches(db: Db, query: ExportQuery): Generator<ExportCells[], void, undefined> {
  const snapshot = !db.inTransaction;
  if (snapshot) db.exec('BEGIN');
  try {
    yield* batchesInSnapshot(db, query);
  } finally {
    if (snapshot) db.exec('COMMIT');
  }
}

function* batchesInSnapshot(db: Db, query: ExportQuery): Generator<ExportCells[], void, undefined> {
  const providers = query.providers.length > 0 ? query.providers : storedProviders(db);
  if (providers.length === 0) return;
  const period = PERIOD_SQL[query.granularity];
  // Rows that count for nothing (SDK events where billing is the truth) stay out, as in the metrics.
  const filters = [
    'bucket_start >= ? AND bucket_start < ?',
    `provider IN (${providers.map(() => '?').join(', ')})`,
    `source IN (${SOURCES.map((source) => `'${source}'`).join(', ')})`,
    COUNTED_ROWS_SQL,
  ];
  const parameters: string[] = [...providers];
  if (query.models.length > 0) {
    filters.push(`model IN (${query.models.map(() => '?').join(', ')})`);
    parameters.push(...query.models);
  }
  // GROUP BY and ORDER BY list the same keys in the same order, so SQLite sorts once per day.
  const keys = 'period_start, period_end, provider, model, project, line_item, source, row_kind';
  const statement = db
    .prepare(
      `SELECT period_start, period_end, provider, model, project, line_item,
         SUM(requests), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens),
         CASE WHEN row_kind IN ('superseded', 'unpriced') AND ${SPEND_NANO_SQL} = 0 THEN NULL ELSE ${exactDollarsSql(SPEND_NANO_SQL)} END,
         row_kind, source
       FROM (SELECT *, ${period.start} AS period_start, ${period.end} AS period_end, ${COST_KIND_SQL} AS row_kind FROM usage
             WHERE ${filters.join(' AND ')})
       GROUP BY ${keys}
       ORDER BY ${keys}`,
    )
    .raw(true);
  const [from, to] = windowBounds(query.window);
  const nextBucket = db.prepare(`SELECT MIN(bucket_start) FROM usage WHERE bucket_start >= ? AND bucket_start < ?`).pluck();
  const rowsInChunk = db.prepare(`SELECT count(*) FROM usage WHERE bucket_start >= ? AND bucket_start < ?`).pluck();
  const startIso = isoSecondsMemo();
  const endIso = isoSecondsMemo();
  let batch: unknown[][] = [];
  for (let at = nextBucket.get(from, to) as number | null; at !== null; ) {
    const chunkEnd = Math.min(nextChunk(at, query.granularity), to);
    const atOnce = (rowsInChunk.get(at, chunkEnd) as number) <= ROWS_AT_ONCE;
    const rows = (atOnce ? statement.all(at, chunkEnd, ...parameters) : statement.iterate(at, chunkEnd, ...parameters)) as Iterable<unknown[]>;
    for (const row of rows) {
      row[0] = startIso(row[0] as number);
      row[1] = endIso(row[1] as number);
      if (batch.push(row) === BATCH_ROWS) {
        yield batch as ExportCells[];
        batch = [];
      }
    }
    at = chunkEnd >= to ? null : (nextBucket.get(chunkEnd, to) as number | null);
  }
  if (batch.length > 0) yield batch as ExportCells[];
}
