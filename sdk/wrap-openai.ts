import type { LLMeter } from './client.js';
import { interceptClient, isRecord, text, tokens, trackCreate, type ApiReader, type Observed, type Usage } from './instrument.js';

/** Options of a wrapped client. */
export interface WrapOptions {
  /**
   * The provider the client talks to. Default: `openrouter` for a client whose baseURL is on
   * openrouter.ai, else `openai` (Anthropic's own client: `anthropic`).
   */
  provider?: string;
}

function chatUsage(usage: unknown): Usage | undefined {
  if (!isRecord(usage)) return undefined;
  const details = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  return { inputTokens: tokens(usage.prompt_tokens), cachedInputTokens: tokens(details.cached_tokens), cacheWriteTokens: 0, outputTokens: tokens(usage.completion_tokens) };
}

function responsesUsage(usage: unknown): Usage | undefined {
  if (!isRecord(usage)) return undefined;
  const details = isRecord(usage.input_tokens_details) ? usage.input_tokens_details : {};
  return { inputTokens: tokens(usage.input_tokens), cachedInputTokens: tokens(details.cached_tokens), cacheWriteTokens: 0, outputTokens: tokens(usage.output_tokens) };
}

/**
 * Chat Completions. A stream reports usage only when `stream_options.include_usage` is set, in one
 * extra chunk with no choices; when the caller did not ask for it, it is asked for here and that
 * chunk (and the `usage: null` it adds to every other chunk) is kept from the caller.
 */
const chatCompletions: ApiReader = {
  prepare(body) {
    if (body.stream !== true) return { hideUsageOnlyChunks: false };
    const streamOptions = isRecord(body.stream_options) ? body.stream_options : {};
    if (streamOptions.include_usage === true) return { hideUsageOnlyChunks: false };
    body.stream_options = { ...streamOptions, include_usage: true };
    return { hideUsageOnlyChunks: true };
  },
  fromResult: (data) => (isRecord(data) ? { model: text(data.model), usage: chatUsage(data.usage) } : {}),
  streamReader({ hideUsageOnlyChunks }) {
    const observed: Observed = {};
    return {
      read(chunk) {
        if (!isRecord(chunk)) return true;
        observed.model ??= text(chunk.model);
        const usage = chatUsage(chunk.usage);
        if (usage) observed.usage = usage;
        if (!hideUsageOnlyChunks) return true;
        if (usage && Array.isArray(chunk.choices) && chunk.choices.length === 0) return false;
        if (chunk.usage === null) delete chunk.usage;
        return true;
      },
      result: () => observed,
    };
  },
};

/** The Responses API: usage on the response, and on the `response` of a stream's final event. */
const responses: ApiReader = {
  fromResult: (data) => (isRecord(data) ? { model: text(data.model), usage: responsesUsage(data.usage) } : {}),
  streamReader() {
    const observed: Observed = {};
    return {
      read(event) {
        const response = isRecord(event) && isRecord(event.response) ? event.response : null;
        if (response) {
          observed.model = text(response.model) ?? observed.model;
          observed.usage = responsesUsage(response.usage) ?? observed.usage;
        }
        return true;
      },
      result: () => observed,
    };
  },
};

function defaultProvider(client: object): string {
  const baseURL = (client as { baseURL?: unknown }).baseURL;
  try {
    if (typeof baseURL === 'string' && /(^|\.)openrouter\.ai$/i.test(new URL(baseURL).hostname)) return 'openrouter';
  } catch {
    // Not a URL: the OpenAI default.
  }
  return 'openai';
}

/**
 * Tracks every `chat.completions.create` and `responses.create` of an official `openai` client
 * (v4 to v6), streaming included, and the helpers built on them (`parse`, `stream`). Pass
 * `llmeter_customer_id` / `llmeter_feature` in the request body or options (or spread
 * `attribution({...})`); they are taken off before OpenAI sees the request. Returns a view of the
 * client; the client itself is not changed.
 */
export function wrapOpenAI<T extends object>(client: T, llmeter: LLMeter, options: WrapOptions = {}): T {
  const provider = options.provider ?? defaultProvider(client);
  return interceptClient(client, {
    'chat.completions.create': trackCreate(llmeter, provider, chatCompletions),
    'responses.create': trackCreate(llmeter, provider, responses),
  });
}
