import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { foldCustomerRollups } from './customers.js';

/** Budgets are re-evaluated after SDK batches at most once per this many milliseconds. */
export const AFTER_INGEST_INTERVAL_MS = 1_000;

/** The follow-up of stored SDK batches: `request()` after each, `cancel()` on shutdown. */
export interface AfterIngest {
  request(): void;
  cancel(): void;
}

/**
 * What follows SDK batches, without doing it after every batch. Budgets: the first batch after a
 * quiet second is followed by an evaluation at once (as its answer leaves), later ones share one at
 * the end of the second, so a burst of a hundred batches a second costs one evaluation a second
 * and the last batch of any burst is followed by one: an alert it causes still arrives. The
 * SDK writes pending and the customer rollups' logged changes are folded once batches stop for a
 * second (during a burst, writeSdkBatches folds them when due, and reads fold the pending writes
 * first): the longer they gather, the more of them fold into one update, and at
 * rest readers find none to add.
 */
export function scheduleAfterIngest(deps: {
  db: Db;
  evaluateBudgets(): void;
  /** Folds the customer rollups' pending changes; default foldCustomerRollups(db). */
  fold?(): void;
  log: Logger;
  intervalMs?: number;
}): AfterIngest {
  const intervalMs = deps.intervalMs ?? AFTER_INGEST_INTERVAL_MS;
  let lastEvaluation = Number.NEGATIVE_INFINITY;
  let evaluation: NodeJS.Timeout | null = null;
  let fold: NodeJS.Timeout | null = null;
  const evaluate = (): void => {
    evaluation = null;
    lastEvaluation = performance.now();
    deps.evaluateBudgets();
  };
  const foldWhenQuiet = (): void => {
    fold = null;
    try {
      if (deps.fold) deps.fold();
      else foldCustomerRollups(deps.db);
    } catch (err) {
      // Readers add the pending changes themselves; the next quiet second folds them.
      deps.log.warn('the SDK customer rollups could not be folded; they will be after the next batches', { error: err instanceof Error ? err.message : String(err) });
    }
  };
  return {
    request() {
      if (fold) fold.refresh();
      else fold = setTimeout(foldWhenQuiet, intervalMs).unref();
      if (evaluation) return;
      const wait = lastEvaluation + intervalMs - performance.now();
      if (wait <= 0) evaluate();
      else evaluation = setTimeout(evaluate, wait).unref();
    },
    cancel() {
      for (const timer of [evaluation, fold]) if (timer) clearTimeout(timer);
      evaluation = fold = null;
    },
  };
}
