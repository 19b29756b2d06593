/**
 * The core implementation of the typed API (shared/api.ts): every method answered from SQL
 * aggregates and the core's own modules (keys, budgets, settings, export). Transports wrap it:
 * HTTP JSON for the browser (ui-routes.ts), IPC for the Electron window.
 */
import type { CustomerTotals, ExportRequest, ExportResult, KeyCheckResult, LlmeterApi, ModelTotals, Overview, PollSummary, ProviderStatus, RangeQuery } from '../../shared/api.js';
import { periodBounds } from '../../shared/budget-math.js';
import type { BudgetPeriod, BudgetStatus } from '../../shared/budgets.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import { PROVIDER_IDS, PROVIDERS, type ProviderId } from '../../shared/providers.js';
import { parseTimeBound, parseTimeWindow, type TimeWindow } from '../../shared/time-range.js';
import { createBudget, deleteBudget, listAlerts, listBudgets, updateBudget } from '../budgets/budgets.js';
import { createPeriodSpendReader, type PeriodSpendReader } from '../budgets/store.js';
import { resolveExportQuery } from '../export/query.js';
import type { ProviderCredential } from '../keys/credentials.js';
import { keyFingerprint } from '../keys/key-status.js';
import type { SecretStore } from '../keys/keychain.js';
import { deleteProviderKey, listProviderKeys, setProviderKey, testProviderKey, type KeyManagementDeps, type ProviderKeyInfo } from '../keys/manage.js';
import { querySeriesTotals } from '../metrics/snapshot.js';
import type { SettingsStore } from '../settings/store.js';
import type { Db } from '../store/db.js';
import { listSyncStates, type SyncState } from '../store/sync-state.js';
import { earliestBucket, querySpendSeries, spendMap, toSpendAmount, totalSpend, ZERO_SPEND, type SpendNano } from './spend-queries.js';

/** What the API needs from the core it runs in (startCore, or the Electron main process). */
export interface ApiServiceDeps {
  db: Db;
  /** The OS keychain; null where none can be used (keys then come from the environment only). */
  secretStore: SecretStore | null;
  /** Environment, provider base URLs and data folder, for checking and recording keys. */
  keys: KeyManagementDeps;
  settings: SettingsStore;
  /** The keys the poller uses now. */
  credentials(): readonly ProviderCredential[];
  /** Re-reads the keys after one was added or removed. */
  reloadCredentials(): Promise<void>;
  /** Polls every configured provider, joining a poll under way, and resolves when it is done. */
  pollNow(): Promise<void>;
  /** Share (0..1) of a provider's first fetch done while it runs; null when it is not backfilling. */
  backfillProgress?(provider: ProviderId): number | null;
  /** Re-evaluates budgets (alerts) after a budget was created or changed. */
  evaluateBudgets?(): void;
  /**
   * Writes an export where the host puts files (the Electron save dialog). Without it the answer is
   * a same-origin download URL of `GET /api/v1/export`, for the browser.
   */
  exportData?(request: ExportRequest): Promise<ExportResult>;
  /** Per-customer totals from SDK attribution; without it, getCustomers answers [] (no customer page). */
  customers?(query: RangeQuery & { limit?: number }): CustomerTotals[] | Promise<CustomerTotals[]>;
  /** Serving generated demo data: every page shows a "Demo data" marker. */
  demo?: boolean;
  now?: () => number;
  /** A provider whose last success is older than this is "stale" (default: 3 poll intervals, at least an hour). */
  staleAfterMs?: number;
}

/** Where a browser downloads an export: the export route of core/export/route.ts, same origin. */
export const EXPORT_PATH = '/api/v1/export';

const iso = (sec: number | null | undefined): string | null => (sec == null ? null : new Date(sec * 1000).toISOString());

/** The window of a RangeQuery; throws TimeRangeError with a one-line reason. */
function rangeWindow(query: RangeQuery, nowMs: number): TimeWindow {
  return parseTimeWindow(query.from ?? null, query.to ?? null, nowMs);
}

function withoutKeychain(credentials: readonly ProviderCredential[]): ProviderKeyInfo[] {
  return PROVIDER_IDS.map((provider) => {
    const credential = credentials.find((c) => c.provider === provider);
    return credential
      ? { provider, configured: true, source: credential.source, fingerprint: keyFingerprint(credential.key), validatedAt: null, problem: null, keychainLocked: false }
      : { provider, configured: false, source: null, fingerprint: null, validatedAt: null, problem: null, keychainLocked: false };
  });
}

/** The worst state, for the tray icon: over budget, then failing, warning, stale, ok; empty when nothing is connected. */
export function overallState(providers: readonly ProviderStatus[], budgets: readonly BudgetStatus[], staleBeforeIso: string): Overview['state'] {
  const connected = providers.filter((p) => p.configured);
  if (connected.length === 0) return 'empty';
  if (budgets.some((b) => b.level === 'over')) return 'over';
  if (connected.some((p) => p.lastError !== null)) return 'error';
  if (budgets.some((b) => b.level === 'warn' || b.forecastToExceed)) return 'warn';
  if (connected.some((p) => p.backfillProgress === null && (p.lastSuccessAt === null || p.lastSuccessAt < staleBeforeIso))) return 'stale';
  return 'ok';
}

/** Builds the API over the core's database and modules. */
export function createApiService(deps: ApiServiceDeps): LlmeterApi {
  const now = deps.now ?? Date.now;

  /**
   * Spend per provider in the UTC day, ISO week or month containing `nowMs`, read through `reader`
   * as the budgets and the period-spend family read it, so the overview shows their numbers and a
   * period is read once for all of them.
   */
  const periodSpend = (reader: PeriodSpendReader, name: BudgetPeriod, nowMs: number): Map<ProviderId, SpendNano> => spendMap(reader.byProvider(periodBounds(name, nowMs)));

  const keyInfos = async (): Promise<ProviderKeyInfo[]> => (deps.secretStore ? listProviderKeys(deps.secretStore, deps.keys) : withoutKeychain(deps.credentials()));

  const providerStatuses = async (nowMs: number, reader: PeriodSpendReader = createPeriodSpendReader(deps.db)): Promise<ProviderStatus[]> => {
    const infos = new Map((await keyInfos()).map((info) => [info.provider, info]));
    const states = new Map<ProviderId, SyncState>(listSyncStates(deps.db).map((s) => [s.provider, s]));
    const today = periodSpend(reader, 'day', nowMs);
    const month = periodSpend(reader, 'month', nowMs);
    return PROVIDER_IDS.map((provider) => {
      const info = infos.get(provider);
      const state = states.get(provider);
      // Demo data has no key behind it, yet its providers are "connected" for the pages to show them.
      const configured = deps.demo ? state !== undefined : (info?.configured ?? false);
      const lastError = state?.lastError ?? (info?.problem && !configured ? info.problem : null);
      return {
        provider,
        displayName: PROVIDERS[provider].displayName,
        configured,
        keySource: info?.source ?? null,
        keyFingerprint: info?.fingerprint ?? null,
        validatedAt: info?.validatedAt ?? null,
        lastPollAt: iso(state?.lastAttemptAt),
        lastSuccessAt: iso(state?.lastSuccessAt),
        dataAsOf: iso(state?.latestBucketEnd),
        lastError,
        lastErrorKind: state?.lastError ? state.lastErrorKind : lastError ? 'keychain_unavailable' : null,
        // The first poll fetches the whole backfill in one go; its share is not known until it ends.
        // Measured while the first fetch runs; 0 (indeterminate) for a new key whose first poll has not started.
        backfillProgress: deps.backfillProgress?.(provider) ?? (configured && !deps.demo && !state?.lastSuccessAt && !state?.lastError ? 0 : null),
        balance:
          state?.balanceCreditsNano != null && state.balanceUsedNano != null
            ? { creditsUsd: formatNanoAsDecimal(state.balanceCreditsNano), usedUsd: formatNanoAsDecimal(state.balanceUsedNano) }
            : null,
        today: toSpendAmount(today.get(provider) ?? ZERO_SPEND),
        monthToDate: toSpendAmount(month.get(provider) ?? ZERO_SPEND),
        keyUrl: PROVIDERS[provider].keyUrl,
        keyName: PROVIDERS[provider].keyName,
      };
    });
  };

  const staleAfterMs = (): number => deps.staleAfterMs ?? Math.max(3 * deps.settings.get().pollIntervalMinutes * 60_000, 3_600_000);

  /** After a key change: use the new keys, and fetch with them in the background. */
  const keysChanged = async (): Promise<void> => {
    await deps.reloadCredentials();
    void deps.pollNow();
  };

  const noKeychain = (provider: ProviderId): KeyCheckResult => ({
    ok: false,
    provider,
    errorKind: 'keychain_unavailable',
    message: `No OS keychain is available to this LLMeter, so keys cannot be stored from here. Set ${PROVIDERS[provider].keyEnv} in the environment instead (it is never written anywhere).`,
  });

  return {
    async getOverview() {
      const nowMs = now();
      const reader = createPeriodSpendReader(deps.db);
      const period = (name: BudgetPeriod): SpendNano => totalSpend(periodSpend(reader, name, nowMs));
      const providers = await providerStatuses(nowMs, reader);
      const budgets = listBudgets(deps.db, nowMs, reader);
      return {
        generatedAt: new Date(nowMs).toISOString(),
        demo: deps.demo === true,
        today: toSpendAmount(period('day')),
        week: toSpendAmount(period('week')),
        month: toSpendAmount(period('month')),
        providers,
        budgets,
        state: overallState(providers, budgets, new Date(nowMs - staleAfterMs()).toISOString()),
      };
    },

    async getSpendSeries(query) {
      const nowMs = now();
      const window = rangeWindow(query, nowMs);
      const fromSec = window.fromSec ?? earliestBucket(deps.db, query.providers) ?? parseTimeBound('from', 'now/d-29d', nowMs, false);
      const toSec = window.toSec ?? Math.floor(nowMs / 1000);
      return querySpendSeries(deps.db, { fromSec, toSec: Math.max(toSec, fromSec + 1) }, { granularity: query.granularity, groupBy: query.groupBy, ...(query.providers ? { providers: query.providers } : {}), ...(query.top !== undefined ? { top: query.top } : {}) });
    },

    async getTopModels(query) {
      const window = rangeWindow(query, now());
      const wanted = query.providers && query.providers.length > 0 ? new Set(query.providers) : null;
      return querySeriesTotals(deps.db, window)
        .filter((series) => !wanted || wanted.has(series.provider))
        .sort((a, b) => (a.costNano === b.costNano ? b.inputTokens + b.outputTokens - (a.inputTokens + a.outputTokens) : a.costNano > b.costNano ? -1 : 1))
        .map(
          (series): ModelTotals => ({
            provider: series.provider,
            model: series.model,
            cost: toSpendAmount(series),
            requests: series.requests,
            inputTokens: series.inputTokens,
            cachedInputTokens: series.cachedInputTokens,
            cacheWriteTokens: series.cacheWriteTokens,
            outputTokens: series.outputTokens,
          }),
        );
    },

    async getCustomers(query) {
      // Validated here so that a bad range is reported the same way with or without attribution.
      rangeWindow(query, now());
      return deps.customers ? deps.customers(query) : [];
    },

    async listProviders() {
      return providerStatuses(now());
    },

    async setProviderKey({ provider, key }) {
      if (!deps.secretStore) return noKeychain(provider);
      const result = await setProviderKey(deps.secretStore, provider, key, deps.keys);
      if (result.ok) await keysChanged();
      return result;
    },

    async testProviderKey({ provider }) {
      // Without a keychain only an environment key can be configured; testProviderKey reads the
      // store only through resolveProviderKey, which takes null for "no keychain".
      return testProviderKey(deps.secretStore as SecretStore, provider, deps.keys);
    },

    async deleteProviderKey({ provider }) {
      if (!deps.secretStore) return { deleted: false };
      const result = await deleteProviderKey(deps.secretStore, provider, deps.keys);
      await keysChanged();
      return result;
    },

    async pollNow(): Promise<PollSummary> {
      await deps.pollNow();
      const states = new Map(listSyncStates(deps.db).map((s) => [s.provider, s]));
      return {
        outcomes: deps.credentials().map(({ provider }) => {
          const state = states.get(provider);
          if (state?.lastError) return { provider, ok: false, message: state.lastError };
          const asOf = iso(state?.latestBucketEnd);
          return { provider, ok: true, message: asOf ? `up to date; billing data as of ${asOf.slice(0, 16).replace('T', ' ')} UTC` : 'up to date; no usage reported yet' };
        }),
      };
    },

    async listBudgets() {
      return listBudgets(deps.db, now());
    },

    async createBudget(input) {
      const status = createBudget(deps.db, input, now());
      deps.evaluateBudgets?.();
      return status;
    },

    async updateBudget(request) {
      const status = updateBudget(deps.db, request, now());
      deps.evaluateBudgets?.();
      return status;
    },

    async deleteBudget(request) {
      return deleteBudget(deps.db, request);
    },

    async listAlerts(request) {
      // Only the AlertRecord part: delivery bookkeeping stays in the core.
      return listAlerts(deps.db, request ?? {}).map(({ id, budgetId, budgetName, kind, threshold, periodStart, firedAt, spentUsd, amountUsd, forecastUsd, estimatedUsd }) => ({
        id,
        budgetId,
        budgetName,
        kind,
        threshold,
        periodStart,
        firedAt,
        spentUsd,
        amountUsd,
        forecastUsd,
        estimatedUsd,
      }));
    },

    async getSettings() {
      return deps.settings.get();
    },

    async updateSettings(patch) {
      return deps.settings.update(patch);
    },

    async exportData(request) {
      if (deps.exportData) return deps.exportData(request);
      // Checked now, so a bad range is reported here rather than as a failed download.
      resolveExportQuery(request, now());
      const params = new URLSearchParams({ format: request.format, granularity: request.granularity });
      if (request.from) params.set('from', request.from);
      if (request.to) params.set('to', request.to);
      for (const provider of request.providers ?? []) params.append('provider', provider);
      for (const model of request.models ?? []) params.append('model', model);
      return { saved: false, downloadUrl: `${EXPORT_PATH}?${params.toString()}` };
    },
  };
}
