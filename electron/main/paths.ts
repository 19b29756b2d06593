/**
 * Where the desktop app's files are, relative to the app folder (`app.getAppPath()`: the project
 * folder under `npm start`, the app.asar of a packaged app).
 */
import path from 'node:path';
import type { TrayState } from './tray.js';

export interface AppPaths {
  /** The bundled, sandbox-ready preload (scripts/build.mjs). */
  preload: string;
  /** The dashboard's index.html (Vite build). */
  rendererFile: string;
  /** The tray icon of a state: a template image on macOS (black and alpha, tinted by the OS), ICO on Windows, PNG on Linux. */
  trayIcon(state: TrayState): string;
}

/** The paths under `appRoot` for `platform`. */
export function appPaths(appRoot: string, platform: NodeJS.Platform): AppPaths {
  const trayFolder = path.join(appRoot, 'build', 'tray');
  return {
    preload: path.join(appRoot, 'dist', 'electron', 'preload', 'preload.cjs'),
    rendererFile: path.join(appRoot, 'dist', 'renderer', 'index.html'),
    trayIcon(state) {
      if (platform === 'darwin') return path.join(trayFolder, `tray-${state}Template.png`);
      if (platform === 'win32') return path.join(trayFolder, `tray-${state}.ico`);
      return path.join(trayFolder, `tray-${state}.png`);
    },
  };
}

/**
 * better-sqlite3's addon compiled for Electron's ABI (node_modules keeps the Node build the tests
 * and the CLI use): in a packaged app electron-builder puts it in the resources folder; under
 * `npm start`, scripts/electron-native.mjs builds it into build/native/electron/.
 */
export function electronSqliteAddon(location: { isPackaged: boolean; resourcesPath: string; appRoot: string }): string {
  return location.isPackaged ? path.join(location.resourcesPath, 'native', 'better_sqlite3.node') : path.join(location.appRoot, 'build', 'native', 'electron', 'better_sqlite3.node');
}
