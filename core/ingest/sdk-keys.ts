import type { Db } from '../store/db.js';
import { cachedStatement } from '../store/statements.js';

/** The ids a connection keeps in memory at most; past it they are looked up again (a few µs each). */
const MAX_KNOWN_KEYS = 100_000;

/**
 * Ids by provider, then model, then customer. Nested maps of the strings as the batch's JSON gave
 * them: a lookup hashes no key string built for it (one per event, measured ~1 ms a batch of 500).
 */
type CustomerIds = Map<string, Map<string, Map<string, number>>>;

interface KeyIds {
  customers: CustomerIds;
  features: Map<string, number>;
  /** How many ids the maps hold. */
  size: number;
}

const knownKeys = new WeakMap<Db, KeyIds>();

const noKeyIds = (): KeyIds => ({ customers: new Map(), features: new Map(), size: 0 });

/** `map`'s value at `key`, which `make` creates there if it has none. */
export function childOf<K, V>(map: { get(key: K): V | undefined; set(key: K, value: V): unknown }, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = make()));
  return value;
}

const customerIdIn = (ids: KeyIds, provider: string, model: string, customerId: string): number | undefined => ids.customers.get(provider)?.get(model)?.get(customerId);

function addCustomerId(ids: KeyIds, provider: string, model: string, customerId: string, id: number): void {
  childOf(childOf(ids.customers, provider, () => new Map()), model, () => new Map()).set(customerId, id);
  ids.size++;
}

function addFeatureId(ids: KeyIds, feature: string, id: number): void {
  ids.features.set(feature, id);
  ids.size++;
}

/** The ids of one transaction's SDK keys (see sdkKeyLookup). */
export interface SdkKeyLookup {
  /** The id of a (provider, model, customer) in `sdk_customer_keys`, numbered now if it is new. */
  customer(provider: string, model: string, customerId: string): number;
  /** The id of a feature in `sdk_features`, numbered now if it is new. */
  feature(feature: string): number;
  /** Remembers the ids looked up for later transactions: call once this one has committed. */
  keep(): void;
}

/**
 * Looks up the ids of (provider, model, customer) and of features that the SDK tables are keyed by
 * (migration 9) inside a write transaction, numbering new ones. Ids are never reused nor deleted,
 * so the connection remembers those of committed transactions; one that rolled back may have
 * numbered ids that are not in the database, which is why `keep` comes after the commit.
 */
export function sdkKeyLookup(db: Db): SdkKeyLookup {
  const known = childOf(knownKeys, db, noKeyIds);
  // Ids first read or numbered in this transaction.
  const found = noKeyIds();
  return {
    customer(provider, model, customerId) {
      let id = customerIdIn(known, provider, model, customerId) ?? customerIdIn(found, provider, model, customerId);
      if (id !== undefined) return id;
      id = (cachedStatement(db, 'SELECT id FROM sdk_customer_keys WHERE provider = ? AND model = ? AND customer_id = ?').pluck().get(provider, model, customerId) ??
        cachedStatement(db, 'INSERT INTO sdk_customer_keys (provider, model, customer_id) VALUES (?, ?, ?) RETURNING id').pluck().get(provider, model, customerId)) as number;
      addCustomerId(found, provider, model, customerId, id);
      return id;
    },
    feature(feature) {
      let id = known.features.get(feature) ?? found.features.get(feature);
      if (id !== undefined) return id;
      id = (cachedStatement(db, 'SELECT id FROM sdk_features WHERE feature = ?').pluck().get(feature) ??
        cachedStatement(db, 'INSERT INTO sdk_features (feature) VALUES (?) RETURNING id').pluck().get(feature)) as number;
      addFeatureId(found, feature, id);
      return id;
    },
    keep() {
      if (known.size + found.size > MAX_KNOWN_KEYS) Object.assign(known, noKeyIds());
      for (const [provider, models] of found.customers) {
        for (const [model, customers] of models) for (const [customerId, id] of customers) addCustomerId(known, provider, model, customerId, id);
      }
      for (const [feature, id] of found.features) addFeatureId(known, feature, id);
    },
  };
}
