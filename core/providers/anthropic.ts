import { NO_MODEL } from '../../shared/usage.js';
import type { UsageRecord } from '../../shared/usage.js';
import { VERSION } from '../version.js';
import type { AdapterOptions } from './paging.js';
import { toRfc3339 } from './time.js';
import type { ProviderAdapter } from './types.js';
import type { BucketResult } from './usage-and-cost.js';
import { createUsageAndCostAdapter } from './usage-and-cost.js';

const USAGE_PATH = '/v1/organizations/usage_report/messages';
const COST_PATH = '/v1/organizations/cost_report';
const USAGE_QUERY = 'bucket_width=1h&group_by[]=model&group_by[]=workspace_id&limit=168';
const COST_QUERY = 'bucket_width=1d&group_by[]=description&group_by[]=workspace_id&limit=31';

/**
 * Anthropic's Admin API usage report (hourly tokens per model and workspace; no request counts)
 * and cost report (billed cost per day, description and workspace, in cents).
 */
export function createAnthropicAdapter(options: AdapterOptions = {}): ProviderAdapter {
  return createUsageAndCostAdapter(
    {
      provider: 'anthropic',
      headers: (key) => ({ 'x-api-key': key, 'anthropic-version': '2023-06-01', 'user-agent': `llmeter-desktop/${VERSION}` }),
      timeQuery: (window) => `starting_at=${toRfc3339(window.start)}&ending_at=${toRfc3339(window.end)}`,
      bucketTimes: { start: 'starting_at', end: 'ending_at', format: 'timestamp' },
      usage: { path: USAGE_PATH, query: USAGE_QUERY, record: usageRecord },
      cost: { path: COST_PATH, query: COST_QUERY, record: costRecord },
    },
    options,
  );
}

/** The Anthropic adapter with production settings. */
export const anthropicAdapter = createAnthropicAdapter();

function usageRecord({ result, at, read, start, end }: BucketResult): UsageRecord {
  const cacheCreation = result['cache_creation'] == null ? {} : read.object(result['cache_creation'], `${at}.cache_creation`);
  const uncached = read.count(result['uncached_input_tokens'], `${at}.uncached_input_tokens`);
  const cacheRead = read.count(result['cache_read_input_tokens'], `${at}.cache_read_input_tokens`);
  const cacheWrite =
    read.count(cacheCreation['ephemeral_5m_input_tokens'], `${at}.cache_creation.ephemeral_5m_input_tokens`) +
    read.count(cacheCreation['ephemeral_1h_input_tokens'], `${at}.cache_creation.ephemeral_1h_input_tokens`);
  return {
    provider: 'anthropic',
    source: 'usage',
    bucketStart: start,
    bucketEnd: end,
    bucketWidth: '1h',
    model: read.optionalString(result['model'], `${at}.model`) ?? NO_MODEL,
    project: read.optionalString(result['workspace_id'], `${at}.workspace_id`) ?? '',
    apiKeyId: '',
    lineItem: '',
    // The usage report has no request counts; 0 would be a made-up number.
    requests: null,
    inputTokens: uncached + cacheRead + cacheWrite,
    cachedInputTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    outputTokens: read.count(result['output_tokens'], `${at}.output_tokens`),
    costNano: 0n,
    costKind: 'estimated',
  };
}

function costRecord({ result, at, read, start, end }: BucketResult): UsageRecord {
  const currency = read.optionalString(result['currency'], `${at}.currency`);
  if (currency !== null && currency.toUpperCase() !== 'USD') read.fail(`${at}.currency`, 'is not "USD"; LLMeter only handles US dollars');
  return {
    provider: 'anthropic',
    source: 'cost',
    bucketStart: start,
    bucketEnd: end,
    bucketWidth: '1d',
    model: read.optionalString(result['model'], `${at}.model`) ?? NO_MODEL,
    project: read.optionalString(result['workspace_id'], `${at}.workspace_id`) ?? '',
    apiKeyId: '',
    lineItem: read.optionalString(result['description'], `${at}.description`) ?? '',
    requests: null,
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 0,
    // Cents, as a decimal string with fractions ("123.78912" is $1.2378912).
    costNano: read.amountNano(result['amount'], `${at}.amount`, -2),
    costKind: 'billed',
  };
}
