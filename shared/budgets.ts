import type { ProviderId } from './providers.js';

/** Budget periods: UTC calendar day, ISO week (Monday start) and calendar month, as providers bill. */
export const BUDGET_PERIODS = ['day', 'week', 'month'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** What spend a budget counts. */
export type BudgetScope =
  | { kind: 'all' }
  | { kind: 'provider'; provider: ProviderId }
  | { kind: 'model'; model: string; provider?: ProviderId }
  | { kind: 'project'; project: string; provider?: ProviderId };

/** Default alert thresholds, in percent of the amount. */
export const DEFAULT_THRESHOLDS: readonly number[] = [50, 80, 100];

/** What a person enters to create or edit a budget. Amounts are exact decimal dollar strings ("50", "12.5"). */
export interface BudgetInput {
  name?: string;
  scope: BudgetScope;
  period: BudgetPeriod;
  amountUsd: string;
  /** Percentages, ascending; the highest below 100 is the warn level, ≥ 100 the critical one. */
  thresholds: number[];
}

/** Traffic-light state of a budget, and of the tray icon (the worst budget). */
export type BudgetLevel = 'ok' | 'warn' | 'over';

/** A budget with where it stands in its current period. Money as exact decimal dollar strings. */
export interface BudgetStatus {
  id: number;
  name: string;
  scope: BudgetScope;
  period: BudgetPeriod;
  amountUsd: string;
  thresholds: number[];
  periodStart: string;
  periodEnd: string;
  spentUsd: string;
  /** The part of spentUsd that is still an estimate. */
  estimatedUsd: string;
  /** Projected spend at the end of the period from the run-rate. */
  forecastUsd: string;
  /** spent / amount, 0..∞. */
  ratio: number;
  level: BudgetLevel;
  forecastToExceed: boolean;
}

/** One fired alert: a threshold crossing (or a forecast warning) in one period of one budget. */
export interface AlertRecord {
  id: number;
  budgetId: number;
  budgetName: string;
  kind: 'threshold' | 'forecast';
  /** Percent threshold crossed (for forecast alerts, 100). */
  threshold: number;
  periodStart: string;
  firedAt: string;
  spentUsd: string;
  amountUsd: string;
  forecastUsd: string;
  /** The part of spentUsd that was an estimate when the alert fired. */
  estimatedUsd: string;
}
