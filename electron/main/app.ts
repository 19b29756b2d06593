/**
 * The desktop app, wired: settings, the core (database, poller, HTTP server, API, budget alerts),
 * the security policies, the IPC handlers, the windows, the tray and the notifications. Each part
 * lives in its own module; this file only connects them.
 */
import { pathToFileURL } from 'node:url';
import { app, dialog, shell, type BaseWindow } from 'electron';
import { startCore, type CoreApp } from '../../core/app.js';
import { compositeNotifier, headlessNotifier } from '../../core/budgets/notifiers.js';
import { resolveConfig } from '../../core/config.js';
import type { SecretStore } from '../../core/keys/keychain.js';
import type { Logger } from '../../core/log.js';
import type { SettingsStore } from '../../core/settings/store.js';
import { API_METHODS, type ExportRequest, type LlmeterApi } from '../../shared/api.js';
import type { Settings } from '../../shared/settings.js';
import { exportWithSaveDialog } from './export-dialog.js';
import { registerApiHandlers } from './ipc.js';
import { applyLaunchAtLogin, hideDockIcon, refreshOnWake } from './lifecycle.js';
import { createDesktopNotifier, type DesktopNotifier } from './notifications.js';
import { appPaths } from './paths.js';
import { createSenderCheck, installSecurityPolicies, type AppOrigins } from './security.js';
import { openDesktopSettings } from './settings.js';
import { createTray, type TrayController } from './tray.js';
import { createWindowManager, isWaylandSession, type WindowManager } from './windows.js';

/** What the desktop app takes from its host; index.ts passes the real process's. */
export interface DesktopOptions {
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  log: Logger;
  secretStore: SecretStore | null;
  /** The app folder (`app.getAppPath()`). */
  appRoot: string;
  /** Value of the --ozone-platform switch ('' when not given), for the Wayland check. */
  ozonePlatform: string;
}

/** The running desktop app. */
export interface DesktopApp {
  /** Null when the core could not start; the tray then says why. */
  core: CoreApp | null;
  settings: SettingsStore;
  tray: TrayController;
  windows: WindowManager;
  notifier: DesktopNotifier;
  /** Stops the core (server, poller, database); the same promise however often it is called. */
  close(): Promise<void>;
}

/** An API whose every call fails with the reason the core could not start. */
function unavailableApi(reason: string): LlmeterApi {
  const fail = (): Promise<never> => Promise.reject(new Error(reason));
  return Object.fromEntries(API_METHODS.map((method) => [method, fail])) as unknown as LlmeterApi;
}

/**
 * Starts the desktop app (after `app.whenReady()`). A core that cannot start (the port is taken by
 * another LLMeter, the database is from a newer version, …) leaves the tray up in the error state
 * with the reason, rather than an app that is silently not there.
 */
export async function startDesktopApp(options: DesktopOptions): Promise<DesktopApp> {
  const { env, platform, log } = options;
  hideDockIcon(platform);
  const paths = appPaths(options.appRoot, platform);
  const settings = openDesktopSettings(resolveConfig(env).dataDir, log);
  // LLMETER_PORT wins over the settings file, as in `llmeter serve`.
  const config = resolveConfig(env, env.LLMETER_PORT ? {} : { port: settings.get().port });
  let core: CoreApp | null = null;

  const origins: AppOrigins = {
    rendererUrl: pathToFileURL(paths.rendererFile).href,
    serverOrigin: () => (core ? new URL(core.server.url).origin : null),
  };
  // Before any window exists, so that no window is ever without them.
  installSecurityPolicies(origins, log);

  const windows = createWindowManager({
    preloadPath: paths.preload,
    rendererFile: paths.rendererFile,
    wayland: isWaylandSession(env, platform, options.ozonePlatform),
    log,
  });
  const notifier = createDesktopNotifier({ showBudget: (budgetId) => windows.openDashboardWith('showBudget', { budgetId }) });
  const exportTo = (request: ExportRequest, parent: BaseWindow | null) => {
    if (!core) throw new Error('LLMeter has not started; nothing to export.');
    return exportWithSaveDialog(request, { db: core.db, defaultFolder: app.getPath('downloads'), parent });
  };

  let api: LlmeterApi;
  let startError: string | null = null;
  try {
    core = await startCore({
      config,
      env,
      log,
      secretStore: options.secretStore,
      poll: { intervalMs: settings.get().pollIntervalMinutes * 60_000, backfillDays: settings.get().backfillDays },
      // The desktop notification, plus the log line and webhook of headless mode.
      alerts: { notifier: compositeNotifier([notifier, headlessNotifier(log, () => settings.get().alerts.webhookUrl)]), settings: () => settings.get().alerts },
      dashboard: { settings, exportData: (request) => exportTo(request, windows.focusedWindow()) },
    });
    api = core.api;
  } catch (err) {
    startError = `LLMeter could not start: ${err instanceof Error ? err.message : String(err)}`;
    log.error(startError);
    api = unavailableApi(startError);
  }
  const started = core;

  registerApiHandlers(api, { isTrustedSender: createSenderCheck(origins, (contents) => windows.isOwnWebContents(contents)), log });

  const tray = createTray({
    platform,
    iconFile: paths.trayIcon,
    source: { overview: () => api.getOverview(), toggles: async () => togglesOf(settings.get()) },
    actions: {
      togglePopover: (bounds) => windows.togglePopover(bounds),
      // The tray is redrawn by onPolled when the poll ends.
      refreshNow: () => void (started ? started.pollNow() : tray.refresh()),
      openDashboard: () => void windows.openDashboard(),
      exportCsv: () => void exportFromTray(() => exportTo({ format: 'csv', granularity: 'day' }, null), log),
      setPollingPaused: (paused) => saveSetting(settings, { pollingPaused: paused }, log),
      setLaunchAtLogin: (enabled) => saveSetting(settings, { launchAtLogin: enabled }, log),
      quit: () => app.quit(),
    },
  });

  if (started) {
    started.onDataChanged(() => {
      void tray.refresh();
      windows.broadcast('dataChanged', { at: new Date().toISOString() });
    });
    applyPolling(started, settings.get().pollingPaused);
  }

  let applied = settings.get();
  applyLaunchAtLogin(applied.launchAtLogin, platform, env);
  settings.onChange((next) => {
    if (next.launchAtLogin !== applied.launchAtLogin) applyLaunchAtLogin(next.launchAtLogin, platform, env);
    if (started && next.pollingPaused !== applied.pollingPaused) applyPolling(started, next.pollingPaused);
    applied = next;
    void tray.refresh();
  });

  // Back from sleep or a locked screen the numbers are hours old: poll (unless paused) and redraw.
  refreshOnWake(() => {
    if (started && !settings.get().pollingPaused) void started.pollNow();
    else void tray.refresh();
  });

  windows.preparePopover();
  if (startError) tray.showError(startError);
  else await tray.refresh();

  let closing: Promise<void> | null = null;
  return {
    core: started,
    settings,
    tray,
    windows,
    notifier,
    close: () => (closing ??= started ? started.close() : Promise.resolve()),
  };
}

function togglesOf(settings: Settings): { pollingPaused: boolean; launchAtLogin: boolean } {
  return { pollingPaused: settings.pollingPaused, launchAtLogin: settings.launchAtLogin };
}

function applyPolling(core: CoreApp, paused: boolean): void {
  if (paused) core.scheduler.pause();
  else core.scheduler.resume();
}

function saveSetting(settings: SettingsStore, patch: Partial<Settings>, log: Logger): void {
  try {
    settings.update(patch);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.error('a setting could not be saved', { error: message });
    dialog.showErrorBox('LLMeter could not save the setting', message);
  }
}

/** "Export CSV…" in the tray menu: the file is shown in its folder once written, a failure in a dialog. */
async function exportFromTray(run: () => ReturnType<typeof exportWithSaveDialog>, log: Logger): Promise<void> {
  try {
    const result = await run();
    if (result.saved && result.path) shell.showItemInFolder(result.path);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.error('export failed', { error: message });
    dialog.showErrorBox('LLMeter could not export', message);
  }
}
