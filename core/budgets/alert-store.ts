import type { AlertRecord, BudgetLevel } from '../../shared/budgets.js';
import { alertLevel, isThresholdCrossed } from '../../shared/budget-math.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import type { Db } from '../store/db.js';
import type { BudgetState } from './status.js';

/** Where the notification of an alert stands. 'muted': recorded while alerts were muted, never delivered. */
export type DeliveryState = 'pending' | 'sent' | 'muted' | 'failed';

/** A fired alert with its level and delivery outcome (the UI sees the AlertRecord part). */
export interface StoredAlert extends AlertRecord {
  level: BudgetLevel;
  delivery: DeliveryState;
  /** Why delivery failed, per channel, in words; null unless `delivery` is 'failed'. */
  deliveryError: string | null;
  deliveredAt: string | null;
  /** Set when an edit of the budget made this crossing untrue, so it could fire again. */
  rearmedAt: string | null;
}

interface AlertRow {
  id: bigint;
  budget_id: bigint;
  budget_name: string;
  kind: AlertRecord['kind'];
  threshold: number;
  level: BudgetLevel;
  period_start: bigint;
  fired_at: bigint;
  spent_nano: bigint;
  amount_nano: bigint;
  forecast_nano: bigint;
  estimated_nano: bigint;
  delivery: DeliveryState;
  delivery_error: string | null;
  delivered_at: bigint | null;
  rearmed_at: bigint | null;
}

const iso = (sec: bigint): string => new Date(Number(sec) * 1000).toISOString();

function fromRow(row: AlertRow): StoredAlert {
  return {
    id: Number(row.id),
    budgetId: Number(row.budget_id),
    budgetName: row.budget_name,
    kind: row.kind,
    threshold: row.threshold,
    periodStart: iso(row.period_start),
    firedAt: iso(row.fired_at),
    spentUsd: formatNanoAsDecimal(row.spent_nano),
    amountUsd: formatNanoAsDecimal(row.amount_nano),
    forecastUsd: formatNanoAsDecimal(row.forecast_nano),
    estimatedUsd: formatNanoAsDecimal(row.estimated_nano),
    level: row.level,
    delivery: row.delivery,
    deliveryError: row.delivery_error,
    deliveredAt: row.delivered_at === null ? null : iso(row.delivered_at),
    rearmedAt: row.rearmed_at === null ? null : iso(row.rearmed_at),
  };
}

/**
 * Records an alert unless the same (budget, threshold, period, kind) already fired; returns it
 * only when this call recorded it, which is what makes each crossing notify exactly once, across
 * re-polls, restarts and processes.
 */
export function recordAlert(db: Db, state: BudgetState, kind: AlertRecord['kind'], threshold: number, nowSec: number): StoredAlert | null {
  const result = db
    .prepare(
      `INSERT OR IGNORE INTO alerts (budget_id, budget_name, kind, threshold, level, period_start, fired_at, spent_nano, amount_nano, forecast_nano, estimated_nano)
       VALUES (@budgetId, @budgetName, @kind, @threshold, @level, @periodStart, @firedAt, @spent, @amount, @forecast, @estimated)`,
    )
    .run({
      budgetId: state.budget.id,
      budgetName: state.budget.name,
      kind,
      threshold,
      level: alertLevel(kind, threshold, state.budget.thresholds),
      periodStart: state.bounds.startMs / 1000,
      firedAt: nowSec,
      spent: state.spentNano,
      amount: state.budget.amountNano,
      forecast: state.forecastNano,
      estimated: state.estimatedNano,
    });
  if (result.changes === 0) return null;
  return fromRow(db.prepare('SELECT * FROM alerts WHERE id = ?').safeIntegers(true).get(result.lastInsertRowid) as AlertRow);
}

/** Fired alerts, newest first. */
export function listStoredAlerts(db: Db, options: { limit?: number; budgetId?: number } = {}): StoredAlert[] {
  const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000);
  const rows = db
    .prepare('SELECT * FROM alerts WHERE @budgetId IS NULL OR budget_id = @budgetId ORDER BY fired_at DESC, id DESC LIMIT @limit')
    .safeIntegers(true)
    .all({ budgetId: options.budgetId ?? null, limit }) as AlertRow[];
  return rows.map(fromRow);
}

/** Records how the notification of some alerts went. */
export function recordDelivery(db: Db, alertIds: readonly number[], outcome: { delivery: Exclude<DeliveryState, 'pending'>; error?: string; atSec: number }): void {
  const update = db.prepare('UPDATE alerts SET delivery = @delivery, delivery_error = @error, delivered_at = @deliveredAt WHERE id = @id');
  db.transaction(() => {
    for (const id of alertIds) update.run({ id, delivery: outcome.delivery, error: outcome.error ?? null, deliveredAt: outcome.delivery === 'sent' ? outcome.atSec : null });
  })();
}

/**
 * After an edit of a budget: every alert of its current period whose condition no longer holds
 * under the new definition (a threshold not crossed at the new amount or scope, a forecast warning
 * whose forecast no longer exceeds) is re-armed, so it fires again when it becomes true again.
 * Crossings that still hold stay fired: an edit never repeats a notification already sent.
 * Returns how many were re-armed.
 */
export function rearmUntrueAlerts(db: Db, state: BudgetState, nowSec: number): number {
  const live = db
    .prepare('SELECT id, kind, threshold FROM alerts WHERE budget_id = ? AND period_start = ? AND rearmed_at IS NULL')
    .all(state.budget.id, state.bounds.startMs / 1000) as Array<{ id: number; kind: AlertRecord['kind']; threshold: number }>;
  const untrue = live.filter((alert) => (alert.kind === 'forecast' ? state.forecastNano <= state.budget.amountNano : !isThresholdCrossed(state.spentNano, state.budget.amountNano, alert.threshold)));
  const rearm = db.prepare('UPDATE alerts SET rearmed_at = ? WHERE id = ?');
  for (const alert of untrue) rearm.run(nowSec, alert.id);
  return untrue.length;
}
