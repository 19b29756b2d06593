import { NO_MODEL } from '../../shared/usage.js';
import type { UsageRecord } from '../../shared/usage.js';
import type { AdapterOptions } from './paging.js';
import type { ProviderAdapter } from './types.js';
import type { BucketResult } from './usage-and-cost.js';
import { createUsageAndCostAdapter } from './usage-and-cost.js';

const USAGE_PATH = '/v1/organization/usage/completions';
const COSTS_PATH = '/v1/organization/costs';
// Brackets stay literal: that is how OpenAI's own SDKs send array parameters.
const USAGE_QUERY = 'bucket_width=1h&group_by[]=model&group_by[]=project_id&limit=168';
const COSTS_QUERY = 'bucket_width=1d&group_by[]=line_item&group_by[]=project_id&limit=180';

/**
 * OpenAI's organization Usage API (hourly tokens and requests per model and project) and Costs API
 * (the billed dollars per day, line item and project).
 */
export function createOpenAiAdapter(options: AdapterOptions = {}): ProviderAdapter {
  return createUsageAndCostAdapter(
    {
      provider: 'openai',
      headers: (key) => ({ authorization: `Bearer ${key}` }),
      timeQuery: (window) => `start_time=${window.start}&end_time=${window.end}`,
      bucketTimes: { start: 'start_time', end: 'end_time', format: 'unixSeconds' },
      usage: { path: USAGE_PATH, query: USAGE_QUERY, record: usageRecord },
      cost: { path: COSTS_PATH, query: COSTS_QUERY, record: costRecord },
    },
    options,
  );
}

/** The OpenAI adapter with production settings. */
export const openaiAdapter = createOpenAiAdapter();

function usageRecord({ result, at, read, start, end }: BucketResult): UsageRecord {
  return {
    provider: 'openai',
    source: 'usage',
    bucketStart: start,
    bucketEnd: end,
    bucketWidth: '1h',
    model: read.optionalString(result['model'], `${at}.model`) ?? NO_MODEL,
    project: read.optionalString(result['project_id'], `${at}.project_id`) ?? '',
    apiKeyId: '',
    lineItem: '',
    requests: read.count(result['num_model_requests'], `${at}.num_model_requests`),
    // input_tokens already includes cached and cache-write tokens.
    inputTokens: read.count(result['input_tokens'], `${at}.input_tokens`),
    cachedInputTokens: read.count(result['input_cached_tokens'], `${at}.input_cached_tokens`),
    cacheWriteTokens: read.count(result['input_cache_write_tokens'], `${at}.input_cache_write_tokens`),
    outputTokens: read.count(result['output_tokens'], `${at}.output_tokens`),
    costNano: 0n,
    costKind: 'estimated',
  };
}

function costRecord({ result, at, read, start, end }: BucketResult): UsageRecord {
  const amount = read.object(result['amount'], `${at}.amount`);
  const currency = read.optionalString(amount['currency'], `${at}.amount.currency`);
  if (currency !== null && currency.toLowerCase() !== 'usd') read.fail(`${at}.amount.currency`, 'is not "usd"; LLMeter only handles US dollars');
  const lineItem = read.optionalString(result['line_item'], `${at}.line_item`) ?? '';
  return {
    provider: 'openai',
    source: 'cost',
    bucketStart: start,
    bucketEnd: end,
    bucketWidth: '1d',
    model: modelFromLineItem(lineItem),
    project: read.optionalString(result['project_id'], `${at}.project_id`) ?? '',
    apiKeyId: '',
    lineItem,
    requests: null,
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 0,
    costNano: read.amountNano(amount['value'], `${at}.amount.value`, 0),
    costKind: 'billed',
  };
}

// "gpt-4o-2024-08-06, cached input": the part after the last ", " names a kind of token.
const TOKEN_KIND = /^(?:(?:un)?cached )?(?:(?:text|audio|image) )?(?:input|output)(?: write)?$|^cached? (?:read|write)$|^images?$/;

/**
 * The model a cost line item bills, or NO_MODEL. OpenAI writes token line items as
 * "<model>, <token kind>"; everything else (web search calls, file storage, a model's
 * non-token charges) belongs to no model's token bill.
 */
export function modelFromLineItem(lineItem: string): string {
  const cut = lineItem.lastIndexOf(', ');
  if (cut <= 0) return NO_MODEL;
  const kind = lineItem
    .slice(cut + 2)
    .trim()
    .toLowerCase()
    .replace(/\s*\(.*\)$/, '')
    .replace(/ tokens?$/, '');
  return TOKEN_KIND.test(kind) ? lineItem.slice(0, cut) : NO_MODEL;
}
