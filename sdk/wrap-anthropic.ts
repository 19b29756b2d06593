import type { LLMeter } from './client.js';
import { interceptClient, isRecord, text, tokens, trackCreate, type ApiReader, type Usage } from './instrument.js';
import type { WrapOptions } from './wrap-openai.js';

/** Anthropic counts cache reads and writes apart from `input_tokens`; LLMeter's input includes them. */
function messageUsage(usage: Record<string, unknown>): Usage {
  const cacheRead = tokens(usage.cache_read_input_tokens);
  const cacheWrite = tokens(usage.cache_creation_input_tokens);
  return { inputTokens: tokens(usage.input_tokens) + cacheRead + cacheWrite, cachedInputTokens: cacheRead, cacheWriteTokens: cacheWrite, outputTokens: tokens(usage.output_tokens) };
}

/**
 * Messages. A stream carries usage in `message_start` (input) and `message_delta` (cumulative
 * output, and input fields where the API revises them); the last value of each field wins.
 */
const messages: ApiReader = {
  fromResult: (data) => (isRecord(data) ? { model: text(data.model), ...(isRecord(data.usage) ? { usage: messageUsage(data.usage) } : {}) } : {}),
  streamReader() {
    let model: string | undefined;
    let usage: Record<string, unknown> | undefined;
    return {
      read(event) {
        if (!isRecord(event)) return true;
        if (event.type === 'message_start' && isRecord(event.message)) {
          model = text(event.message.model) ?? model;
          if (isRecord(event.message.usage)) usage = { ...event.message.usage };
        } else if (event.type === 'message_delta' && isRecord(event.usage)) {
          for (const [field, value] of Object.entries(event.usage)) if (typeof value === 'number') usage = { ...usage, [field]: value };
        }
        return true;
      },
      result: () => ({ model, ...(usage ? { usage: messageUsage(usage) } : {}) }),
    };
  },
};

/**
 * Tracks every `messages.create` of an official `@anthropic-ai/sdk` client, streaming included,
 * and `messages.stream()` / `messages.parse()`, which call it. Pass `llmeter_customer_id` /
 * `llmeter_feature` in the request params or options (or spread `attribution({...})`); they are
 * taken off before Anthropic sees the request. Returns a view of the client; the client itself is
 * not changed.
 */
export function wrapAnthropic<T extends object>(client: T, llmeter: LLMeter, options: WrapOptions = {}): T {
  return interceptClient(client, { 'messages.create': trackCreate(llmeter, options.provider ?? 'anthropic', messages) });
}
