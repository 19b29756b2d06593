/**
 * LLMeter SDK: per-request usage from your own code into the local LLMeter app, for what billing
 * APIs cannot say (which customer, which feature). Only counts and labels are sent, never prompts
 * or completions. No dependency beyond the runtime's fetch.
 *
 *   const llmeter = new LLMeter({ apiKey: process.env.LLMETER_API_KEY });
 *   const openai = wrapOpenAI(new OpenAI(), llmeter);
 *   await openai.chat.completions.create({ model, messages, llmeter_customer_id: 'acme' });
 *   await llmeter.shutdown();
 */
import { LLMeter } from './client.js';

export { LLMeter, DEFAULT_INGEST_URL, type LLMeterOptions, type LLMeterStats, type TrackEvent } from './client.js';
export { attribution, CUSTOMER_FIELD, FEATURE_FIELD } from './instrument.js';
export { wrapOpenAI, type WrapOptions } from './wrap-openai.js';
export { wrapAnthropic } from './wrap-anthropic.js';
export type { IngestResult, WireEvent } from './wire.js';

export default LLMeter;
