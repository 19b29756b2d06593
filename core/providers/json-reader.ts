import { parseAmountToNano } from '../../shared/money.js';
import type { ProviderId } from '../../shared/providers.js';
import { malformedField } from './errors.js';

/** Token and request counts above this are not usage, they are a broken response. */
const MAX_COUNT = 1e15;
/** A single bucket line above a trillion dollars is a broken response, not a bill. */
const MAX_ABS_NANO = 10n ** 21n;

/**
 * Reads fields out of a provider's JSON with the leniency the real APIs need (numbers that arrive
 * as numeric strings, optional counters) and nothing more: every other surprise becomes a
 * `malformed` ProviderError naming the endpoint and the field, so a changed API fails one poll
 * loudly instead of storing NaN or a wrong total.
 */
export class JsonReader {
  constructor(
    readonly provider: ProviderId,
    /** Endpoint (and page) named in error messages. */
    readonly endpoint: string,
  ) {}

  fail(path: string, problem: string): never {
    throw malformedField(this.provider, this.endpoint, path, problem);
  }

  object(value: unknown, path: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, `should be an object, got ${describe(value)}`);
    return value as Record<string, unknown>;
  }

  array(value: unknown, path: string): unknown[] {
    if (!Array.isArray(value)) this.fail(path, `should be a list, got ${describe(value)}`);
    return value;
  }

  boolean(value: unknown, path: string): boolean {
    if (typeof value !== 'boolean') this.fail(path, `should be true or false, got ${describe(value)}`);
    return value;
  }

  string(value: unknown, path: string): string {
    if (typeof value !== 'string') this.fail(path, `should be text, got ${describe(value)}`);
    return wellFormedText(value);
  }

  /** A text field where null and absence both mean "not given". */
  optionalString(value: unknown, path: string): string | null {
    return value === null || value === undefined ? null : this.string(value, path);
  }

  /** A token or request count: absent or null is 0; a number or numeric string otherwise. */
  count(value: unknown, path: string): number {
    if (value === null || value === undefined) return 0;
    const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isFinite(n)) this.fail(path, `should be a count, got ${describe(value)}`);
    if (n < 0) this.fail(path, `should be a count, got the negative number ${n}`);
    if (!Number.isInteger(n)) this.fail(path, `should be a whole number, got ${n}`);
    if (n > MAX_COUNT) this.fail(path, `is implausibly large (${n})`);
    return n;
  }

  /** An amount (number or numeric string) in units of 10^unitExponent dollars, as nano-dollars. */
  amountNano(value: unknown, path: string, unitExponent: number): bigint {
    const nano = parseAmountToNano(value, unitExponent);
    if (nano === null) this.fail(path, `should be a decimal amount, got ${describe(value)}`);
    if (nano > MAX_ABS_NANO || nano < -MAX_ABS_NANO) this.fail(path, 'is implausibly large');
    return nano;
  }

  /** Whole Unix seconds. */
  unixSeconds(value: unknown, path: string): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) this.fail(path, `should be Unix seconds, got ${describe(value)}`);
    return value;
  }

  /** An RFC 3339 timestamp, as Unix seconds. */
  timestamp(value: unknown, path: string): number {
    const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
    if (Number.isNaN(ms) || ms % 1000 !== 0) this.fail(path, `should be an RFC 3339 timestamp in whole seconds, got ${describe(value)}`);
    return ms / 1000;
  }

  /** A `YYYY-MM-DD` UTC date, as the Unix seconds of its midnight. */
  date(value: unknown, path: string): number {
    const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : NaN;
    if (Number.isNaN(ms)) this.fail(path, `should be a YYYY-MM-DD date, got ${describe(value)}`);
    return ms / 1000;
  }
}

/** Names what a value is without quoting it: a body may hold anything, including echoed secrets. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return value.trim() === '' ? 'an empty string' : 'an unreadable string';
  if (Array.isArray(value)) return 'a list';
  return `a${typeof value === 'object' ? 'n' : ''} ${typeof value}`;
}

/**
 * `text` with each lone UTF-16 surrogate (legal in a JSON string as `\ud800`, not text) replaced by
 * U+FFFD. Stored as is, SQLite would hold invalid UTF-8 that reads back as three U+FFFD: a name
 * that, handed back as a filter (the dashboard's model filter, `export --model`), matches no row.
 */
export function wellFormedText(text: string): string {
  return text.replace(/\p{Surrogate}/gu, '\uFFFD');
}
