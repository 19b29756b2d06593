/**
 * The budget operations of the typed UI API (shared/api.ts), one function per method with the
 * same request and response shapes, so each transport maps onto them 1:1. The CLI uses them too.
 * Times in milliseconds (Date.now()).
 */
import type { BudgetInput, BudgetStatus } from '../../shared/budgets.js';
import { validateBudgetInput } from '../../shared/budget-math.js';
import type { Db } from '../store/db.js';
import { listStoredAlerts, rearmUntrueAlerts, type StoredAlert } from './alert-store.js';
import { budgetState, listBudgetStates } from './status.js';
import { deleteStoredBudget, getStoredBudget, insertBudget, replaceBudget, type PeriodSpendReader } from './store.js';

/** No budget has this id; the message says so in words. */
export class BudgetNotFoundError extends Error {
  constructor(readonly id: number) {
    super(`There is no budget ${id}; \`npx llmeter budget list\` shows the budgets there are`);
  }
}

/** `listBudgets`: every budget and where it stands in its current period; `reader` shares period reads with the caller's other queries of the same moment. */
export function listBudgets(db: Db, nowMs: number, reader?: PeriodSpendReader): BudgetStatus[] {
  return listBudgetStates(db, nowMs, reader).map((state) => state.status);
}

/** `createBudget`: validates and stores a budget. Throws BudgetInputError (shared/budget-math.ts). */
export function createBudget(db: Db, input: BudgetInput, nowMs: number): BudgetStatus {
  const id = insertBudget(db, validateBudgetInput(input), Math.floor(nowMs / 1000));
  return budgetState(db, getStoredBudget(db, id)!, nowMs).status;
}

/**
 * `updateBudget`: replaces a budget's definition. Alerts of the current period whose crossing is
 * no longer true under the new definition are re-armed (see rearmUntrueAlerts): raising the amount
 * from $50 to $100 after $45 was spent re-arms 50 % and 80 %, which fire again at $50 and $80.
 * Throws BudgetInputError or BudgetNotFoundError.
 */
export function updateBudget(db: Db, request: { id: number; input: BudgetInput }, nowMs: number): BudgetStatus {
  const valid = validateBudgetInput(request.input);
  const nowSec = Math.floor(nowMs / 1000);
  return db.transaction(() => {
    if (!replaceBudget(db, request.id, valid, nowSec)) throw new BudgetNotFoundError(request.id);
    const state = budgetState(db, getStoredBudget(db, request.id)!, nowMs);
    rearmUntrueAlerts(db, state, nowSec);
    return state.status;
  }).immediate();
}

/** `deleteBudget`: removes a budget; its alerts stay in the history under the name it had. */
export function deleteBudget(db: Db, request: { id: number }): { deleted: boolean } {
  return { deleted: deleteStoredBudget(db, request.id) };
}

/** `listAlerts`: fired alerts, newest first (default 100, at most 1000). */
export function listAlerts(db: Db, request: { limit?: number } = {}): StoredAlert[] {
  return listStoredAlerts(db, request);
}
