import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import type { IngestResult } from '../../sdk/wire.js';
import { estimateCostNano } from '../pricing/estimate.js';
import type { Db } from '../store/db.js';
import type { IngestEvent } from './schema.js';

const HOUR = 3_600;

interface PricedEvent extends IngestEvent {
  costNano: bigint;
  unpriced: boolean;
}

/**
 * Prices each event from the bundled price table at its own time. Identical requests in one batch
 * are priced once: a table look-up costs up to a quarter of a millisecond.
 */
function priceEvents(events: readonly IngestEvent[]): PricedEvent[] {
  const prices = new Map<string, bigint | null>();
  return events.map((event) => {
    const minute = Math.floor(event.occurredAt / 60);
    const key = [event.provider, event.model, minute, event.inputTokens, event.cachedInputTokens, event.cacheWriteTokens, event.outputTokens].join('\u0000');
    let price = prices.get(key);
    if (price === undefined) {
      price = estimateCostNano(event.provider, event.model, event, new Date(event.occurredAt * 1000));
      prices.set(key, price);
    }
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
  const end = db.prepare("SELECT MAX(bucket_end) FROM usage WHERE provider = ? AND source IN ('usage', 'cost')").pluck().get(provider) as number | null;
  return end ?? Number.MIN_SAFE_INTEGER;
}

/**
 * Stores a batch of SDK events in one transaction. An event whose id is already stored (a retried
 * batch) is ignored; each new one is added to its hour in `sdk_usage_hourly` (per customer and
 * feature) and in `usage` (per provider and model, source 'sdk', estimated), superseded where
 * billing is the truth (see billedBefore).
 */
export function writeSdkEvents(db: Db, events: readonly IngestEvent[], options: { billedProviders: readonly ProviderId[]; nowSec: number }): IngestResult {
  const priced = priceEvents(events);
  const insertEvent = db.prepare(`
    INSERT OR IGNORE INTO sdk_events (id, provider, model, occurred_at, input_tokens, cached_input_tokens, cache_write_tokens,
      output_tokens, latency_ms, status, customer_id, feature, cost_nano, unpriced, received_at)
    VALUES (@id, @provider, @model, @occurredAt, @inputTokens, @cachedInputTokens, @cacheWriteTokens,
      @outputTokens, @latencyMs, @status, @customerId, @feature, @costNano, @unpriced, @now)`);
  const addToRollup = db.prepare(`
    INSERT INTO sdk_usage_hourly (hour, provider, model, customer_id, feature, requests, failed_requests, input_tokens,
      cached_input_tokens, cache_write_tokens, output_tokens, cost_nano, unpriced_requests, latency_ms_total, updated_at)
    VALUES (@hour, @provider, @model, @customerId, @feature, 1, @failed, @inputTokens,
      @cachedInputTokens, @cacheWriteTokens, @outputTokens, @costNano, @unpriced, @latencyMs, @now)
    ON CONFLICT (hour, provider, model, customer_id, feature) DO UPDATE SET
      requests = requests + 1, failed_requests = failed_requests + excluded.failed_requests,
      input_tokens = input_tokens + excluded.input_tokens, cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
      cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, output_tokens = output_tokens + excluded.output_tokens,
      cost_nano = cost_nano + excluded.cost_nano, unpriced_requests = unpriced_requests + excluded.unpriced_requests,
      latency_ms_total = latency_ms_total + excluded.latency_ms_total, updated_at = excluded.updated_at`);
  const addToUsage = db.prepare(`
    INSERT INTO usage (provider, source, bucket_start, bucket_end, bucket_width, model, project, api_key_id, line_item, requests,
      input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, cost_nano, cost_kind, superseded, unpriced, updated_at)
    VALUES (@provider, 'sdk', @hour, @hour + ${HOUR}, '1h', @model, '', '', '', 1,
      @inputTokens, @cachedInputTokens, @cacheWriteTokens, @outputTokens, @costNano, 'estimated', @superseded, @unpriced, @now)
    ON CONFLICT (provider, source, bucket_start, model, project, api_key_id, line_item) DO UPDATE SET
      requests = requests + 1, input_tokens = input_tokens + excluded.input_tokens,
      cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens, cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
      output_tokens = output_tokens + excluded.output_tokens, cost_nano = cost_nano + excluded.cost_nano,
      superseded = excluded.superseded, unpriced = MAX(unpriced, excluded.unpriced), updated_at = excluded.updated_at`);
  let inserted = 0;
  db.transaction(() => {
    const cutoffs = new Map<ProviderId, number>();
    for (const event of priced) {
      const row = { ...event, unpriced: event.unpriced ? 1 : 0, now: options.nowSec };
      if (insertEvent.run(row).changes === 0) continue;
      inserted++;
      const hour = Math.floor(event.occurredAt / HOUR) * HOUR;
      addToRollup.run({ ...row, hour, failed: event.status >= 200 && event.status < 300 ? 0 : 1 });
      let cutoff = cutoffs.get(event.provider);
      if (cutoff === undefined) cutoffs.set(event.provider, (cutoff = billedBefore(db, event.provider, options.billedProviders)));
      addToUsage.run({ ...row, hour, superseded: hour < cutoff ? 1 : 0 });
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
