import { NO_MODEL } from '../../shared/usage.js';
import type { UsageRecord } from '../../shared/usage.js';
import { VERSION } from '../version.js';
import type { AdapterOptions, PagedBucket, PagedReport } from './paging.js';
import { DEFAULT_MAX_PAGES, checkFirstPage, fetchUsageAndCost } from './paging.js';
import { DAY, startOfDay, toRfc3339 } from './time.js';
import type { FetchWindow, ProviderAdapter, ProviderContext } from './types.js';

const USAGE_PATH = '/v1/organizations/usage_report/messages';
const COST_PATH = '/v1/organizations/cost_report';
const USAGE_QUERY = 'bucket_width=1h&group_by[]=model&group_by[]=workspace_id&limit=168';
const COST_QUERY = 'bucket_width=1d&group_by[]=description&group_by[]=workspace_id&limit=31';

/**
 * Anthropic's Admin API usage report (hourly tokens per model and workspace; no request counts)
 * and cost report (billed cost per day, description and workspace, in cents).
 */
export function createAnthropicAdapter(options: AdapterOptions = {}): ProviderAdapter {
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const now = options.now ?? Date.now;
  const report = (ctx: ProviderContext, path: string, query: string): PagedReport => ({
    provider: 'anthropic',
    http: ctx.http,
    headers: { 'x-api-key': ctx.key, 'anthropic-version': '2023-06-01', 'user-agent': `llmeter-desktop/${VERSION}` },
    baseUrl: ctx.baseUrl,
    path,
    query,
    maxPages,
  });
  const timeQuery = (window: FetchWindow) => `starting_at=${toRfc3339(window.start)}&ending_at=${toRfc3339(window.end)}`;

  return {
    id: 'anthropic',

    fetch(ctx, window) {
      return fetchUsageAndCost(
        { report: report(ctx, USAGE_PATH, `${timeQuery(window)}&${USAGE_QUERY}`), rows: usageRows },
        { report: report(ctx, COST_PATH, `${timeQuery(window)}&${COST_QUERY}`), rows: costRows },
        window,
      );
    },

    async validateKey(ctx) {
      const today = startOfDay(now() / 1000);
      await checkFirstPage(report(ctx, COST_PATH, `${timeQuery({ start: today - DAY, end: today })}&bucket_width=1d&limit=1`));
    },
  };
}

/** The Anthropic adapter with production settings. */
export const anthropicAdapter = createAnthropicAdapter();

function bucketTimes({ bucket, path, read }: PagedBucket): { start: number; end: number } {
  const start = read.timestamp(bucket['starting_at'], `${path}.starting_at`);
  const end = read.timestamp(bucket['ending_at'], `${path}.ending_at`);
  if (end <= start) read.fail(`${path}.ending_at`, 'is not after starting_at');
  return { start, end };
}

function usageRows(paged: PagedBucket): UsageRecord[] {
  const { bucket, path, read } = paged;
  const { start, end } = bucketTimes(paged);
  return read.array(bucket['results'], `${path}.results`).map((value, index) => {
    const at = `${path}.results[${index}]`;
    const result = read.object(value, at);
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
  });
}

function costRows(paged: PagedBucket): UsageRecord[] {
  const { bucket, path, read } = paged;
  const { start, end } = bucketTimes(paged);
  return read.array(bucket['results'], `${path}.results`).map((value, index) => {
    const at = `${path}.results[${index}]`;
    const result = read.object(value, at);
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
  });
}
