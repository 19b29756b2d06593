/**
 * Rollups of counted usage (migration 4): per (provider, model, project) and UTC day, per UTC
 * month, and all time per (provider, model). Triggers on the usage table keep them current inside
 * the transaction of every write, whoever writes, so a scrape or a budget reads a few hundred
 * rollup rows instead of every usage row.
 *
 * A window [from, to) is read as full months from the monthly rollup, full days from the daily
 * one, and the partial days at its edges from the raw hourly rows (planWindow), which gives
 * exactly what aggregating the raw rows of the window would. The dashboard's series read families
 * of rollups through level plans (planLevels), which may also take away what lies outside a window.
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

/** One provider's counted spend over a window (querySpendByProvider). */
export interface ProviderSpendRow {
  provider: string;
  cost_nano: bigint;
  estimated_nano: bigint;
}

/**
 * Counted spend (and its estimated part) over [from, to) of the rows a filter selects, per provider
 * with rows in it, ordered by provider. A closed window filtered by provider at most is read from the
 * per-provider totals (spendOfProviders); otherwise from the rollups by model and project.
 */
export function querySpendByProvider(db: Db, from: number, to: number, filter: UsageFilter = {}): ProviderSpendRow[] {
  if (filter.model == null && filter.project == null && from !== MIN && to !== MAX) return spendOfProviders(db, from, to, filter.provider ?? null);
  return cachedStatement(db, `SELECT provider, SUM(cost_nano) AS cost_nano, SUM(estimated_nano) AS estimated_nano FROM (${windowedUsageSql()}) GROUP BY provider HAVING SUM(present) > 0 ORDER BY provider`)
    .safeIntegers(true)
    .all(windowParams(planWindow(from, to, true), filter)) as ProviderSpendRow[];
}

/**
 * querySpendByProvider of one provider (or all: null) over a closed window. The sums come from the
 * per-provider totals (COUNTED_PROVIDER_SPEND: a few rows a day, where the rollups by model and
 * project hold thousands: a week took 21–29 ms at 10M rows, now well under 1 ms). Those hold counted
 * rows only, so a provider whose rows in the window all count for nothing (superseded estimates) is
 * found apart and listed at $0, as the rollups list it: one index seek per (provider, source).
 */
function spendOfProviders(db: Db, from: number, to: number, provider: string | null): ProviderSpendRow[] {
  const counted = cachedStatement(db, `SELECT provider, SUM(n), SUM(cost_nano), SUM(estimated_nano) FROM (${familySql(COUNTED_PROVIDER_SPEND)}) GROUP BY provider`)
    .raw(true)
    .safeIntegers(true)
    .all({ ...levelParams(planLevels(from, to, familyLevels(COUNTED_PROVIDER_SPEND), true)), provider }) as Array<[provider: string, n: bigint, costNano: bigint, estimatedNano: bigint]>;
  const rows = new Map<string, ProviderSpendRow>();
  for (const [name, n, cost_nano, estimated_nano] of counted) if (n > 0n) rows.set(name, { provider: name, cost_nano, estimated_nano });
  const next = (sql: string) => cachedStatement(db, sql).pluck().safeIntegers(false);
  const nextProvider = next('SELECT MIN(provider) FROM usage WHERE provider > ?');
  const nextSource = next('SELECT MIN(source) FROM usage WHERE provider = ? AND source > ?');
  const hasRows = next('SELECT EXISTS (SELECT 1 FROM usage WHERE provider = ? AND source = ? AND bucket_start >= ? AND bucket_start < ?)');
  for (let name = nextProvider.get('') as string | null; name !== null; name = nextProvider.get(name) as string | null) {
    if (rows.has(name) || (provider !== null && name !== provider)) continue;
    for (let source = nextSource.get(name, '') as string | null; source !== null; source = nextSource.get(name, source) as string | null) {
      if (hasRows.get(name, source, from, to) !== 1) continue;
      rows.set(name, { provider: name, cost_nano: 0n, estimated_nano: 0n });
      break;
    }
  }
  return [...rows.values()].sort((a, b) => (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0));
}

const HOUR = 3_600;

/** The levels a window is read at, coarsest first: the rollups per month, day and hour, and `raw`, the usage rows themselves. */
export type Level = 'month' | 'day' | 'hour' | 'raw';

const LEVELS: readonly Level[] = ['month', 'day', 'hour', 'raw'];

/** [from, to) read with a sign: a plan adds `sign` × its sums. */
export interface SignedRange {
  from: number;
  to: number;
  sign: 1 | -1;
}

/**
 * The ranges each level reads. Two at most per level (one per edge of the window), empty ones
 * filling the rest, so that every plan has one shape and a family's SQL is one prepared statement.
 */
export type LevelPlan = Record<Level, [SignedRange, SignedRange]>;

const NO_RANGE: SignedRange = { from: 0, to: 0, sign: 1 };

/** A level that rolls rows up per unit of time. */
export type Unit = Exclude<Level, 'raw'>;

function floorTo(sec: number, unit: Unit): number {
  if (unit === 'month') return monthFloor(sec);
  const length = unit === 'day' ? DAY : HOUR;
  return Math.floor(sec / length) * length;
}

function ceilTo(sec: number, unit: Unit): number {
  if (unit === 'month') return monthCeil(sec);
  const length = unit === 'day' ? DAY : HOUR;
  return Math.ceil(sec / length) * length;
}

/**
 * About what reading a range at a level costs, in rows per group: one per month, day or hour read
 * (a rollup holds about one row per active group and unit), and twice that per hour of raw rows
 * (several line items and keys per group and hour, each a wider row), so that a rollup always wins a tie.
 */
function readCost(from: number, to: number, level: Level): number {
  const span = Math.abs(to - from);
  if (level === 'raw') return (2 * span) / HOUR;
  return span / (level === 'month' ? 30 * DAY : level === 'day' ? DAY : HOUR);
}

/** A range read at one level, from `from` to `to`: taken away when `to` < `from`. */
type Piece = [level: Level, from: number, to: number];

/**
 * The cheapest way (by readCost) to read the signed range from x to y with the given levels: whole
 * units at the coarsest level that has any, the rest at finer ones. Signed, a unit may reach past
 * the range and the part past it be taken away at the finer levels (a month minus its last three
 * days costs less than twenty-seven days); unsigned, every piece lies inside the range.
 */
function decompose(x: number, y: number, levels: readonly Level[], signed: boolean): { cost: number; pieces: Piece[] } {
  if (x === y) return { cost: 0, pieces: [] };
  const [level = 'raw', ...finer] = levels;
  if (level === 'raw') return { cost: readCost(x, y, 'raw'), pieces: [['raw', x, y]] };
  let best = decompose(x, y, finer, signed);
  const starts = signed ? [floorTo(x, level), ceilTo(x, level)] : [ceilTo(x, level)];
  const ends = signed ? [floorTo(y, level), ceilTo(y, level)] : [floorTo(y, level)];
  for (const a of new Set(starts)) {
    for (const b of new Set(ends)) {
      if (signed ? a === b : a >= b) continue;
      const left = decompose(x, a, finer, signed);
      const right = decompose(b, y, finer, signed);
      const cost = readCost(a, b, level) + left.cost + right.cost;
      if (cost < best.cost) best = { cost, pieces: [[level, a, b], ...left.pieces, ...right.pieces] };
    }
  }
  return best;
}

/**
 * Plans the closed window [from, to) over `levels` (coarsest first, ending with 'raw'). Unsigned,
 * every range lies inside the window and inside one unit of the finest level above it, so that
 * rows can be bucketed by any unit at least as coarse as the coarsest level given. Signed, the
 * plan may read whole units reaching past the window and take the part outside away again,
 * whichever reads fewer rows: right for sums over the whole window, not for buckets.
 */
export function planLevels(from: number, to: number, levels: readonly Level[], signed: boolean): LevelPlan {
  const plan: LevelPlan = { month: [NO_RANGE, NO_RANGE], day: [NO_RANGE, NO_RANGE], hour: [NO_RANGE, NO_RANGE], raw: [NO_RANGE, NO_RANGE] };
  const used: Record<Level, number> = { month: 0, day: 0, hour: 0, raw: 0 };
  if (from >= to) return plan;
  for (const [level, a, b] of decompose(from, to, levels, signed).pieces) {
    // Each edge of the window leaves at most one piece per level (the other end of an edge is a unit boundary).
    const slot = used[level]++;
    if (slot > 1) throw new Error(`planning [${from}, ${to}) read more than two ranges at the ${level} level`);
    plan[level][slot] = a < b ? { from: a, to: b, sign: 1 } : { from: b, to: a, sign: -1 };
  }
  return plan;
}

/**
 * Named parameters of a level plan: @<level><1|2>From, …To and …Sign, as familySql names them. The
 * sign is bound as a bigint: SQLite takes a JS number as a REAL, and REAL × INTEGER is a REAL, which
 * would round sums past 2^53 nano-dollars.
 */
export function levelParams(plan: LevelPlan): Record<string, number | bigint> {
  const params: Record<string, number | bigint> = {};
  for (const level of LEVELS) {
    plan[level].forEach(({ from, to, sign }, i) => {
      params[`${level}${i + 1}From`] = from;
      params[`${level}${i + 1}To`] = to;
      params[`${level}${i + 1}Sign`] = BigInt(sign);
    });
  }
  return params;
}

/** How a family reads one level: its table, the time column ranges apply to, and what each row adds. */
interface LevelTable {
  table: string;
  time: string;
  /** The row's unit start, when not `time` itself. */
  bucket?: string;
  n: string;
  cost: string;
  estimated: string;
  where?: string;
}

/**
 * Tables that sum usage at some levels, read as rows (time, provider[, model, project], n,
 * cost_nano, estimated_nano): `time` is the start of the row's unit (an hour for raw rows), `n`
 * how many usage rows it stands for (a group with n > 0 over a window has rows in it).
 */
export interface Family {
  levels: Partial<Record<Level, LevelTable>>;
  /** Whether rows name their model and project, besides their provider. */
  groups: boolean;
}

const ESTIMATED_COST = "CASE WHEN cost_kind = 'estimated' THEN cost_nano ELSE 0 END";
const RAW_HOUR = `bucket_start - bucket_start % ${HOUR}`;

/** A counted-spend rollup (usage_hourly, or migration 7's totals) read at one level. */
function countedTable(table: string, time: string, where?: string): LevelTable {
  return { table, time, n: 'rows', cost: 'cost_nano', estimated: 'estimated_nano', ...(where ? { where } : {}) };
}

/** Raw usage rows whose cost counts, through the partial index that covers them (usage_counted_spend_by_time). */
function countedRaw(where: string): LevelTable {
  return { table: 'usage', time: 'bucket_start', bucket: RAW_HOUR, n: '1', cost: 'cost_nano', estimated: ESTIMATED_COST, where: `superseded = 0${where}` };
}

/**
 * Every usage row, whether its cost counts or not, with spend as SPEND_NANO_SQL counts it: `n` is
 * how many rows there are, by which the spend views list a group whose rows count for nothing at
 * $0. The raw rows are read through usage_spend_by_time, which covers them.
 */
export const LISTED_USAGE: Family = {
  groups: true,
  levels: {
    month: { table: 'usage_monthly', time: 'month', n: 'present', cost: 'cost_nano', estimated: 'estimated_nano' },
    day: { table: 'usage_daily', time: 'day', n: 'present', cost: 'cost_nano', estimated: 'estimated_nano' },
    raw: { table: 'usage', time: 'bucket_start', bucket: RAW_HOUR, n: '1', cost: 'CASE WHEN superseded = 0 THEN cost_nano ELSE 0 END', estimated: `CASE WHEN superseded = 0 THEN ${ESTIMATED_COST} ELSE 0 END` },
  },
};

/**
 * The usage rows whose cost counts (superseded = 0): `n` is how many, so a group with n > 0 has such
 * a row; months and days from the usage rollups (spend_rows, migration 7), hours from usage_hourly.
 */
export const COUNTED_SPEND: Family = {
  groups: true,
  levels: {
    month: { table: 'usage_monthly', time: 'month', n: 'spend_rows', cost: 'cost_nano', estimated: 'estimated_nano' },
    day: { table: 'usage_daily', time: 'day', n: 'spend_rows', cost: 'cost_nano', estimated: 'estimated_nano' },
    hour: countedTable('usage_hourly', 'hour'),
    raw: countedRaw(''),
  },
};

/**
 * COUNTED_SPEND of one (provider, model) group, @provider and @model, through the rollups' by-model
 * indexes (migration 7). The unary `+` keeps SQLite from walking the usage table by provider instead of by time.
 */
export const COUNTED_MODEL_SPEND: Family = {
  groups: false,
  levels: {
    day: { table: 'usage_daily', time: 'day', n: 'spend_rows', cost: 'cost_nano', estimated: 'estimated_nano', where: 'provider = @provider AND model = @model' },
    hour: countedTable('usage_hourly', 'hour', 'provider = @provider AND model = @model'),
    raw: countedRaw(' AND +provider = @provider AND +model = @model'),
  },
};

/** COUNTED_SPEND summed over every group, per provider: @provider's, or every provider's when it is NULL. */
export const COUNTED_PROVIDER_SPEND: Family = {
  groups: false,
  levels: {
    day: countedTable('usage_spend_day_totals', 'day', '(@provider IS NULL OR provider = @provider)'),
    hour: countedTable('usage_spend_hour_totals', 'hour', '(@provider IS NULL OR provider = @provider)'),
    raw: countedRaw(' AND (@provider IS NULL OR +provider = @provider)'),
  },
};

/** A family's levels, coarsest first, from `coarsest` on: those whose rows lie inside one bucket of that unit. */
export function familyLevels(family: Family, coarsest: Unit = 'month'): Level[] {
  return LEVELS.slice(LEVELS.indexOf(coarsest)).filter((level) => family.levels[level] !== undefined);
}

/**
 * SQL of a family's rows over a window planned by planLevels with its levels (parameters:
 * levelParams): summed by whatever the caller groups by, they give the window's sums exactly.
 */
export function familySql(family: Family): string {
  const parts: string[] = [];
  for (const level of LEVELS) {
    const table = family.levels[level];
    if (!table) continue;
    for (const slot of [1, 2]) {
      const p = `@${level}${slot}`;
      parts.push(
        `SELECT ${table.bucket ?? table.time} AS time, provider${family.groups ? ', model, project' : ''}, ${p}Sign * ${table.n} AS n, ${p}Sign * ${table.cost} AS cost_nano, ${p}Sign * ${table.estimated} AS estimated_nano
         FROM ${table.table} WHERE ${table.time} >= ${p}From AND ${table.time} < ${p}To${table.where ? ` AND ${table.where}` : ''}`,
      );
    }
  }
  return parts.join('\nUNION ALL\n');
}
