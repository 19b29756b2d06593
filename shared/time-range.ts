/**
 * The `from` / `to` grammar of the metrics, export and dashboard APIs:
 * an ISO 8601 date (`2026-11-01`) or date-time (`2026-11-01T12:00:00Z`), or a relative form:
 * `now`, `now-15m`, `now-1h`, `now-7d`, `now-2w`, `now/d` (start of today, UTC), `now/w` (Monday),
 * `now/M` (start of this month), optionally followed by an offset (`now/d-1d`).
 * `from` is inclusive and `to` exclusive; a bare date as `to` includes that whole day.
 */

/** A half-open window [fromSec, toSec) in Unix seconds; null bounds are open. */
export interface TimeWindow {
  fromSec: number | null;
  toSec: number | null;
}

/** A `from`/`to` value that could not be understood; the message is for people. */
export class TimeRangeError extends Error {}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const RELATIVE = /^now(?:\/([dwM]))?(?:([+-])(\d{1,6})([smhdwM]))?$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;
const MAX_LENGTH = 64;

/** Start of the UTC day, ISO week (Monday) or month containing `ms`, in milliseconds. */
export function startOfPeriod(ms: number, period: 'd' | 'w' | 'M'): number {
  const date = new Date(ms);
  const dayStart = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  if (period === 'd') return dayStart;
  if (period === 'w') return dayStart - ((date.getUTCDay() + 6) % 7) * 86_400_000;
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

function addMonths(ms: number, months: number): number {
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds());
}

/**
 * Parses one bound. `isEnd` makes a bare date mean the end of that day.
 * Throws TimeRangeError with a one-line reason.
 */
export function parseTimeBound(name: string, raw: string, nowMs: number, isEnd: boolean): number {
  const value = raw.trim();
  if (value.length === 0) throw new TimeRangeError(`${name} is empty; use an ISO 8601 date or date-time, or now, now-1h, now/d, now/M`);
  if (value.length > MAX_LENGTH) throw new TimeRangeError(`${name} is too long`);
  const relative = RELATIVE.exec(value);
  if (relative) {
    const [, snap, sign, amount, unit] = relative;
    let ms = snap ? startOfPeriod(nowMs, snap as 'd' | 'w' | 'M') : nowMs;
    if (sign && amount && unit) {
      const n = Number(amount) * (sign === '-' ? -1 : 1);
      ms = unit === 'M' ? addMonths(ms, n) : ms + n * UNIT_SECONDS[unit]! * 1000;
    }
    return Math.floor(ms / 1000);
  }
  const date = ISO_DATE.exec(value);
  if (date) {
    const [, y, m, d] = date.map(Number) as [number, number, number, number];
    const ms = Date.UTC(y, m - 1, d);
    const check = new Date(ms);
    if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) {
      throw new TimeRangeError(`${name}=${value} is not a calendar date`);
    }
    return ms / 1000 + (isEnd ? 86_400 : 0);
  }
  if (ISO_DATE_TIME.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return Math.floor(ms / 1000);
  }
  throw new TimeRangeError(`${name}=${value} is not understood; use an ISO 8601 date or date-time (2026-11-01, 2026-11-01T00:00:00Z), or now, now-15m, now-1h, now-7d, now/d, now/M`);
}

/** Parses an optional `from`/`to` pair into a window, checking that `from` is before `to`. */
export function parseTimeWindow(from: string | null | undefined, to: string | null | undefined, nowMs: number): TimeWindow {
  const fromSec = from == null ? null : parseTimeBound('from', from, nowMs, false);
  const toSec = to == null ? null : parseTimeBound('to', to, nowMs, true);
  if (fromSec !== null && toSec !== null && fromSec >= toSec) {
    throw new TimeRangeError(`from (${new Date(fromSec * 1000).toISOString()}) must be before to (${new Date(toSec * 1000).toISOString()})`);
  }
  return { fromSec, toSec };
}
