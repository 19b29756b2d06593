import type { ProviderId } from './providers.js';

/** Model label for billed cost that belongs to no model (web search, storage, code execution, …). */
export const NO_MODEL = '(no model)';

/** Whether an amount is the provider's bill or our token × price estimate. */
export type CostKind = 'billed' | 'estimated';

/** Which endpoint family a row came from; part of the natural key. */
export type UsageSource = 'usage' | 'cost' | 'sdk';

/** Bucket widths we store. */
export type BucketWidth = '1h' | '1d';

/**
 * One normalized row of usage and/or cost for one time bucket and one set of dimensions.
 * Rows from usage endpoints carry tokens (and an estimate until billed cost arrives);
 * rows from cost endpoints carry billed cost. Times are Unix seconds, UTC.
 */
export interface UsageRecord {
  provider: ProviderId;
  source: UsageSource;
  bucketStart: number;
  bucketEnd: number;
  bucketWidth: BucketWidth;
  /** Model id as the provider reports it; NO_MODEL for cost without a model. */
  model: string;
  /** Project (OpenAI) or workspace (Anthropic, OpenRouter); '' when not given. */
  project: string;
  /** Provider's API key id (never a key); '' when not given. */
  apiKeyId: string;
  /** Cost line item / description as the provider wrote it; '' for usage rows. */
  lineItem: string;
  /** Model requests; null where the source does not report them (Anthropic). */
  requests: number | null;
  /** All input tokens, cache reads and cache writes included. */
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  /** Cost in nano-dollars. */
  costNano: bigint;
  costKind: CostKind;
  /** True when tokens were seen but no price is known for the model, so the estimate is missing. */
  unpriced?: boolean;
}
