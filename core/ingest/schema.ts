import { z } from 'zod';
import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import {
  CONTROL_CHARACTERS,
  MAX_CUSTOMER_ID_LENGTH,
  MAX_EVENTS_PER_BATCH,
  MAX_FEATURE_LENGTH,
  MAX_LATENCY_MS,
  MAX_MODEL_LENGTH,
  MAX_TOKENS_PER_EVENT,
  UUID_PATTERN,
} from '../../sdk/wire.js';
import { HttpError } from '../http/server.js';
import { wellFormedText } from '../providers/json-reader.js';

/** One SDK event, validated and normalised: times in Unix seconds, absent labels as ''. */
export interface IngestEvent {
  id: string;
  provider: ProviderId;
  model: string;
  occurredAt: number;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  latencyMs: number;
  status: number;
  customerId: string;
  feature: string;
}

/** How far ahead of this machine's clock an event may be dated (another machine's clock drifts). */
export const MAX_CLOCK_AHEAD_SEC = 3_600;

const printable = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters')
    .transform(wellFormedText);
const count = z.number().int().min(0).max(MAX_TOKENS_PER_EVENT);
/** The largest HTTP status code. */
const MAX_STATUS = 599;

const eventSchema = z
  .object({
    id: z.string().regex(UUID_PATTERN, 'must be a UUID'),
    provider: z.enum(PROVIDER_IDS),
    model: printable(MAX_MODEL_LENGTH).pipe(z.string().min(1, 'must not be empty')),
    inputTokens: count,
    cachedInputTokens: count,
    cacheWriteTokens: count.default(0),
    outputTokens: count,
    latencyMs: z.number().int().min(0).max(MAX_LATENCY_MS),
    status: z.number().int().min(0).max(MAX_STATUS),
    customerId: printable(MAX_CUSTOMER_ID_LENGTH).nullish(),
    feature: printable(MAX_FEATURE_LENGTH).nullish(),
    timestamp: z.iso.datetime({ offset: true }),
  })
  .refine((event) => event.cachedInputTokens + event.cacheWriteTokens <= event.inputTokens, {
    path: ['cachedInputTokens'],
    message: 'cachedInputTokens plus cacheWriteTokens cannot exceed inputTokens, which includes them',
  });

// Fields a newer SDK may add are ignored rather than refused, so an older app keeps accepting it.
const batchSchema = z.object({ events: z.array(eventSchema) });

/** `events.3.inputTokens` as `events[3].inputTokens`. */
function pathText(path: readonly PropertyKey[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('') || 'body';
}

/** What eventSchema's `printable` gives for a value the fast path can vouch for; undefined when only the schema can say. */
function plainPrintable(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  // A lone surrogate is left to the schema too (wellFormedText replaces it; rare, and then exact).
  return text.length <= max && !CONTROL_CHARACTERS.test(text) && !LONE_SURROGATE.test(text) ? text : undefined;
}

const LONE_SURROGATE = /\p{Surrogate}/u;
const PROVIDERS: ReadonlySet<unknown> = new Set(PROVIDER_IDS);
// The same pattern z.iso.datetime({ offset: true }) checks (zod's own export of it).
const DATETIME_PATTERN = z.regexes.datetime({ offset: true });

const isIntIn = (value: unknown, max: number): value is number => Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= max;
const isCount = (value: unknown): value is number => isIntIn(value, MAX_TOKENS_PER_EVENT);

/** An event as validated, before the timestamp is read; what batchSchema's output holds per event. */
type ValidEvent = z.output<typeof eventSchema>;

/**
 * The fast path of validation: the events of an ordinary batch, exactly as eventSchema would give
 * them, or null as soon as one event is anything but plainly valid (then the schema validates the
 * batch and names the first problem). It accepts only what the schema accepts, and its checks are
 * the schema's own constants and patterns; validating 500 events this way costs a tenth of what
 * the schema's per-event object parsing does, which mattered at tens of thousands of events a second.
 */
function plainEvents(events: readonly unknown[]): ValidEvent[] | null {
  const valid: ValidEvent[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as Record<string, unknown> | null;
    if (typeof event !== 'object' || event === null || Array.isArray(event)) return null;
    const { id, provider, inputTokens, cachedInputTokens, outputTokens, latencyMs, status, timestamp } = event;
    const cacheWriteTokens = event['cacheWriteTokens'] === undefined ? 0 : event['cacheWriteTokens'];
    const model = plainPrintable(event['model'], MAX_MODEL_LENGTH);
    const customerId = event['customerId'] == null ? event['customerId'] : plainPrintable(event['customerId'], MAX_CUSTOMER_ID_LENGTH);
    const feature = event['feature'] == null ? event['feature'] : plainPrintable(event['feature'], MAX_FEATURE_LENGTH);
    if (
      typeof id !== 'string' || !UUID_PATTERN.test(id) ||
      !PROVIDERS.has(provider) ||
      !model || customerId === undefined && event['customerId'] !== undefined || feature === undefined && event['feature'] !== undefined ||
      !isCount(inputTokens) || !isCount(cachedInputTokens) || !isCount(cacheWriteTokens) || !isCount(outputTokens) ||
      cachedInputTokens + cacheWriteTokens > inputTokens ||
      !isIntIn(latencyMs, MAX_LATENCY_MS) || !isIntIn(status, MAX_STATUS) ||
      typeof timestamp !== 'string' || !DATETIME_PATTERN.test(timestamp)
    ) {
      return null;
    }
    valid[i] = { id, provider: provider as ProviderId, model, inputTokens, cachedInputTokens, cacheWriteTokens, outputTokens, latencyMs, status, customerId: customerId as string | null | undefined, feature: feature as string | null | undefined, timestamp };
  }
  return valid;
}

/** Validates a parsed body with the schema; throws HttpError 400 naming the first problem. */
function schemaEvents(body: unknown): ValidEvent[] {
  const parsed = batchSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HttpError(400, `Invalid batch: ${pathText(issue.path)}: ${issue.message}`);
  }
  return parsed.data.events;
}

/**
 * Parses and validates an ingest body. Throws HttpError 400 naming the first problem and where it
 * is (`events[3].inputTokens: …`), or 413 for more events than one batch may hold.
 */
export function parseIngestBody(raw: Buffer, nowMs: number): IngestEvent[] {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `The body is not valid JSON (${(err as Error).message}); send {"events": [...]}`);
  }
  const events = (body as { events?: unknown } | null)?.events;
  if (Array.isArray(events) && events.length > MAX_EVENTS_PER_BATCH) {
    throw new HttpError(413, `A batch holds at most ${MAX_EVENTS_PER_BATCH} events; this one has ${events.length}. Send smaller batches.`);
  }
  const plain = typeof body === 'object' && body !== null && !Array.isArray(body) && Array.isArray(events) ? plainEvents(events) : null;
  const valid = plain ?? schemaEvents(body);
  const latestSec = Math.floor(nowMs / 1000) + MAX_CLOCK_AHEAD_SEC;
  return valid.map((event, i) => {
    const occurredAt = Math.floor(Date.parse(event.timestamp) / 1000);
    if (occurredAt > latestSec) {
      throw new HttpError(400, `Invalid batch: events[${i}].timestamp: ${event.timestamp} is more than an hour ahead of this machine's clock; check the clock of the machine that sent it`);
    }
    return {
      id: event.id.toLowerCase(),
      provider: event.provider,
      model: event.model,
      occurredAt,
      inputTokens: event.inputTokens,
      cachedInputTokens: event.cachedInputTokens,
      cacheWriteTokens: event.cacheWriteTokens,
      outputTokens: event.outputTokens,
      latencyMs: event.latencyMs,
      status: event.status,
      customerId: event.customerId ?? '',
      feature: event.feature ?? '',
    };
  });
}
