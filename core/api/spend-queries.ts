import type { Granularity, SpendAmount, SpendSeries, SpendSeriesQuery } from '../../shared/api.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import { isProviderId, type ProviderId } from '../../shared/providers.js';
import type { TimeWindow } from '../../shared/time-range.js';
import type { Db } from '../store/db.js';
import { planWindow, querySpendByProvider, windowedUsageSql, windowParams } from '../store/rollups.js';
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

/** `AND provider IN (…)` with its parameters, or nothing when every provider counts. */
function providerFilter(providers: readonly ProviderId[] | undefined): { sql: string; params: string[] } {
  if (!providers || providers.length === 0) return { sql: '', params: [] };
  return { sql: ` AND provider IN (${providers.map(() => '?').join(', ')})`, params: [...providers] };
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

/** SQL expression of the start of the hour a row falls in. Daily rows land on their day's first hour. */
const HOUR_BUCKET_SQL = `bucket_start - bucket_start % ${HOUR}`;

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
  const filter = providerFilter(providers);
  const row = db.prepare(`SELECT MIN(bucket_start) AS first FROM usage WHERE 1 = 1${filter.sql}`).get(...filter.params) as { first: number | null };
  return row.first;
}

/**
 * Spend per (bucket, provider, group) over [fromSec, toSec). Daily and monthly buckets read the
 * rollups (full months and days) and the raw rows of the partial days at the edges; hourly buckets
 * read only the rows whose cost counts (billed rows and estimates not superseded), through the
 * partial index that holds just those.
 */
function spendSeriesRows(db: Db, window: { fromSec: number; toSec: number }, options: { granularity: Granularity; groupBy: SpendSeriesQuery['groupBy']; providers?: readonly ProviderId[] }): unknown[] {
  const providers = options.providers ?? [];
  const providerParams = Object.fromEntries(providers.map((provider, i) => [`p${i}`, provider]));
  const providerSql = providers.length > 0 ? ` AND provider IN (${providers.map((_, i) => `@p${i}`).join(', ')})` : '';
  const group = GROUP_SQL[options.groupBy];
  if (options.granularity === 'hour') {
    return cachedStatement(
      db,
      `SELECT ${HOUR_BUCKET_SQL} AS bucket, provider, ${group} AS grp, SUM(cost_nano), SUM(CASE WHEN cost_kind = 'estimated' THEN cost_nano ELSE 0 END)
       FROM usage WHERE superseded = 0 AND bucket_start >= @from AND bucket_start < @to${providerSql}
       GROUP BY bucket, provider, grp`,
    )
      .raw(true)
      .safeIntegers(true)
      .all({ from: window.fromSec, to: window.toSec, ...providerParams });
  }
  const bucket = options.granularity === 'day' ? 'bucket' : `CAST(strftime('%s', bucket, 'unixepoch', 'start of month') AS INTEGER)`;
  return cachedStatement(
    db,
    `SELECT ${bucket} AS period, provider, ${group} AS grp, SUM(cost_nano), SUM(estimated_nano)
     FROM (${windowedUsageSql()}) WHERE 1 = 1${providerSql}
     GROUP BY period, provider, grp HAVING SUM(present) > 0`,
  )
    .raw(true)
    .safeIntegers(true)
    .all({ ...windowParams(planWindow(window.fromSec, window.toSec, options.granularity === 'month')), ...providerParams });
}

/**
 * Spend over time: sums per (bucket, group) in SQL over the closed window [fromSec, toSec), then laid
 * out as one zero-filled column per group, largest total first. A model name is grouped per provider,
 * since two providers may use the same one.
 */
export function querySpendSeries(
  db: Db,
  window: { fromSec: number; toSec: number },
  options: { granularity: Granularity; groupBy: SpendSeriesQuery['groupBy']; providers?: readonly ProviderId[] },
): SpendSeries {
  const starts = bucketStarts(window.fromSec, window.toSec, options.granularity);
  const index = new Map(starts.map((start, i) => [start, i]));
  // Raw rows (arrays) rather than objects: a year of days × 50 models is 18 000 of them.
  const rows = spendSeriesRows(db, window, options) as Array<[bucket: bigint, provider: string, grp: string, costNano: bigint, estimatedNano: bigint]>;

  interface Column {
    key: string;
    provider: ProviderId | null;
    cost: bigint[];
    estimated: bigint[];
    total: bigint;
  }
  const columns = new Map<string, Column>();
  for (const [bucket, provider, grp, costNano, estimatedNano] of rows) {
    const at = index.get(Number(bucket));
    if (at === undefined || !isProviderId(provider)) continue;
    const id = options.groupBy === 'provider' ? provider : `${provider}\u0000${grp}`;
    let column = columns.get(id);
    if (!column) {
      column = { key: grp, provider, cost: new Array<bigint>(starts.length).fill(0n), estimated: new Array<bigint>(starts.length).fill(0n), total: 0n };
      columns.set(id, column);
    }
    column.cost[at] = column.cost[at]! + costNano;
    column.estimated[at] = column.estimated[at]! + estimatedNano;
    column.total += costNano;
  }
  const ordered = [...columns.values()].sort((a, b) => (a.total === b.total ? a.key.localeCompare(b.key) : a.total > b.total ? -1 : 1));
  return {
    granularity: options.granularity,
    groupBy: options.groupBy,
    buckets: starts.map((sec) => new Date(sec * 1000).toISOString()),
    series: ordered.map((column) => ({
      key: column.key,
      provider: column.provider,
      costUsd: column.cost.map(formatNanoAsDecimal),
      estimatedUsd: column.estimated.map(formatNanoAsDecimal),
      totalUsd: formatNanoAsDecimal(column.total),
    })),
  };
}
