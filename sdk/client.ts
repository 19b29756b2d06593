import { newEventId } from './event-id.js';
import {
  CONTROL_CHARACTERS,
  INGEST_PATH,
  MAX_CUSTOMER_ID_LENGTH,
  MAX_EVENTS_PER_BATCH,
  MAX_FEATURE_LENGTH,
  MAX_LATENCY_MS,
  MAX_MODEL_LENGTH,
  MAX_TOKENS_PER_EVENT,
  UUID_PATTERN,
  type WireEvent,
} from './wire.js';

/** Where the app listens unless told otherwise (its default port). */
export const DEFAULT_INGEST_URL = `http://127.0.0.1:9742${INGEST_PATH}`;

/** How the client sends. Every option has a default; apiKey and baseUrl also come from the environment. */
export interface LLMeterOptions {
  /** The app's ingest token, as `npx llmeter token` shows it. Default: LLMETER_API_KEY. */
  apiKey?: string;
  /** The full ingest URL. Default: LLMETER_INGEST_URL, else http://127.0.0.1:9742/api/v1/ingest. */
  baseUrl?: string;
  /** Events per request; a full batch is sent at once. Default 50, at most 1000. */
  batchSize?: number;
  /** Milliseconds between background sends; 0 sends only full batches and on flush(). Default 5000. */
  flushInterval?: number;
  /** Retries of one request on 429, 5xx or no connection, with exponential backoff. Default 3. */
  maxRetries?: number;
  /** No warnings at all. Default false. */
  silent?: boolean;
  /** Events kept while the app cannot be reached; past it the oldest are dropped (and counted). Default 10000. */
  maxQueueSize?: number;
  /** Milliseconds before one request to the app is abandoned (and retried). Default 5000. */
  requestTimeout?: number;
  /** Where warnings go. Default console.warn. */
  onWarning?: (message: string) => void;
}

/**
 * One model request to record. Only counts and labels: never a prompt or a completion.
 * Token counts follow the billing APIs: `inputTokens` is all input, cache reads and writes included.
 */
export interface TrackEvent {
  /** `openai`, `anthropic` or `openrouter`. */
  provider: string;
  model: string;
  inputTokens?: number;
  cachedInputTokens?: number;
  cacheWriteTokens?: number;
  outputTokens?: number;
  latencyMs?: number;
  /** HTTP status of the provider's answer (default 200); 0 when there was none. */
  status?: number;
  /** Your customer (tenant, user) the request was made for. */
  customerId?: string | number;
  /** Your feature or endpoint the request served. */
  feature?: string;
  /** When the request started (default: now). */
  timestamp?: Date | string | number;
  /** A UUID that identifies the request, for your own retries; default: a fresh time-ordered one (UUIDv7). */
  id?: string;
}

/** What the client did so far. */
export interface LLMeterStats {
  /** Waiting to be sent. */
  queued: number;
  /** Accepted by the app. */
  sent: number;
  /** Dropped, oldest first, because the queue was full while the app could not be reached. */
  dropped: number;
  /** Refused by the app (wrong token, invalid batch) and discarded. */
  rejected: number;
  /** Refused by track() before queueing (bad counts, no model…). */
  invalid: number;
}

type SendOutcome = 'sent' | 'rejected' | 'unavailable';

const DEFAULTS = { batchSize: 50, flushInterval: 5000, maxRetries: 3, maxQueueSize: 10_000, requestTimeout: 5000 };
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 30_000;

function environment(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.[name]?.trim() || undefined;
}

/** Lets a timer run without keeping the process alive, where the runtime allows it. */
function unref(timer: unknown): void {
  if (typeof timer === 'object' && timer !== null && 'unref' in timer && typeof timer.unref === 'function') timer.unref();
}

function sleep(ms: number, keepAlive: boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (!keepAlive) unref(timer);
  });
}

function positiveInteger(value: number | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  return value !== undefined && Number.isInteger(value) && value >= 0 ? Math.min(value, max) : fallback;
}

function count(value: number | undefined, name: string, max: number): number | string {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return `${name} must be a non-negative number`;
  const rounded = Math.round(value);
  return rounded > max ? `${name} is larger than ${max}` : rounded;
}

function label(value: string | number | undefined, name: string, max: number): string | undefined | { error: string } {
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  if (text === '') return undefined;
  if (text.length > max) return { error: `${name} is longer than ${max} characters` };
  if (CONTROL_CHARACTERS.test(text)) return { error: `${name} contains control characters` };
  return text;
}

/** The event as the app accepts it, or why the app would refuse it. */
export function toWireEvent(event: TrackEvent, now: number = Date.now()): WireEvent | string {
  if (typeof event !== 'object' || event === null) return 'an event must be an object';
  const provider = typeof event.provider === 'string' ? event.provider.trim().toLowerCase() : '';
  if (!provider) return 'provider is required';
  const model = typeof event.model === 'string' ? event.model.trim() : '';
  if (!model) return 'model is required';
  if (model.length > MAX_MODEL_LENGTH || CONTROL_CHARACTERS.test(model)) return `model must be at most ${MAX_MODEL_LENGTH} printable characters`;
  const inputTokens = count(event.inputTokens, 'inputTokens', MAX_TOKENS_PER_EVENT);
  const cachedInputTokens = count(event.cachedInputTokens, 'cachedInputTokens', MAX_TOKENS_PER_EVENT);
  const cacheWriteTokens = count(event.cacheWriteTokens, 'cacheWriteTokens', MAX_TOKENS_PER_EVENT);
  const outputTokens = count(event.outputTokens, 'outputTokens', MAX_TOKENS_PER_EVENT);
  const latencyMs = count(event.latencyMs, 'latencyMs', MAX_LATENCY_MS);
  for (const value of [inputTokens, cachedInputTokens, cacheWriteTokens, outputTokens, latencyMs]) if (typeof value === 'string') return value;
  if ((cachedInputTokens as number) + (cacheWriteTokens as number) > (inputTokens as number)) return 'cachedInputTokens plus cacheWriteTokens cannot exceed inputTokens, which includes them';
  const status = event.status ?? 200;
  if (!Number.isInteger(status) || status < 0 || status > 599) return 'status must be an HTTP status code (0 when there was none)';
  const customerId = label(event.customerId, 'customerId', MAX_CUSTOMER_ID_LENGTH);
  if (typeof customerId === 'object') return customerId.error;
  const feature = label(event.feature, 'feature', MAX_FEATURE_LENGTH);
  if (typeof feature === 'object') return feature.error;
  const at = event.timestamp === undefined ? new Date(now) : new Date(event.timestamp);
  if (Number.isNaN(at.getTime())) return 'timestamp is not a date';
  if (event.id !== undefined && !(typeof event.id === 'string' && UUID_PATTERN.test(event.id))) return 'id must be a UUID';
  return {
    id: event.id ?? newEventId(now),
    provider,
    model,
    inputTokens: inputTokens as number,
    cachedInputTokens: cachedInputTokens as number,
    cacheWriteTokens: cacheWriteTokens as number,
    outputTokens: outputTokens as number,
    latencyMs: latencyMs as number,
    status,
    ...(customerId ? { customerId } : {}),
    ...(feature ? { feature } : {}),
    timestamp: at.toISOString(),
  };
}

/**
 * Sends per-request usage to the local LLMeter app. `track()` only queues (it never throws, never
 * waits); sending happens in the background in batches, with retries, from a bounded queue that
 * keeps the newest events while the app is down. Call `shutdown()` before the process exits.
 */
export class LLMeter {
  private readonly apiKey: string;
  private readonly url: string;
  private readonly batchSize: number;
  private readonly maxRetries: number;
  private readonly maxQueueSize: number;
  private readonly requestTimeout: number;
  private readonly warnTo: ((message: string) => void) | null;
  private readonly queue: WireEvent[] = [];
  private readonly counts = { sent: 0, dropped: 0, rejected: 0, invalid: 0 };
  private readonly warned = new Set<string>();
  private readonly timer: ReturnType<typeof setInterval> | null = null;
  private draining: Promise<void> | null = null;
  private sendScheduled = false;
  /** The scheduled send takes everything queued (interval), not only full batches (batch size reached). */
  private sendEverything = false;
  /** After the app could not be reached, full batches wait for the next interval instead of retrying at once. */
  private unavailable = false;
  private closed = false;

  constructor(options: LLMeterOptions = {}) {
    this.apiKey = options.apiKey ?? environment('LLMETER_API_KEY') ?? '';
    this.url = options.baseUrl ?? environment('LLMETER_INGEST_URL') ?? DEFAULT_INGEST_URL;
    this.batchSize = Math.max(1, positiveInteger(options.batchSize, DEFAULTS.batchSize, MAX_EVENTS_PER_BATCH));
    this.maxRetries = positiveInteger(options.maxRetries, DEFAULTS.maxRetries, 20);
    this.maxQueueSize = Math.max(1, positiveInteger(options.maxQueueSize, DEFAULTS.maxQueueSize));
    this.requestTimeout = Math.max(1, positiveInteger(options.requestTimeout, DEFAULTS.requestTimeout));
    // eslint-disable-next-line no-console -- the SDK runs in the user's app, which has no LLMeter logger
    this.warnTo = options.silent ? null : (options.onWarning ?? ((message) => console.warn(message)));
    if (!this.apiKey) {
      this.warn('LLMeter: no ingest token, so nothing will be recorded. Pass apiKey or set LLMETER_API_KEY to the ingest token that `npx llmeter token` shows.');
      return;
    }
    const interval = positiveInteger(options.flushInterval, DEFAULTS.flushInterval);
    if (interval > 0) {
      this.timer = setInterval(() => this.sendInBackground(true), interval);
      unref(this.timer);
    }
  }

  /** Queues one event. Never throws and never waits; an invalid event is counted and skipped with a warning. */
  track(event: TrackEvent): void {
    try {
      if (!this.apiKey) return;
      if (this.closed) {
        this.warnOnce('closed', 'LLMeter: an event was tracked after shutdown() and ignored.');
        return;
      }
      const wire = toWireEvent(event);
      if (typeof wire === 'string') {
        this.counts.invalid++;
        this.warnOnce(`invalid:${wire}`, `LLMeter: an event was skipped: ${wire}.`);
        return;
      }
      this.enqueue([wire], 'end');
      if (this.queue.length >= this.batchSize && !this.unavailable) this.sendInBackground(false);
    } catch (err) {
      this.warnOnce('track', `LLMeter: could not record an event: ${String(err)}`);
    }
  }

  /** Sends everything queued now, and resolves when it is sent or could not be (it then stays queued). Never rejects. */
  async flush(): Promise<void> {
    if (this.draining) {
      while (this.draining) await this.draining;
      // The send under way just tried, retries included; what it could not deliver stays queued.
      if (this.unavailable) return;
    }
    if (this.queue.length === 0) return;
    this.draining = this.drain(true).finally(() => (this.draining = null));
    await this.draining;
  }

  /** Stops the background timer, sends what is queued, and stops accepting events. */
  async shutdown(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.unavailable = false;
    await this.flush();
    if (this.queue.length > 0) this.warn(`LLMeter: ${this.queue.length} events could not be delivered to ${this.url} before shutdown and are lost.`);
  }

  /** Counters of what was queued, sent, dropped and refused. */
  stats(): LLMeterStats {
    return { queued: this.queue.length, ...this.counts };
  }

  /** Sends full batches (or, from the interval timer, everything queued) soon, off the caller's stack. */
  private sendInBackground(everything: boolean): void {
    if (this.draining || this.queue.length === 0) return;
    if (everything) this.unavailable = false;
    this.sendEverything ||= everything;
    if (this.sendScheduled) return;
    // track() returns before any serialisation or I/O happens.
    this.sendScheduled = true;
    const timer = setTimeout(() => {
      const fullBatchesOnly = !this.sendEverything;
      this.sendScheduled = false;
      this.sendEverything = false;
      if (!this.draining && this.queue.length > 0) this.draining = this.drain(false, fullBatchesOnly).finally(() => (this.draining = null));
    }, 0);
    unref(timer);
  }

  private async drain(keepAlive: boolean, fullBatchesOnly = false): Promise<void> {
    while (this.queue.length >= (fullBatchesOnly ? this.batchSize : 1)) {
      const batch = this.queue.splice(0, this.batchSize);
      const outcome = await this.send(batch, keepAlive);
      if (outcome === 'sent') {
        this.counts.sent += batch.length;
        this.unavailable = false;
        // The next outage is worth a warning of its own.
        this.warned.delete('unavailable');
        this.warned.delete('dropped');
      } else if (outcome === 'rejected') {
        this.counts.rejected += batch.length;
      } else {
        this.enqueue(batch, 'front');
        this.unavailable = true;
        return;
      }
    }
  }

  /** Adds events, then drops the oldest beyond the bound. */
  private enqueue(events: WireEvent[], at: 'front' | 'end'): void {
    if (at === 'front') this.queue.unshift(...events);
    else this.queue.push(...events);
    const excess = this.queue.length - this.maxQueueSize;
    if (excess > 0) {
      this.queue.splice(0, excess);
      this.counts.dropped += excess;
      this.warnOnce('dropped', `LLMeter: ${this.maxQueueSize} events are waiting for ${this.url}; the oldest are being dropped (stats().dropped counts them).`);
    }
  }

  private async send(batch: WireEvent[], keepAlive: boolean): Promise<SendOutcome> {
    const body = JSON.stringify({ events: batch });
    let problem = '';
    for (let attempt = 0; ; attempt++) {
      let retryAfterMs: number | null = null;
      try {
        const res = await fetch(this.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.apiKey}` },
          body,
          signal: AbortSignal.timeout(this.requestTimeout),
        });
        const text = await res.text().catch(() => '');
        if (res.ok) return 'sent';
        if (res.status !== 429 && res.status < 500) {
          const hint = res.status === 401 ? ' Set apiKey or LLMETER_API_KEY to the ingest token that `npx llmeter token` shows.' : '';
          this.warnOnce(`rejected:${res.status}`, `LLMeter: the app refused ${batch.length} events (${res.status}: ${text.trim().slice(0, 300)}); they were discarded.${hint}`);
          return 'rejected';
        }
        problem = `HTTP ${res.status}`;
        const retryAfter = Number(res.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter >= 0) retryAfterMs = Math.min(retryAfter * 1000, BACKOFF_MAX_MS);
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        problem = cause ?? (err instanceof Error ? err.message : String(err));
      }
      if (attempt >= this.maxRetries) {
        this.warnOnce('unavailable', `LLMeter: cannot deliver events to ${this.url} (${problem}); they stay queued and are retried. Is the LLMeter app running?`);
        return 'unavailable';
      }
      await sleep(retryAfterMs ?? Math.min(BACKOFF_BASE_MS * 2 ** attempt * (0.5 + Math.random() / 2), BACKOFF_MAX_MS), keepAlive);
    }
  }

  private warn(message: string): void {
    this.warnTo?.(message);
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.warn(message);
  }
}
