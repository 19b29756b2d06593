/**
 * The ingest wire format: what the SDK posts to `POST /api/v1/ingest` and what the app accepts.
 * The app's validation (core/ingest) imports these limits, so the two can never disagree; this
 * file imports nothing, so the SDK stays self-contained in the user's application.
 */

/** Path of the ingest route on the local app. */
export const INGEST_PATH = '/api/v1/ingest';

/** The most events one request may carry. */
export const MAX_EVENTS_PER_BATCH = 1000;
/** The largest request body the app reads; 1000 events at their longest fit with room to spare. */
export const MAX_BATCH_BYTES = 2 * 1024 * 1024;
export const MAX_MODEL_LENGTH = 200;
export const MAX_CUSTOMER_ID_LENGTH = 256;
export const MAX_FEATURE_LENGTH = 128;
/** Per-request token counts above this are a bug in the caller, not a request. */
export const MAX_TOKENS_PER_EVENT = 10_000_000_000;
/** A request lasting longer than a day is not a latency. */
export const MAX_LATENCY_MS = 86_400_000;
/** An event id: a UUID, any version, any case (stored lowercase). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Text fields (model, customer id, feature) must not contain these. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * One model request as the app stores it. Token counts follow the billing APIs: `inputTokens` is
 * all input, cache reads and cache writes included. No prompt or completion text, ever.
 */
export interface WireEvent {
  /** Client-generated UUID: a retried batch is recognised and counted once. */
  id: string;
  /** The provider that served the request: `openai`, `anthropic` or `openrouter`. */
  provider: string;
  model: string;
  inputTokens: number;
  /** Input tokens read from the provider's prompt cache (part of inputTokens). */
  cachedInputTokens: number;
  /** Input tokens written to the provider's prompt cache (part of inputTokens); optional, default 0. */
  cacheWriteTokens?: number;
  outputTokens: number;
  latencyMs: number;
  /** HTTP status of the provider's answer; 0 when there was none (network error, error inside a stream). */
  status: number;
  customerId?: string;
  feature?: string;
  /** When the request started, ISO 8601 with offset. */
  timestamp: string;
}

/** The request body. */
export interface IngestBatch {
  events: WireEvent[];
}

/** The answer to an accepted batch. */
export interface IngestResult {
  received: number;
  /** Events stored for the first time. */
  inserted: number;
  /** Events already stored (a retry): ignored. */
  duplicates: number;
}
