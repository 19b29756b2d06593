import type { Granularity, SpendAmount, SpendSeries, SpendSeriesQuery } from '../../shared/api.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import { isProviderId, type ProviderId } from '../../shared/providers.js';
import type { TimeWindow } from '../../shared/time-range.js';
import type { Db } from '../store/db.js';
import { COUNTED_MODEL_SPEND, COUNTED_PROVIDER_SPEND, COUNTED_SPEND, familyLevels, familySql, levelParams, LISTED_USAGE, planLevels, querySpendByProvider, type Family } from '../store/rollups.js';
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
  const result = new Map<ProviderId, SpendNano>();
  for (const row of querySpendByProvider(db, ...windowBounds(window))) if (isProviderId(row.provider)) result.set(row.provider, { costNano: row.cost_nano, estimatedNano: row.estimated_nano });
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

/** `AND provider IN (@p0, …)` with its parameters, or nothing when every provider counts. */
function providerTerms(providers: readonly ProviderId[] | undefined): { sql: string; params: Record<string, string> } {
  const list = providers ?? [];
  return { sql: list.length > 0 ? ` AND provider IN (${list.map((_, i) => `@p${i}`).join(', ')})` : '', params: Object.fromEntries(list.map((provider, i) => [`p${i}`, provider])) };
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

type SeriesRow = [bucket: bigint, provider: string, grp: string, costNano: bigint, estimatedNano: bigint];

/** Spend per (bucket, provider, group) of every group the answer lists (listingFamily). */
function spendSeriesRows(db: Db, window: Window, options: SeriesOptions): SeriesRow[] {
  const family = listingFamily(options.granularity);
  const providers = providerTerms(options.providers);
  return cachedStatement(db, `SELECT ${BUCKET_SQL[options.granularity]}, provider, ${GROUP_SQL[options.groupBy]}, SUM(cost_nano), SUM(estimated_nano) FROM (${familySql(family)}) WHERE 1 = 1${providers.sql} GROUP BY 1, 2, 3 HAVING SUM(n) > 0`)
    .raw(true)
    .safeIntegers(true)
    .all({ ...familyParams(family, window, options.granularity), ...providers.params }) as SeriesRow[];
}

/**
 * The `top` groups with the most spend over the whole window (equal spend: by name), and how many
 * groups the unfolded answer would list. Read as one sum over the window (a signed plan): whole
 * months and days of the rollups, less what lies outside the window where that reads fewer rows.
 */
function topGroups(db: Db, window: Window, options: SeriesOptions & { top: number }): { top: Array<[provider: string, grp: string]>; groups: number } {
  const family = listingFamily(options.granularity);
  const providers = providerTerms(options.providers);
  const rows = cachedStatement(
    db,
    `SELECT provider, ${GROUP_SQL[options.groupBy]} AS grp, COUNT(*) OVER () FROM (${familySql(family)}) WHERE 1 = 1${providers.sql}
     GROUP BY provider, grp HAVING SUM(n) > 0 ORDER BY SUM(cost_nano) DESC, grp, provider LIMIT @top`,
  )
    .raw(true)
    .safeIntegers(false)
    .all({ ...familyParams(family, window), ...providers.params, top: options.top }) as Array<[string, string, number]>;
  return { top: rows.map(([provider, grp]) => [provider, grp]), groups: rows[0]?.[2] ?? 0 };
}

type BucketRow = [bucket: bigint, costNano: bigint, estimatedNano: bigint];

/** Spend per bucket of a family's rows (its own parameters in `params`), of the providers the answer counts. */
function bucketSums(db: Db, window: Window, options: SeriesOptions, family: Family, params: Record<string, string | null>): BucketRow[] {
  const providers = providerTerms(options.providers);
  return cachedStatement(db, `SELECT ${BUCKET_SQL[options.granularity]}, SUM(cost_nano), SUM(estimated_nano) FROM (${familySql(family)}) WHERE 1 = 1${providers.sql} GROUP BY 1`)
    .raw(true)
    .safeIntegers(true)
    .all({ ...familyParams(family, window, options.granularity), ...providers.params, ...params }) as BucketRow[];
}

/**
 * Spend per bucket of each kept group: a model's and a provider's from the rollups ordered by them,
 * a few hundred index entries each; projects, which no rollup is ordered by, in one pass over the
 * window. The unary `+` keeps the group test from being pushed into the raw parts, where it would
 * make SQLite walk the usage table by provider instead of by time.
 */
function keptGroupRows(db: Db, window: Window, options: SeriesOptions, top: Array<[provider: string, grp: string]>): SeriesRow[] {
  if (options.groupBy === 'project') {
    return cachedStatement(
      db,
      `SELECT ${BUCKET_SQL[options.granularity]}, provider, project, SUM(cost_nano), SUM(estimated_nano) FROM (${familySql(COUNTED_SPEND)})
       WHERE (+provider, +project) IN (SELECT value ->> 0, value ->> 1 FROM json_each(@top)) GROUP BY 1, 2, 3`,
    )
      .raw(true)
      .safeIntegers(true)
      .all({ ...familyParams(COUNTED_SPEND, window, options.granularity), top: JSON.stringify(top) }) as SeriesRow[];
  }
  return top.flatMap(([provider, grp]) => {
    const sums = options.groupBy === 'model' ? bucketSums(db, window, options, COUNTED_MODEL_SPEND, { provider, model: grp }) : bucketSums(db, window, options, COUNTED_PROVIDER_SPEND, { provider });
    return sums.map(([bucket, costNano, estimatedNano]): SeriesRow => [bucket, provider, grp, costNano, estimatedNano]);
  });
}

/** One group's spend per bucket, laid out zero-filled over the answer's buckets. */
interface Column {
  key: string;
  provider: ProviderId | null;
  cost: bigint[];
  estimated: bigint[];
  total: bigint;
}

function emptyColumn(key: string, provider: ProviderId | null, buckets: number): Column {
  return { key, provider, cost: new Array<bigint>(buckets).fill(0n), estimated: new Array<bigint>(buckets).fill(0n), total: 0n };
}

function addToColumn(column: Column, at: number, costNano: bigint, estimatedNano: bigint): void {
  column.cost[at] = column.cost[at]! + costNano;
  column.estimated[at] = column.estimated[at]! + estimatedNano;
  column.total += costNano;
}

/** Largest total first; equal totals by name, so the order never depends on the rows' order. */
function byTotal(a: Column, b: Column): number {
  return a.total === b.total ? a.key.localeCompare(b.key) : a.total > b.total ? -1 : 1;
}

/** A cell as the answer writes it; most cells of an hourly chart are empty hours, so zero is written without arithmetic. */
function formatCell(nano: bigint): string {
  return nano === 0n ? '0' : formatNanoAsDecimal(nano);
}

function seriesOf(column: Column): SpendSeries['series'][number] {
  return { key: column.key, provider: column.provider, costUsd: column.cost.map(formatCell), estimatedUsd: column.estimated.map(formatCell), totalUsd: formatNanoAsDecimal(column.total) };
}

/**
 * Spend over time: sums per (bucket, group) in SQL over the closed window [fromSec, toSec), then laid
 * out as one zero-filled column per group, largest total first. A model name is grouped per provider,
 * since two providers may use the same one. With `top`, only the `top` groups with the most spend
 * over the window keep a series; the others are summed into `other`, so the series and `other`
 * together still add up to every group's spend, billed and estimated, to the nano-dollar.
 */
export function querySpendSeries(db: Db, window: Window, options: SeriesOptions): SpendSeries {
  const starts = bucketStarts(window.fromSec, window.toSec, options.granularity);
  const index = new Map(starts.map((start, i) => [start, i]));
  const columns = new Map<string, Column>();
  const columnOf = (provider: ProviderId, grp: string): Column => {
    const id = options.groupBy === 'provider' ? provider : `${provider}\u0000${grp}`;
    let column = columns.get(id);
    if (!column) columns.set(id, (column = emptyColumn(grp, provider, starts.length)));
    return column;
  };
  const answer = (other?: SpendSeries['other']): SpendSeries => ({
    granularity: options.granularity,
    groupBy: options.groupBy,
    buckets: starts.map((sec) => new Date(sec * 1000).toISOString()),
    series: [...columns.values()].sort(byTotal).map(seriesOf),
    ...(other ? { other } : {}),
  });

  if (options.top === undefined) {
    // Raw rows (arrays) rather than objects: a year of days × 50 models is 18 000 of them.
    for (const [bucket, provider, grp, costNano, estimatedNano] of spendSeriesRows(db, window, options)) {
      const at = index.get(Number(bucket));
      if (at !== undefined && isProviderId(provider)) addToColumn(columnOf(provider, grp), at, costNano, estimatedNano);
    }
    return answer();
  }

  // The ranking's LIMIT would return no group at all, and so no count of those it left out.
  if (!Number.isSafeInteger(options.top) || options.top < 1) throw new RangeError(`top must be a whole number of groups, 1 or more (got ${options.top})`);
  const ranked = topGroups(db, window, { ...options, top: options.top });
  // Every kept group has its series, even one whose rows in the window all count for nothing.
  for (const [provider, grp] of ranked.top) if (isProviderId(provider)) columnOf(provider, grp);
  for (const [bucket, provider, grp, costNano, estimatedNano] of keptGroupRows(db, window, options, ranked.top)) {
    const at = index.get(Number(bucket));
    if (at !== undefined && isProviderId(provider)) addToColumn(columnOf(provider, grp), at, costNano, estimatedNano);
  }
  const foldedGroups = ranked.groups - ranked.top.length;
  if (foldedGroups === 0) return answer();
  const all = emptyColumn('', null, starts.length);
  for (const [bucket, costNano, estimatedNano] of bucketSums(db, window, options, COUNTED_PROVIDER_SPEND, { provider: null })) {
    const at = index.get(Number(bucket));
    if (at !== undefined) addToColumn(all, at, costNano, estimatedNano);
  }
  // What is not in a kept series is the other groups' spend: all of it minus the kept, bucket by bucket.
  const folded = emptyColumn('', null, starts.length);
  for (let at = 0; at < starts.length; at++) {
    let cost = all.cost[at]!;
    let estimated = all.estimated[at]!;
    for (const column of columns.values()) {
      cost -= column.cost[at]!;
      estimated -= column.estimated[at]!;
    }
    addToColumn(folded, at, cost, estimated);
  }
  const { costUsd, estimatedUsd, totalUsd } = seriesOf(folded);
  return answer({ groups: foldedGroups, costUsd, estimatedUsd, totalUsd });
}
