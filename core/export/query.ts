import type { Granularity } from '../../shared/api.js';
import { isProviderId, PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import { parseTimeWindow, TimeRangeError, type TimeWindow } from '../../shared/time-range.js';
import type { UsageSource } from '../../shared/usage.js';
import type { Statement } from 'better-sqlite3';
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
 * and zero-padding only, no float; SQLite writes it so that no row needs a BigInt in JS. Whole
 * dollars (zero, most often) skip the fraction; the fraction's nine digits are the remainder plus
 * 10^9 without its leading 1 (a third of the cost of printf's zero-padding, which was a third of
 * an hourly export's SQL).
 */
export function exactDollarsSql(nano: string): string {
  return `(CASE WHEN ${nano} % 1000000000 = 0 THEN CAST(${nano} / 1000000000 AS TEXT)
    ELSE (CASE WHEN ${nano} < 0 THEN '-' ELSE '' END) || (abs(${nano}) / 1000000000) || '.' || rtrim(substr(abs(${nano}) % 1000000000 + 1000000000, 2), '0') END)`;
}

/** Every source a usage row can have (the table's CHECK constraint). */
const SOURCES = Object.keys({ usage: true, cost: true, sdk: true } satisfies Record<UsageSource, true>);

/** Every cost kind a row can have. */
const COST_KINDS = Object.keys({ billed: true, estimated: true, superseded: true, unpriced: true } satisfies Record<ExportCostKind, true>);

/** The providers that have rows, each found with one seek on the primary key. */
function storedProviders(db: Db): string[] {
  const first = db.prepare('SELECT MIN(provider) FROM usage').pluck();
  const next = db.prepare('SELECT MIN(provider) FROM usage WHERE provider > ?').pluck();
  const providers: string[] = [];
  for (let provider = first.get() as string | null; provider !== null; provider = next.get(provider) as string | null) providers.push(provider);
  return providers;
}

/**
 * Rows per yielded batch or CSV part: enough that the writes are few, few enough that a batch dies
 * young (a whole day of rows outlived the young generation and cost full GCs) and that a part's text
 * (~35 KB) stays out of V8's large-object space, which only a full GC frees: parts of 1 024 records
 * (~140 KB) took the 1M-row export's peak RSS from 107 to 150 MB.
 */
const BATCH_ROWS = 256;

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

/** The export's grouped, ordered rows of one chunk as SQL, and how to run it. */
interface ExportStatementParts {
  /** SELECT of the export's 14 columns (aliases c0…c13), grouped and ordered; parameters: chunk start, chunk end, then `parameters`. */
  rowsSql: string;
  /** The statement's filter values after the chunk bounds. */
  parameters: string[];
  /** The counted rows of the window, a WHERE condition over `usage` with `parameters` after the chunk bounds. */
  filters: string;
}

function exportStatementParts(providers: readonly string[], query: ExportQuery): ExportStatementParts {
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
  const rowsSql = `SELECT period_start AS c0, period_end AS c1, provider AS c2, model AS c3, project AS c4, line_item AS c5,
         SUM(requests) AS c6, SUM(input_tokens) AS c7, SUM(cached_input_tokens) AS c8, SUM(cache_write_tokens) AS c9, SUM(output_tokens) AS c10,
         CASE WHEN row_kind IN ('superseded', 'unpriced') AND ${SPEND_NANO_SQL} = 0 THEN NULL ELSE ${exactDollarsSql(SPEND_NANO_SQL)} END AS c11,
         row_kind AS c12, source AS c13
       FROM (SELECT *, ${period.start} AS period_start, ${period.end} AS period_end, ${COST_KIND_SQL} AS row_kind FROM usage
             WHERE ${filters.join(' AND ')})
       GROUP BY ${keys}
       ORDER BY ${keys}`;
  return { rowsSql, parameters, filters: filters.join(' AND ') };
}

/** One chunk of the export (a UTC day, or a month per month) in order: its bounds, and whether it fits in memory at once. */
export interface ExportChunk {
  start: number;
  end: number;
  /** Counts the chunk's rows (a scan of its part of the time index). */
  atOnce(): boolean;
}

/** The chunks of the window that hold rows, in order, each found with one seek on the time index. */
export function* exportChunks(db: Db, query: ExportQuery): Generator<ExportChunk> {
  const [from, to] = windowBounds(query.window);
  const nextBucket = db.prepare(`SELECT MIN(bucket_start) FROM usage WHERE bucket_start >= ? AND bucket_start < ?`).pluck();
  const rowsInChunk = db.prepare(`SELECT count(*) FROM usage WHERE bucket_start >= ? AND bucket_start < ?`).pluck();
  for (let at = nextBucket.get(from, to) as number | null; at !== null; ) {
    const start = at;
    const end = Math.min(nextChunk(start, query.granularity), to);
    yield { start, end, atOnce: () => (rowsInChunk.get(start, end) as number) <= ROWS_AT_ONCE };
    at = end >= to ? null : (nextBucket.get(end, to) as number | null);
  }
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
export function queryExportBatches(db: Db, query: ExportQuery): Generator<ExportCells[], void, undefined> {
  return inSnapshot(db, query, function* (providers) {
    const parts = exportStatementParts(providers, query);
    const read = chunkCells(db.prepare(parts.rowsSql).raw(true), parts.parameters);
    const rows = function* (): Generator<ExportCells> {
      for (const chunk of exportChunks(db, query)) yield* read(chunk);
    };
    yield* inGroupsOf(rows(), BATCH_ROWS);
  });
}

/** The providers an export covers: those named, or all with rows. */
export function exportProviders(db: Db, query: ExportQuery): readonly string[] {
  return query.providers.length > 0 ? query.providers : storedProviders(db);
}

/**
 * Runs `read` over the providers the export covers (exportProviders), in one read transaction, so
 * that everything it reads is one snapshot; inside a caller's transaction, in that one.
 */
function* inSnapshot<T>(db: Db, query: ExportQuery, read: (providers: readonly string[]) => Iterable<T>): Generator<T, void, undefined> {
  const snapshot = !db.inTransaction;
  if (snapshot) db.exec('BEGIN');
  try {
    const providers = exportProviders(db, query);
    if (providers.length > 0) yield* read(providers);
  } finally {
    if (snapshot) db.exec('COMMIT');
  }
}

/** Reads a chunk's rows as cells, the periods as ISO 8601 text. */
function chunkCells(statement: Statement, parameters: readonly string[]): (chunk: ExportChunk) => Iterable<ExportCells> {
  const startIso = isoSecondsMemo();
  const endIso = isoSecondsMemo();
  return function* (chunk) {
    const rows = (chunk.atOnce() ? statement.all(chunk.start, chunk.end, ...parameters) : statement.iterate(chunk.start, chunk.end, ...parameters)) as Iterable<unknown[]>;
    for (const row of rows) {
      row[0] = startIso(row[0] as number);
      row[1] = endIso(row[1] as number);
      yield row as ExportCells;
    }
  };
}

/** Part of the CSV text of an export: `rows` records, CRLF after each. */
export interface CsvPart {
  rows: number;
  text: string;
}

/**
 * The export as CSV records (no header), built by SQLite: queryExportBatches' rows, in its order,
 * exactly as the cells writer `writeCells` (createCsvWriter, csv-stringify) writes them, but no row
 * becomes JS values. One snapshot, like queryExportBatches; the connection is busy until the
 * iterator ends. See createCsvBlockWriter for how each block is written; core/export/parallel.ts
 * writes the same blocks on two threads.
 */
export function queryExportCsv(
  db: Db,
  query: ExportQuery,
  encode: (text: string) => string,
  writeCells: (rows: ExportCells[]) => string,
): Generator<CsvPart, void, undefined> {
  return inSnapshot(db, query, function* (providers) {
    const writer = createCsvBlockWriter(db, query, providers, encode, writeCells);
    try {
      for (const block of exportBlocks(db, query)) yield* joinedParts(writer.write(block));
    } finally {
      writer.close();
    }
  });
}

/** Writes the export's CSV records a block of chunks at a time, on one connection inside its snapshot. */
export interface CsvBlockWriter {
  /** The records of a block of consecutive chunks (see exportBlocks) as parts: [records, text], CRLF after each record. */
  write(block: readonly ExportChunk[]): Iterable<[rows: number, text: string]>;
  /** Drops the connection's temporary table of encoded texts. */
  close(): void;
}

/**
 * The CSV records of each block of chunks of an export (exportBlocks), built by SQLite. Before a
 * block, every distinct text it can write (models, projects, line items; providers, sources and
 * cost kinds once per export) is encoded by `encode` (csv-stringify), once per export; a column
 * whose texts in the block all encode to themselves is written as stored, the others through a
 * temporary table of the encoded texts. SQLite joins each period's records after their period
 * cells (counts and the exact decimal cost as stored, which csv-stringify writes unchanged); the
 * period's two cells, encoded by `encode` too, are put before each record here, once per period. So memory holds a period's records, not
 * the export. When an encoded text of the block holds a line break (a hostile name), records cannot
 * be told apart by their CRLF: that block is written from cells by `writeCells`. Each choice gives
 * the same bytes, so it is made per block, and blocks can be written by several connections that
 * share one snapshot.
 */
export function createCsvBlockWriter(
  db: Db,
  query: ExportQuery,
  providers: readonly string[],
  encode: (text: string) => string,
  writeCells: (rows: ExportCells[]) => string,
): CsvBlockWriter {
  db.exec('CREATE TEMP TABLE IF NOT EXISTS export_csv_cell (raw TEXT PRIMARY KEY, csv TEXT NOT NULL) WITHOUT ROWID');
  const sql = exportStatementParts(providers, query);
  const insertEncoded = db.prepare('INSERT OR IGNORE INTO temp.export_csv_cell (raw, csv) VALUES (?, ?)');
  const encoded = new Map<string, string>();
  /** Encodes a text once per export; true when its cell is the text itself. */
  const isPlain = (text: string): boolean => {
    let csv = encoded.get(text);
    if (csv === undefined) {
      csv = encode(text);
      encoded.set(text, csv);
      if (csv !== text) insertEncoded.run(text, csv);
    }
    return csv === text;
  };
  const hasLineBreak = (text: string): boolean => /[\r\n]/.test(encoded.get(text)!);
  const fixed = [providers, SOURCES, COST_KINDS].map((texts) => ({ plain: texts.every(isPlain), lineBreak: texts.some(hasLineBreak) }));
  // A block's models and projects come from the daily rollup, which holds every stored row's (day, provider, model,
  // project), whoever wrote it (migration 4's triggers): a few hundred groups a day, not thousands of rows. A superset
  // (rows the export leaves out, days at the window's edges) only costs a look-up, never a byte.
  // Unary plus: the days are read through the primary key, not every day of the providers through usage_daily_by_model (10× slower).
  const modelFilter = query.models.length > 0 ? ` AND +model IN (${query.models.map(() => '?').join(', ')})` : '';
  const blockModels = db.prepare(`SELECT DISTINCT model, project FROM usage_daily WHERE day >= ? AND day < ? AND +provider IN (${providers.map(() => '?').join(', ')})${modelFilter}`).raw(true);
  // Line items, and whether any row shares its hour group with another (see ungroupedHours), from the block's rows that have them.
  const blockLineItems = db.prepare(`SELECT DISTINCT line_item, ${SHARES_HOUR_GROUP_SQL} FROM usage WHERE ${sql.filters} AND (line_item <> '' OR ${SHARES_HOUR_GROUP_SQL})`).raw(true);
  const cellsOf = chunkCells(db.prepare(sql.rowsSql).raw(true), sql.parameters);
  const startIso = isoSecondsMemo();
  const endIso = isoSecondsMemo();
  /** A period's records as one part: its two cells, encoded, before each record. */
  const periodPart = (start: number, end: number, rows: number, text: string): [number, string] => {
    const periodCells = `${encode(startIso(start))},${encode(endIso(end))},`;
    return [rows, `${periodCells}${rows === 1 ? text : text.replaceAll('\r\n', `\r\n${periodCells}`)}\r\n`];
  };
  // Statements per set of plain columns (model, project, line item), prepared when a chunk first needs them.
  const grouped = new Map<string, { periods: Statement; records: Statement }>();
  const hourly = new Map<string, (chunk: ExportChunk) => Iterable<[number, string]>>();
  const [provider, source, costKind] = fixed;

  function* cellParts(chunk: ExportChunk): Generator<[number, string]> {
    for (const batch of inGroupsOf(cellsOf(chunk), BATCH_ROWS)) yield [batch.length, writeCells(batch)];
  }

  function* groupedParts(chunk: ExportChunk, plain: ColumnsPlain): Generator<[number, string]> {
    const key = plain.join();
    let statements = grouped.get(key);
    if (!statements) {
      const cell = (isPlainColumn: boolean, column: string): string => (isPlainColumn ? column : `coalesce((SELECT csv FROM temp.export_csv_cell WHERE raw = ${column}), ${column})`);
      const record = recordSql({
        provider: cell(provider!.plain, 'c2'),
        model: cell(plain[0], 'c3'),
        project: cell(plain[1], 'c4'),
        lineItem: cell(plain[2], 'c5'),
        requests: 'c6',
        tokens: 'c7, c8, c9, c10',
        cost: 'c11',
        costKind: cell(costKind!.plain, 'c12'),
        source: cell(source!.plain, 'c13'),
      });
      // The rows come ordered by period; grouping them by period keeps that order, with no second sort.
      statements = {
        periods: db.prepare(`SELECT c0, c1, count(*), group_concat(${record}, char(13, 10)) FROM (${sql.rowsSql}) GROUP BY c0, c1`).raw(true),
        records: db.prepare(`SELECT c0, c1, 1, ${record} FROM (${sql.rowsSql})`).raw(true),
      };
      grouped.set(key, statements);
    }
    // A chunk too busy to hold at once (a day of more than ROWS_AT_ONCE rows) comes a record at a time.
    const statement = chunk.atOnce() ? statements.periods : statements.records;
    for (const [start, end, rows, text] of statement.iterate(chunk.start, chunk.end, ...sql.parameters) as Iterable<[number, number, number, string]>) {
      yield periodPart(start, end, rows, text);
    }
  }

  function* hourParts(chunk: ExportChunk, plain: ColumnsPlain): Generator<[number, string]> {
    const key = plain.join();
    let partsOf = hourly.get(key);
    if (!partsOf) hourly.set(key, (partsOf = ungroupedHours(db, query, providers, [provider!.plain, ...plain, source!.plain, costKind!.plain], periodPart)));
    yield* partsOf(chunk);
  }

  return {
    *write(block) {
      const plain: ColumnsPlain = [true, true, true];
      let lineBreak = fixed.some((column) => column.lineBreak);
      let sharedGroups = false;
      const check = (column: number, text: string): void => {
        if (isPlain(text)) return;
        plain[column] = false;
        if (hasLineBreak(text)) lineBreak = true;
      };
      const [start, end] = [block[0]!.start, block.at(-1)!.end];
      // All at once: a block's distinct texts are few, and encoding them writes to the temporary table.
      for (const [model, project] of blockModels.all(start - (start % DAY), end, ...sql.parameters) as Array<[string, string]>) {
        check(0, model);
        check(1, project);
      }
      // The rows not read below have no line item: they write ''.
      check(2, '');
      for (const [lineItem, shares] of blockLineItems.all(start, end, ...sql.parameters) as Array<[string, number]>) {
        check(2, lineItem);
        if (shares) sharedGroups = true;
      }
      for (const chunk of block) {
        if (lineBreak) yield* cellParts(chunk);
        else if (query.granularity === 'hour' && !sharedGroups) yield* hourParts(chunk, plain);
        else yield* groupedParts(chunk, plain);
      }
    },
    close() {
      db.exec('DROP TABLE IF EXISTS temp.export_csv_cell');
    },
  };
}

/** Whether every text of the model, project and line item columns encodes to itself. */
type ColumnsPlain = [model: boolean, project: boolean, lineItem: boolean];

/** The cells of one CSV record (without its period) as SQL expressions; `tokens` is the four token counts, comma-separated. */
interface RecordSql {
  provider: string;
  model: string;
  project: string;
  lineItem: string;
  requests: string;
  tokens: string;
  cost: string;
  costKind: string;
  source: string;
}

/** SQL of a record's text after its period cells: NULL requests and cost as empty cells, counts as SQLite writes integers. */
function recordSql(cells: RecordSql): string {
  return `printf('%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s', ${cells.provider}, ${cells.model}, ${cells.project}, ${cells.lineItem}, coalesce(${cells.requests}, ''), ${cells.tokens}, coalesce(${cells.cost}, ''), ${cells.costKind}, ${cells.source})`;
}

/**
 * 1 for a row that may share its group of an hourly export with another row: one of an API key
 * (rows of several keys are summed) or whose bucket does not start on its hour or day (buckets of
 * one period are summed). The providers' adapters and the SDK store neither.
 */
const SHARES_HOUR_GROUP_SQL = `(api_key_id <> '' OR bucket_start % (CASE bucket_width WHEN '1h' THEN ${HOUR} ELSE ${DAY} END) <> 0)`;

/**
 * The hourly export's records of a chunk (a day, or its part in the window) whose stored rows are
 * each their own group (no row SHARES_HOUR_GROUP_SQL): no sort. One query merges the chunk's hourly
 * rows of each (provider, source), which the primary key gives in (time, model, project, line
 * item) order, into the export's order and SQLite joins each hour's records; the daily buckets of
 * the day, read the same way, follow its first hour, as (start, end) orders them. Each row's cost is
 * counted as SPEND_NANO_SQL counts it. `plain` says, per text column (provider, model, project,
 * line item, source, cost kind), whether its texts are written as stored.
 */
function ungroupedHours(
  db: Db,
  query: ExportQuery,
  providers: readonly string[],
  plain: readonly boolean[],
  periodPart: (start: number, end: number, rows: number, text: string) => [number, string],
): (chunk: ExportChunk) => Iterable<[number, string]> {
  // A column with texts that encode to something else is joined to their encodings (cheaper per row than a subquery).
  const joins: string[] = [];
  const [provider, model, project, lineItem, source, costKind] = plain.map((isPlainColumn, index) => {
    const name = `u.${['provider', 'model', 'project', 'line_item', 'source', 'row_kind'][index]!}`;
    if (isPlainColumn) return name;
    joins.push(`LEFT JOIN temp.export_csv_cell AS cell${index} ON cell${index}.raw = ${name}`);
    return `coalesce(cell${index}.csv, ${name})`;
  });
  // What the grouped rows' cost cell gives for one row: a superseded row's spend is 0 (no cost), an unpriced row's cost shows unless 0.
  const cost = `CASE WHEN u.superseded = 1 OR (u.unpriced = 1 AND u.cost_nano = 0) THEN NULL ELSE ${exactDollarsSql('u.cost_nano')} END`;
  const record = recordSql({ provider: provider!, model: model!, project: project!, lineItem: lineItem!, requests: 'u.requests', tokens: 'u.input_tokens, u.cached_input_tokens, u.cache_write_tokens, u.output_tokens', cost, costKind: costKind!, source: source! });
  const models = query.models.length > 0 ? ` AND model IN (${query.models.map((_, index) => `@model${index}`).join(', ')})` : '';
  // Per period start, the records in the export's order; a range on bucket_start, so that SQLite reads the primary key, whose rows are whole, not the time index.
  const periods = (width: '1h' | '1d') => {
    const arms = providers.flatMap((_, p) =>
      SOURCES.map(
        (s) => `SELECT ${record} AS record, u.bucket_start, u.provider, u.model, u.project, u.api_key_id, u.line_item, u.source
          FROM (SELECT *, ${COST_KIND_SQL} AS row_kind FROM usage
                WHERE provider = @provider${p} AND source = '${s}' AND bucket_start >= @start AND bucket_start < @end AND bucket_width = '${width}' AND ${COUNTED_ROWS_SQL}${models}) AS u
          ${joins.join(' ')}`,
      ),
    );
    // The rows come ordered by period; grouping them by period keeps that order, with no second sort.
    return db
      .prepare(`SELECT bucket_start, count(*), group_concat(record, char(13, 10)) FROM (${arms.join(' UNION ALL ')} ORDER BY bucket_start, provider, model, project, api_key_id, line_item, source) GROUP BY bucket_start`)
      .raw(true);
  };
  const [hours, days] = [periods('1h'), periods('1d')];
  const names: Record<string, string> = {};
  providers.forEach((id, index) => (names[`provider${index}`] = id));
  query.models.forEach((name, index) => (names[`model${index}`] = name));
  return function* (chunk) {
    // A chunk holds one UTC day at most, which starts it when it has a daily bucket (its first bucket of any row).
    let day = chunk.start % DAY === 0 ? (days.get({ ...names, start: chunk.start, end: chunk.start + 1 }) as [number, number, string] | undefined) : undefined;
    for (const [start, rows, text] of hours.iterate({ ...names, start: chunk.start, end: chunk.end }) as Iterable<[number, number, string]>) {
      if (day && start > day[0]) {
        yield periodPart(day[0], day[0] + DAY, day[1], day[2]);
        day = undefined;
      }
      yield periodPart(start, start + HOUR, rows, text);
    }
    if (day) yield periodPart(day[0], day[0] + DAY, day[1], day[2]);
  };
}

/**
 * How many chunks (days, for hourly and daily exports) a CSV export handles together: the pass that
 * finds a block's texts costs about a microsecond per row and a little more per distinct text it
 * finds, and a day of a year's export holds a third of the year's distinct texts. A block is also
 * the unit that export threads share out (core/export/parallel.ts).
 */
export const CHUNKS_PER_BLOCK = 7;

/** The export's chunks (exportChunks) in blocks of CHUNKS_PER_BLOCK, in order. */
export function exportBlocks(db: Db, query: ExportQuery): Generator<ExportChunk[]> {
  return inGroupsOf(exportChunks(db, query), CHUNKS_PER_BLOCK);
}

/** `items` in arrays of `size` (the last one shorter), in order; never an empty array. */
function* inGroupsOf<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let group: T[] = [];
  for (const item of items) {
    if (group.push(item) === size) {
      yield group;
      group = [];
    }
  }
  if (group.length > 0) yield group;
}

/** Parts joined into parts of about BATCH_ROWS records: few enough writes, each a small string. */
export function* joinedParts(parts: Iterable<[rows: number, text: string]>): Generator<CsvPart> {
  let pending: CsvPart = { rows: 0, text: '' };
  for (const [rows, text] of parts) {
    pending.rows += rows;
    pending.text += text;
    if (pending.rows >= BATCH_ROWS) {
      yield pending;
      pending = { rows: 0, text: '' };
    }
  }
  if (pending.rows > 0) yield pending;
}
