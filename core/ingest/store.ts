import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import type { IngestResult } from '../../sdk/wire.js';
import { createCostEstimator } from '../pricing/estimate.js';
import type { Db } from '../store/db.js';
import { cachedStatement } from '../store/statements.js';
import { CUSTOMER_FOLD_THRESHOLD, foldCustomerRollups, loggedCustomerChanges } from './customers.js';
import { appendPendingHours, pendingHoursDue, type CustomerHourAddition, type SdkHourSums } from './pending-hours.js';
import { childOf, sdkKeyLookup } from './sdk-keys.js';
import type { IngestEvent } from './schema.js';

const HOUR = 3_600;
const DAY = 86_400;

/** Prices shared by every batch: the estimator learns each model's per-token prices once a day. */
const estimate = createCostEstimator();

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

/** The new events of one (hour, provider, model), summed from its customer hours, as `usage` adds them. */
interface ModelHour extends SdkHourSums {
  provider: ProviderId;
  model: string;
}

/** The new events of one (hour, provider, model, customer, feature), summed as the hourly tables add them. */
interface CustomerHour extends ModelHour, CustomerHourAddition {}

/** Customer hours by hour, customer key and feature key (integer keys: no key string per event). */
type CustomerHours = Map<number, Map<number, Map<number, CustomerHour>>>;

/**
 * Adds a new event, priced `price` (null: unpriced), to its customer hour (`customerKey` and
 * `featureKey` its ids, sdkKeyLookup), which it creates on the hour's first event.
 */
function addToCustomerHour(groups: CustomerHours, event: IngestEvent, price: bigint | null, customerKey: number, featureKey: number): void {
  const hour = event.occurredAt - (event.occurredAt % HOUR);
  const group = childOf(
    childOf(childOf(groups, hour, () => new Map()), customerKey, () => new Map()),
    featureKey,
    (): CustomerHour => ({ hour, provider: event.provider, model: event.model, customerKey, featureKey, requests: 0, failed: 0, inputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 0, costNano: 0n, unpriced: 0, latencyMs: 0 }),
  );
  group.requests++;
  if (event.status < 200 || event.status >= 300) group.failed++;
  group.inputTokens += event.inputTokens;
  group.cachedInputTokens += event.cachedInputTokens;
  group.cacheWriteTokens += event.cacheWriteTokens;
  group.outputTokens += event.outputTokens;
  if (price === null) group.unpriced++;
  else group.costNano += price;
  group.latencyMs += event.latencyMs;
}

/** Every customer hour of `groups`. */
function* eachCustomerHour(groups: CustomerHours): Iterable<CustomerHour> {
  for (const customers of groups.values()) for (const features of customers.values()) yield* features.values();
}

/** The customer hours summed per (hour, provider, model). */
function modelHours(customerHours: Iterable<CustomerHour>): Iterable<ModelHour> {
  const groups = new Map<string, ModelHour>();
  for (const { hour, provider, model, requests, inputTokens, cachedInputTokens, cacheWriteTokens, outputTokens, costNano, unpriced } of customerHours) {
    const key = `${hour}\u0000${provider}\u0000${model}`;
    const group = groups.get(key);
    if (!group) {
      groups.set(key, { hour, provider, model, requests, inputTokens, cachedInputTokens, cacheWriteTokens, outputTokens, costNano, unpriced });
      continue;
    }
    group.requests += requests;
    group.inputTokens += inputTokens;
    group.cachedInputTokens += cachedInputTokens;
    group.cacheWriteTokens += cacheWriteTokens;
    group.outputTokens += outputTokens;
    group.costNano += costNano;
    group.unpriced += unpriced;
  }
  return groups.values();
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

// An event id (a validated UUID, lowercased) is stored as its 16 bytes: SQLite's unhex skips the dashes,
// ~1 µs per event cheaper than building a Buffer in JS.
const INSERT_EVENT_ID_SQL = "INSERT OR IGNORE INTO sdk_event_ids (id, received_at) VALUES (unhex(?, '-'), ?)";
// A batch's ids in one call (a JSON array of them): half the cost of one call per id.
const INSERT_EVENT_IDS_SQL = "INSERT OR IGNORE INTO sdk_event_ids (id, received_at) SELECT unhex(value, '-'), ? FROM json_each(?)";
const PRUNE_EVENT_IDS_SQL = 'DELETE FROM sdk_event_ids WHERE received_at < ?';

const ADD_TO_USAGE_SQL = `
  INSERT INTO usage (provider, source, bucket_start, bucket_end, bucket_width, model, project, api_key_id, line_item, requests,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, cost_nano, cost_kind, superseded, unpriced, updated_at)
  VALUES (?, 'sdk', ?, ?, '1h', ?, '', '', '', ?, ?, ?, ?, ?, ?, 'estimated', ?, ?, ?)
  ON CONFLICT (provider, source, bucket_start, model, project, api_key_id, line_item) DO UPDATE SET
    requests = requests + excluded.requests, input_tokens = input_tokens + excluded.input_tokens,
    cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens, cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    output_tokens = output_tokens + excluded.output_tokens, cost_nano = cost_nano + excluded.cost_nano,
    superseded = excluded.superseded, unpriced = MAX(unpriced, excluded.unpriced), updated_at = excluded.updated_at`;

/** Every event of a batch is new: none of its ids was stored before, and none appears twice in it. */
const ALL_NEW = 'all new';

/** Thrown inside storeEventIds' savepoint to take back a batch's ids when some were known. */
const SOME_KNOWN = Symbol('some event ids were known');

/**
 * Stores the ids of a batch's events that were not received before (nor earlier in the batch),
 * and says which events are new: ALL_NEW, or one flag per event. A batch of new events, the usual
 * case, is stored in one statement; its count of new rows equals the batch's size exactly when
 * every event is new. Otherwise (a retried batch, an id twice) those rows are taken back (the
 * savepoint) and the ids stored one by one, in order, which tells which were new.
 */
function storeEventIds(db: Db, events: readonly IngestEvent[], nowSec: number): typeof ALL_NEW | boolean[] {
  const insertAll = cachedStatement(db, INSERT_EVENT_IDS_SQL);
  try {
    db.transaction(() => {
      if (insertAll.run(nowSec, JSON.stringify(events.map((event) => event.id))).changes !== events.length) throw SOME_KNOWN;
    })();
    return ALL_NEW;
  } catch (err) {
    if (err !== SOME_KNOWN) throw err;
  }
  const insertOne = cachedStatement(db, INSERT_EVENT_ID_SQL);
  return events.map((event) => insertOne.run(event.id, nowSec).changes === 1);
}

/**
 * Stores batches of SDK events in one transaction, and answers each batch's counts. An event
 * whose id was received in the last EVENT_ID_RETENTION_DAYS (a retried batch, or the same id
 * earlier in these batches) is ignored, and older ids are pruned; the new ones are summed per hour
 * and added to `usage` (per provider and model, source 'sdk', estimated), superseded where billing
 * is the truth (see billedBefore), and per customer and feature (by their ids: sdkKeyLookup) to
 * `sdk_usage_hourly_keyed` through one pending write (appendPendingHours): folded into the hourly
 * rows and the customer rollups, with the changes other writers logged, after the commit once due
 * (pendingHoursDue, CUSTOMER_FOLD_THRESHOLD logged: see foldCustomerRollups), and before any read
 * of them. One write per hour and group rather than per event, and one commit for all the
 * batches: batches that arrive together mostly change the same rows and pages, written once.
 */
export function writeSdkBatches(db: Db, batches: ReadonlyArray<readonly IngestEvent[]>, options: { billedProviders: readonly ProviderId[]; nowSec: number }): IngestResult[] {
  const { nowSec } = options;
  // Priced before the write lock is taken: the first event of a model on a day loads the price table or learns its prices.
  const prices = batches.map((events) => events.map((event) => estimate(event.provider, event.model, event, new Date(event.occurredAt * 1000))));
  const keys = sdkKeyLookup(db);
  const outer = db.inTransaction;
  let keepPending = (): void => {};
  const results = db.transaction(() => {
    // Ids past the retention leave as new ones come (an index seek that finds nothing, mostly).
    cachedStatement(db, PRUNE_EVENT_IDS_SQL).run(nowSec - EVENT_ID_RETENTION_DAYS * DAY);
    const customerHours: CustomerHours = new Map();
    const counts = batches.map((events, batch) => {
      const eventPrices = prices[batch]!;
      const isNew = storeEventIds(db, events, nowSec);
      let inserted = 0;
      for (let i = 0; i < events.length; i++) {
        if (isNew !== ALL_NEW && !isNew[i]) continue;
        inserted++;
        const event = events[i]!;
        addToCustomerHour(customerHours, event, eventPrices[i] as bigint | null, keys.customer(event.provider, event.model, event.customerId), keys.feature(event.feature));
      }
      return { received: events.length, inserted, duplicates: events.length - inserted };
    });
    keepPending = appendPendingHours(db, [...eachCustomerHour(customerHours)], nowSec);
    const cutoffs = new Map<ProviderId, number>();
    const addToUsage = cachedStatement(db, ADD_TO_USAGE_SQL);
    for (const group of modelHours(eachCustomerHour(customerHours))) {
      let cutoff = cutoffs.get(group.provider);
      if (cutoff === undefined) cutoffs.set(group.provider, (cutoff = billedBefore(db, group.provider, options.billedProviders)));
      addToUsage.run(group.provider, group.hour, group.hour + HOUR, group.model, group.requests, group.inputTokens, group.cachedInputTokens, group.cacheWriteTokens, group.outputTokens, group.costNano, group.hour < cutoff ? 1 : 0, group.unpriced > 0 ? 1 : 0, nowSec);
    }
    return counts;
  }).immediate();
  // Inside an outer transaction, which may still roll back, the ids are looked up again next time, and the pending write is folded by a later write or a read.
  if (outer) return results;
  keys.keep();
  keepPending();
  try {
    if (pendingHoursDue(db) || loggedCustomerChanges(db) >= CUSTOMER_FOLD_THRESHOLD) foldCustomerRollups(db);
  } catch {
    // The batches are stored: their answer stands. What was due stays pending or logged, for the next write's fold, a read's, or the quiet second's (which reports a failure).
  }
  return results;
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
