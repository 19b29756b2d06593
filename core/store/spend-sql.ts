import type { TimeWindow } from '../../shared/time-range.js';

/**
 * How every view counts spend, as SQL aggregates over `usage` rows: an estimate stops counting
 * once the provider's billed cost for that day superseded it, so nothing is counted twice.
 * The metrics endpoint, the dashboard and budgets must agree to the nano-dollar.
 */
export const SPEND_NANO_SQL = 'SUM(CASE WHEN superseded = 0 THEN cost_nano ELSE 0 END)';

/** The part of SPEND_NANO_SQL that is still an estimate. */
export const ESTIMATED_NANO_SQL = "SUM(CASE WHEN superseded = 0 AND cost_kind = 'estimated' THEN cost_nano ELSE 0 END)";

/**
 * The rows whose tokens and requests count (a WHERE condition). SDK rows are kept superseded where
 * billing is the truth, e.g. for a provider with a billing key (core/ingest/store.ts): billing
 * reports the same requests, so they count for nothing, cost or tokens. A superseded usage-endpoint
 * row still counts its tokens, as the billed cost row that replaced its estimate carries none.
 */
export const COUNTED_ROWS_SQL = "NOT (source = 'sdk' AND superseded = 1)";

/** A window's bounds as parameters of `bucket_start >= ? AND bucket_start < ?`; open bounds become the extremes. */
export function windowBounds(window: TimeWindow): [number, number] {
  return [window.fromSec ?? Number.MIN_SAFE_INTEGER, window.toSec ?? Number.MAX_SAFE_INTEGER];
}
