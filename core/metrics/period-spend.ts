import { periodBounds, type PeriodBounds } from '../../shared/budget-math.js';
import { BUDGET_PERIODS, type BudgetPeriod } from '../../shared/budgets.js';
import type { ProviderId } from '../../shared/providers.js';
import type { Db } from '../store/db.js';
import { SPEND_NANO_SQL } from '../store/spend-sql.js';

/** One provider's spend in the current UTC day, ISO week (Monday start) and calendar month. */
export interface PeriodSpend {
  provider: ProviderId;
  costNano: Record<BudgetPeriod, bigint>;
}

interface PeriodRow {
  provider: string;
  in_day: bigint;
  in_week: bigint;
  in_month: bigint;
  cost_nano: bigint;
}

/**
 * Spend per provider in the current day, week and month at `nowMs`, counted as every other view
 * counts it (SPEND_NANO_SQL), in one indexed scan of the rows since the earliest period start.
 * Rows are grouped by which periods they fall in (a week can start in the previous month), so each
 * group is summed once and added to the periods it belongs to. Providers with no spend since the
 * earliest start are left out.
 */
export function queryPeriodSpend(db: Db, nowMs: number): PeriodSpend[] {
  const bounds = Object.fromEntries(BUDGET_PERIODS.map((period) => [period, toSeconds(periodBounds(period, nowMs))])) as Record<BudgetPeriod, { start: number; end: number }>;
  const inPeriod = (period: BudgetPeriod): string => `(bucket_start >= @${period}Start AND bucket_start < @${period}End)`;
  const rows = db
    .prepare(
      `SELECT provider, ${inPeriod('day')} AS in_day, ${inPeriod('week')} AS in_week, ${inPeriod('month')} AS in_month,
         ${SPEND_NANO_SQL} AS cost_nano
       FROM usage
       WHERE bucket_start >= @earliest AND bucket_start < @latest
       GROUP BY provider, in_day, in_week, in_month
       ORDER BY provider`,
    )
    .safeIntegers(true)
    .all({
      ...Object.fromEntries(BUDGET_PERIODS.flatMap((period) => [[`${period}Start`, bounds[period].start], [`${period}End`, bounds[period].end]])),
      earliest: Math.min(...BUDGET_PERIODS.map((period) => bounds[period].start)),
      latest: Math.max(...BUDGET_PERIODS.map((period) => bounds[period].end)),
    }) as PeriodRow[];

  const byProvider = new Map<ProviderId, PeriodSpend>();
  for (const row of rows) {
    const provider = row.provider as ProviderId;
    let spend = byProvider.get(provider);
    if (!spend) byProvider.set(provider, (spend = { provider, costNano: { day: 0n, week: 0n, month: 0n } }));
    const member: Record<BudgetPeriod, bigint> = { day: row.in_day, week: row.in_week, month: row.in_month };
    for (const period of BUDGET_PERIODS) if (member[period] === 1n) spend.costNano[period] += row.cost_nano;
  }
  return [...byProvider.values()];
}

function toSeconds(bounds: PeriodBounds): { start: number; end: number } {
  return { start: Math.floor(bounds.startMs / 1000), end: Math.floor(bounds.endMs / 1000) };
}
