import type { Granularity, SpendAmount, SpendSeries, SpendSeriesQuery } from '../../shared/api.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import { isProviderId, type ProviderId } from '../../shared/providers.js';
import type { TimeWindow } from '../../shared/time-range.js';
import type { Db } from '../store/db.js';
import { countedSpendSql, planSpend, planWindow, querySpendByProvider, spendPlanParams, windowedUsageSql, windowParams } from '../store/rollups.js';
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

/** SQL of rows to sum and its parameters. */
interface Source {
  sql: string;
  params: Record<string, number | string | null>;
}

/** `AND provider IN (@p0, …)` with its parameters, or nothing when every provider counts. */
function providerTerms(providers: readonly ProviderId[] | undefined): { sql: string; params: Record<string, string> } {
  const list = providers ?? [];
  return { sql: list.length > 0 ? ` AND provider IN (${list.map((_, i) => `@p${i}`).join(', ')})` : '', params: Object.fromEntries(list.map((provider, i) => [`p${i}`, provider])) };
}

/**
 * Rows (bucket, provider, grp, present, cost_nano, estimated_nano) of the usage rollups: full
 * months (for monthly buckets), full days, and the raw rows of the partial days at the edges,
 * bucketed by day or month. `present` is how many usage rows a row stands for, counted or not:
 * a group with rows that all count for nothing is listed at $0, as everywhere else.
 */
function rollupSource(window: { fromSec: number; toSec: number }, options: SeriesOptions, granularity: 'day' | 'month'): Source {
  const providers = providerTerms(options.providers);
  const bucket = granularity === 'day' ? 'bucket' : `CAST(strftime('%s', bucket, 'unixepoch', 'start of month') AS INTEGER)`;
  return {
    sql: `SELECT ${bucket} AS bucket, provider, ${GROUP_SQL[options.groupBy]} AS grp, present, cost_nano, estimated_nano FROM (${windowedUsageSql()}) WHERE 1 = 1${providers.sql}`,
    params: { ...windowParams(planWindow(window.fromSec, window.toSec, granularity === 'month')), ...providers.params },
  };
}

/**
 * Rows (bucket, provider, grp, cost_nano, estimated_nano) of the spend that counts, bucketed by hour
 * or day: the hourly rollup for full hours (and the daily one for full days), the counted raw rows
 * of the partial hours at the edges. Cheaper than rollupSource at the edges, as it reads covering
 * indexes only; by hour, a group with a row here has a counted row in that hour.
 */
function countedSource(window: { fromSec: number; toSec: number }, options: SeriesOptions, granularity: 'hour' | 'day'): Source {
  const providers = providerTerms(options.providers);
  const bucket = granularity === 'hour' ? 'bucket' : `bucket - bucket % ${DAY}`;
  return {
    sql: `SELECT ${bucket} AS bucket, provider, ${GROUP_SQL[options.groupBy]} AS grp, cost_nano, estimated_nano FROM (${countedSpendSql()}) WHERE 1 = 1${providers.sql}`,
    params: { ...spendPlanParams(planSpend(window.fromSec, window.toSec, granularity === 'day')), ...providers.params },
  };
}

type SeriesRow = [bucket: bigint, provider: string, grp: string, costNano: bigint, estimatedNano: bigint];

/**
 * Spend per (bucket, provider, group) with any row in it. Hourly buckets list groups with a counted
 * row in the hour; daily and monthly ones also groups whose rows all count for nothing, at $0.
 */
function spendSeriesRows(db: Db, window: { fromSec: number; toSec: number }, options: SeriesOptions): SeriesRow[] {
  const [source, having] = options.granularity === 'hour' ? [countedSource(window, options, 'hour'), ''] : [rollupSource(window, options, options.granularity), ' HAVING SUM(present) > 0'];
  return cachedStatement(db, `SELECT bucket, provider, grp, SUM(cost_nano), SUM(estimated_nano) FROM (${source.sql}) GROUP BY 1, 2, 3${having}`)
    .raw(true)
    .safeIntegers(true)
    .all(source.params) as SeriesRow[];
}

/**
 * The `top` groups with the most spend over the whole window (equal spend: by name), and how many
 * groups the unfolded answer would list: for hourly buckets those with a counted row, read from the
 * hourly rollup; otherwise those with any row, read from the monthly and daily rollups, which hold
 * the same rows as the window's days.
 */
function topGroups(db: Db, window: { fromSec: number; toSec: number }, options: SeriesOptions & { top: number }): { top: Array<[provider: string, grp: string]>; groups: number } {
  const [source, having] = options.granularity === 'hour' ? [countedSource(window, options, 'hour'), ''] : [rollupSource(window, options, 'month'), ' HAVING SUM(present) > 0'];
  const rows = cachedStatement(db, `SELECT provider, grp, COUNT(*) OVER () FROM (${source.sql}) GROUP BY provider, grp${having} ORDER BY SUM(cost_nano) DESC, grp, provider LIMIT @top`)
    .raw(true)
    .safeIntegers(false)
    .all({ ...source.params, top: options.top }) as Array<[string, string, number]>;
  return { top: rows.map(([provider, grp]) => [provider, grp]), groups: rows[0]?.[2] ?? 0 };
}

type FoldedRow = [bucket: bigint, provider: string | null, grp: string | null, costNano: bigint, estimatedNano: bigint];

/**
 * Spend per bucket of each of the given groups (provider and group set), and of all groups together
 * (provider and group null): what the others sum to is the second minus the first, exactly. Two
 * aggregates in one statement, so what crosses into JS is (top + 1) × buckets rows at most, however
 * many groups there are. The unary `+` keeps the group test from being pushed into the raw parts of
 * the source, where it would make SQLite walk the usage table by provider instead of by time.
 */
function foldedSeriesRows(db: Db, source: Source, top: Array<[string, string]>): FoldedRow[] {
  return cachedStatement(
    db,
    `SELECT bucket, provider, grp, SUM(cost_nano), SUM(estimated_nano) FROM (${source.sql})
       WHERE (+provider, +grp) IN (SELECT value ->> 0, value ->> 1 FROM json_each(@top)) GROUP BY 1, 2, 3
     UNION ALL
     SELECT bucket, NULL, NULL, SUM(cost_nano), SUM(estimated_nano) FROM (${source.sql}) GROUP BY 1`,
  )
    .raw(true)
    .safeIntegers(true)
    .all({ ...source.params, top: JSON.stringify(top) }) as FoldedRow[];
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

function seriesOf(column: Column): SpendSeries['series'][number] {
  return { key: column.key, provider: column.provider, costUsd: column.cost.map(formatNanoAsDecimal), estimatedUsd: column.estimated.map(formatNanoAsDecimal), totalUsd: formatNanoAsDecimal(column.total) };
}

/**
 * Spend over time: sums per (bucket, group) in SQL over the closed window [fromSec, toSec), then laid
 * out as one zero-filled column per group, largest total first. A model name is grouped per provider,
 * since two providers may use the same one. With `top`, only the `top` groups with the most spend
 * over the window keep a series; the others are summed into `other`, so the series and `other`
 * together still add up to every group's spend, billed and estimated, to the nano-dollar.
 */
export function querySpendSeries(db: Db, window: { fromSec: number; toSec: number }, options: SeriesOptions): SpendSeries {
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
  // Which groups a bucket lists does not matter here (zero-filled either way), only the sums: the
  // counted spend, cheaper to read than the rollups' edges, except by month, which the monthly rollup serves.
  const source = options.granularity === 'month' ? rollupSource(window, options, 'month') : countedSource(window, options, options.granularity);
  // Every kept group has its series, even one whose rows in the window all count for nothing.
  for (const [provider, grp] of ranked.top) if (isProviderId(provider)) columnOf(provider, grp);
  const all = emptyColumn('', null, starts.length);
  for (const [bucket, provider, grp, costNano, estimatedNano] of foldedSeriesRows(db, source, ranked.top)) {
    const at = index.get(Number(bucket));
    if (at === undefined) continue;
    if (provider === null || grp === null) addToColumn(all, at, costNano, estimatedNano);
    else if (isProviderId(provider)) addToColumn(columnOf(provider, grp), at, costNano, estimatedNano);
  }
  const foldedGroups = ranked.groups - ranked.top.length;
  if (foldedGroups === 0) return answer();
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
