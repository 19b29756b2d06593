import type { Db } from '../store/db.js';
import { cachedStatement } from '../store/statements.js';
import { childOf } from './sdk-keys.js';

const DAY = 86_400;

/** SDK events of one hour summed, as the `usage` rows and the hourly customer rows both add them. */
export interface SdkHourSums {
  hour: number;
  requests: number;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  costNano: bigint;
  unpriced: number;
}

/** What one SDK write adds to one customer hour (a row of `sdk_usage_hourly_keyed`): its key and summed numbers. */
export interface CustomerHourAddition extends SdkHourSums {
  customerKey: number;
  featureKey: number;
  failed: number;
  latencyMs: number;
}

/** What the customer rollups change by for one (day, customer key): hourly rows more or fewer, and the summed numbers. */
export interface CustomerDayChange {
  rows: number;
  costNano: bigint;
  requests: number;
  inputTokens: number;
  outputTokens: number;
}

/** Changes of the customer rollups by day, then customer key. */
export type CustomerDayChanges = Map<number, Map<number, CustomerDayChange>>;

/** Adds to `changes` what one hourly row change adds to its (day, customer key). */
function addCustomerDayChange(changes: CustomerDayChanges, day: number, customerKey: number, change: CustomerDayChange): void {
  const sum = childOf(childOf(changes, day, () => new Map()), customerKey, (): CustomerDayChange => ({ rows: 0, costNano: 0n, requests: 0, inputTokens: 0, outputTokens: 0 }));
  sum.rows += change.rows;
  sum.costNano += change.costNano;
  sum.requests += change.requests;
  sum.inputTokens += change.inputTokens;
  sum.outputTokens += change.outputTokens;
}

// A packed customer hour: SLOTS 8-byte numbers, in this order. The cost is an int64, exact at any
// size, as the hourly rows store it; the rest are doubles, exact below 2^53 (9e15 tokens in one
// customer hour), which is also where SQLite's sums of the numbers bound to it stop being exact.
const HOUR = 0;
const CUSTOMER_KEY = 1;
const FEATURE_KEY = 2;
/** The numbers summed, from REQUESTS on; COST_NANO among them is read through the int64 view. */
const REQUESTS = 3;
const COST_NANO = 9;
const SLOTS = 12;

/** `additions` as one blob (see the slots above): what a pending write stores. */
function pack(additions: readonly CustomerHourAddition[]): Buffer {
  const buffer = new ArrayBuffer(additions.length * SLOTS * 8);
  const numbers = new Float64Array(buffer);
  const integers = new BigInt64Array(buffer);
  let at = 0;
  for (const a of additions) {
    numbers[at + HOUR] = a.hour;
    numbers[at + CUSTOMER_KEY] = a.customerKey;
    numbers[at + FEATURE_KEY] = a.featureKey;
    numbers[at + 3] = a.requests;
    numbers[at + 4] = a.failed;
    numbers[at + 5] = a.inputTokens;
    numbers[at + 6] = a.cachedInputTokens;
    numbers[at + 7] = a.cacheWriteTokens;
    numbers[at + 8] = a.outputTokens;
    integers[at + COST_NANO] = a.costNano;
    numbers[at + 10] = a.unpriced;
    numbers[at + 11] = a.latencyMs;
    at += SLOTS;
  }
  return Buffer.from(buffer);
}

/** How much of the pending writes this connection appended since its last fold (what makes a fold due). */
interface Appended {
  additions: number;
  /** When the first of them was appended (performance.now()). */
  since: number;
}

const appendedBy = new WeakMap<Db, Appended>();

/** The pending writes are folded once this connection appended this many customer hours since its last fold (~50 groups of 4 batches at the ingest benchmark's cardinality; the fold then takes a few hundred milliseconds)… */
export const PENDING_FOLD_ADDITIONS = 100_000;
/** …or once the oldest is this old: other programs reading the hourly rows directly (not through the app's readers, which fold first) see them at most this far behind during a burst. */
export const PENDING_FOLD_MAX_AGE_MS = 5_000;

/**
 * Stores one SDK write's customer hours in `sdk_hourly_pending` (migration 11), inside the write's
 * transaction: one row, its additions packed, instead of an update or insert of each customer
 * hour. Updating the current hours' rows in place was most of a write's cost: each addition its
 * own statement, and at every commit the pages of rows spread over the hours' key range (~200 a
 * batch of 500 events; bench/README.md, round 11). Folded later, many writes' additions to one
 * customer hour become one update, and a fold's pages are written once. Returns `keep`, to call
 * once the transaction has committed: it counts the additions towards the next fold.
 */
export function appendPendingHours(db: Db, additions: readonly CustomerHourAddition[], nowSec: number): () => void {
  if (additions.length === 0) return () => {};
  cachedStatement(db, 'INSERT INTO sdk_hourly_pending (written_at, hours) VALUES (?, ?)').run(nowSec, pack(additions));
  return () => {
    const appended = childOf(appendedBy, db, (): Appended => ({ additions: 0, since: 0 }));
    if (appended.additions === 0) appended.since = performance.now();
    appended.additions += additions.length;
  };
}

/** Whether this connection's pending writes are due to be folded: PENDING_FOLD_ADDITIONS appended, or the oldest PENDING_FOLD_MAX_AGE_MS old. */
export function pendingHoursDue(db: Db): boolean {
  const appended = appendedBy.get(db);
  return appended !== undefined && appended.additions > 0 && (appended.additions >= PENDING_FOLD_ADDITIONS || performance.now() - appended.since >= PENDING_FOLD_MAX_AGE_MS);
}

/** Whether any SDK write (of any app on this database) waits in `sdk_hourly_pending`. */
export function hasPendingHours(db: Db): boolean {
  return cachedStatement(db, 'SELECT EXISTS (SELECT 1 FROM sdk_hourly_pending)').pluck().get() === 1;
}

/** How many SDK writes wait in `sdk_hourly_pending`. */
export function pendingWriteCount(db: Db): number {
  return cachedStatement(db, 'SELECT COUNT(*) FROM sdk_hourly_pending').pluck().get() as number;
}

// An UPDATE first, then an INSERT when it changed no row: the fold counts the new hourly rows (the customer rollups count rows), which an upsert does not tell.
const ADD_TO_CUSTOMER_HOUR_SQL = `
  UPDATE sdk_usage_hourly_keyed SET
    requests = requests + ?, failed_requests = failed_requests + ?, input_tokens = input_tokens + ?, cached_input_tokens = cached_input_tokens + ?,
    cache_write_tokens = cache_write_tokens + ?, output_tokens = output_tokens + ?, cost_nano = cost_nano + ?, unpriced_requests = unpriced_requests + ?,
    latency_ms_total = latency_ms_total + ?, updated_at = MAX(updated_at, ?)
  WHERE hour = ? AND customer_key = ? AND feature_key = ?`;
const INSERT_CUSTOMER_HOUR_SQL = `
  INSERT INTO sdk_usage_hourly_keyed (hour, customer_key, feature_key, requests, failed_requests, input_tokens,
    cached_input_tokens, cache_write_tokens, output_tokens, cost_nano, unpriced_requests, latency_ms_total, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** One customer hour's additions summed over the pending writes: the numbers from REQUESTS on (COST_NANO's slot unused), the cost, and the latest write's time. */
interface HourSum {
  numbers: Float64Array;
  costNano: bigint;
  writtenAt: number;
}

/** What a fold of the pending writes did (see foldPendingHours). */
export interface PendingFold {
  /** The largest id folded, 0 when none was pending: customerDataKey counts the folded writes by it. */
  lastId: number;
  /** What the customer rollups change by. */
  days: CustomerDayChanges;
}

/**
 * Folds every pending SDK write (`sdk_hourly_pending`, whichever app wrote it) into
 * `sdk_usage_hourly_keyed` and deletes it, inside the caller's transaction (the customer rollups'
 * fold, which adds `days`): the additions are summed per customer hour, then each customer hour
 * is updated, or inserted when new, once. Exact whoever folds: the pending writes are rows, not
 * memory, so an app that stopped before folding leaves them to the next fold, and two apps on one
 * database fold them one after the other under SQLite's write lock.
 */
export function foldPendingHours(db: Db): PendingFold {
  const days: CustomerDayChanges = new Map();
  const lastId = (cachedStatement(db, 'SELECT MAX(id) FROM sdk_hourly_pending').pluck().get() as number | null) ?? 0;
  if (lastId === 0) return { lastId, days };
  const update = cachedStatement(db, ADD_TO_CUSTOMER_HOUR_SQL);
  const insert = cachedStatement(db, INSERT_CUSTOMER_HOUR_SQL);
  const write = (hour: number, customerKey: number, featureKey: number, sum: HourSum): void => {
    const [requests, failed, inputTokens, cachedInputTokens, cacheWriteTokens, outputTokens, , unpriced, latencyMs] = sum.numbers;
    let rows = 0;
    if (update.run(requests, failed, inputTokens, cachedInputTokens, cacheWriteTokens, outputTokens, sum.costNano, unpriced, latencyMs, sum.writtenAt, hour, customerKey, featureKey).changes === 0) {
      insert.run(hour, customerKey, featureKey, requests, failed, inputTokens, cachedInputTokens, cacheWriteTokens, outputTokens, sum.costNano, unpriced, latencyMs, sum.writtenAt);
      rows = 1;
    }
    addCustomerDayChange(days, hour - (hour % DAY), customerKey, { rows, costNano: sum.costNano, requests: requests!, inputTokens: inputTokens!, outputTokens: outputTokens! });
  };
  const sums = new Map<number, Map<number, Map<number, HourSum>>>();
  const newSum = (): HourSum => ({ numbers: new Float64Array(SLOTS - REQUESTS), costNano: 0n, writtenAt: 0 });
  const pending = cachedStatement(db, 'SELECT written_at, hours FROM sdk_hourly_pending').raw(true);
  for (const [writtenAt, blob] of pending.iterate() as Iterable<[number, Buffer]>) {
    // Typed arrays need 8-byte alignment, which a small Buffer's place in Node's pool may not have.
    const bytes = blob.byteOffset % 8 === 0 ? blob : Buffer.from(blob);
    const numbers = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    const integers = new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    for (let at = 0; at < numbers.length; at += SLOTS) {
      const hour = numbers[at + HOUR]!;
      const customerKey = numbers[at + CUSTOMER_KEY]!;
      const featureKey = numbers[at + FEATURE_KEY]!;
      const sum = childOf(childOf(childOf(sums, hour, () => new Map()), customerKey, () => new Map()), featureKey, newSum);
      for (let slot = REQUESTS; slot < SLOTS; slot++) if (slot !== COST_NANO) sum.numbers[slot - REQUESTS]! += numbers[at + slot]!;
      sum.costNano += integers[at + COST_NANO]!;
      if (writtenAt > sum.writtenAt) sum.writtenAt = writtenAt;
    }
  }
  for (const [hour, customers] of sums) for (const [customerKey, features] of customers) for (const [featureKey, sum] of features) write(hour, customerKey, featureKey, sum);
  cachedStatement(db, 'DELETE FROM sdk_hourly_pending WHERE id <= ?').run(lastId);
  return { lastId, days };
}

/** Forgets what this connection appended since its last fold: call once a fold of the pending writes has committed. */
export function pendingHoursFolded(db: Db): void {
  appendedBy.delete(db);
}
