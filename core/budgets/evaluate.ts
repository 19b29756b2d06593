import type { AlertNotice } from '../../shared/budget-alerts.js';
import { compareLevelsWorstFirst, isThresholdCrossed } from '../../shared/budget-math.js';
import type { BudgetStatus } from '../../shared/budgets.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { listSyncStates } from '../store/sync-state.js';
import { recordAlert, recordDelivery, type StoredAlert } from './alert-store.js';
import type { Notifier } from './notifiers.js';
import { listBudgetStates, type BudgetState } from './status.js';

/** What one evaluation found and fired. */
export interface BudgetEvaluation {
  budgets: BudgetStatus[];
  /** Alerts this evaluation recorded; empty when nothing new was crossed. */
  fired: StoredAlert[];
  /** The notifications for them: one per budget, worst level first. */
  notices: AlertNotice[];
  /** Settles when every notice was delivered, or its failure recorded and logged. Never rejects. */
  delivered: Promise<void>;
}

/** How an evaluation delivers. */
export interface EvaluateOptions {
  /** Alerts are recorded as usual, but no notifier is called ("do not disturb"). */
  muted?: boolean;
  log?: Logger;
  /** Clock for delivery times (ms). Default Date.now. */
  clock?: () => number;
}

/**
 * Evaluates every budget at `nowMs` (ms): records each newly crossed threshold, and a 'forecast'
 * alert when the forecast passes the amount before spend does, once per (budget, threshold,
 * period, kind), persisted. Returns at once; notifications go out in the background (`delivered`),
 * so a slow or dead webhook never holds up a poll or an ingest batch.
 *
 * Several alerts of one budget in one evaluation (a first poll crossing 50, 80 and 100 %) make one
 * grouped notification led by the highest threshold; see AlertNotice. Call after every poll, every
 * SDK ingest batch, and on start.
 */
export function evaluateBudgets(db: Db, nowMs: number, notifier: Notifier, options: EvaluateOptions = {}): BudgetEvaluation {
  const nowSec = Math.floor(nowMs / 1000);
  const { states, fired } = db.transaction(() => {
    const states = listBudgetStates(db, nowMs);
    return { states, fired: states.map((state) => fireNewAlerts(db, state, nowSec)) };
  }).immediate();
  const dataAsOf = freshness(db);
  const notices = states
    .flatMap((state, i): AlertNotice[] => {
      const [lead, ...grouped] = fired[i]!;
      if (!lead) return [];
      const { level, deliveredAt: _d, delivery: _s, deliveryError: _e, rearmedAt: _r, ...record } = lead;
      return [{ ...record, level, budget: state.status, grouped, dataAsOf: dataAsOf(state) }];
    })
    .sort((a, b) => compareLevelsWorstFirst(a.level, b.level));
  return {
    budgets: states.map((state) => state.status),
    fired: fired.flat(),
    notices,
    delivered: deliver(db, notices, notifier, { clock: Date.now, ...options }),
  };
}

/**
 * Records the alerts `state` newly crosses. Recorded lowest first, so that a history listed newest
 * first shows the highest threshold on top; returned highest threshold first, the forecast warning last.
 */
function fireNewAlerts(db: Db, state: BudgetState, nowSec: number): StoredAlert[] {
  const fired: StoredAlert[] = [];
  if (state.forecastToExceed) {
    const alert = recordAlert(db, state, 'forecast', 100, nowSec);
    if (alert) fired.push(alert);
  }
  for (const threshold of state.budget.thresholds) {
    if (!isThresholdCrossed(state.spentNano, state.budget.amountNano, threshold)) continue;
    const alert = recordAlert(db, state, 'threshold', threshold, nowSec);
    if (alert) fired.push(alert);
  }
  return fired.reverse();
}

/** "Data as of" for a budget: the oldest last successful poll among the providers it covers. */
function freshness(db: Db): (state: BudgetState) => string | null {
  const states = listSyncStates(db);
  return (state) => {
    const scopeProvider = 'provider' in state.budget.scope ? state.budget.scope.provider : undefined;
    const times = states.filter((s) => (scopeProvider ? s.provider === scopeProvider : true) && s.lastSuccessAt !== null).map((s) => s.lastSuccessAt!);
    return times.length ? new Date(Math.min(...times) * 1000).toISOString() : null;
  };
}

async function deliver(db: Db, notices: readonly AlertNotice[], notifier: Notifier, options: EvaluateOptions & { clock: () => number }): Promise<void> {
  for (const notice of notices) {
    const ids = [notice.id, ...notice.grouped.map((alert) => alert.id)];
    const context = { budgetId: notice.budgetId, budget: notice.budget.name, alerts: ids };
    // The app may have closed while a webhook was retrying; the outcome then has nowhere to go.
    const record = (outcome: Parameters<typeof recordDelivery>[2]): void => {
      if (db.open) recordDelivery(db, ids, outcome);
    };
    if (options.muted) {
      options.log?.info('budget alert recorded; notifications are muted, so it was not delivered', context);
      record({ delivery: 'muted', atSec: Math.floor(options.clock() / 1000) });
      continue;
    }
    try {
      await notifier.notify(notice);
      record({ delivery: 'sent', atSec: Math.floor(options.clock() / 1000) });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      options.log?.warn('budget alert could not be delivered', { ...context, channel: notifier.channel, error });
      record({ delivery: 'failed', error, atSec: Math.floor(options.clock() / 1000) });
    }
  }
}

/** A never-throwing evaluator bound to the app's database, clock, notifier and settings. */
export interface BudgetAlerter {
  /** Evaluates now; logs and returns null if the evaluation itself failed (e.g. the database is busy). */
  evaluate(): BudgetEvaluation | null;
  /** Resolves when every delivery started so far has settled (tests, shutdown). */
  idle(): Promise<void>;
}

/** Creates the app's BudgetAlerter; `settings` is read at each evaluation, so a mute takes effect at once. */
export function createBudgetAlerter(deps: { db: Db; notifier: Notifier; log: Logger; now: () => number; settings: () => { muted: boolean } }): BudgetAlerter {
  const inFlight = new Set<Promise<void>>();
  return {
    evaluate() {
      try {
        const evaluation = evaluateBudgets(deps.db, deps.now(), deps.notifier, { muted: deps.settings().muted, log: deps.log, clock: deps.now });
        const delivery = evaluation.delivered.finally(() => inFlight.delete(delivery));
        inFlight.add(delivery);
        return evaluation;
      } catch (err) {
        deps.log.error('budgets could not be evaluated; they will be on the next poll', { error: err instanceof Error ? err.message : String(err) });
        return null;
      }
    },
    async idle() {
      while (inFlight.size) await Promise.all(inFlight);
    },
  };
}
