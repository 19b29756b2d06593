/**
 * Response bodies of the fake provider APIs, built from the truth in the documented shapes
 * (see /work/shared/reference/provider-apis.md): the server in providers.ts only routes to these.
 */
import { formatNanoAsDecimal } from '../../shared/money.js';
import type { ProviderId } from '../../shared/providers.js';
import type { FakeCost, FakeDay, FakeTruth, FakeUsage } from './provider-truth.js';
import { DAY, dollarsToNano } from './provider-truth.js';

/** A request the fake refuses (400, 404), answered in the provider's error shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface TimeRange {
  start: number;
  end: number;
}

/**
 * Buckets of `width` seconds covering [start, end): the first starts at `start` even when that is
 * not aligned (as OpenAI documents), later ones on UTC boundaries, the last cut at `end`.
 */
export function bucketRanges(start: number, end: number, width: number): TimeRange[] {
  const ranges: TimeRange[] = [];
  for (let from = start; from < end; ) {
    const to = Math.min(end, (Math.floor(from / width) + 1) * width);
    ranges.push({ start: from, end: to });
    from = to;
  }
  return ranges;
}

/** One result row before grouping: its dimensions and its summable values. */
interface Row {
  dims: Record<string, string | null>;
  values: Record<string, bigint>;
}

/** Sums rows over the dimensions not asked for, which become null, as the real APIs do. */
function group(rows: Row[], groupBy: readonly string[]): Row[] {
  const groups = new Map<string, Row>();
  for (const row of rows) {
    const dims = Object.fromEntries(Object.entries(row.dims).map(([name, value]) => [name, groupBy.includes(name) ? value : null]));
    const key = JSON.stringify(dims);
    const existing = groups.get(key);
    if (!existing) groups.set(key, { dims, values: { ...row.values } });
    else for (const [name, value] of Object.entries(row.values)) existing.values[name] = (existing.values[name] ?? 0n) + value;
  }
  return [...groups.values()];
}

function usageIn(days: FakeDay[], range: TimeRange): FakeUsage[] {
  return days
    .filter((day) => day.dayStart < range.end && day.dayStart + DAY > range.start)
    .flatMap((day) => day.usage)
    .filter((u) => u.hourStart >= range.start && u.hourStart < range.end);
}

function costsIn(days: FakeDay[], range: TimeRange): FakeCost[] {
  return days.filter((day) => day.dayStart >= range.start && day.dayStart < range.end).flatMap((day) => day.costs);
}

const n = (value: bigint | undefined) => Number(value ?? 0n);
const orNull = (text: string) => (text === '' ? null : text);

/** Results of one OpenAI completions-usage bucket. */
export function openaiUsageResults(truth: FakeTruth, range: TimeRange, groupBy: readonly string[]): object[] {
  const rows = usageIn(truth.openai, range).map((u) => ({
    dims: { model: u.model, project_id: orNull(u.project) },
    values: {
      input: BigInt(u.inputTokens),
      cached: BigInt(u.cachedInputTokens),
      write: BigInt(u.cacheWrite5mTokens + u.cacheWrite1hTokens),
      output: BigInt(u.outputTokens),
      requests: BigInt(u.requests),
    },
  }));
  return group(rows, groupBy).map(({ dims, values }) => ({
    object: 'organization.usage.completions.result',
    input_tokens: n(values['input']),
    output_tokens: n(values['output']),
    input_cached_tokens: n(values['cached']),
    // Older responses lack the cache-write fields; serve that shape whenever there were none.
    ...(values['write'] ? { input_cache_write_tokens: n(values['write']), input_uncached_tokens: n(values['input']) - n(values['cached']) - n(values['write']) } : {}),
    num_model_requests: n(values['requests']),
    project_id: dims['project_id'],
    user_id: null,
    api_key_id: null,
    model: dims['model'],
    batch: null,
    service_tier: null,
  }));
}

/** Results of one OpenAI costs bucket; amounts alternate between numbers and numeric strings. */
export function openaiCostResults(truth: FakeTruth, range: TimeRange, groupBy: readonly string[], bucketIndex: number): object[] {
  const rows = costsIn(truth.openai, range).map((c) => ({ dims: { line_item: c.lineItem, project_id: orNull(c.project) }, values: { nano: dollarsToNano(c.dollars) } }));
  return group(rows, groupBy).map(({ dims, values }, index) => {
    const decimal = formatNanoAsDecimal(values['nano'] ?? 0n);
    return {
      object: 'organization.costs.result',
      // OpenAI documents a number; real responses have also carried numeric strings.
      amount: { value: (bucketIndex + index) % 2 === 0 ? Number(decimal) : decimal, currency: 'usd' },
      line_item: dims['line_item'],
      project_id: dims['project_id'],
      api_key_id: null,
      quantity: null,
      quantity_unit: null,
    };
  });
}

/** Results of one Anthropic messages-usage bucket. */
export function anthropicUsageResults(truth: FakeTruth, range: TimeRange, groupBy: readonly string[]): object[] {
  const rows = usageIn(truth.anthropic, range).map((u) => ({
    dims: { model: u.model, workspace_id: orNull(u.project) },
    values: {
      uncached: BigInt(u.inputTokens - u.cachedInputTokens - u.cacheWrite5mTokens - u.cacheWrite1hTokens),
      read: BigInt(u.cachedInputTokens),
      write5m: BigInt(u.cacheWrite5mTokens),
      write1h: BigInt(u.cacheWrite1hTokens),
      output: BigInt(u.outputTokens),
    },
  }));
  return group(rows, groupBy).map(({ dims, values }) => ({
    account_id: null,
    api_key_id: null,
    cache_creation: { ephemeral_1h_input_tokens: n(values['write1h']), ephemeral_5m_input_tokens: n(values['write5m']) },
    cache_read_input_tokens: n(values['read']),
    context_window: null,
    inference_geo: null,
    model: dims['model'],
    output_tokens: n(values['output']),
    server_tool_use: { web_search_requests: 0 },
    service_account_id: null,
    service_tier: null,
    uncached_input_tokens: n(values['uncached']),
    workspace_id: dims['workspace_id'],
  }));
}

const TOKEN_TYPES: Record<string, string> = {
  'Input Tokens': 'uncached_input_tokens',
  'Output Tokens': 'output_tokens',
  'Cache Read Input Tokens': 'cache_read_input_tokens',
};

/** Results of one Anthropic cost-report bucket: amounts in cents, as decimal strings. */
export function anthropicCostResults(truth: FakeTruth, range: TimeRange, groupBy: readonly string[]): object[] {
  // model, cost_type and token_type come with the description; they are null without it.
  const rows = costsIn(truth.anthropic, range).map((c) => ({
    dims: { description: c.lineItem, workspace_id: orNull(c.project), model: c.model },
    values: { nano: dollarsToNano(c.dollars) },
  }));
  const withDescription = groupBy.includes('description');
  return group(rows, withDescription ? [...groupBy, 'model'] : groupBy).map(({ dims, values }) => {
    const description = dims['description'] ?? null;
    const tokens = dims['model'] !== null;
    return {
      amount: formatNanoAsDecimal((values['nano'] ?? 0n) * 100n),
      context_window: tokens ? '0-200k' : null,
      cost_type: !withDescription ? null : tokens ? 'tokens' : description?.startsWith('Web Search') ? 'web_search' : 'code_execution',
      currency: 'USD',
      description,
      inference_geo: tokens ? 'global' : null,
      model: dims['model'],
      service_tier: tokens ? 'standard' : null,
      token_type: tokens ? (TOKEN_TYPES[description?.split(' Usage - ')[1] ?? ''] ?? null) : null,
      workspace_id: dims['workspace_id'],
    };
  });
}

/**
 * OpenRouter activity rows for the given days: one per model and day, except that every other
 * model-day is split over two endpoints (as OpenRouter reports per upstream provider), so readers
 * must sum rows. BYOK cost is served on split rows and must not be counted.
 */
export function openrouterActivity(truth: FakeTruth, days: number[]): object[] {
  const rows: object[] = [];
  for (const day of truth.openrouter.filter((d) => days.includes(d.dayStart)).sort((a, b) => b.dayStart - a.dayStart)) {
    const models = [...new Set([...day.usage.map((u) => u.model), ...day.costs.flatMap((c) => (c.model ? [c.model] : []))])].sort();
    models.forEach((model, index) => {
      const usage = day.usage.filter((u) => u.model === model);
      const sum = (pick: (u: FakeUsage) => number) => usage.reduce((total, u) => total + pick(u), 0);
      const nano = day.costs.filter((c) => c.model === model).reduce((total, c) => total + dollarsToNano(c.dollars), 0n);
      const whole = { prompt: sum((u) => u.inputTokens), completion: sum((u) => u.outputTokens), requests: sum((u) => u.requests), nano };
      const split = (index + day.dayStart / DAY) % 2 === 1;
      const first = split ? { prompt: Math.floor(whole.prompt / 2), completion: Math.floor(whole.completion / 2), requests: Math.floor(whole.requests / 2), nano: nano / 2n } : whole;
      const parts = split
        ? [first, { prompt: whole.prompt - first.prompt, completion: whole.completion - first.completion, requests: whole.requests - first.requests, nano: nano - first.nano }]
        : [whole];
      parts.forEach((part, partIndex) => {
        rows.push({
          byok_usage_inference: partIndex === 1 ? 0.0042 : 0,
          completion_tokens: part.completion,
          date: new Date(day.dayStart * 1000).toISOString().slice(0, 10),
          endpoint_id: `00000000-0000-4000-8000-${String(index * 10 + partIndex).padStart(12, '0')}`,
          model,
          model_permaslug: `${model}-2025-01-01`,
          prompt_tokens: part.prompt,
          provider_name: partIndex === 0 ? 'Primary' : 'Fallback',
          reasoning_tokens: 0,
          requests: part.requests,
          usage: Number(formatNanoAsDecimal(part.nano)),
        });
      });
    });
  }
  return rows;
}

/** Every dollar OpenRouter ever billed in the truth, for /credits' total_usage. */
export function openrouterTotalUsage(truth: FakeTruth): number {
  const nano = truth.openrouter.flatMap((d) => d.costs).reduce((total, c) => total + dollarsToNano(c.dollars), 0n);
  return Number(formatNanoAsDecimal(nano));
}

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

/** The error body each provider documents for `status`. */
export function errorBody(provider: ProviderId, status: number, message: string): object {
  if (provider === 'anthropic') {
    return { type: 'error', error: { type: ANTHROPIC_ERROR_TYPES[status] ?? 'api_error', message }, request_id: 'req_011CFakeRequest' };
  }
  if (provider === 'openrouter') return { error: { code: status, message } };
  const type = status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message, type, param: null, code: status === 401 ? 'invalid_api_key' : null } };
}

/** What each provider says for a status; for 401 OpenAI echoes a masked key, as it does for real. */
export function errorMessage(provider: ProviderId, status: number, sentKey: string): string {
  const messages: Record<number, Record<ProviderId, string>> = {
    401: {
      openai: `Incorrect API key provided: ${sentKey.slice(0, 9)}****${sentKey.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      anthropic: 'invalid x-api-key',
      openrouter: 'No auth credentials found',
    },
    403: {
      openai: "You have insufficient permissions for this operation. Missing scopes: api.usage.read. Check that you have the correct role in your organization (Owner), and if you're using a restricted API key, that it has the necessary scopes.",
      anthropic: 'This API key does not have permission to use the Admin API.',
      openrouter: 'Only management keys can perform this operation',
    },
    429: { openai: 'Rate limit reached for requests', anthropic: 'Number of request tokens has exceeded your rate limit', openrouter: 'Rate limit exceeded' },
  };
  return messages[status]?.[provider] ?? (status >= 500 ? 'The server had an error while processing your request.' : `Request failed with status ${status}`);
}

/** Unix seconds as Anthropic writes them. */
export function rfc3339(sec: number): string {
  return new Date(sec * 1000).toISOString().replace('.000Z', 'Z');
}
