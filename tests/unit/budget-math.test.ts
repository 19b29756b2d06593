import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertMessage, formatUsd, type AlertNotice } from '../../shared/budget-alerts.js';
import {
  alertLevel,
  budgetLevel,
  BudgetInputError,
  defaultBudgetName,
  forecastNano,
  isForecastToExceed,
  isThresholdCrossed,
  periodBounds,
  previousPeriodBounds,
  scopeLabel,
  validateBudgetInput,
  worstLevel,
} from '../../shared/budget-math.js';
import type { BudgetInput, BudgetStatus } from '../../shared/budgets.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const bounds = (period: 'day' | 'week' | 'month', at: string): [string, string] => {
  const b = periodBounds(period, Date.parse(at));
  return [iso(b.startMs), iso(b.endMs)];
};
const USD = 1_000_000_000n;

describe('period boundaries (UTC)', () => {
  it('months end on their last millisecond, December rolls into the next year', () => {
    expect(bounds('month', '2026-01-31T23:59:59.999Z')).toEqual(['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z']);
    expect(bounds('month', '2026-02-01T00:00:00.000Z')).toEqual(['2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z']);
    expect(bounds('month', '2026-04-30T12:00:00Z')).toEqual(['2026-04-01T00:00:00.000Z', '2026-05-01T00:00:00.000Z']);
    expect(bounds('month', '2026-12-31T23:00:00Z')).toEqual(['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
  });

  it('handles the leap day 2028-02-29', () => {
    expect(bounds('month', '2028-02-29T12:00:00Z')).toEqual(['2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z']);
    expect(bounds('day', '2028-02-29T23:59:59Z')).toEqual(['2028-02-29T00:00:00.000Z', '2028-03-01T00:00:00.000Z']);
    // A Tuesday: its week began on Monday the 28th and runs into March.
    expect(bounds('week', '2028-02-29T08:00:00Z')).toEqual(['2028-02-28T00:00:00.000Z', '2028-03-06T00:00:00.000Z']);
    const march = periodBounds('month', Date.parse('2028-03-10T00:00:00Z'));
    const february = previousPeriodBounds('month', march);
    expect([iso(february.startMs), iso(february.endMs)]).toEqual(['2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z']);
    expect((february.endMs - february.startMs) / 86_400_000).toBe(29);
  });

  it('starts weeks on Monday 00:00 UTC, Sunday night still belonging to the week before', () => {
    expect(bounds('week', '2026-11-29T23:59:59Z')).toEqual(['2026-11-23T00:00:00.000Z', '2026-11-30T00:00:00.000Z']);
    expect(bounds('week', '2026-11-30T00:00:00Z')).toEqual(['2026-11-30T00:00:00.000Z', '2026-12-07T00:00:00.000Z']);
    // New Year's week spans two years.
    expect(bounds('week', '2027-01-01T10:00:00Z')).toEqual(['2026-12-28T00:00:00.000Z', '2027-01-04T00:00:00.000Z']);
    const previous = previousPeriodBounds('week', periodBounds('week', Date.parse('2026-11-30T00:00:00Z')));
    expect(iso(previous.startMs)).toBe('2026-11-23T00:00:00.000Z');
  });

  it('every instant lies in its period, and periods tile time without gaps', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }), fc.constantFrom('day' as const, 'week' as const, 'month' as const), (ms, period) => {
        const b = periodBounds(period, ms);
        expect(b.startMs).toBeLessThanOrEqual(ms);
        expect(ms).toBeLessThan(b.endMs);
        expect(periodBounds(period, b.endMs).startMs).toBe(b.endMs);
        expect(previousPeriodBounds(period, b).endMs).toBe(b.startMs);
      }),
    );
  });
});

describe('forecast', () => {
  const month = periodBounds('month', Date.parse('2026-11-01T00:00:00Z')); // 30 days
  const at = (days: number): number => month.startMs + days * 86_400_000;

  it('is the plain run-rate without a previous period', () => {
    expect(forecastNano({ spentNano: 10n * USD, previousNano: null, bounds: month, nowMs: at(15) })).toBe(20n * USD);
    expect(forecastNano({ spentNano: 7n * USD, previousNano: null, bounds: month, nowMs: at(10) })).toBe(21n * USD);
    expect(forecastNano({ spentNano: 3n * USD, previousNano: null, bounds: month, nowMs: month.startMs })).toBe(3n * USD);
  });

  it('leans on the previous period early and on the current pace late', () => {
    expect(forecastNano({ spentNano: 0n, previousNano: 90n * USD, bounds: month, nowMs: month.startMs })).toBe(90n * USD);
    expect(forecastNano({ spentNano: 42n * USD, previousNano: 90n * USD, bounds: month, nowMs: month.endMs })).toBe(42n * USD);
    // Same pace as last month: the forecast is last month's total.
    expect(forecastNano({ spentNano: 45n * USD, previousNano: 90n * USD, bounds: month, nowMs: at(15) })).toBe(90n * USD);
    // Twice last month's pace halfway: spent + ½(spent + ½·previous) = 90 + 45 + 22.5.
    expect(forecastNano({ spentNano: 90n * USD, previousNano: 90n * USD, bounds: month, nowMs: at(15) })).toBe(157_500_000_000n);
  });

  it('does not warn on a noisy run-rate early in a first period, but does with history or later', () => {
    const base = { spentNano: 1n * USD, forecastNano: 500n * USD, amountNano: 50n * USD };
    expect(isForecastToExceed({ ...base, hasPrevious: false, elapsedFraction: 0.01 })).toBe(false);
    expect(isForecastToExceed({ ...base, hasPrevious: false, elapsedFraction: 0.1 })).toBe(true);
    expect(isForecastToExceed({ ...base, hasPrevious: true, elapsedFraction: 0.01 })).toBe(true);
    // Spend already at the amount: the 100 % threshold speaks, not the forecast.
    expect(isForecastToExceed({ ...base, spentNano: 50n * USD, hasPrevious: true, elapsedFraction: 0.5 })).toBe(false);
    expect(isForecastToExceed({ ...base, forecastNano: 50n * USD, hasPrevious: true, elapsedFraction: 0.5 })).toBe(false);
  });
});

describe('thresholds and levels', () => {
  it('crosses a threshold exactly at the line, not a nano-dollar before', () => {
    expect(isThresholdCrossed(40n * USD, 50n * USD, 80)).toBe(true);
    expect(isThresholdCrossed(40n * USD - 1n, 50n * USD, 80)).toBe(false);
    expect(isThresholdCrossed(3_333n * USD, 10_000n * USD, 33.33)).toBe(true);
    expect(isThresholdCrossed(3_333n * USD - 1n, 10_000n * USD, 33.33)).toBe(false);
  });

  it('derives warn and over from the threshold list', () => {
    const t = [50, 80, 100];
    expect(budgetLevel(49n * USD, 100n * USD, t, false)).toBe('ok');
    expect(budgetLevel(60n * USD, 100n * USD, t, false)).toBe('ok');
    expect(budgetLevel(80n * USD, 100n * USD, t, false)).toBe('warn');
    expect(budgetLevel(20n * USD, 100n * USD, t, true)).toBe('warn');
    expect(budgetLevel(100n * USD, 100n * USD, t, false)).toBe('over');
    // Critical at 120 %: spending the amount is only a warning.
    expect(budgetLevel(110n * USD, 100n * USD, [50, 80, 120], false)).toBe('warn');
    expect(budgetLevel(120n * USD, 100n * USD, [50, 80, 120], false)).toBe('over');
    expect(alertLevel('threshold', 50, t)).toBe('ok');
    expect(alertLevel('threshold', 80, t)).toBe('warn');
    expect(alertLevel('threshold', 100, t)).toBe('over');
    expect(alertLevel('forecast', 100, t)).toBe('warn');
    expect(worstLevel(['ok', 'over', 'warn'])).toBe('over');
    expect(worstLevel([])).toBe('ok');
  });
});

describe('validateBudgetInput', () => {
  const input = (over: Partial<BudgetInput>): BudgetInput => ({ scope: { kind: 'all' }, period: 'month', amountUsd: '50', thresholds: [50, 80, 100], ...over });

  it('normalizes amount and thresholds', () => {
    const valid = validateBudgetInput(input({ amountUsd: '12.5', thresholds: [100, 50, 80, 80], name: '  Team ' }));
    expect(valid.amountNano).toBe(12_500_000_000n);
    expect(valid.thresholds).toEqual([50, 80, 100]);
    expect(valid.name).toBe('Team');
    expect(validateBudgetInput(input({ scope: { kind: 'model', model: ' gpt-4o ', provider: 'openai' } })).scope).toEqual({ kind: 'model', model: 'gpt-4o', provider: 'openai' });
  });

  it('refuses what cannot be a budget, saying which field', () => {
    expect(() => validateBudgetInput(input({ amountUsd: '0' }))).toThrow(/Amount must be a positive number/);
    expect(() => validateBudgetInput(input({ amountUsd: '-5' }))).toThrow(BudgetInputError);
    expect(() => validateBudgetInput(input({ amountUsd: 'fifty' }))).toThrow(/not "fifty"/);
    expect(() => validateBudgetInput(input({ period: 'year' as never }))).toThrow(/Period must be one of day, week, month/);
    expect(() => validateBudgetInput(input({ thresholds: [] }))).toThrow(/1 to 10 percentages/);
    expect(() => validateBudgetInput(input({ thresholds: [50, 0] }))).toThrow(/Threshold "0"/);
    expect(() => validateBudgetInput(input({ thresholds: [33.333] }))).toThrow(/two decimals/);
    expect(() => validateBudgetInput(input({ scope: { kind: 'provider', provider: 'acme' as never } }))).toThrow(/Provider must be one of openai, anthropic, openrouter/);
    expect(() => validateBudgetInput(input({ scope: { kind: 'model', model: '  ' } }))).toThrow(/Model must be a name/);
  });

  it('names and labels scopes', () => {
    expect(defaultBudgetName({ kind: 'provider', provider: 'openai' }, 'month')).toBe('OpenAI, monthly');
    expect(defaultBudgetName({ kind: 'model', model: 'claude-x', provider: 'anthropic' }, 'day')).toBe('claude-x on Anthropic, daily');
    expect(scopeLabel({ kind: 'model', model: 'gpt-4o', provider: 'openai' })).toBe('model:openai/gpt-4o');
    expect(scopeLabel({ kind: 'project', project: 'proj_1' })).toBe('project:proj_1');
    expect(scopeLabel({ kind: 'all' })).toBe('all');
  });
});

describe('alert text', () => {
  it('formats dollars to cents exactly, never showing a positive amount as $0.00', () => {
    expect(formatUsd('1234.565')).toBe('$1,234.57');
    expect(formatUsd('0.30000000000000004')).toBe('$0.30');
    expect(formatUsd('0.004')).toBe('<$0.01');
    expect(formatUsd('0')).toBe('$0.00');
    expect(formatUsd('1000000')).toBe('$1,000,000.00');
  });

  const budget: BudgetStatus = {
    id: 7,
    name: 'OpenAI, monthly',
    scope: { kind: 'provider', provider: 'openai' },
    period: 'month',
    amountUsd: '50',
    thresholds: [50, 80, 100],
    periodStart: '2026-11-01T00:00:00.000Z',
    periodEnd: '2026-12-01T00:00:00.000Z',
    spentUsd: '50.5',
    estimatedUsd: '3.1',
    forecastUsd: '61.3',
    ratio: 1.01,
    level: 'over',
    forecastToExceed: false,
  };
  const alert = (over: Partial<AlertNotice>): AlertNotice => ({
    id: 3,
    budgetId: 7,
    budgetName: budget.name,
    kind: 'threshold',
    threshold: 100,
    periodStart: budget.periodStart,
    firedAt: '2026-11-18T12:00:00.000Z',
    spentUsd: '50.5',
    amountUsd: '50',
    forecastUsd: '61.3',
    estimatedUsd: '3.1',
    level: 'over',
    budget,
    grouped: [],
    dataAsOf: '2026-11-18T11:45:00.000Z',
    ...over,
  });

  it('puts the budget and percentage in the title; spend, amount, forecast, estimate and freshness in the body', () => {
    const message = alertMessage(alert({ grouped: [alert({ id: 2, threshold: 80 }), alert({ id: 1, threshold: 50 })] }));
    expect(message.title).toBe('OpenAI, monthly: over budget, 101 % used');
    expect(message.body).toBe(
      '$50.50 of $50.00 spent this month (includes $3.10 estimated, not billed yet). Forecast for the month: $61.30. Also passed 50 %, 80 %. Data as of 2026-11-18 11:45 UTC.',
    );
  });

  it('rounds the percentage down, says when all is billed, and words a forecast warning', () => {
    expect(alertMessage(alert({ level: 'warn', threshold: 80, spentUsd: '39.999', estimatedUsd: '0' })).title).toBe('OpenAI, monthly: 79 % of budget used');
    expect(alertMessage(alert({ estimatedUsd: '0' })).body).toContain('(all billed)');
    const forecast = alertMessage(alert({ kind: 'forecast', level: 'warn', spentUsd: '30', forecastUsd: '61.3', dataAsOf: null }));
    expect(forecast.title).toBe('OpenAI, monthly: forecast 122 % of budget');
    expect(forecast.body).not.toContain('Data as of');
  });
});
