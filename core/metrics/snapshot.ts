import type { ProviderId } from '../../shared/providers.js';
import type { TimeWindow } from '../../shared/time-range.js';
import type { Db } from '../store/db.js';
import { queryModelSums } from '../store/rollups.js';

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

/**
 * Aggregates usage per (provider, model) over a window, from the rollups (core/store/rollups.ts):
 * all time from the totals, otherwise full months and days from their rollups and the partial days
 * at the window's edges from the raw rows, so the cost grows with the number of series, not rows.
 * A bucket belongs to the window when its start does: [from, to). Estimates superseded by billed
 * cost are left out, and so are the SDK's rows of providers with a billing key (COUNTED_ROWS_SQL).
 */
export function querySeriesTotals(db: Db, window: TimeWindow): SeriesTotals[] {
  return queryModelSums(db, window).map((row) => ({
    provider: row.provider as ProviderId,
    model: row.model,
    costNano: row.cost_nano,
    estimatedNano: row.estimated_nano,
    requests: row.request_rows === 0n ? null : Number(row.requests),
    inputTokens: Number(row.input_tokens),
    cachedInputTokens: Number(row.cached_input_tokens),
    cacheWriteTokens: Number(row.cache_write_tokens),
    outputTokens: Number(row.output_tokens),
  }));
}
