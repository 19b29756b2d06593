import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import type { IngestResult } from '../../sdk/wire.js';
import { createCostEstimator } from '../pricing/estimate.js';
import type { Db } from '../store/db.js';
import { cachedStatement } from '../store/statements.js';
import { CUSTOMER_FOLD_THRESHOLD, foldCustomerRollups, pendingCustomerChanges } from './customers.js';
import type { IngestEvent } from './schema.js';

const HOUR = 3_600;
const DAY = 86_400;

interface PricedEvent extends IngestEvent {
  costNano: bigint;
  unpriced: boolean;
}

/** Prices shared by every batch: the estimator learns each model's per-token prices once a day. */
const estimate = createCostEstimator();

/** Prices each event from the bundled price table at its own time (exactly as estimateCostNano does). */
function priceEvents(events: readonly IngestEvent[]): PricedEvent[] {
  return events.map((event) => {
    const price = estimate(event.provider, event.model, event, new Date(event.occurredAt * 1000));
    return { ...event, costNano: price ?? 0n, unpriced: price === null };
  });
}

/**
 * Where billing is the truth for a provider's SDK rows: all of them while it has a billing key;
 * without one (never had, or removed), those before the end of the billing data already stored,
 * which would otherwise be counted twice. SDK rows starting before the returned time are superseded.
 */
function billedBefore(db: Db, provider: ProviderId, billedProviders: readonly ProviderId[]): number {
  if (billedProviders.includes(provider)) return Number.MAX_SAFE_INTEGER;
  // A bucket is at most a day wide, so the latest end is among the rows starting in the last day
  // before the latest start: two index seeks per source instead of reading every row of the provider.
  const end = cachedStatement(
    db,
    `SELECT MAX(bucket_end) FROM usage WHERE provider = @provider AND source = @source
       AND bucket_start >= (SELECT MAX(bucket_start) FROM usage WHERE provider = @provider AND source = @source) - ${DAY}`,
  ).pluck();
  const ends = (['usage', 'cost'] as const).map((source) => end.get({ provider, source }) as number | null).filter((value) => value !== null);
  return ends.length > 0 ? Math.max(...ends) : Number.MIN_SAFE_INTEGER;
}

/** The sums of a group of new events, as the hourly tables add them. */
interface EventSums {
  requests: number;
  failed: number;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  costNano: bigint;
  unpriced: number;
  latencyMs: number;
}

type Groups = Map<string, { key: Record<string, string | number>; sums: EventSums }>;

/** Adds an event to the group `id` names, creating the group (with the columns `key()` gives) on its first event. */
function addEvent(groups: Groups, id: string, key: () => Record<string, string | number>, event: PricedEvent): void {
  let group = groups.get(id);
  if (!group) groups.set(id, (group = { key: key(), sums: { requests: 0, failed: 0, inputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 0, costNano: 0n, unpriced: 0, latencyMs: 0 } }));
  const sums = group.sums;
  sums.requests++;
  sums.failed += event.status >= 200 && event.status < 300 ? 0 : 1;
  sums.inputTokens += event.inputTokens;
  sums.cachedInputTokens += event.cachedInputTokens;
  sums.cacheWriteTokens += event.cacheWriteTokens;
  sums.outputTokens += event.outputTokens;
  sums.costNano += event.costNano;
  sums.unpriced += event.unpriced ? 1 : 0;
  sums.latencyMs += event.latencyMs;
}

/**
 * How long an event id is kept after the event was received, to recognise a retry of its batch.
 * The SDK retries a batch whose answer it did not get (a timeout, the app stopping mid-answer) a
 * few times within seconds, then keeps it queued and sends it again every flush interval for as
 * long as its process runs and the app cannot be reached. So a retry can follow the first copy by
 * as long as the app stays away while the SDK keeps running: a closed laptop over a holiday, not
 * more than weeks in practice. 30 days covers that with room; about 60 bytes per event id
 * (a million events a day: ~1.8 GB at most), where every event was kept whole and forever before.
 */
export const EVENT_ID_RETENTION_DAYS = 30;

const INSERT_EVENT_ID_SQL = 'INSERT OR IGNORE INTO sdk_event_ids (id, received_at) VALUES (?, ?)';
const PRUNE_EVENT_IDS_SQL = 'DELETE FROM sdk_event_ids WHERE received_at < ?';

/** An event id (a validated, lowercase UUID) as the 16 bytes sdk_event_ids stores. */
function idBytes(id: string): Buffer {
  return Buffer.from(id.replaceAll('-', ''), 'hex');
}

const ADD_TO_CUSTOMER_HOUR_SQL = `
  INSERT INTO sdk_usage_hourly (hour, provider, model, customer_id, feature, requests, failed_requests, input_tokens,
    cached_input_tokens, cache_write_tokens, output_tokens, cost_nano, unpriced_requests, latency_ms_total, updated_at)
  VALUES (@hour, @provider, @model, @customerId, @feature, @requests, @failed, @inputTokens,
    @cachedInputTokens, @cacheWriteTokens, @outputTokens, @costNano, @unpriced, @latencyMs, @now)
  ON CONFLICT (hour, provider, model, customer_id, feature) DO UPDATE SET
    requests = requests + excluded.requests, failed_requests = failed_requests + excluded.failed_requests,
    input_tokens = input_tokens + excluded.input_tokens, cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, output_tokens = output_tokens + excluded.output_tokens,
    cost_nano = cost_nano + excluded.cost_nano, unpriced_requests = unpriced_requests + excluded.unpriced_requests,
    latency_ms_total = latency_ms_total + excluded.latency_ms_total, updated_at = excluded.updated_at`;

const ADD_TO_USAGE_SQL = `
  INSERT INTO usage (provider, source, bucket_start, bucket_end, bucket_width, model, project, api_key_id, line_item, requests,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, cost_nano, cost_kind, superseded, unpriced, updated_at)
  VALUES (@provider, 'sdk', @hour, @hour + ${HOUR}, '1h', @model, '', '', '', @requests,
    @inputTokens, @cachedInputTokens, @cacheWriteTokens, @outputTokens, @costNano, 'estimated', @superseded, @anyUnpriced, @now)
  ON CONFLICT (provider, source, bucket_start, model, project, api_key_id, line_item) DO UPDATE SET
    requests = requests + excluded.requests, input_tokens = input_tokens + excluded.input_tokens,
    cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens, cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    output_tokens = output_tokens + excluded.output_tokens, cost_nano = cost_nano + excluded.cost_nano,
    superseded = excluded.superseded, unpriced = MAX(unpriced, excluded.unpriced), updated_at = excluded.updated_at`;

/**
 * Stores batches of SDK events in one transaction, and answers each batch's counts. An event
 * whose id was received in the last EVENT_ID_RETENTION_DAYS (a retried batch, or the same id
 * earlier in these batches) is ignored, and older ids are pruned; the new ones are summed per hour
 * and added to `sdk_usage_hourly` (per customer and feature) and to `usage` (per provider and model,
 * source 'sdk', estimated), superseded where billing is the truth (see billedBefore). One write per
 * hour and group rather than per event, and one commit for all the batches: batches that arrive
 * together mostly change the same rows and pages, written once. The customer rollups' changes are
 * folded once CUSTOMER_FOLD_THRESHOLD of them have gathered (see foldCustomerRollups).
 */
export function writeSdkBatches(db: Db, batches: ReadonlyArray<readonly IngestEvent[]>, options: { billedProviders: readonly ProviderId[]; nowSec: number }): IngestResult[] {
  const priced = batches.map(priceEvents);
  const insertEventId = cachedStatement(db, INSERT_EVENT_ID_SQL);
  return db.transaction(() => {
    // Ids past the retention leave as new ones come (an index seek that finds nothing, mostly).
    cachedStatement(db, PRUNE_EVENT_IDS_SQL).run(options.nowSec - EVENT_ID_RETENTION_DAYS * DAY);
    const customerHours: Groups = new Map();
    const modelHours: Groups = new Map();
    const results = priced.map((events) => {
      let inserted = 0;
      for (const event of events) {
        if (insertEventId.run(idBytes(event.id), options.nowSec).changes === 0) continue;
        inserted++;
        const hour = event.occurredAt - (event.occurredAt % HOUR);
        const modelHour = `${hour}\u0000${event.provider}\u0000${event.model}`;
        addEvent(modelHours, modelHour, () => ({ hour, provider: event.provider, model: event.model }), event);
        addEvent(customerHours, `${modelHour}\u0000${event.customerId}\u0000${event.feature}`, () => ({ hour, provider: event.provider, model: event.model, customerId: event.customerId, feature: event.feature }), event);
      }
      return { received: events.length, inserted, duplicates: events.length - inserted };
    });
    const addToCustomerHour = cachedStatement(db, ADD_TO_CUSTOMER_HOUR_SQL);
    for (const { key, sums } of customerHours.values()) addToCustomerHour.run({ ...key, ...sums, now: options.nowSec });

    const cutoffs = new Map<ProviderId, number>();
    const addToUsage = cachedStatement(db, ADD_TO_USAGE_SQL);
    for (const { key, sums } of modelHours.values()) {
      const provider = key['provider'] as ProviderId;
      let cutoff = cutoffs.get(provider);
      if (cutoff === undefined) cutoffs.set(provider, (cutoff = billedBefore(db, provider, options.billedProviders)));
      addToUsage.run({ ...key, ...sums, superseded: (key['hour'] as number) < cutoff ? 1 : 0, anyUnpriced: sums.unpriced > 0 ? 1 : 0, now: options.nowSec });
    }
    if (pendingCustomerChanges(db) >= CUSTOMER_FOLD_THRESHOLD) foldCustomerRollups(db);
    return results;
  }).immediate();
}

/** Stores one batch of SDK events (see writeSdkBatches). */
export function writeSdkEvents(db: Db, events: readonly IngestEvent[], options: { billedProviders: readonly ProviderId[]; nowSec: number }): IngestResult {
  return writeSdkBatches(db, [events], options)[0]!;
}

/**
 * Marks the SDK spend superseded where billing is the truth (see billedBefore) and un-marks it
 * elsewhere, so that every view of spend (metrics, dashboard, budgets, export) counts SDK estimates
 * exactly for providers without a billing key, and never twice. Run when the app starts and
 * whenever the keys change.
 */
export function syncSdkSpendWithBilling(db: Db, billedProviders: readonly ProviderId[]): void {
  const mark = db.prepare("UPDATE usage SET superseded = (bucket_start < @cutoff) WHERE provider = @provider AND source = 'sdk' AND superseded <> (bucket_start < @cutoff)");
  db.transaction(() => {
    for (const provider of PROVIDER_IDS) mark.run({ provider, cutoff: billedBefore(db, provider, billedProviders) });
  }).immediate();
}
