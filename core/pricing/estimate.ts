import { createRequire } from 'node:module';
import type { ProviderId } from '../../shared/providers.js';

type PriceTable = typeof import('@pydantic/genai-prices');

let priceTable: PriceTable | undefined;

/**
 * The price table's calcPrice, loaded on first use: the table is ~18 MB resident, and most
 * processes (`llmeter serve` without keys or SDK events, `export`, `budget`) never price anything.
 * Loaded with require (the package ships the same build as CommonJS) because pricing is synchronous.
 */
function calcPrice(...args: Parameters<PriceTable['calcPrice']>): ReturnType<PriceTable['calcPrice']> {
  priceTable ??= createRequire(import.meta.url)('@pydantic/genai-prices') as PriceTable;
  return priceTable.calcPrice(...args);
}

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

/** An estimate as an exact function of the token counts: base + Σ tokens × nano-dollars per token. */
interface LinearPrice {
  base: bigint;
  input: bigint;
  cached: bigint;
  cacheWrite: bigint;
  output: bigint;
}

/** What a (provider, model, UTC day) is priced by: a linear price, the table itself, or nothing (unpriced). */
type PriceRule = LinearPrice | 'table' | null;

const MILLION = 1_000_000n;
/** Above this many nano-dollars ($1000) one request's float estimate could round differently: the table prices it. */
const LINEAR_LIMIT = 1_000_000_000_000n;
const MAX_RULES = 10_000;
const DAY_MS = 86_400_000;

function tokens(input: number, cached = 0, cacheWrite = 0, output = 0): TokenCounts {
  return { inputTokens: input, cachedInputTokens: cached, cacheWriteTokens: cacheWrite, outputTokens: output };
}

function linearValue(rule: LinearPrice, t: TokenCounts): bigint {
  const uncached = BigInt(t.inputTokens - t.cachedInputTokens - t.cacheWriteTokens);
  return rule.base + rule.input * uncached + rule.cached * BigInt(t.cachedInputTokens) + rule.cacheWrite * BigInt(t.cacheWriteTokens) + rule.output * BigInt(t.outputTokens);
}

/**
 * Works out whether the table prices a model on a day linearly in whole nano-dollars per token
 * (no tiers, no time-of-day prices, prices that are whole nano-dollars per token), by pricing a few
 * probe requests with the table itself and checking a mixed one against the derived rule.
 */
function priceRule(provider: ProviderId, model: string, at: Date): PriceRule {
  let probe;
  try {
    probe = calcPrice({ input_tokens: 1 }, model, { providerId: provider, timestamp: at });
  } catch {
    return null;
  }
  if (!probe) return null;
  const timeOfDay = Array.isArray(probe.model.prices) && probe.model.prices.some((price) => price.constraint && 'type' in price.constraint && price.constraint.type === 'time_of_date');
  const tiered = Object.values(probe.model_price).some((price) => typeof price === 'object');
  if (timeOfDay || tiered) return 'table';
  const price = (t: TokenCounts): bigint | null => estimateCostNano(provider, model, t, at);
  const one = price(tokens(1_000_000));
  const two = price(tokens(2_000_000));
  const cached = price(tokens(1_000_000, 1_000_000));
  const cacheWrite = price(tokens(1_000_000, 0, 1_000_000));
  const output = price(tokens(1_000_000, 0, 0, 1_000_000));
  if (one === null || two === null || cached === null || cacheWrite === null || output === null) return 'table';
  const perToken = (total: bigint): bigint | null => (total % MILLION === 0n ? total / MILLION : null);
  const input = perToken(two - one);
  if (input === null) return 'table';
  const base = one - input * MILLION;
  const rule = { base, input, cached: perToken(cached - base), cacheWrite: perToken(cacheWrite - base), output: perToken(output - one) };
  if (rule.cached === null || rule.cacheWrite === null || rule.output === null) return 'table';
  const linear = rule as LinearPrice;
  const mixed = tokens(3_000_017, 1_000_003, 500_001, 2_000_011);
  return price(mixed) === linearValue(linear, mixed) ? linear : 'table';
}

/**
 * Returns a function that gives exactly what estimateCostNano gives, faster: where the table prices
 * a model linearly in whole nano-dollars per token (most models), the per-token prices are worked
 * out once per (provider, model, UTC day) from the table itself and applied in integer arithmetic,
 * about a microsecond per request instead of a table look-up of a tenth of a millisecond or more.
 * Other models (tiered or time-of-day prices) and very large requests are priced by the table.
 */
export function createCostEstimator(): (provider: ProviderId, model: string, counts: TokenCounts, at: Date) => bigint | null {
  const rules = new Map<string, PriceRule>();
  return (provider, model, counts, at) => {
    if (counts.inputTokens + counts.outputTokens === 0) return 0n;
    const key = `${provider}\u0000${model}\u0000${Math.floor(at.getTime() / DAY_MS)}`;
    let rule = rules.get(key);
    if (rule === undefined) {
      if (rules.size >= MAX_RULES) rules.clear();
      rules.set(key, (rule = priceRule(provider, model, at)));
    }
    if (rule === null) return null;
    if (rule !== 'table') {
      const value = linearValue(rule, counts);
      if (value >= 0n && value < LINEAR_LIMIT) return value;
    }
    return estimateCostNano(provider, model, counts, at);
  };
}
