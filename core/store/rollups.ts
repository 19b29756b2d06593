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

/** Named parameters `<name>From` and `<name>To` of each range, as the windowed SQL names them. */
function rangeParams(ranges: Record<string, Range>): Record<string, number> {
  const params: Record<string, number> = {};
  for (const [name, [from, to]] of Object.entries(ranges)) {
    params[`${name}From`] = from;
    params[`${name}To`] = to;
  }
  return params;
}

/** Named parameters of a plan's ranges: @raw1From…@raw2To (edge hours), @days1From…@days2To, @monthsFrom/@monthsTo. */
export function planParams(plan: WindowPlan): Record<string, number> {
  return rangeParams({ raw1: plan.raw[0], raw2: plan.raw[1], days1: plan.days[0], days2: plan.days[1], months: plan.months });
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

const HOUR = 3_600;

/**
 * Which source answers which part of a window for the spend that counts: raw rows in the partial
 * hours at its edges, the hourly rollup (migration 6) for the full hours, and, with `days`, the
 * daily rollup for the full days among them.
 */
export interface SpendPlan {
  raw: [Range, Range];
  hours: [Range, Range];
  days: Range;
}

/** Splits the closed window [from, to) into partial hours at its edges, full hours, and (with `days`) full days. */
export function planSpend(from: number, to: number, days: boolean): SpendPlan {
  if (from >= to) return { raw: [EMPTY, EMPTY], hours: [EMPTY, EMPTY], days: EMPTY };
  const hourFrom = Math.ceil(from / HOUR) * HOUR;
  const hourTo = Math.floor(to / HOUR) * HOUR;
  if (hourFrom >= hourTo) return { raw: [[from, to], EMPTY], hours: [EMPTY, EMPTY], days: EMPTY };
  const raw: [Range, Range] = [from < hourFrom ? [from, hourFrom] : EMPTY, hourTo < to ? [hourTo, to] : EMPTY];
  const dayFrom = Math.ceil(hourFrom / DAY) * DAY;
  const dayTo = Math.floor(hourTo / DAY) * DAY;
  if (!days || dayFrom >= dayTo) return { raw, hours: [[hourFrom, hourTo], EMPTY], days: EMPTY };
  return { raw, hours: [hourFrom < dayFrom ? [hourFrom, dayFrom] : EMPTY, dayTo < hourTo ? [dayTo, hourTo] : EMPTY], days: [dayFrom, dayTo] };
}

/** Named parameters of a spend plan, for countedSpendSql: @raw1From…@raw2To, @hours1From…@hours2To, @daysFrom/@daysTo. */
export function spendPlanParams(plan: SpendPlan): Record<string, number> {
  return rangeParams({ raw1: plan.raw[0], raw2: plan.raw[1], hours1: plan.hours[0], hours2: plan.hours[1], days: plan.days });
}

/**
 * SQL of rows (bucket, provider, model, project, cost_nano, estimated_nano) whose sums are the spend
 * that counts (superseded = 0) in a window planned by planSpend (parameters: spendPlanParams).
 * `bucket` is the start of the row's UTC hour, or day for the daily part. Every row of the raw and
 * hourly parts stands for at least one counted usage row; a daily row may stand for rows that count
 * for nothing (all superseded), so whoever needs to know whether a group has rows asks the daily rollups.
 * The raw parts read the partial index of counted rows, which covers them.
 */
export function countedSpendSql(): string {
  const raw = (n: 1 | 2) =>
    `SELECT bucket_start - bucket_start % ${HOUR} AS bucket, provider, model, project, cost_nano, CASE WHEN cost_kind = 'estimated' THEN cost_nano ELSE 0 END AS estimated_nano
     FROM usage WHERE superseded = 0 AND bucket_start >= @raw${n}From AND bucket_start < @raw${n}To`;
  const hours = (n: 1 | 2) => `SELECT hour AS bucket, provider, model, project, cost_nano, estimated_nano FROM usage_hourly WHERE hour >= @hours${n}From AND hour < @hours${n}To`;
  return [raw(1), hours(1), 'SELECT day AS bucket, provider, model, project, cost_nano, estimated_nano FROM usage_daily WHERE day >= @daysFrom AND day < @daysTo', hours(2), raw(2)].join('\nUNION ALL\n');
}
