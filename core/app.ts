import type { ProviderId } from '../shared/providers.js';
import type { LlmeterApi } from '../shared/api.js';
import { dashboardFiles, defaultRendererDir } from './api/dashboard-files.js';
import { createApiService, type ApiServiceDeps } from './api/service.js';
import { uiApiRoutes } from './api/ui-routes.js';
import { listBudgets } from './budgets/budgets.js';
import { createBudgetAlerter, type BudgetAlerter } from './budgets/evaluate.js';
import { headlessNotifier, type Notifier } from './budgets/notifiers.js';
import { createPeriodSpendReader } from './budgets/store.js';
import type { CoreConfig } from './config.js';
import { exportRoute } from './export/route.js';
import { alertsRoute } from './http/alerts-route.js';
import { customerDataKey, customerTotalsSource, foldCustomerRollups, pendingWritesFold, queryCustomerSeries } from './ingest/customers.js';
import { scheduleAfterIngest } from './ingest/after-batch.js';
import { ingestRoute } from './ingest/route.js';
import { syncSdkSpendWithBilling } from './ingest/store.js';
import { generateToken } from './http/auth.js';
import { healthRoute } from './http/health-route.js';
import { createMetricsEndpoint } from './http/metrics-route.js';
import { startHttpServer, type Route, type RunningServer } from './http/server.js';
import type { SecretStore } from './keys/keychain.js';
import { resolveProviderCredentials, resolveServiceToken, type ProviderCredential } from './keys/credentials.js';
import type { Logger } from './log.js';
import { queryPeriodSpend } from './metrics/period-spend.js';
import { providerSync } from './metrics/provider-sync.js';
import { querySeriesTotals } from './metrics/snapshot.js';
import { pollProvider, type PollOutcome } from './poller/poll.js';
import { startScheduler, type Scheduler } from './poller/scheduler.js';
import { createHttpClient, type HttpClient } from './providers/http.js';
import { ADAPTERS } from './providers/registry.js';
import { openSettingsStore } from './settings/store.js';
import { dataChangeToken } from './store/change-token.js';
import { createBurstCheckpointer } from './store/checkpointer.js';
import { openDatabase, type Db } from './store/db.js';
import { getSyncState, listSyncStates } from './store/sync-state.js';
import { windowSelectionKey } from './store/window-key.js';
import { VERSION } from './version.js';

/** How often and how far back to poll. */
export interface PollSettings {
  intervalMs: number;
  backfillDays: number;
  trailingDays: number;
}

export const DEFAULT_POLL_SETTINGS: PollSettings = { intervalMs: 15 * 60_000, backfillDays: 30, trailingDays: 3 };

/** What the core needs from its host (the CLI or the Electron main process). */
export interface CoreDeps {
  config: CoreConfig;
  env: NodeJS.ProcessEnv;
  log: Logger;
  secretStore: SecretStore | null;
  poll?: Partial<PollSettings>;
  http?: HttpClient;
  now?: () => number;
  /** Demo mode: generated data, no provider polled, every page marked "demo". */
  demo?: boolean;
  /**
   * Budget alert delivery. Default: a log line plus the webhook of `settings().webhookUrl`; the
   * desktop app passes its own notifier (Electron Notification, composed with the headless ones).
   * `settings` is read at every evaluation; default: the `alerts` group of the settings store.
   */
  alerts?: { notifier?: Notifier; settings?: () => { muted: boolean; webhookUrl: string } };
  /**
   * The dashboard and its typed API: where the Vite build is (default dist/renderer), the settings
   * store (default: the data folder's), and host-specific parts of the API (Electron's save dialog
   * for exports, the SDK's per-customer totals).
   */
  dashboard?: { rendererDir?: string } & Partial<Pick<ApiServiceDeps, 'settings' | 'exportData' | 'customers'>>;
}

/**
 * Polls every configured provider once, concurrently; one provider failing never stops the others.
 * `onBackfill` follows each provider's first fetch (its backfill): 0..1 while it runs, null when done.
 */
export async function pollAllProviders(
  db: Db,
  credentials: readonly ProviderCredential[],
  deps: CoreDeps,
  onBackfill?: (provider: ProviderId, fraction: number | null) => void,
): Promise<PollOutcome[]> {
  const settings = { ...DEFAULT_POLL_SETTINGS, ...deps.poll };
  return Promise.all(
    credentials.map((credential) => {
      const { provider } = credential;
      const backfilling = onBackfill !== undefined && !getSyncState(db, provider)?.lastSuccessAt;
      if (backfilling) onBackfill(provider, 0);
      // A client per provider, so that each outcome counts its own HTTP requests.
      return pollProvider(db, deps.http ?? createHttpClient(), { provider, adapter: ADAPTERS[provider], key: credential.key, baseUrl: deps.config.baseUrls[provider] }, {
        backfillDays: settings.backfillDays,
        trailingDays: settings.trailingDays,
        log: deps.log,
        ...(deps.now ? { now: deps.now } : {}),
        ...(backfilling ? { onProgress: (fraction: number) => onBackfill(provider, fraction) } : {}),
      }).finally(() => {
        if (backfilling) onBackfill(provider, null);
      });
    }),
  );
}

/** The running headless core: database, poller and HTTP server. */
export interface CoreApp {
  db: Db;
  server: RunningServer;
  tokens: { metrics: string; ingest: string; ui: string };
  /** Whether each token outlives this run (environment or keychain); when not, print it, as `llmeter token` cannot show it. */
  tokensPersistent: { metrics: boolean; ingest: boolean };
  /** URL of the dashboard with its token, as `llmeter serve` prints it. */
  dashboardUrl: string;
  credentials(): readonly ProviderCredential[];
  /** Polls now (joining a poll already under way) and resolves when it is done. */
  pollNow(): Promise<void>;
  scheduler: Scheduler;
  /** Called after every poll with its outcomes. */
  onPolled(listener: (outcomes: PollOutcome[]) => void): void;
  /** Called whenever stored data changed: after every poll and every SDK batch that stored new events. */
  onDataChanged(listener: (cause: 'poll' | 'ingest') => void): void;
  /** Budget evaluation, already run on start, after every poll and after SDK batches (at most once a second, see scheduleAfterIngest); call `evaluate()` after a budget edit. */
  budgetAlerts: BudgetAlerter;
  /** Re-reads provider keys after one was added or removed. */
  reloadCredentials(): Promise<void>;
  /** The typed API the dashboard calls (served as `POST /api/v1/ui/<method>`). */
  api: LlmeterApi;
  close(): Promise<void>;
}

/**
 * Starts the core: opens the database, resolves keys and tokens, starts the HTTP server and the
 * polling schedule. `extraRoutes` lets later layers (dashboard API, ingest, alerts) add routes.
 */
export async function startCore(deps: CoreDeps, extraRoutes: (core: Pick<CoreApp, 'db' | 'pollNow' | 'credentials' | 'budgetAlerts'>) => Route[] = () => []): Promise<CoreApp> {
  const settings = { ...DEFAULT_POLL_SETTINGS, ...deps.poll };
  const db = openDatabase(deps.config.dataDir);
  // SDK writes an earlier run stored and did not fold (it stopped first): folded before anything reads them.
  pendingWritesFold(db)?.();
  let credentials = deps.demo ? [] : await resolveProviderCredentials(deps.env, deps.secretStore, deps.log);
  const metricsToken = await resolveServiceToken('metrics', deps.env, deps.secretStore, deps.log);
  const ingestToken = await resolveServiceToken('ingest', deps.env, deps.secretStore, deps.log);
  const tokens = { metrics: metricsToken.token, ingest: ingestToken.token, ui: deps.env.LLMETER_UI_TOKEN?.trim() || generateToken() };
  const listeners: Array<(outcomes: PollOutcome[]) => void> = [];
  const dataListeners: Array<(cause: 'poll' | 'ingest') => void> = [];
  const dataChanged = (cause: 'poll' | 'ingest'): void => {
    for (const listener of dataListeners) listener(cause);
  };
  const now = deps.now ?? Date.now;
  const { rendererDir, settings: givenSettings, ...apiHost } = deps.dashboard ?? {};
  const settingsStore = givenSettings ?? openSettingsStore(deps.config.dataDir, deps.log);
  const alertSettings = deps.alerts?.settings ?? (() => settingsStore.get().alerts);
  // Counts saved settings changes, so that a scrape rendered before one is not reused after it.
  let settingsRevision = 0;
  settingsStore.onChange(() => settingsRevision++);
  const notifier = deps.alerts?.notifier ?? headlessNotifier(deps.log, () => alertSettings().webhookUrl);
  const budgetAlerts = createBudgetAlerter({ db, notifier, log: deps.log, now, settings: alertSettings });
  // SDK bursts: the database is checkpointed on another thread while they last.
  const checkpointer = createBurstCheckpointer(db, deps.log);
  const afterIngest = scheduleAfterIngest({
    db,
    evaluateBudgets: () => void budgetAlerts.evaluate(),
    // Folding changes no reported number: renderings made before it stay current.
    fold: () => metrics.unchangedBy(() => foldCustomerRollups(db)),
    log: deps.log,
  });
  listeners.push(() => {
    budgetAlerts.evaluate();
  });

  const backfill = new Map<ProviderId, number>();
  const job = async (): Promise<void> => {
    const outcomes = await pollAllProviders(db, credentials, deps, (provider, fraction) => (fraction === null ? backfill.delete(provider) : backfill.set(provider, fraction)));
    for (const listener of listeners) listener(outcomes);
    dataChanged('poll');
  };
  const scheduler = startScheduler(job, { intervalMs: settings.intervalMs, runOnStart: false });
  const core = { db, pollNow: () => scheduler.runNow(), credentials: () => credentials, budgetAlerts };
  const configured = (): ProviderId[] => credentials.map((c) => c.provider);
  // SDK spend counts only for providers without a billing key: billing is the truth for the others.
  syncSdkSpendWithBilling(db, configured());
  const reloadCredentials = async (): Promise<void> => {
    if (!deps.demo) credentials = await resolveProviderCredentials(deps.env, deps.secretStore, deps.log);
    syncSdkSpendWithBilling(db, configured());
    metrics.dataWritten();
  };
  const customerTotals = customerTotalsSource(db, now);
  const metrics = createMetricsEndpoint(
    {
      load: (window) => {
        const nowMs = now();
        // Budgets and period spend read the same day, week and month: each once (periods first, see PeriodSpendReader).
        const periodSpend = createPeriodSpendReader(db);
        const periods = queryPeriodSpend(db, nowMs, periodSpend);
        return {
          series: querySeriesTotals(db, window),
          budgets: listBudgets(db, nowMs, periodSpend),
          periods,
          // Demo data was polled by no key: report every provider it holds.
          providers: providerSync(listSyncStates(db), deps.demo ? null : configured()),
          version: VERSION,
        };
      },
      pendingWrite: () => pendingWritesFold(db),
      customers: {
        key: () => `${customerDataKey(db)}|${settingsStore.get().sdk.customerCardinalityCap}`,
        load: (window) => queryCustomerSeries(db, window, settingsStore.get().sdk.customerCardinalityCap),
      },
      version: () => `${dataChangeToken(db)}|${configured().join(',')}|${settingsRevision}`,
      windowKey: (window) => windowSelectionKey(db, window),
    },
    deps.now,
  );
  // Renders recently scraped queries again after this process's own writes, before the next scrape asks.
  dataListeners.push(() => metrics.dataWritten());
  settingsStore.onChange(() => metrics.dataWritten());
  const api = createApiService({
    ...apiHost,
    customers:
      apiHost.customers ??
      ((query) => {
        // Folded apart from the read, as a write that changes no reported number: the scrape's renderings stay current.
        const fold = pendingWritesFold(db);
        if (fold) metrics.unchangedBy(fold);
        return customerTotals(query);
      }),
    db,
    secretStore: deps.secretStore,
    keys: { env: deps.env, config: deps.config, ...(deps.now ? { now: deps.now } : {}) },
    settings: settingsStore,
    credentials: () => credentials,
    reloadCredentials,
    pollNow: () => scheduler.runNow(),
    backfillProgress: (provider) => backfill.get(provider) ?? null,
    evaluateBudgets: () => {
      budgetAlerts.evaluate();
      metrics.dataWritten();
    },
    demo: deps.demo === true,
    now,
  });

  let server: RunningServer;
  try {
    server = await startHttpServer({
      host: deps.config.host,
      port: deps.config.port,
      allowedHosts: deps.config.allowedHosts,
      tokens,
      log: deps.log,
      routes: [
        ...metrics.routes,
        healthRoute(db, configured, VERSION),
        alertsRoute(db),
        exportRoute(db, now),
        ingestRoute({
          db,
          billedProviders: configured,
          now,
          onIngested: () => {
            checkpointer.busy();
            afterIngest.request();
            dataChanged('ingest');
          },
        }),
        ...uiApiRoutes(api),
        ...extraRoutes(core),
      ],
      fallback: dashboardFiles({ rendererDir: rendererDir ?? defaultRendererDir(), uiToken: tokens.ui }),
    });
  } catch (err) {
    metrics.close();
    await scheduler.stop();
    db.close();
    throw err;
  }
  budgetAlerts.evaluate();
  // A paused app (tray menu "Pause polling", or the setting) polls only when asked to.
  if (settingsStore.get().pollingPaused) scheduler.pause();
  else if (!deps.demo) void scheduler.runNow();

  return {
    db,
    server,
    tokens,
    tokensPersistent: { metrics: metricsToken.persistent, ingest: ingestToken.persistent },
    dashboardUrl: `${server.url}/?token=${tokens.ui}`,
    credentials: () => credentials,
    pollNow: () => scheduler.runNow(),
    scheduler,
    onPolled: (listener) => listeners.push(listener),
    onDataChanged: (listener) => dataListeners.push(listener),
    budgetAlerts,
    reloadCredentials,
    api,
    async close() {
      afterIngest.cancel();
      metrics.close();
      await scheduler.stop();
      await server.close();
      await checkpointer.close();
      try {
        foldCustomerRollups(db);
      } catch (err) {
        // Left pending in the database: the next read or write folds them.
        deps.log.warn('the SDK customer totals could not be folded on close; the next start folds them', { error: err instanceof Error ? err.message : String(err) });
      }
      db.close();
    },
  };
}
