import type { ProviderId } from '../../shared/providers.js';
import type { FailureDetail, ProviderErrorKind } from './errors.js';
import { providerFailure, isRetryable, scrubSecrets } from './errors.js';

/** GETs JSON from a provider with retries, timeouts and a size cap. Throws ProviderError. */
export interface HttpClient {
  getJson(provider: ProviderId, url: string, headers: Record<string, string>): Promise<unknown>;
  /** HTTP requests sent so far, retries included. */
  requestCount: number;
}

/** Tuning for createHttpClient; every field has a production default. */
export interface HttpClientOptions {
  /** Per attempt, body included. Default 30 000. */
  timeoutMs?: number;
  /** Retries after the first attempt for transient failures. Default 4. */
  maxRetries?: number;
  /** Largest body read before giving up. Default 64 MiB. */
  maxBytes?: number;
  /** First backoff ceiling; doubles per retry. Default 500. */
  baseDelayMs?: number;
  /** Ceiling for any wait, Retry-After included. Default 60 000. */
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
}

const MiB = 1024 * 1024;
// Error bodies are only read for the provider's message; a short cap keeps a hostile one harmless.
const ERROR_BODY_MAX_BYTES = 64 * 1024;
const PROVIDER_MESSAGE_MAX_CHARS = 300;

/** One failed attempt: what to report if it is the last, and the wait the server asked for. */
interface AttemptFailure {
  kind: ProviderErrorKind;
  detail: FailureDetail;
  retryAfterMs?: number;
}

class BodyTooLarge extends Error {}

/**
 * Creates the HTTP client adapters use. Transient failures (429, 5xx, network errors, timeouts)
 * are retried with exponential backoff and full jitter, honouring Retry-After on 429/503;
 * 401/403/4xx fail at once. Bodies are streamed with a byte cap so a runaway response cannot
 * exhaust memory.
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxRetries = options.maxRetries ?? 4;
  const maxBytes = options.maxBytes ?? 64 * MiB;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 60_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const doFetch = options.fetch ?? fetch;

  const client: HttpClient = {
    requestCount: 0,
    async getJson(provider, url, headers) {
      for (let attempt = 0; ; attempt++) {
        client.requestCount++;
        const outcome = await attemptOnce(url, headers);
        if ('json' in outcome) return outcome.json;
        const { kind, detail, retryAfterMs } = outcome;
        if (!isRetryable(kind) || attempt >= maxRetries) {
          const attempts = attempt > 0 ? `Tried ${attempt + 1} times.` : '';
          throw providerFailure(provider, kind, { ...detail, note: [detail.note, attempts].filter(Boolean).join(' ') });
        }
        const backoff = Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
        await sleep(retryAfterMs === undefined ? backoff : Math.min(retryAfterMs, maxDelayMs));
      }
    },
  };

  async function attemptOnce(url: string, headers: Record<string, string>): Promise<{ json: unknown } | AttemptFailure> {
    // Header values are secrets or close to them; the bare key is what a provider would echo.
    const secrets = Object.values(headers).map((value) => value.replace(/^Bearer\s+/i, ''));
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      // Redirects are refused: fetch would carry custom auth headers (x-api-key) to another origin.
      response = await doFetch(url, { headers: { accept: 'application/json', ...headers }, signal, redirect: 'manual' });
    } catch (err) {
      return transportFailure(err, timeoutMs);
    }
    const status = response.status;
    const contentType = response.headers.get('content-type') ?? 'none';

    if (status < 200 || status >= 300) {
      const providerMessage = await readProviderMessage(response, secrets);
      const detail: FailureDetail = { status };
      if (providerMessage) detail.providerMessage = providerMessage;
      if (status >= 300 && status < 400) detail.note = 'LLMeter does not follow redirects.';
      const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
      return retryAfterMs === undefined ? { kind: kindForStatus(status), detail } : { kind: kindForStatus(status), detail, retryAfterMs };
    }

    let bytes: Uint8Array;
    try {
      bytes = await readCapped(response, maxBytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        return { kind: 'too_large', detail: { status, note: `The body exceeded ${formatBytes(maxBytes)}; LLMeter stopped reading it.` } };
      }
      return transportFailure(err, timeoutMs);
    }
    try {
      return { json: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown };
    } catch {
      return { kind: 'malformed', detail: { status, note: `The body is not valid JSON (content-type ${contentType}, ${formatBytes(bytes.byteLength)}).` } };
    }
  }

  return client;
}

function kindForStatus(status: number): ProviderErrorKind {
  if (status === 401) return 'auth';
  if (status === 403) return 'permission';
  if (status === 408) return 'timeout';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server'; // includes Anthropic's 529 overloaded_error
  return 'bad_request';
}

function transportFailure(err: unknown, timeoutMs: number): AttemptFailure {
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return { kind: 'timeout', detail: { note: `No complete answer within ${timeoutMs / 1000} s.` } };
  }
  const cause = networkCause(err);
  return { kind: 'unreachable', detail: { note: `(${cause})${explainNetworkCause(cause)}` } };
}

/** What a network error code means for the person reading it; '' where the code says enough. */
function explainNetworkCause(cause: string): string {
  if (/CERT|SSL|TLS|EPROTO/i.test(cause)) {
    return " The TLS connection failed: the server's certificate could not be verified, or it does not speak HTTPS. LLMeter sends no key over a connection it cannot verify.";
  }
  if (cause === 'ENOTFOUND' || cause === 'EAI_AGAIN') return ' The host name does not resolve.';
  return '';
}

/** The system-level reason of a fetch failure ("ECONNREFUSED"), which says more than "fetch failed". */
function networkCause(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** Retry-After as delta-seconds or an HTTP date, in milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** Reads the whole body, aborting as soon as it passes `maxBytes` rather than buffering it. */
async function readCapped(response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new BodyTooLarge();
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * The provider's own explanation from an error body, in any of the documented shapes:
 * OpenAI `{error:{message}}`, Anthropic `{type:'error',error:{type,message}}`, OpenRouter
 * `{error:{code,message}}`. Scrubbed of keys and header values, and shortened.
 */
async function readProviderMessage(response: Response, secrets: string[]): Promise<string | undefined> {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(await readCapped(response, ERROR_BODY_MAX_BYTES)));
  } catch {
    return undefined; // an HTML error page or a cut-off body: the status alone must do
  }
  const error = isObject(body) ? body['error'] : undefined;
  const message = isObject(error) ? error['message'] : undefined;
  if (typeof message !== 'string' || message.trim() === '') return undefined;
  let text = message.replace(/\s+/g, ' ').trim();
  for (const secret of secrets) if (secret.length >= 8) text = text.split(secret).join('[redacted]');
  text = scrubSecrets(text);
  return text.length > PROVIDER_MESSAGE_MAX_CHARS ? `${text.slice(0, PROVIDER_MESSAGE_MAX_CHARS)}…` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatBytes(bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} bytes`;
}
