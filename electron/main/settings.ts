/**
 * The desktop app's settings: the same SettingsStore as headless mode (one schema, the same
 * migrations, the same corrupt-file handling, the same `settings.json` in the data folder), with
 * electron-store as the file underneath instead of conf.
 */
import { ipcMain } from 'electron';
import ElectronStore from 'electron-store';
import type { Logger } from '../../core/log.js';
import type { RawSettings } from '../../core/settings/migrations.js';
import { openSettingsStore, type SettingsStore } from '../../core/settings/store.js';

/**
 * electron-store answers this synchronous IPC channel, from any page and without a sender check,
 * for stores created in a renderer. Settings reach our pages over the checked API only, so the
 * channel is closed: every IPC listener in main is one of ours (ipc.ts).
 */
const ELECTRON_STORE_CHANNEL = 'electron-store-get-data';

/** Opens the settings of `dataDir` with electron-store. */
export function openDesktopSettings(dataDir: string, log: Logger): SettingsStore {
  // electron-store's types omit conf's projectVersion, but it passes it on to conf, and the
  // settings migrations are keyed by it.
  const settings = openSettingsStore(dataDir, log, { createBacking: (options) => new ElectronStore<RawSettings>(options) });
  ipcMain.removeAllListeners(ELECTRON_STORE_CHANNEL);
  return settings;
}
