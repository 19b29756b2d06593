import type { BudgetStatus } from '../../shared/budgets.js';
import {
  budgetLevel,
  elapsedFraction,
  forecastNano,
  isForecastToExceed,
  periodBounds,
  previousPeriodBounds,
  spendRatio,
  type PeriodBounds,
} from '../../shared/budget-math.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import type { Db } from '../store/db.js';
import { createPeriodSpendReader, listStoredBudgets, queryScopeSpend, type PeriodSpendReader, type StoredBudget } from './store.js';

/** Where one budget stands, with the exact figures behind its BudgetStatus. */
export interface BudgetState {
  budget: StoredBudget;
  bounds: PeriodBounds;
  spentNano: bigint;
  estimatedNano: bigint;
  forecastNano: bigint;
  forecastToExceed: boolean;
  status: BudgetStatus;
}

/** Evaluates one budget in the period containing `nowMs`; `reader` shares period reads with other budgets of the same moment. */
export function budgetState(db: Db, budget: StoredBudget, nowMs: number, reader?: PeriodSpendReader): BudgetState {
  const bounds = periodBounds(budget.period, nowMs);
  const spend = queryScopeSpend(db, budget.scope, bounds, previousPeriodBounds(budget.period, bounds), reader);
  const forecast = forecastNano({ spentNano: spend.spentNano, previousNano: spend.previousNano, bounds, nowMs });
  const forecastToExceed = isForecastToExceed({
    spentNano: spend.spentNano,
    forecastNano: forecast,
    amountNano: budget.amountNano,
    hasPrevious: spend.previousNano !== null,
    elapsedFraction: elapsedFraction(bounds, nowMs),
  });
  return {
    budget,
    bounds,
    spentNano: spend.spentNano,
    estimatedNano: spend.estimatedNano,
    forecastNano: forecast,
    forecastToExceed,
    status: {
      id: budget.id,
      name: budget.name,
      scope: budget.scope,
      period: budget.period,
      amountUsd: formatNanoAsDecimal(budget.amountNano),
      thresholds: budget.thresholds,
      periodStart: new Date(bounds.startMs).toISOString(),
      periodEnd: new Date(bounds.endMs).toISOString(),
      spentUsd: formatNanoAsDecimal(spend.spentNano),
      estimatedUsd: formatNanoAsDecimal(spend.estimatedNano),
      forecastUsd: formatNanoAsDecimal(forecast),
      ratio: spendRatio(spend.spentNano, budget.amountNano),
      level: budgetLevel(spend.spentNano, budget.amountNano, budget.thresholds, forecastToExceed),
      forecastToExceed,
    },
  };
}

/** Every budget's state at `nowMs`, oldest budget first; each period is read once for all of them (and for whoever else shares `reader`). */
export function listBudgetStates(db: Db, nowMs: number, reader: PeriodSpendReader = createPeriodSpendReader(db)): BudgetState[] {
  return listStoredBudgets(db).map((budget) => budgetState(db, budget, nowMs, reader));
}
