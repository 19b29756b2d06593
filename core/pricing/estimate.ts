import { calcPrice } from '@pydantic/genai-prices';
import type { ProviderId } from '../../shared/providers.js';

/** Token counts to price; `inputTokens` is all input, cache reads and writes included. */
export interface TokenCounts {
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
}

/**
 * Estimates the cost of tokens from the bundled `@pydantic/genai-prices` table (historic prices,
 * cache reads and writes priced apart). Returns nano-dollars, or null when the table has no price
 * for the model: we never invent one. The table is the package's bundled snapshot; no network.
 */
export function estimateCostNano(provider: ProviderId, model: string, tokens: TokenCounts, at: Date): bigint | null {
  if (tokens.inputTokens + tokens.outputTokens === 0) return 0n;
  let result;
  try {
    result = calcPrice(
      {
        input_tokens: tokens.inputTokens,
        cache_read_tokens: tokens.cachedInputTokens,
        cache_write_tokens: tokens.cacheWriteTokens,
        output_tokens: tokens.outputTokens,
      },
      model,
      { providerId: provider, timestamp: at },
    );
  } catch {
    return null;
  }
  if (!result || !Number.isFinite(result.total_price) || result.total_price < 0) return null;
  return BigInt(Math.round(result.total_price * 1e9));
}
