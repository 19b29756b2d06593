import { randomUUID } from 'node:crypto';
import type { Db } from '../store/db.js';
import { cachedStatement } from '../store/statements.js';
import { childOf } from './sdk-keys.js';

/** What the customer rollups change by for one (day, customer key): hourly rows more or fewer, and the summed numbers. */
export interface CustomerDayChange {
  rows: number;
  costNano: bigint;
  requests: number;
  inputTokens: number;
  outputTokens: number;
}

/** Changes of the customer rollups by day, then customer key. */
type CustomerDayChanges = Map<number, Map<number, CustomerDayChange>>;

/** Adds to `changes` what one hourly row change adds to its (day, customer key). */
function addCustomerDayChange(changes: CustomerDayChanges, day: number, customerKey: number, change: CustomerDayChange): void {
  const sum = childOf(childOf(changes, day, () => new Map()), customerKey, (): CustomerDayChange => ({ rows: 0, costNano: 0n, requests: 0, inputTokens: 0, outputTokens: 0 }));
  sum.rows += change.rows;
  sum.costNano += change.costNano;
  sum.requests += change.requests;
  sum.inputTokens += change.inputTokens;
  sum.outputTokens += change.outputTokens;
}

/** The SDK writer's changes of the customer rollups that a connection holds in memory (see holdCustomerChanges). */
interface Held {
  /** This connection's id in `sdk_customers_unlogged`. */
  owner: string;
  /** By day: its days are those marked in `sdk_customers_unlogged` by committed writes. */
  changes: CustomerDayChanges;
  /** How many hourly row changes `changes` sums (what the pending log would have held). */
  count: number;
  /** How many (day, customer key) pairs `changes` holds. */
  pairs: number;
  /** Changes given up because another connection summed them again (see recoverHeldChanges); keeps customerDataKey from going back. */
  discarded: number;
  /** When the oldest change was kept (performance.now()). */
  since: number;
}

/** Held changes are folded once they cover this many (day, customer key) pairs (a few megabytes)… */
const HELD_FOLD_PAIRS = 20_000;
/** …or once the oldest is this old: other programs reading the database see the rollups at most this far behind during a burst. */
export const HELD_FOLD_MAX_AGE_MS = 5_000;

const heldBy = new WeakMap<Db, Held>();

const emptyHeld = (owner: string, discarded: number): Held => ({ owner, changes: new Map(), count: 0, pairs: 0, discarded, since: 0 });

function heldOf(db: Db): Held {
  return childOf(heldBy, db, () => emptyHeld(randomUUID(), 0));
}

/**
 * The held changes of this connection, after checking, inside a transaction, that nobody summed
 * them again meanwhile: another app starting on this database while this one runs sums the days
 * marked unlogged from the hourly rows (recoverHeldChanges) and removes the marks, and then what
 * this connection holds is in the pending log already and must be given up.
 */
function checkedHeld(db: Db): Held {
  const held = heldOf(db);
  if (held.changes.size === 0) return held;
  const marked = cachedStatement(db, 'SELECT EXISTS (SELECT 1 FROM sdk_customers_unlogged WHERE owner = ?)').pluck().get(held.owner) === 1;
  if (marked) return held;
  const fresh = emptyHeld(held.owner, held.discarded + held.count);
  heldBy.set(db, fresh);
  return fresh;
}

/** How many hourly row changes this connection holds in memory, not folded into the customer rollups yet. */
export function heldChangeCount(db: Db): number {
  return heldBy.get(db)?.count ?? 0;
}

/** Whether the held changes are due to be folded: HELD_FOLD_PAIRS pairs, or the oldest HELD_FOLD_MAX_AGE_MS old. */
export function heldChangesDue(db: Db): boolean {
  const held = heldBy.get(db);
  return held !== undefined && held.count > 0 && (held.pairs >= HELD_FOLD_PAIRS || performance.now() - held.since >= HELD_FOLD_MAX_AGE_MS);
}

/** What customerDataKey adds for this connection: the changes it holds, and those it gave up (so the key never goes back). */
export function heldDataKeyPart(db: Db): number {
  const held = heldBy.get(db);
  return held ? held.count + held.discarded : 0;
}

/** One SDK write's changes of the customer rollups (see holdCustomerChanges). */
export interface CustomerChangeWrite {
  /** Adds one hourly row change: `rows` 1 for a new hourly row, 0 for one added to. */
  add(day: number, customerKey: number, change: CustomerDayChange): void;
  /** Marks the days of the changes in the transaction (or logs the changes, in an outer transaction). */
  finish(): void;
  /** Keeps the changes in memory: call once the transaction has committed. */
  keep(): void;
}

const LOG_CHANGE_SQL = 'INSERT INTO sdk_customers_pending (day, customer_key, rows, cost_nano, requests, input_tokens, output_tokens) VALUES (?, ?, ?, ?, ?, ?, ?)';

/**
 * Starts the SDK writer's changes of the hourly rows, inside its transaction: the writer sums them
 * per (day, customer key) with `add` (the keyed hourly rows have no triggers since migration 10;
 * changes made through the `sdk_usage_hourly` view are logged by its own). Logging each hourly row
 * change and folding 10 000 of them at a time was a third of an SDK batch's writing (bench/README.md,
 * round 10); held in memory, many batches' changes of a customer's day become one, folded into the
 * rollups by foldCustomerRollups (before any read of them, when the held changes grow, when batches
 * stop and when the app closes). The days they fall in are marked in `sdk_customers_unlogged` in
 * the same transaction, so an app that stops without folding leaves them to be summed again from
 * the hourly rows (recoverHeldChanges). Inside a caller's transaction, which may still roll back,
 * the changes are logged at `finish` instead.
 */
export function holdCustomerChanges(db: Db, inOuterTransaction: boolean): CustomerChangeWrite {
  const held = checkedHeld(db);
  const changes: CustomerDayChanges = new Map();
  let count = 0;
  return {
    add(day, customerKey, change) {
      addCustomerDayChange(changes, day, customerKey, change);
      count++;
    },
    finish() {
      if (inOuterTransaction) {
        const log = cachedStatement(db, LOG_CHANGE_SQL);
        for (const [day, sums] of changes) for (const [key, sum] of sums) log.run(day, key, sum.rows, sum.costNano, sum.requests, sum.inputTokens, sum.outputTokens);
        return;
      }
      const mark = cachedStatement(db, 'INSERT OR IGNORE INTO sdk_customers_unlogged (owner, day) VALUES (?, ?)');
      for (const day of changes.keys()) if (!held.changes.has(day)) mark.run(held.owner, day);
    },
    keep() {
      if (inOuterTransaction) return;
      const current = heldOf(db);
      if (current.count === 0) current.since = performance.now();
      for (const [day, sums] of changes) {
        for (const [key, sum] of sums) {
          if (current.changes.get(day)?.has(key) !== true) current.pairs++;
          addCustomerDayChange(current.changes, day, key, sum);
        }
      }
      current.count += count;
    },
  };
}

/** A fold's part of the held changes (see takeHeldChanges). */
export interface HeldFold {
  changes: CustomerDayChanges;
  count: number;
  /** Forgets the folded changes: call once the fold has committed. */
  folded(): void;
}

/**
 * The held changes for a fold, inside its transaction (checked: see checkedHeld), and their marks
 * removed in it. Null inside a caller's transaction, which may still roll back after the fold: the
 * changes stay held for a fold of their own.
 */
export function takeHeldChanges(db: Db): HeldFold | null {
  if (!heldBy.has(db)) return null;
  const held = checkedHeld(db);
  if (held.count === 0) return null;
  cachedStatement(db, 'DELETE FROM sdk_customers_unlogged WHERE owner = ?').run(held.owner);
  return {
    changes: held.changes,
    count: held.count,
    folded: () => heldBy.set(db, emptyHeld(held.owner, held.discarded)),
  };
}

/**
 * Sums again, from the hourly rows, the customer rollup changes of the days that an app marked
 * unlogged and did not fold (it stopped first, or it still runs and will give them up: see
 * checkedHeld): for each (day, customer key) of those days, the hourly rows' sums less the daily
 * rollup's and the pending log's go to the log. Exact whoever holds what, since the marks and the
 * hourly rows they cover commit together. Run when an app starts; nothing to do (one read) mostly.
 */
export function recoverHeldChanges(db: Db): number {
  if (cachedStatement(db, 'SELECT EXISTS (SELECT 1 FROM sdk_customers_unlogged)').pluck().get() !== 1) return 0;
  const sums = 'rows, cost_nano, requests, input_tokens, output_tokens';
  const negated = '-rows, -cost_nano, -requests, -input_tokens, -output_tokens';
  return db.transaction(() => {
    const days = 'SELECT DISTINCT day FROM sdk_customers_unlogged';
    const corrections = db
      .prepare(
        `INSERT INTO sdk_customers_pending (day, customer_key, ${sums})
         SELECT day, customer_key, SUM(rows), SUM(cost_nano), SUM(requests), SUM(input_tokens), SUM(output_tokens) FROM (
           SELECT h.hour - h.hour % 86400 AS day, h.customer_key, 1 AS rows, h.cost_nano, h.requests, h.input_tokens, h.output_tokens
             FROM (${days}) AS u JOIN sdk_usage_hourly_keyed AS h ON h.hour >= u.day AND h.hour < u.day + 86400
           UNION ALL SELECT day, customer_key, ${negated} FROM sdk_customers_daily WHERE day IN (${days})
           UNION ALL SELECT day, customer_key, ${negated} FROM sdk_customers_pending WHERE day IN (${days})
         ) GROUP BY day, customer_key
         HAVING SUM(rows) <> 0 OR SUM(cost_nano) <> 0 OR SUM(requests) <> 0 OR SUM(input_tokens) <> 0 OR SUM(output_tokens) <> 0`,
      )
      .run().changes;
    db.prepare('DELETE FROM sdk_customers_unlogged').run();
    return corrections;
  }).immediate();
}
