/**
 * Entry point of the desktop app (package.json "main" → dist/electron/main/index.js).
 *
 * The core (SQLite, poller, HTTP server, API) runs here, in the main process, not in a
 * utilityProcess, because:
 * - its work is small and mostly I/O: polls are network waits on the event loop, the API answers
 *   from SQL aggregates (getOverview, the heaviest call the tray makes after each poll: 10 ms median,
 *   15 ms p95 over 90 days × 3 providers, measured under Node), and exports stream with backpressure
 *   on their own read connection. Nothing holds the main thread long enough to stutter a window.
 * - the tray, notifications and save dialogs that react to it must live in main anyway, so a
 *   utility process would add a second hop (renderer → main → utility) with its own serialization,
 *   error mapping and lifecycle to every call, and the tray's refresh after each poll with it.
 * - the same startCore() then runs headless (`llmeter serve`) and here, so one code path is tested.
 * Revisit if a measured main-thread stall appears (e.g. a synchronous query over ~50 ms).
 */
import { app, dialog } from 'electron';
import { osKeychain } from '../../core/keys/keychain.js';
import { createLogger, type LogLevel } from '../../core/log.js';
import { useNativeBinding } from '../../core/store/db.js';
import { startDesktopApp, type DesktopApp } from './app.js';
import { APP_ID, claimSingleInstance, keepRunningWithoutWindows } from './lifecycle.js';
import { electronSqliteAddon } from './paths.js';

const log = createLogger({ level: (process.env.LLMETER_LOG_LEVEL as LogLevel | undefined) ?? 'info' });
let desktop: DesktopApp | null = null;

// Every renderer sandboxed, whatever a window's options say (checklist: "Enable process sandboxing").
app.enableSandbox();
// Windows shows notifications only for an app with an AppUserModelID matching its Start-menu shortcut.
app.setAppUserModelId(APP_ID);

if (!claimSingleInstance(() => desktop?.windows.showPopover(desktop.tray.bounds()))) {
  // Another LLMeter is running: it has been told to show itself; this one leaves.
  app.quit();
} else {
  keepRunningWithoutWindows();
  app.on('will-quit', (event) => {
    if (!desktop) return;
    // Let the core stop the poller, close the server and checkpoint the database before exiting.
    const closing = desktop.close();
    desktop = null;
    event.preventDefault();
    void closing.finally(() => app.quit());
  });
  app
    .whenReady()
    .then(async () => {
      // node_modules' better-sqlite3 is built for Node (tests, CLI); Electron loads its own build.
      useNativeBinding(electronSqliteAddon({ isPackaged: app.isPackaged, resourcesPath: process.resourcesPath, appRoot: app.getAppPath() }));
      desktop = await startDesktopApp({
        env: process.env,
        platform: process.platform,
        log,
        secretStore: osKeychain(),
        appRoot: app.getAppPath(),
        ozonePlatform: app.commandLine.getSwitchValue('ozone-platform'),
      });
    })
    .catch((err: unknown) => {
      log.error('LLMeter could not start', { error: err instanceof Error ? err.stack : String(err) });
      // A tray app has no terminal: say it where the user looks (a read-only data folder, a newer database, …).
      dialog.showErrorBox('LLMeter could not start', err instanceof Error ? err.message : String(err));
      app.exit(1);
    });
}
