import type { TimeWindow } from '../../shared/time-range.js';

/**
 * How every view counts spend, as SQL aggregates over `usage` rows: an estimate stops counting
 * once the provider's billed cost for that day superseded it, so nothing is counted twice.
 * The metrics endpoint, the dashboard and budgets must agree to the nano-dollar.
 */
export const SPEND_NANO_SQL = 'SUM(CASE WHEN superseded = 0 THEN cost_nano ELSE 0 END)';

/** The part of SPEND_NANO_SQL that is still an estimate. */
export const ESTIMATED_NANO_SQL = "SUM(CASE WHEN superseded = 0 AND cost_kind = 'estimated' THEN cost_nano ELSE 0 END)";

/** A window's bounds as parameters of `bucket_start >= ? AND bucket_start < ?`; open bounds become the extremes. */
export function windowBounds(window: TimeWindow): [number, number] {
  return [window.fromSec ?? Number.MIN_SAFE_INTEGER, window.toSec ?? Number.MAX_SAFE_INTEGER];
}
