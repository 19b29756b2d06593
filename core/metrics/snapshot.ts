import type { ProviderId } from '../../shared/providers.js';
import type { TimeWindow } from '../../shared/time-range.js';
import type { Db } from '../store/db.js';
import { COUNTED_ROWS_SQL, ESTIMATED_NANO_SQL, SPEND_NANO_SQL, windowBounds } from '../store/spend-sql.js';

/** Totals of one (provider, model) series over a window. */
export interface SeriesTotals {
  provider: ProviderId;
  model: string;
  /** All spend in nano-dollars: billed, plus estimates for days not billed yet. */
  costNano: bigint;
  /** The part of costNano that is still an estimate. */
  estimatedNano: bigint;
  /** Null when no source reports requests for this series (Anthropic). */
  requests: number | null;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
}

interface SeriesRow {
  provider: string;
  model: string;
  cost_nano: bigint;
  estimated_nano: bigint;
  requests: bigint | null;
  input_tokens: bigint;
  cached_input_tokens: bigint;
  cache_write_tokens: bigint;
  output_tokens: bigint;
}

/**
 * Aggregates usage per (provider, model) over a window in SQL. A bucket belongs to the window
 * when its start does: [from, to). Estimates superseded by billed cost are left out, and so are
 * the SDK's rows of providers with a billing key (COUNTED_ROWS_SQL).
 */
export function querySeriesTotals(db: Db, window: TimeWindow): SeriesTotals[] {
  const rows = db
    .prepare(
      `SELECT provider, model,
         ${SPEND_NANO_SQL} AS cost_nano,
         ${ESTIMATED_NANO_SQL} AS estimated_nano,
         SUM(requests) AS requests,
         SUM(input_tokens) AS input_tokens,
         SUM(cached_input_tokens) AS cached_input_tokens,
         SUM(cache_write_tokens) AS cache_write_tokens,
         SUM(output_tokens) AS output_tokens
       FROM usage
       WHERE bucket_start >= ? AND bucket_start < ? AND ${COUNTED_ROWS_SQL}
       GROUP BY provider, model
       ORDER BY provider, model`,
    )
    .safeIntegers(true)
    .all(...windowBounds(window)) as SeriesRow[];
  return rows.map((row) => ({
    provider: row.provider as ProviderId,
    model: row.model,
    costNano: row.cost_nano,
    estimatedNano: row.estimated_nano,
    requests: row.requests === null ? null : Number(row.requests),
    inputTokens: Number(row.input_tokens),
    cachedInputTokens: Number(row.cached_input_tokens),
    cacheWriteTokens: Number(row.cache_write_tokens),
    outputTokens: Number(row.output_tokens),
  }));
}
