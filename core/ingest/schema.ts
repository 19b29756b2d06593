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
    status: z.number().int().min(0).max(599),
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
  const parsed = batchSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HttpError(400, `Invalid batch: ${pathText(issue.path)}: ${issue.message}`);
  }
  const latestSec = Math.floor(nowMs / 1000) + MAX_CLOCK_AHEAD_SEC;
  return parsed.data.events.map((event, i) => {
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
