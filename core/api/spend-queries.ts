import type { Granularity, SpendAmount, SpendSeries, SpendSeriesQuery } from '../../shared/api.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import { isProviderId, type ProviderId } from '../../shared/providers.js';
import type { TimeWindow } from '../../shared/time-range.js';
import type { Db } from '../store/db.js';
import { COUNTED_MODEL_SPEND, COUNTED_PROVIDER_SPEND, COUNTED_SPEND, familyLevels, familySql, levelParams, LISTED_USAGE, planLevels, querySpendByProvider, type Family, type ProviderSpendRow } from '../store/rollups.js';
import { windowBounds } from '../store/spend-sql.js';
import { cachedStatement } from '../store/statements.js';

/** Spend in nano-dollars: everything counted, and the part of it that is still an estimate. */
export interface SpendNano {
  costNano: bigint;
  estimatedNano: bigint;
}

export const ZERO_SPEND: SpendNano = { costNano: 0n, estimatedNano: 0n };

/** Nano-dollar spend as the API's exact decimal strings, billed and estimated apart. */
export function toSpendAmount(spend: SpendNano): SpendAmount {
  return {
    totalUsd: formatNanoAsDecimal(spend.costNano),
    billedUsd: formatNanoAsDecimal(spend.costNano - spend.estimatedNano),
    estimatedUsd: formatNanoAsDecimal(spend.estimatedNano),
  };
}

/** Spend per provider over a window, from the rollups. Providers without rows in it are absent. */
export function spendByProvider(db: Db, window: TimeWindow): Map<ProviderId, SpendNano> {
  return spendMap(querySpendByProvider(db, ...windowBounds(window)));
}

/** querySpendByProvider's rows by provider (the known ones). */
export function spendMap(rows: readonly ProviderSpendRow[]): Map<ProviderId, SpendNano> {
  const result = new Map<ProviderId, SpendNano>();
  for (const row of rows) if (isProviderId(row.provider)) result.set(row.provider, { costNano: row.cost_nano, estimatedNano: row.estimated_nano });
  return result;
}

/** The sum of a per-provider spend map. */
export function totalSpend(byProvider: ReadonlyMap<ProviderId, SpendNano>): SpendNano {
  let costNano = 0n;
  let estimatedNano = 0n;
  for (const spend of byProvider.values()) {
    costNano += spend.costNano;
    estimatedNano += spend.estimatedNano;
  }
  return { costNano, estimatedNano };
}

const HOUR = 3_600;
const DAY = 86_400;

/** The most buckets one series answer holds: beyond it a chart is unreadable and the answer heavy. */
export const MAX_SERIES_BUCKETS = 2_200;

/** A range the series cannot be drawn for; the message says what to choose instead. */
export class SeriesRangeError extends Error {}

const GROUP_SQL: Record<SpendSeriesQuery['groupBy'], string> = { provider: 'provider', model: 'model', project: 'project' };

/** Start of the bucket containing `sec`, in Unix seconds (UTC). */
export function bucketStart(sec: number, granularity: Granularity): number {
  if (granularity === 'hour') return sec - (((sec % HOUR) + HOUR) % HOUR);
  if (granularity === 'day') return sec - (((sec % DAY) + DAY) % DAY);
  const date = new Date(sec * 1000);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) / 1000;
}

function nextBucket(sec: number, granularity: Granularity): number {
  if (granularity === 'hour') return sec + HOUR;
  if (granularity === 'day') return sec + DAY;
  const date = new Date(sec * 1000);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / 1000;
}

/** Every bucket start in [from, to), so that quiet buckets show as zero rather than vanish. */
export function bucketStarts(fromSec: number, toSec: number, granularity: Granularity): number[] {
  const starts: number[] = [];
  for (let sec = bucketStart(fromSec, granularity); sec < toSec; sec = nextBucket(sec, granularity)) {
    starts.push(sec);
    if (starts.length > MAX_SERIES_BUCKETS) {
      const days = Math.ceil((toSec - fromSec) / DAY);
      throw new SeriesRangeError(`${days} days in ${granularity}ly buckets is more than ${MAX_SERIES_BUCKETS} points; choose a coarser granularity or a shorter range`);
    }
  }
  return starts;
}

/** The earliest bucket start with data, or null for an empty database. */
export function earliestBucket(db: Db, providers?: readonly ProviderId[]): number | null {
  const filter = providerTerms(providers);
  const row = db.prepare(`SELECT MIN(bucket_start) AS first FROM usage WHERE 1 = 1${filter.sql}`).get(filter.params) as { first: number | null };
  return row.first;
}

/** What a series answer is asked for: its buckets, its groups, the providers it counts, and how many groups keep their own series. */
export interface SeriesOptions {
  granularity: Granularity;
  groupBy: SpendSeriesQuery['groupBy'];
  providers?: readonly ProviderId[];
  top?: number;
}

/**
 * `AND +provider IN (@p0, …)` with its parameters, or nothing when every provider counts. The unary
 * `+` keeps SQLite from reading a table through its provider index for the test, which takes every
 * row of the provider whatever the window: SQLite pushes the test into each part of a family's
 * union, and then chose the provider index over the time keys (1M rows: 270–525 ms a series answer
 * filtered by provider, and 75 ms for earliestBucket, against ~2–20 ms and 0.3 ms by time).
 */
function providerTerms(providers: readonly ProviderId[] | undefined): { sql: string; params: Record<string, string> } {
  const list = providers ?? [];
  return { sql: list.length > 0 ? ` AND +provider IN (${list.map((_, i) => `@p${i}`).join(', ')})` : '', params: Object.fromEntries(list.map((provider, i) => [`p${i}`, provider])) };
}

/** A closed window [fromSec, toSec), Unix seconds. */
interface Window {
  fromSec: number;
  toSec: number;
}

/** The answer's bucket start, in SQL, of a family row whose unit starts at `time`. */
const BUCKET_SQL: Record<Granularity, string> = {
  hour: 'time',
  day: `time - time % ${DAY}`,
  month: `CAST(strftime('%s', time, 'unixepoch', 'start of month') AS INTEGER)`,
};

/**
 * The rows that list a group in an answer and rank it: by hour, the groups with a row whose cost
 * counts in the window (as the hourly rollup holds them); by day and month, also the groups whose
 * rows all count for nothing, at $0.
 */
function listingFamily(granularity: Granularity): Family {
  return granularity === 'hour' ? COUNTED_SPEND : LISTED_USAGE;
}

/** Parameters of a family's SQL over the window: in buckets of `granularity`, or without one as a single sum over all of it. */
function familyParams(family: Family, window: Window, granularity?: Granularity): Record<string, number | bigint> {
  return levelParams(planLevels(window.fromSec, window.toSec, familyLevels(family, granularity ?? 'month'), granularity === undefined));
}

type SeriesRow<T> = [bucket: T, provider: string, grp: string, costNano: T, estimatedNano: T];

/** Spend per (bucket, provider, group) of every group the answer lists (listingFamily), its integers read as `safeIntegers` says. */
function spendSeriesRows<T>(db: Db, window: Window, options: SeriesOptions, safeIntegers: boolean): Array<SeriesRow<T>> {
  const family = listingFamily(options.granularity);
  const providers = providerTerms(options.providers);
  return cachedStatement(db, `SELECT ${BUCKET_SQL[options.granularity]}, provider, ${GROUP_SQL[options.groupBy]}, SUM(cost_nano), SUM(estimated_nano) FROM (${familySql(family)}) WHERE 1 = 1${providers.sql} GROUP BY 1, 2, 3 HAVING SUM(n) > 0`)
    .raw(true)
    .safeIntegers(safeIntegers)
    .all({ ...familyParams(family, window, options.granularity), ...providers.params }) as Array<SeriesRow<T>>;
}

/** The groups that keep their own series, and how many groups the unfolded answer would list. */
interface RankedGroups {
  top: Array<[provider: string, grp: string]>;
  groups: number;
}

/**
 * The `top` groups with the most spend over the whole window (equal spend: by name), and how many
 * groups the unfolded answer would list. Read as one sum over the window (a signed plan): whole
 * months and days of the rollups, less what lies outside the window where that reads fewer rows.
 * Grouped by name first: the group sort, most of the ranking's time, then decides most comparisons
 * on the first key (measured ~10 % faster than by provider first; the ORDER BY fixes the order).
 */
function topGroups(db: Db, window: Window, options: SeriesOptions & { top: number }): RankedGroups {
  const family = listingFamily(options.granularity);
  const providers = providerTerms(options.providers);
  const rows = cachedStatement(
    db,
    `SELECT provider, ${GROUP_SQL[options.groupBy]} AS grp, COUNT(*) OVER () FROM (${familySql(family)}) WHERE 1 = 1${providers.sql}
     GROUP BY grp, provider HAVING SUM(n) > 0 ORDER BY SUM(cost_nano) DESC, grp, provider LIMIT @top`,
  )
    .raw(true)
    .safeIntegers(false)
    .all({ ...familyParams(family, window), ...providers.params, top: options.top }) as Array<[string, string, number]>;
  return { top: rows.map(([provider, grp]) => [provider, grp]), groups: rows[0]?.[2] ?? 0 };
}

type BucketRow<T> = [bucket: T, costNano: T, estimatedNano: T];

/** Spend per bucket of a family's rows (its own parameters in `params`), of the providers the answer counts. */
function bucketSums<T>(db: Db, window: Window, options: SeriesOptions, family: Family, params: Record<string, string | null>, safeIntegers: boolean): Array<BucketRow<T>> {
  const providers = providerTerms(options.providers);
  return cachedStatement(db, `SELECT ${BUCKET_SQL[options.granularity]}, SUM(cost_nano), SUM(estimated_nano) FROM (${familySql(family)}) WHERE 1 = 1${providers.sql} GROUP BY 1`)
    .raw(true)
    .safeIntegers(safeIntegers)
    .all({ ...familyParams(family, window, options.granularity), ...providers.params, ...params }) as Array<BucketRow<T>>;
}

/**
 * Spend per bucket of the kept projects, in one pass over the window: no rollup is ordered by
 * project. The unary `+` keeps the group test from being pushed into the raw parts, where it would
 * make SQLite walk the usage table by provider instead of by time.
 */
function keptProjectRows<T>(db: Db, window: Window, options: SeriesOptions, top: RankedGroups['top'], safeIntegers: boolean): Array<SeriesRow<T>> {
  return cachedStatement(
    db,
    `SELECT ${BUCKET_SQL[options.granularity]}, provider, project, SUM(cost_nano), SUM(estimated_nano) FROM (${familySql(COUNTED_SPEND)})
     WHERE (+provider, +project) IN (SELECT value ->> 0, value ->> 1 FROM json_each(@top)) GROUP BY 1, 2, 3`,
  )
    .raw(true)
    .safeIntegers(safeIntegers)
    .all({ ...familyParams(COUNTED_SPEND, window, options.granularity), top: JSON.stringify(top) }) as Array<SeriesRow<T>>;
}

/** A column of cells, one per bucket, indexable and writable: a Float64Array or an array of bigints. */
interface Cells<T> {
  [at: number]: T;
  readonly length: number;
}

/**
 * How an answer's nano-dollar sums are read from SQLite and added: as bigints, always exact, or as
 * JS numbers, which read and add several times faster (no allocation per value) and are exact while
 * every value and every partial sum is a safe integer, which `admit` checks value by value.
 */
interface CellArithmetic<T extends number | bigint> {
  /** How SQLite's integers are read (better-sqlite3's safeIntegers): bigints, or numbers that may be rounded past 2^53. */
  readonly safeIntegers: boolean;
  readonly zero: T;
  /** `length` zero cells. */
  cells(length: number): Cells<T>;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  /** Takes in a sum as read; false when the answer can no longer be proven exact in this arithmetic. */
  admit(value: T): boolean;
}

const BIGINT_ARITHMETIC: CellArithmetic<bigint> = {
  safeIntegers: true,
  zero: 0n,
  cells: (length) => new Array<bigint>(length).fill(0n),
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  admit: () => true,
};

/**
 * Numbers, for one answer. Every sum an answer makes (a cell, a series' total, a bucket's "other" =
 * all − kept, its total) adds values as read, each at most once and with a sign, so none can be
 * larger than the sum of the magnitudes of the values read: while that stays below 2^53 and every
 * value is a safe integer, every partial sum is an integer below 2^53 and exact in a float64. The
 * bound is itself summed in floats, and faithfully: its terms are non-negative integers, added
 * exactly until the sum reaches 2^53, and rounding never brings a sum at or past 2^53 back below it.
 */
function numberArithmetic(): CellArithmetic<number> {
  let magnitude = 0;
  return {
    safeIntegers: false,
    zero: 0,
    cells: (length) => new Float64Array(length),
    add: (a, b) => a + b,
    sub: (a, b) => a - b,
    admit: (value) => Number.isSafeInteger(value) && (magnitude += Math.abs(value)) <= Number.MAX_SAFE_INTEGER,
  };
}

/** One group's spend per bucket, laid out zero-filled over the answer's buckets. */
interface Column<T> {
  key: string;
  provider: ProviderId | null;
  cost: Cells<T>;
  estimated: Cells<T>;
  total: T;
}

/** Largest total first; equal totals by name, so the order never depends on the rows' order. */
function byTotal<T extends number | bigint>(a: Column<T>, b: Column<T>): number {
  return a.total === b.total ? a.key.localeCompare(b.key) : a.total > b.total ? -1 : 1;
}

/** Cells as the answer writes them; most cells of an hourly chart are empty hours, so zero is written without arithmetic. */
function formatCells(cells: Cells<number | bigint>): string[] {
  // Pushed rather than written into new Array(length): JSON.stringify is slower on an array made with holes.
  const text: string[] = [];
  for (let at = 0; at < cells.length; at++) {
    const nano = cells[at]!;
    text.push(nano === 0 || nano === 0n ? '0' : formatNanoAsDecimal(nano));
  }
  return text;
}

function seriesOf(column: Column<number | bigint>): SpendSeries['series'][number] {
  return { key: column.key, provider: column.provider, costUsd: formatCells(column.cost), estimatedUsd: formatCells(column.estimated), totalUsd: formatNanoAsDecimal(column.total) };
}

const pad2 = (value: number): string => (value < 10 ? `0${value}` : `${value}`);

/**
 * The buckets' starts as Date#toISOString writes them, the date made once per UTC day and the time
 * of day from its seconds: 2 160 hourly buckets through Date objects took ~2.5 ms, this way under 1 ms.
 */
function isoBucketLabels(starts: readonly number[]): string[] {
  let day = Number.NaN;
  let date = '';
  return starts.map((sec) => {
    // Date truncates fractional milliseconds.
    const ms = Math.trunc(sec * 1000);
    const dayMs = ms - (((ms % (DAY * 1000)) + DAY * 1000) % (DAY * 1000));
    if (dayMs !== day) {
      day = dayMs;
      date = new Date(dayMs).toISOString().slice(0, -'00:00:00.000Z'.length);
    }
    const inDay = ms - dayMs;
    return `${date}${pad2(Math.floor(inDay / 3_600_000))}:${pad2(Math.floor(inDay / 60_000) % 60)}:${pad2(Math.floor(inDay / 1000) % 60)}.${String(inDay % 1000).padStart(3, '0')}Z`;
  });
}

/**
 * The answer with its sums in `arithmetic` (see querySpendSeries), or null as soon as a value read
 * cannot be taken in exactly.
 */
function foldAnswer<T extends number | bigint>(arithmetic: CellArithmetic<T>, db: Db, window: Window, options: SeriesOptions, starts: readonly number[], ranked: RankedGroups | undefined): SpendSeries | null {
  const { safeIntegers } = arithmetic;
  const index = new Map(starts.map((start, i) => [start, i]));
  const columns = new Map<string, Column<T>>();
  const newColumn = (key: string, provider: ProviderId | null): Column<T> => ({ key, provider, cost: arithmetic.cells(starts.length), estimated: arithmetic.cells(starts.length), total: arithmetic.zero });
  const columnOf = (provider: ProviderId, grp: string): Column<T> => {
    const id = options.groupBy === 'provider' ? provider : `${provider}\u0000${grp}`;
    let column = columns.get(id);
    if (!column) columns.set(id, (column = newColumn(grp, provider)));
    return column;
  };
  /** Adds a row's sums to its bucket's cells; false when they cannot be added exactly. */
  const addRow = (column: Column<T>, bucket: T, costNano: T, estimatedNano: T): boolean => {
    const at = index.get(Number(bucket));
    if (at === undefined) return true;
    if (!arithmetic.admit(costNano) || !arithmetic.admit(estimatedNano)) return false;
    column.cost[at] = arithmetic.add(column.cost[at]!, costNano);
    column.estimated[at] = arithmetic.add(column.estimated[at]!, estimatedNano);
    column.total = arithmetic.add(column.total, costNano);
    return true;
  };
  const addSeriesRows = (rows: Array<SeriesRow<T>>): boolean => {
    for (const [bucket, provider, grp, costNano, estimatedNano] of rows) if (isProviderId(provider) && !addRow(columnOf(provider, grp), bucket, costNano, estimatedNano)) return false;
    return true;
  };
  const answer = (other?: SpendSeries['other']): SpendSeries => ({
    granularity: options.granularity,
    groupBy: options.groupBy,
    buckets: isoBucketLabels(starts),
    series: [...columns.values()].sort(byTotal).map(seriesOf),
    ...(other ? { other } : {}),
  });

  if (ranked === undefined) return addSeriesRows(spendSeriesRows<T>(db, window, options, safeIntegers)) ? answer() : null;

  // Every kept group has its series, even one whose rows in the window all count for nothing.
  for (const [provider, grp] of ranked.top) if (isProviderId(provider)) columnOf(provider, grp);
  if (options.groupBy === 'project') {
    if (!addSeriesRows(keptProjectRows<T>(db, window, options, ranked.top, safeIntegers))) return null;
  } else {
    // A model's and a provider's spend from the rollups ordered by them: a few hundred index entries each.
    for (const [provider, grp] of ranked.top) {
      if (!isProviderId(provider)) continue;
      const column = columnOf(provider, grp);
      const rows = options.groupBy === 'model' ? bucketSums<T>(db, window, options, COUNTED_MODEL_SPEND, { provider, model: grp }, safeIntegers) : bucketSums<T>(db, window, options, COUNTED_PROVIDER_SPEND, { provider }, safeIntegers);
      for (const [bucket, costNano, estimatedNano] of rows) if (!addRow(column, bucket, costNano, estimatedNano)) return null;
    }
  }
  const foldedGroups = ranked.groups - ranked.top.length;
  if (foldedGroups === 0) return answer();
  const all = newColumn('', null);
  for (const [bucket, costNano, estimatedNano] of bucketSums<T>(db, window, options, COUNTED_PROVIDER_SPEND, { provider: null }, safeIntegers)) if (!addRow(all, bucket, costNano, estimatedNano)) return null;
  // What is not in a kept series is the other groups' spend: all of it minus the kept, bucket by bucket.
  const kept = [...columns.values()];
  const folded = newColumn('', null);
  for (let at = 0; at < starts.length; at++) {
    let cost = all.cost[at]!;
    let estimated = all.estimated[at]!;
    for (const column of kept) {
      cost = arithmetic.sub(cost, column.cost[at]!);
      estimated = arithmetic.sub(estimated, column.estimated[at]!);
    }
    folded.cost[at] = cost;
    folded.estimated[at] = estimated;
    folded.total = arithmetic.add(folded.total, cost);
  }
  const { costUsd, estimatedUsd, totalUsd } = seriesOf(folded);
  return answer({ groups: foldedGroups, costUsd, estimatedUsd, totalUsd });
}

/**
 * Spend over time: sums per (bucket, group) in SQL over the closed window [fromSec, toSec), then laid
 * out as one zero-filled column per group, largest total first. A model name is grouped per provider,
 * since two providers may use the same one. With `top`, only the `top` groups with the most spend
 * over the window keep a series; the others are summed into `other`, so the series and `other`
 * together still add up to every group's spend, billed and estimated, to the nano-dollar.
 *
 * Everything is read in one snapshot. The sums are added as JS numbers when that is provably exact
 * (numberArithmetic), else read again as bigints: the answer is the same to the character either way.
 */
export function querySpendSeries(db: Db, window: Window, options: SeriesOptions): SpendSeries {
  const starts = bucketStarts(window.fromSec, window.toSec, options.granularity);
  const { top } = options;
  // The ranking's LIMIT would return no group at all, and so no count of those it left out.
  if (top !== undefined && (!Number.isSafeInteger(top) || top < 1)) throw new RangeError(`top must be a whole number of groups, 1 or more (got ${top})`);
  // One read transaction: the answer's statements all see the same data, though another process may write between two of them.
  return db.transaction(() => {
    // By provider, every group keeps its series: ranked (one sum over the window) and read from the
    // per-provider totals, a few rows a day, instead of listed from every (model, project) row of
    // the window (10M rows, all time by day: 3.3 s).
    const keep = top ?? (options.groupBy === 'provider' ? Number.MAX_SAFE_INTEGER : undefined);
    const ranked = keep === undefined ? undefined : topGroups(db, window, { ...options, top: keep });
    // Bigints take in every value, so the second fold always answers.
    return foldAnswer(numberArithmetic(), db, window, options, starts, ranked) ?? (foldAnswer(BIGINT_ARITHMETIC, db, window, options, starts, ranked) as SpendSeries);
  })();
}
