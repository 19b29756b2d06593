/**
 * The one typed API between the dashboard and the app. The Electron preload implements it over
 * IPC, the browser build over HTTP JSON (`POST /api/v1/ui/<method>` with the UI token); the
 * renderer cannot tell which. Money crosses as exact decimal dollar strings; times as ISO 8601 UTC.
 * Keys go in (setProviderKey) and never come back out.
 */
import type { AlertRecord, BudgetInput, BudgetStatus } from './budgets.js';
import type { ProviderId } from './providers.js';

/** Exact decimal dollars, e.g. "12.3456789". */
export type Usd = string;

/** A from/to pair in the grammar of shared/time-range.ts (ISO 8601 or now-relative). */
export interface RangeQuery {
  from?: string;
  to?: string;
  providers?: ProviderId[];
}

export type Granularity = 'hour' | 'day' | 'month';

/** Billed and estimated spend kept apart, as every number shown says which it is. */
export interface SpendAmount {
  totalUsd: Usd;
  billedUsd: Usd;
  estimatedUsd: Usd;
}

/** Where one provider stands: connection, freshness, the last error in words a person can act on. */
export interface ProviderStatus {
  provider: ProviderId;
  displayName: string;
  configured: boolean;
  keySource: 'env' | 'keychain' | null;
  /** Last (at most 4) characters of the key, never more. */
  keyFingerprint: string | null;
  validatedAt: string | null;
  lastPollAt: string | null;
  lastSuccessAt: string | null;
  /** End of the newest bucket with data: "billing data as of". */
  dataAsOf: string | null;
  lastError: string | null;
  lastErrorKind: string | null;
  /** Backfill in progress: fraction 0..1, or null when idle. */
  backfillProgress: number | null;
  balance: { creditsUsd: Usd; usedUsd: Usd } | null;
  today: SpendAmount;
  monthToDate: SpendAmount;
  keyUrl: string;
  keyName: string;
}

/** The overview page and the tray glance. */
export interface Overview {
  generatedAt: string;
  demo: boolean;
  today: SpendAmount;
  week: SpendAmount;
  month: SpendAmount;
  providers: ProviderStatus[];
  budgets: BudgetStatus[];
  /** Worst state for the tray icon. */
  state: 'ok' | 'warn' | 'over' | 'stale' | 'error' | 'empty';
}

export interface SpendSeriesQuery extends RangeQuery {
  granularity: Granularity;
  groupBy: 'provider' | 'model' | 'project';
  /**
   * Keep only this many groups, those with the most spend over the whole range, as series of their
   * own, and sum all the others into `other`. Without it, every group has its series.
   */
  top?: number;
}

/** The groups beyond a series query's `top`, summed per bucket into one series. */
export interface FoldedSeries {
  /** How many groups it sums ("other (287 models)"). */
  groups: number;
  costUsd: Usd[];
  estimatedUsd: Usd[];
  totalUsd: Usd;
}

/**
 * Spend over time: one point per bucket per group. `costUsd` is all the spend of a bucket and
 * `estimatedUsd` the part of it that is still an estimate (the rest is billed). The series and
 * `other` together add up to all the spend of the range, exactly.
 */
export interface SpendSeries {
  granularity: Granularity;
  groupBy: SpendSeriesQuery['groupBy'];
  /** Bucket starts, ascending, ISO 8601. */
  buckets: string[];
  series: Array<{ key: string; provider: ProviderId | null; costUsd: Usd[]; estimatedUsd: Usd[]; totalUsd: Usd }>;
  /** With `top`: the groups beyond it, summed; absent when no group was left out. */
  other?: FoldedSeries;
}

/** Totals of one model over a range. */
export interface ModelTotals {
  provider: ProviderId;
  model: string;
  cost: SpendAmount;
  requests: number | null;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
}

/** Totals of one SDK customer over a range (per-customer attribution). */
export interface CustomerTotals {
  customerId: string;
  costUsd: Usd;
  requests: number;
  inputTokens: number;
  outputTokens: number;
}

/** Outcome of checking a key with one call to its provider. */
export interface KeyCheckResult {
  ok: boolean;
  provider: ProviderId;
  /** 'auth' (wrong key), 'permission' (no billing permission), 'unreachable', … */
  errorKind: string | null;
  message: string;
}

export interface PollSummary {
  outcomes: Array<{ provider: ProviderId; ok: boolean; message: string }>;
}

/** Settings a person can change from the UI. Shape defined in shared/settings.ts. */
export type { Settings } from './settings.js';
import type { Settings } from './settings.js';

export interface ExportRequest extends RangeQuery {
  format: 'csv' | 'jsonl';
  granularity: Granularity;
  models?: string[];
}

/** Electron: the file written (after a save dialog); browser: a same-origin URL to download. */
export interface ExportResult {
  saved: boolean;
  path?: string;
  downloadUrl?: string;
  rows?: number;
}

/**
 * Every operation, as channel → request/response. Exhaustive: a method missing from a transport
 * is a type error.
 */
export interface ApiContract {
  getOverview: { request: void; response: Overview };
  getSpendSeries: { request: SpendSeriesQuery; response: SpendSeries };
  getTopModels: { request: RangeQuery; response: ModelTotals[] };
  getCustomers: { request: RangeQuery & { limit?: number }; response: CustomerTotals[] };
  listProviders: { request: void; response: ProviderStatus[] };
  setProviderKey: { request: { provider: ProviderId; key: string }; response: KeyCheckResult };
  testProviderKey: { request: { provider: ProviderId }; response: KeyCheckResult };
  deleteProviderKey: { request: { provider: ProviderId }; response: { deleted: boolean } };
  pollNow: { request: void; response: PollSummary };
  listBudgets: { request: void; response: BudgetStatus[] };
  createBudget: { request: BudgetInput; response: BudgetStatus };
  updateBudget: { request: { id: number; input: BudgetInput }; response: BudgetStatus };
  deleteBudget: { request: { id: number }; response: { deleted: boolean } };
  listAlerts: { request: { limit?: number }; response: AlertRecord[] };
  getSettings: { request: void; response: Settings };
  updateSettings: { request: Partial<Settings>; response: Settings };
  exportData: { request: ExportRequest; response: ExportResult };
}

export type ApiMethod = keyof ApiContract;

/** The API as the renderer calls it. */
export type LlmeterApi = {
  [M in ApiMethod]: ApiContract[M]['request'] extends void ? () => Promise<ApiContract[M]['response']> : (request: ApiContract[M]['request']) => Promise<ApiContract[M]['response']>;
};

/** Every method name, for transports that register handlers in a loop. */
export const API_METHODS = [
  'getOverview',
  'getSpendSeries',
  'getTopModels',
  'getCustomers',
  'listProviders',
  'setProviderKey',
  'testProviderKey',
  'deleteProviderKey',
  'pollNow',
  'listBudgets',
  'createBudget',
  'updateBudget',
  'deleteBudget',
  'listAlerts',
  'getSettings',
  'updateSettings',
  'exportData',
] as const satisfies readonly ApiMethod[];

/** Events the app pushes to the renderer (Electron IPC; the browser polls). */
export interface ApiEvents {
  /** Data changed (a poll finished, an ingest batch landed): refetch. */
  dataChanged: { at: string };
  /** A notification was clicked: show this budget. */
  showBudget: { budgetId: number };
}
