/**
 * The pure arithmetic of budgets: period boundaries, forecast, thresholds and levels, and the
 * validation of what a person enters. Shared by the core (evaluation, CLI) and the dashboard
 * (form validation), so both agree to the nano-dollar.
 */
import { BUDGET_PERIODS, type BudgetInput, type BudgetLevel, type BudgetPeriod, type BudgetScope } from './budgets.js';
import { usdInputToNano } from './money.js';
import { isProviderId, PROVIDERS } from './providers.js';
import { startOfPeriod } from './time-range.js';

const DAY_MS = 86_400_000;
const PERIOD_UNIT: Record<BudgetPeriod, 'd' | 'w' | 'M'> = { day: 'd', week: 'w', month: 'M' };

/** A half-open period [startMs, endMs) in UTC milliseconds. */
export interface PeriodBounds {
  startMs: number;
  endMs: number;
}

/** The UTC day, ISO week (Monday start) or calendar month containing `nowMs`. */
export function periodBounds(period: BudgetPeriod, nowMs: number): PeriodBounds {
  const startMs = startOfPeriod(nowMs, PERIOD_UNIT[period]);
  if (period === 'day') return { startMs, endMs: startMs + DAY_MS };
  if (period === 'week') return { startMs, endMs: startMs + 7 * DAY_MS };
  const start = new Date(startMs);
  return { startMs, endMs: Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1) };
}

/** The period just before `current`. */
export function previousPeriodBounds(period: BudgetPeriod, current: PeriodBounds): PeriodBounds {
  return periodBounds(period, current.startMs - 1);
}

/**
 * Below this elapsed fraction, a run-rate with no previous period to temper it is too noisy to
 * warn on: one request in the first minute of a month would project to thousands of dollars.
 */
export const MIN_ELAPSED_FOR_UNSMOOTHED_FORECAST = 0.1;

/** What the forecast is computed from. */
export interface ForecastInput {
  spentNano: bigint;
  /** Spend of the whole previous period, or null when the data does not reach back that far. */
  previousNano: bigint | null;
  bounds: PeriodBounds;
  nowMs: number;
}

/**
 * Projected spend at the end of the period, exact in nano-dollars (rounded down).
 *
 * With f the elapsed fraction, the run-rate projects `spent / f` for the whole period. Where the
 * previous period is known, the pace expected for the rest of the period blends the two, trusting
 * the current pace more as the period goes on: `R = f × (spent / f) + (1 − f) × previous`, and the
 * forecast is `spent + (1 − f) × R`. Early in a period it is close to last period's total, late in
 * it close to what was actually spent. Without a previous period it is the plain run-rate.
 */
export function forecastNano({ spentNano, previousNano, bounds, nowMs }: ForecastInput): bigint {
  const length = BigInt(bounds.endMs - bounds.startMs);
  const elapsed = BigInt(Math.min(Math.max(nowMs - bounds.startMs, 0), bounds.endMs - bounds.startMs));
  const remaining = length - elapsed;
  if (previousNano === null) return elapsed === 0n ? spentNano : (spentNano * length) / elapsed;
  // spent + (r/L)·spent + (r/L)²·previous, over one common denominator so nothing is lost on the way.
  return (spentNano * length * length + remaining * spentNano * length + remaining * remaining * previousNano) / (length * length);
}

/** Elapsed fraction of the period at `nowMs`, 0..1. */
export function elapsedFraction(bounds: PeriodBounds, nowMs: number): number {
  return Math.min(Math.max((nowMs - bounds.startMs) / (bounds.endMs - bounds.startMs), 0), 1);
}

/**
 * "Forecast to exceed": the forecast passes the amount while spend has not reached it yet. A plain
 * run-rate (no previous period) only counts after MIN_ELAPSED_FOR_UNSMOOTHED_FORECAST of the period.
 */
export function isForecastToExceed(input: { spentNano: bigint; forecastNano: bigint; amountNano: bigint; hasPrevious: boolean; elapsedFraction: number }): boolean {
  if (input.spentNano >= input.amountNano || input.forecastNano <= input.amountNano) return false;
  return input.hasPrevious || input.elapsedFraction >= MIN_ELAPSED_FOR_UNSMOOTHED_FORECAST;
}

/** Whether spend has reached `percent` % of the amount; exact (thresholds have at most two decimals). */
export function isThresholdCrossed(spentNano: bigint, amountNano: bigint, percent: number): boolean {
  return spentNano * 10_000n >= amountNano * BigInt(Math.round(percent * 100));
}

/** spent / amount as a number, for display and sorting (money itself stays exact). */
export function spendRatio(spentNano: bigint, amountNano: bigint): number {
  return Number((spentNano * 1_000_000n) / amountNano) / 1_000_000;
}

/**
 * The two levels a threshold list defines: critical (`overAt`) is the lowest threshold at or above
 * 100 % (100 when there is none: spending the whole amount is always "over"); warn (`warnAt`) is the
 * highest below 100 %, or null when every threshold is critical.
 */
export function thresholdLevels(thresholds: readonly number[]): { warnAt: number | null; overAt: number } {
  const below = thresholds.filter((t) => t < 100);
  const atOrAbove = thresholds.filter((t) => t >= 100);
  return { warnAt: below.length ? Math.max(...below) : null, overAt: atOrAbove.length ? Math.min(...atOrAbove) : 100 };
}

/**
 * Traffic light of a budget: over at the critical threshold; warn at the warn threshold or when
 * the forecast says the amount will be exceeded (a budget on pace to overrun is not "ok").
 */
export function budgetLevel(spentNano: bigint, amountNano: bigint, thresholds: readonly number[], forecastToExceed: boolean): BudgetLevel {
  const { warnAt, overAt } = thresholdLevels(thresholds);
  if (isThresholdCrossed(spentNano, amountNano, overAt)) return 'over';
  if (forecastToExceed || (warnAt !== null && isThresholdCrossed(spentNano, amountNano, warnAt))) return 'warn';
  return 'ok';
}

/**
 * Level of one alert: a critical threshold is 'over', the warn threshold (and a forecast warning)
 * 'warn', and a lower one such as 50 % an informational heads-up, 'ok'.
 */
export function alertLevel(kind: 'threshold' | 'forecast', threshold: number, thresholds: readonly number[]): BudgetLevel {
  if (kind === 'forecast') return 'warn';
  const { warnAt, overAt } = thresholdLevels(thresholds);
  if (threshold >= overAt) return 'over';
  return warnAt !== null && threshold >= warnAt ? 'warn' : 'ok';
}

const LEVEL_RANK: Record<BudgetLevel, number> = { ok: 0, warn: 1, over: 2 };

/** The worst level among budgets (the tray icon's state); 'ok' when there are none. */
export function worstLevel(levels: Iterable<BudgetLevel>): BudgetLevel {
  let worst: BudgetLevel = 'ok';
  for (const level of levels) if (LEVEL_RANK[level] > LEVEL_RANK[worst]) worst = level;
  return worst;
}

/** Compares levels for sorting, worst first. */
export function compareLevelsWorstFirst(a: BudgetLevel, b: BudgetLevel): number {
  return LEVEL_RANK[b] - LEVEL_RANK[a];
}

/** A stable, machine-friendly scope label (metrics label `scope`): `all`, `provider:openai`, `model:openai/gpt-4o`, `project:proj_1`. */
export function scopeLabel(scope: BudgetScope): string {
  switch (scope.kind) {
    case 'all':
      return 'all';
    case 'provider':
      return `provider:${scope.provider}`;
    case 'model':
      return `model:${scope.provider ? `${scope.provider}/` : ''}${scope.model}`;
    case 'project':
      return `project:${scope.provider ? `${scope.provider}/` : ''}${scope.project}`;
  }
}

/** The scope in words: "All spend", "OpenAI", "gpt-4o on OpenAI", "project proj_1". */
export function describeScope(scope: BudgetScope): string {
  const on = 'provider' in scope && scope.provider ? ` on ${PROVIDERS[scope.provider].displayName}` : '';
  switch (scope.kind) {
    case 'all':
      return 'All spend';
    case 'provider':
      return PROVIDERS[scope.provider].displayName;
    case 'model':
      return `${scope.model}${on}`;
    case 'project':
      return `project ${scope.project}${on}`;
  }
}

const PERIOD_ADJECTIVE: Record<BudgetPeriod, string> = { day: 'daily', week: 'weekly', month: 'monthly' };

/** The name a budget gets when the person gives none: "OpenAI, monthly". */
export function defaultBudgetName(scope: BudgetScope, period: BudgetPeriod): string {
  return `${describeScope(scope)}, ${PERIOD_ADJECTIVE[period]}`;
}

/** A budget input that did not validate; the message says which field and what is allowed. */
export class BudgetInputError extends Error {}

/** A validated budget input. `name` is null when the person gave none. */
export interface ValidBudgetInput {
  name: string | null;
  scope: BudgetScope;
  period: BudgetPeriod;
  amountNano: bigint;
  thresholds: number[];
}

const MAX_AMOUNT_NANO = 1_000_000_000n * 1_000_000_000n; // $1e9: far above any budget, far below int64.
const MAX_NAME = 80;
const MAX_DIMENSION = 200;
const MAX_THRESHOLDS = 10;

/**
 * Checks and normalizes a budget input: amount a positive decimal up to $1 000 000 000,
 * thresholds 1–10 percentages in (0, 1000] with at most two decimals (sorted, duplicates dropped),
 * scope names trimmed. Accepts untrusted JSON. Throws BudgetInputError.
 */
export function validateBudgetInput(input: BudgetInput): ValidBudgetInput {
  if (typeof input !== 'object' || input === null) throw new BudgetInputError('A budget needs an amount, a period, a scope and thresholds');
  const amountNano = typeof input.amountUsd === 'string' ? usdInputToNano(input.amountUsd) : null;
  if (amountNano === null || amountNano === 0n) throw new BudgetInputError(`Amount must be a positive number of dollars such as 50 or 12.5, not "${String(input.amountUsd)}"`);
  if (amountNano > MAX_AMOUNT_NANO) throw new BudgetInputError('Amount must be at most $1000000000');
  if (!(BUDGET_PERIODS as readonly unknown[]).includes(input.period)) throw new BudgetInputError(`Period must be one of ${BUDGET_PERIODS.join(', ')}, not "${String(input.period)}"`);
  let name: string | null = null;
  if (input.name !== undefined && input.name !== null) {
    if (typeof input.name !== 'string' || input.name.trim().length > MAX_NAME) throw new BudgetInputError(`Name must be text of at most ${MAX_NAME} characters`);
    name = input.name.trim() || null;
  }
  return { name, scope: validateScope(input.scope), period: input.period, amountNano, thresholds: validateThresholds(input.thresholds) };
}

/** Checks a threshold list; returns it sorted ascending without duplicates. Throws BudgetInputError. */
export function validateThresholds(thresholds: unknown): number[] {
  if (!Array.isArray(thresholds) || thresholds.length === 0 || thresholds.length > MAX_THRESHOLDS) {
    throw new BudgetInputError(`Thresholds must be a list of 1 to ${MAX_THRESHOLDS} percentages, such as 50,80,100`);
  }
  for (const t of thresholds) {
    if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > 1000 || Math.abs(t * 100 - Math.round(t * 100)) > 1e-9) {
      throw new BudgetInputError(`Threshold "${String(t)}" must be a percentage above 0 and at most 1000, with at most two decimals`);
    }
  }
  return [...new Set((thresholds as number[]).map((t) => Math.round(t * 100) / 100))].sort((a, b) => a - b);
}

function validateScope(scope: BudgetScope): BudgetScope {
  if (typeof scope !== 'object' || scope === null) throw new BudgetInputError('Scope is missing; use all spend, one provider, one model or one project');
  const provider = 'provider' in scope ? scope.provider : undefined;
  if (provider !== undefined && provider !== null && !isProviderId(provider)) throw new BudgetInputError(`Provider must be one of ${Object.keys(PROVIDERS).join(', ')}, not "${String(provider)}"`);
  const withProvider = provider ? { provider } : {};
  switch (scope.kind) {
    case 'all':
      return { kind: 'all' };
    case 'provider':
      if (!provider) throw new BudgetInputError('A provider budget needs a provider');
      return { kind: 'provider', provider };
    case 'model':
      return { kind: 'model', model: dimension(scope.model, 'Model'), ...withProvider };
    case 'project':
      return { kind: 'project', project: dimension(scope.project, 'Project'), ...withProvider };
    default:
      throw new BudgetInputError(`Scope must be all, provider, model or project, not "${String((scope as { kind: unknown }).kind)}"`);
  }
}

function dimension(value: unknown, what: string): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (!text || text.length > MAX_DIMENSION) throw new BudgetInputError(`${what} must be a name of 1 to ${MAX_DIMENSION} characters`);
  return text;
}
