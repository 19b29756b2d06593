import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import type { IngestResult } from '../../sdk/wire.js';
import { createCostEstimator } from '../pricing/estimate.js';
import type { Db } from '../store/db.js';
import { cachedStatement } from '../store/statements.js';
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

function addEvent(groups: Map<string, { key: Record<string, string | number>; sums: EventSums }>, key: Record<string, string | number>, event: PricedEvent): void {
  const id = Object.values(key).join('\u0000');
  let group = groups.get(id);
  if (!group) groups.set(id, (group = { key, sums: { requests: 0, failed: 0, inputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 0, costNano: 0n, unpriced: 0, latencyMs: 0 } }));
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

const INSERT_EVENT_SQL = `
  INSERT OR IGNORE INTO sdk_events (id, provider, model, occurred_at, input_tokens, cached_input_tokens, cache_write_tokens,
    output_tokens, latency_ms, status, customer_id, feature, cost_nano, unpriced, received_at)
  VALUES (@id, @provider, @model, @occurredAt, @inputTokens, @cachedInputTokens, @cacheWriteTokens,
    @outputTokens, @latencyMs, @status, @customerId, @feature, @costNano, @unpriced, @now)`;

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
 * Stores a batch of SDK events in one transaction. An event whose id is already stored (a retried
 * batch) is ignored; the new ones are summed per hour and added to `sdk_usage_hourly` (per
 * customer and feature) and to `usage` (per provider and model, source 'sdk', estimated),
 * superseded where billing is the truth (see billedBefore). One write per hour and group rather
 * than per event: a batch of 500 events touches a handful of rows.
 */
export function writeSdkEvents(db: Db, events: readonly IngestEvent[], options: { billedProviders: readonly ProviderId[]; nowSec: number }): IngestResult {
  const priced = priceEvents(events);
  const insertEvent = cachedStatement(db, INSERT_EVENT_SQL);
  let inserted = 0;
  db.transaction(() => {
    const customerHours = new Map<string, { key: Record<string, string | number>; sums: EventSums }>();
    const modelHours = new Map<string, { key: Record<string, string | number>; sums: EventSums }>();
    for (const event of priced) {
      if (insertEvent.run({ ...event, unpriced: event.unpriced ? 1 : 0, now: options.nowSec }).changes === 0) continue;
      inserted++;
      const hour = event.occurredAt - (event.occurredAt % HOUR);
      addEvent(customerHours, { hour, provider: event.provider, model: event.model, customerId: event.customerId, feature: event.feature }, event);
      addEvent(modelHours, { hour, provider: event.provider, model: event.model }, event);
    }
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
  }).immediate();
  return { received: events.length, inserted, duplicates: events.length - inserted };
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
