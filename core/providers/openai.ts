import { NO_MODEL } from '../../shared/usage.js';
import type { UsageRecord } from '../../shared/usage.js';
import type { AdapterOptions, PagedBucket, PagedReport } from './paging.js';
import { DEFAULT_MAX_PAGES, checkFirstPage, fetchUsageAndCost } from './paging.js';
import { DAY, startOfDay } from './time.js';
import type { FetchWindow, ProviderAdapter, ProviderContext } from './types.js';

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
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const now = options.now ?? Date.now;
  const report = (ctx: ProviderContext, path: string, query: string): PagedReport => ({
    provider: 'openai',
    http: ctx.http,
    headers: { authorization: `Bearer ${ctx.key}` },
    baseUrl: ctx.baseUrl,
    path,
    query,
    maxPages,
  });
  const timeQuery = (window: FetchWindow) => `start_time=${window.start}&end_time=${window.end}`;

  return {
    id: 'openai',

    fetch(ctx, window) {
      return fetchUsageAndCost(
        { report: report(ctx, USAGE_PATH, `${timeQuery(window)}&${USAGE_QUERY}`), rows: usageRows },
        { report: report(ctx, COSTS_PATH, `${timeQuery(window)}&${COSTS_QUERY}`), rows: costRows },
        window,
      );
    },

    async validateKey(ctx) {
      const today = startOfDay(now() / 1000);
      await checkFirstPage(report(ctx, COSTS_PATH, `start_time=${today - DAY}&end_time=${today}&bucket_width=1d&limit=1`));
    },
  };
}

/** The OpenAI adapter with production settings. */
export const openaiAdapter = createOpenAiAdapter();

function bucketTimes({ bucket, path, read }: PagedBucket): { start: number; end: number } {
  const start = read.unixSeconds(bucket['start_time'], `${path}.start_time`);
  const end = read.unixSeconds(bucket['end_time'], `${path}.end_time`);
  if (end <= start) read.fail(`${path}.end_time`, 'is not after start_time');
  return { start, end };
}

function usageRows(paged: PagedBucket): UsageRecord[] {
  const { bucket, path, read } = paged;
  const { start, end } = bucketTimes(paged);
  return read.array(bucket['results'], `${path}.results`).map((value, index) => {
    const at = `${path}.results[${index}]`;
    const result = read.object(value, at);
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
  });
}

function costRows(paged: PagedBucket): UsageRecord[] {
  const { bucket, path, read } = paged;
  const { start, end } = bucketTimes(paged);
  return read.array(bucket['results'], `${path}.results`).map((value, index) => {
    const at = `${path}.results[${index}]`;
    const result = read.object(value, at);
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
  });
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
