/**
 * An in-memory LlmeterApi for component tests: answers from fixtures and records every call, so a
 * test can check what the page asked for and what it shows for an answer.
 */
import { vi } from 'vitest';
import { API_METHODS, type LlmeterApi, type Overview, type ProviderStatus, type SpendAmount } from '../../shared/api.js';
import type { BudgetStatus } from '../../shared/budgets.js';
import { DEFAULT_SETTINGS } from '../../shared/settings.js';
import { PROVIDER_IDS, PROVIDERS, type ProviderId } from '../../shared/providers.js';

export const ZERO: SpendAmount = { totalUsd: '0', billedUsd: '0', estimatedUsd: '0' };

/** A provider's status with sensible defaults. */
export function providerStatus(provider: ProviderId, fields: Partial<ProviderStatus> = {}): ProviderStatus {
  return {
    provider,
    displayName: PROVIDERS[provider].displayName,
    configured: false,
    keySource: null,
    keyFingerprint: null,
    validatedAt: null,
    lastPollAt: null,
    lastSuccessAt: null,
    dataAsOf: null,
    lastError: null,
    lastErrorKind: null,
    backfillProgress: null,
    balance: null,
    today: ZERO,
    monthToDate: ZERO,
    keyUrl: PROVIDERS[provider].keyUrl,
    keyName: PROVIDERS[provider].keyName,
    ...fields,
  };
}

/** An overview with every provider unconfigured unless given. */
export function overview(fields: Partial<Overview> = {}): Overview {
  return {
    generatedAt: '2026-11-19T15:30:00.000Z',
    demo: false,
    today: ZERO,
    week: ZERO,
    month: ZERO,
    providers: PROVIDER_IDS.map((id) => providerStatus(id)),
    budgets: [],
    state: 'empty',
    ...fields,
  };
}

export function budget(fields: Partial<BudgetStatus> = {}): BudgetStatus {
  return {
    id: 1,
    name: 'Monthly total',
    scope: { kind: 'all' },
    period: 'month',
    amountUsd: '100',
    thresholds: [50, 80, 100],
    periodStart: '2026-11-01T00:00:00.000Z',
    periodEnd: '2026-12-01T00:00:00.000Z',
    spentUsd: '85.5',
    estimatedUsd: '5.5',
    forecastUsd: '140',
    ratio: 0.855,
    level: 'warn',
    forecastToExceed: true,
    ...fields,
  };
}

/** A fake API whose methods are vi.fn()s answering from `answers` (default: empty answers). */
export function fakeApi(answers: Partial<{ [M in keyof LlmeterApi]: Awaited<ReturnType<LlmeterApi[M]>> }> = {}): { [M in keyof LlmeterApi]: LlmeterApi[M] & ReturnType<typeof vi.fn> } {
  const defaults: Partial<Record<keyof LlmeterApi, unknown>> = {
    getOverview: overview(),
    getSpendSeries: { granularity: 'day', groupBy: 'provider', buckets: [], series: [] },
    getTopModels: [],
    getCustomers: [],
    listProviders: PROVIDER_IDS.map((id) => providerStatus(id)),
    listBudgets: [],
    listAlerts: [],
    getSettings: DEFAULT_SETTINGS,
    pollNow: { outcomes: [] },
  };
  return Object.fromEntries(API_METHODS.map((method) => [method, vi.fn(async () => (method in answers ? answers[method] : defaults[method]))])) as never;
}
