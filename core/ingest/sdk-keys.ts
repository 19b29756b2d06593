import type { Db } from '../store/db.js';
import { cachedStatement } from '../store/statements.js';

/** The ids a connection keeps in memory at most; past it they are looked up again (a few µs each). */
const MAX_KNOWN_KEYS = 100_000;

interface KnownKeys {
  customers: Map<string, number>;
  features: Map<string, number>;
}

const knownKeys = new WeakMap<Db, KnownKeys>();

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
  let known = knownKeys.get(db);
  if (!known) knownKeys.set(db, (known = { customers: new Map(), features: new Map() }));
  const found: KnownKeys = { customers: new Map(), features: new Map() };
  const idOf = (kind: keyof KnownKeys, key: string, find: () => unknown, add: () => unknown): number => {
    let id = known[kind].get(key) ?? found[kind].get(key);
    if (id === undefined) found[kind].set(key, (id = (find() ?? add()) as number));
    return id;
  };
  return {
    customer: (provider, model, customerId) =>
      idOf(
        'customers',
        `${provider}\u0000${model}\u0000${customerId}`,
        () => cachedStatement(db, 'SELECT id FROM sdk_customer_keys WHERE provider = ? AND model = ? AND customer_id = ?').pluck().get(provider, model, customerId),
        () => cachedStatement(db, 'INSERT INTO sdk_customer_keys (provider, model, customer_id) VALUES (?, ?, ?) RETURNING id').pluck().get(provider, model, customerId),
      ),
    feature: (feature) =>
      idOf(
        'features',
        feature,
        () => cachedStatement(db, 'SELECT id FROM sdk_features WHERE feature = ?').pluck().get(feature),
        () => cachedStatement(db, 'INSERT INTO sdk_features (feature) VALUES (?) RETURNING id').pluck().get(feature),
      ),
    keep() {
      for (const kind of ['customers', 'features'] as const) {
        if (known[kind].size + found[kind].size > MAX_KNOWN_KEYS) known[kind].clear();
        for (const [key, id] of found[kind]) known[kind].set(key, id);
      }
    },
  };
}
