/** Seconds in a UTC day (no leap seconds in Unix time). */
export const DAY = 86_400;
/** Seconds in an hour. */
export const HOUR = 3_600;

/** Start (Unix s) of the UTC day containing `sec`. */
export function startOfDay(sec: number): number {
  return Math.floor(sec / DAY) * DAY;
}

/** RFC 3339 in UTC without fractional seconds, as Anthropic documents it ("2025-08-01T00:00:00Z"). */
export function toRfc3339(sec: number): string {
  return new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `YYYY-MM-DD` of the UTC day containing `sec`. */
export function toIsoDate(sec: number): string {
  return new Date(sec * 1000).toISOString().slice(0, 10);
}

