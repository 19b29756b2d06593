import type { ProviderId } from '../shared/providers.js';
import type { CoreConfig } from './config.js';
import { generateToken } from './http/auth.js';
import { healthRoute } from './http/health-route.js';
import { metricsRoutes } from './http/metrics-route.js';
import { startHttpServer, type Route, type RunningServer } from './http/server.js';
import type { SecretStore } from './keys/keychain.js';
import { resolveProviderCredentials, resolveServiceToken, type ProviderCredential } from './keys/credentials.js';
import type { Logger } from './log.js';
import { querySeriesTotals } from './metrics/snapshot.js';
import { pollProvider, type PollOutcome } from './poller/poll.js';
import { startScheduler, type Scheduler } from './poller/scheduler.js';
import { createHttpClient, type HttpClient } from './providers/http.js';
import { ADAPTERS } from './providers/registry.js';
import { openDatabase, type Db } from './store/db.js';
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
}

/**
 * Polls every configured provider once, concurrently; one provider failing never stops the others.
 */
export async function pollAllProviders(db: Db, credentials: readonly ProviderCredential[], deps: CoreDeps): Promise<PollOutcome[]> {
  const settings = { ...DEFAULT_POLL_SETTINGS, ...deps.poll };
  const http = deps.http ?? createHttpClient();
  return Promise.all(
    credentials.map((credential) =>
      pollProvider(db, http, { provider: credential.provider, adapter: ADAPTERS[credential.provider], key: credential.key, baseUrl: deps.config.baseUrls[credential.provider] }, {
        backfillDays: settings.backfillDays,
        trailingDays: settings.trailingDays,
        log: deps.log,
        ...(deps.now ? { now: deps.now } : {}),
      }),
    ),
  );
}

/** The running headless core: database, poller and HTTP server. */
export interface CoreApp {
  db: Db;
  server: RunningServer;
  tokens: { metrics: string; ingest: string; ui: string };
  /** URL of the dashboard with its token, as `llmeter serve` prints it. */
  dashboardUrl: string;
  credentials(): readonly ProviderCredential[];
  /** Polls now (joining a poll already under way) and resolves when it is done. */
  pollNow(): Promise<void>;
  scheduler: Scheduler;
  /** Called after every poll with its outcomes. */
  onPolled(listener: (outcomes: PollOutcome[]) => void): void;
  /** Re-reads provider keys after one was added or removed. */
  reloadCredentials(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the core: opens the database, resolves keys and tokens, starts the HTTP server and the
 * polling schedule. `extraRoutes` lets later layers (dashboard API, ingest, alerts) add routes.
 */
export async function startCore(deps: CoreDeps, extraRoutes: (core: Pick<CoreApp, 'db' | 'pollNow' | 'credentials'>) => Route[] = () => []): Promise<CoreApp> {
  const settings = { ...DEFAULT_POLL_SETTINGS, ...deps.poll };
  const db = openDatabase(deps.config.dataDir);
  let credentials = deps.demo ? [] : await resolveProviderCredentials(deps.env, deps.secretStore, deps.log);
  const metricsToken = await resolveServiceToken('metrics', deps.env, deps.secretStore, deps.log);
  const ingestToken = await resolveServiceToken('ingest', deps.env, deps.secretStore, deps.log);
  const tokens = { metrics: metricsToken.token, ingest: ingestToken.token, ui: deps.env.LLMETER_UI_TOKEN?.trim() || generateToken() };
  const listeners: Array<(outcomes: PollOutcome[]) => void> = [];
  const http = deps.http ?? createHttpClient();

  const job = async (): Promise<void> => {
    const outcomes = await pollAllProviders(db, credentials, { ...deps, http });
    for (const listener of listeners) listener(outcomes);
  };
  const scheduler = startScheduler(job, { intervalMs: settings.intervalMs, runOnStart: false });
  const core = { db, pollNow: () => scheduler.runNow(), credentials: () => credentials };
  const configured = (): ProviderId[] => credentials.map((c) => c.provider);

  let server: RunningServer;
  try {
    server = await startHttpServer({
      host: deps.config.host,
      port: deps.config.port,
      allowedHosts: deps.config.allowedHosts,
      tokens,
      log: deps.log,
      routes: [
        ...metricsRoutes((window) => ({ series: querySeriesTotals(db, window), version: VERSION }), deps.now),
        healthRoute(db, configured, VERSION),
        ...extraRoutes(core),
      ],
    });
  } catch (err) {
    await scheduler.stop();
    db.close();
    throw err;
  }
  if (!deps.demo) void scheduler.runNow();

  return {
    db,
    server,
    tokens,
    dashboardUrl: `${server.url}/?token=${tokens.ui}`,
    credentials: () => credentials,
    pollNow: () => scheduler.runNow(),
    scheduler,
    onPolled: (listener) => listeners.push(listener),
    async reloadCredentials() {
      credentials = await resolveProviderCredentials(deps.env, deps.secretStore, deps.log);
    },
    async close() {
      await scheduler.stop();
      await server.close();
      db.close();
    },
  };
}
