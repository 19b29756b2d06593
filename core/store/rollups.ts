/**
 * Rollups of counted usage (migration 4): per (provider, model, project) and UTC day, per UTC
 * month, and all time per (provider, model). Triggers on the usage table keep them current inside
 * the transaction of every write, whoever writes, so a scrape or a budget reads a few hundred
 * rollup rows instead of every usage row.
 *
 * A window [from, to) is read as full months from the monthly rollup, full days from the daily
 * one, and the partial days at its edges from the raw hourly rows (planWindow), which gives
 * exactly what aggregating the raw rows of the window would.
 */
import type { TimeWindow } from '../../shared/time-range.js';
import type { Db } from './db.js';
import { COUNTED_ROWS_SQL, ESTIMATED_NANO_SQL, SPEND_NANO_SQL, windowBounds } from './spend-sql.js';
import { cachedStatement } from './statements.js';

const DAY = 86_400;

/** The summed columns every rollup table has, in this order. */
export const ROLLUP_COLUMNS = ['rows', 'present', 'cost_nano', 'estimated_nano', 'request_rows', 'requests', 'input_tokens', 'cached_input_tokens', 'cache_write_tokens', 'output_tokens'] as const;

const COLUMN_LIST = ROLLUP_COLUMNS.join(', ');

const COUNTED = `(${COUNTED_ROWS_SQL})`;

/** ROLLUP_COLUMNS computed from raw usage rows: `rows` and the requests and tokens of the counted ones only. */
const RAW_AGGREGATES = `SUM(${COUNTED}) AS rows, COUNT(*) AS present, ${SPEND_NANO_SQL} AS cost_nano, ${ESTIMATED_NANO_SQL} AS estimated_nano,
  SUM(CASE WHEN ${COUNTED} THEN requests IS NOT NULL ELSE 0 END) AS request_rows,
  ${['requests', 'input_tokens', 'cached_input_tokens', 'cache_write_tokens', 'output_tokens'].map((column) => `SUM(CASE WHEN ${COUNTED} THEN COALESCE(${column}, 0) ELSE 0 END) AS ${column}`).join(', ')}`;

/** ROLLUP_COLUMNS summed over rollup rows. */
const ROLLUP_SUMS = ROLLUP_COLUMNS.map((column) => `SUM(${column}) AS ${column}`).join(', ');

type Range = readonly [from: number, to: number];
const EMPTY: Range = [0, 0];
const MIN = Number.MIN_SAFE_INTEGER;
const MAX = Number.MAX_SAFE_INTEGER;

/** Start of the UTC month containing `sec`. */
function monthFloor(sec: number): number {
  const date = new Date(sec * 1000);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) / 1000;
}

/** The first UTC month start at or after `sec`. */
function monthCeil(sec: number): number {
  const floor = monthFloor(sec);
  if (floor === sec) return sec;
  const date = new Date(floor * 1000);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / 1000;
}

/** Which source answers which part of a window: raw rows at the edges, full days, full months. */
export interface WindowPlan {
  raw: [Range, Range];
  days: [Range, Range];
  months: Range;
}

/**
 * Splits [from, to) (open ends as MIN/MAX_SAFE_INTEGER) into the partial days at its edges, read
 * from raw rows, the full days between, and, with `months`, the full months among those. Unused
 * parts are empty ranges, so every plan has the same shape (one prepared statement per query).
 */
export function planWindow(from: number, to: number, months: boolean): WindowPlan {
  if (from >= to) return { raw: [EMPTY, EMPTY], days: [EMPTY, EMPTY], months: EMPTY };
  const dayFrom = from === MIN ? MIN : Math.ceil(from / DAY) * DAY;
  const dayTo = to === MAX ? MAX : Math.floor(to / DAY) * DAY;
  if (dayFrom >= dayTo) return { raw: [[from, to], EMPTY], days: [EMPTY, EMPTY], months: EMPTY };
  const raw: [Range, Range] = [from < dayFrom ? [from, dayFrom] : EMPTY, dayTo < to ? [dayTo, to] : EMPTY];
  const monthFrom = dayFrom === MIN ? MIN : monthCeil(dayFrom);
  const monthTo = dayTo === MAX ? MAX : monthFloor(dayTo);
  if (!months || monthFrom >= monthTo) return { raw, days: [[dayFrom, dayTo], EMPTY], months: EMPTY };
  return { raw, days: [monthFrom > dayFrom ? [dayFrom, monthFrom] : EMPTY, monthTo < dayTo ? [monthTo, dayTo] : EMPTY], months: [monthFrom, monthTo] };
}

/** Optional equality filters on the rollups' dimensions (a budget's scope, the dashboard's providers). */
export interface UsageFilter {
  provider?: string | null;
  model?: string | null;
  project?: string | null;
}

const FILTER_SQL = '(@provider IS NULL OR provider = @provider) AND (@model IS NULL OR model = @model) AND (@project IS NULL OR project = @project)';

/** Named parameters of a plan's ranges: @raw1From…@raw2To (edge hours), @days1From…@days2To, @monthsFrom/@monthsTo. */
export function planParams(plan: WindowPlan): Record<string, number> {
  return {
    raw1From: plan.raw[0][0],
    raw1To: plan.raw[0][1],
    raw2From: plan.raw[1][0],
    raw2To: plan.raw[1][1],
    days1From: plan.days[0][0],
    days1To: plan.days[0][1],
    days2From: plan.days[1][0],
    days2To: plan.days[1][1],
    monthsFrom: plan.months[0],
    monthsTo: plan.months[1],
  };
}

/** Named parameters of a plan and a filter, for windowedUsageSql. */
export function windowParams(plan: WindowPlan, filter: UsageFilter = {}): Record<string, number | string | null> {
  return {
    ...planParams(plan),
    provider: filter.provider ?? null,
    model: filter.model ?? null,
    project: filter.project ?? null,
  };
}

/**
 * SQL of rows (bucket, provider, model, project, ROLLUP_COLUMNS…) whose sums are the counted usage
 * of a planned window (parameters: windowParams), to be summed by the caller however it groups.
 * `bucket` is the start of the day (raw and daily parts) or month (monthly part) a row belongs to;
 * `rawBucket` may replace it for the raw parts (e.g. hours).
 */
export function windowedUsageSql(rawBucket = `bucket_start - bucket_start % ${DAY}`): string {
  const raw = (n: 1 | 2) =>
    `SELECT ${rawBucket} AS bucket, provider, model, project, ${RAW_AGGREGATES} FROM usage
     WHERE bucket_start >= @raw${n}From AND bucket_start < @raw${n}To AND ${FILTER_SQL}
     GROUP BY 1, 2, 3, 4`;
  const days = (n: 1 | 2) => `SELECT day AS bucket, provider, model, project, ${COLUMN_LIST} FROM usage_daily WHERE day >= @days${n}From AND day < @days${n}To AND ${FILTER_SQL}`;
  return [raw(1), days(1), `SELECT month AS bucket, provider, model, project, ${COLUMN_LIST} FROM usage_monthly WHERE month >= @monthsFrom AND month < @monthsTo AND ${FILTER_SQL}`, days(2), raw(2)].join('\nUNION ALL\n');
}

/** One group's counted usage, summed. */
export interface UsageSums {
  rows: bigint;
  present: bigint;
  cost_nano: bigint;
  estimated_nano: bigint;
  request_rows: bigint;
  requests: bigint;
  input_tokens: bigint;
  cached_input_tokens: bigint;
  cache_write_tokens: bigint;
  output_tokens: bigint;
}

/**
 * Counted usage per (provider, model) over a window, from the rollups: groups with no counted row
 * in the window are left out, as aggregating the raw rows would. Ordered by provider, model.
 */
export function queryModelSums(db: Db, window: TimeWindow): Array<UsageSums & { provider: string; model: string }> {
  const [from, to] = windowBounds(window);
  if (from === MIN && to === MAX) {
    return cachedStatement(db, `SELECT provider, model, ${COLUMN_LIST} FROM usage_totals WHERE rows > 0 ORDER BY provider, model`).safeIntegers(true).all() as Array<UsageSums & { provider: string; model: string }>;
  }
  return cachedStatement(db, `SELECT provider, model, ${ROLLUP_SUMS} FROM (${windowedUsageSql()}) GROUP BY provider, model HAVING SUM(rows) > 0 ORDER BY provider, model`)
    .safeIntegers(true)
    .all(windowParams(planWindow(from, to, true))) as Array<UsageSums & { provider: string; model: string }>;
}

/** Counted spend (and its estimated part) over [from, to) of the rows a filter selects, per provider with rows in it. */
export function querySpendByProvider(db: Db, from: number, to: number, filter: UsageFilter = {}): Array<{ provider: string; cost_nano: bigint; estimated_nano: bigint }> {
  return cachedStatement(db, `SELECT provider, SUM(cost_nano) AS cost_nano, SUM(estimated_nano) AS estimated_nano FROM (${windowedUsageSql()}) GROUP BY provider HAVING SUM(present) > 0 ORDER BY provider`)
    .safeIntegers(true)
    .all(windowParams(planWindow(from, to, true), filter)) as Array<{ provider: string; cost_nano: bigint; estimated_nano: bigint }>;
}
