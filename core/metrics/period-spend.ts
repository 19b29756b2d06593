import { periodBounds } from '../../shared/budget-math.js';
import { BUDGET_PERIODS, type BudgetPeriod } from '../../shared/budgets.js';
import type { ProviderId } from '../../shared/providers.js';
import type { Db } from '../store/db.js';
import { createPeriodSpendReader, type PeriodSpendReader } from '../budgets/store.js';

/** One provider's spend in the current UTC day, ISO week (Monday start) and calendar month. */
export interface PeriodSpend {
  provider: ProviderId;
  costNano: Record<BudgetPeriod, bigint>;
}

/**
 * Spend per provider in the current day, week and month at `nowMs`, counted as every other view
 * counts it (SPEND_NANO_SQL), from the rollups: each period is whole days (and the month a whole
 * month), so it reads one rollup row per series and period. Providers with no usage in any of the
 * periods are left out. Pass the `reader` of the budgets of the same moment: they read the same periods.
 */
export function queryPeriodSpend(db: Db, nowMs: number, reader: PeriodSpendReader = createPeriodSpendReader(db)): PeriodSpend[] {
  const byProvider = new Map<ProviderId, PeriodSpend>();
  for (const period of BUDGET_PERIODS) {
    for (const row of reader.byProvider(periodBounds(period, nowMs))) {
      const provider = row.provider as ProviderId;
      let spend = byProvider.get(provider);
      if (!spend) byProvider.set(provider, (spend = { provider, costNano: { day: 0n, week: 0n, month: 0n } }));
      spend.costNano[period] = row.cost_nano;
    }
  }
  // Provider ids are ASCII: code-unit order is theirs, and localeCompare would load ICU's collation
  // data (~3 MB resident) into an idle server for this one sort.
  return [...byProvider.values()].sort((a, b) => (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0));
}
