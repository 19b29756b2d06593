/**
 * How the app lives as a tray app: one instance per user, no quitting when the last window
 * closes, no dock icon on macOS, launch at login, and a refresh when the machine wakes up.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { app, powerMonitor } from 'electron';

/** The app's identity: electron-builder's appId and Windows' AppUserModelID, which must match for notifications. */
export const APP_ID = 'io.llmeter.desktop';

/**
 * Takes the single-instance lock. Returns false when another LLMeter already holds it (this one
 * should quit); a later second launch calls `onSecondInstance` here instead of starting again.
 */
export function claimSingleInstance(onSecondInstance: () => void): boolean {
  if (!app.requestSingleInstanceLock()) return false;
  app.on('second-instance', () => onSecondInstance());
  return true;
}

/**
 * Keeps the app running with every window closed: the tray icon is the app. Electron quits on
 * 'window-all-closed' only when nobody listens to it.
 */
export function keepRunningWithoutWindows(): void {
  app.on('window-all-closed', () => undefined);
}

/** macOS: a tray app has no dock icon (the packaged app also sets LSUIElement; this covers `npm start`). */
export function hideDockIcon(platform: NodeJS.Platform): void {
  if (platform === 'darwin') app.dock?.hide();
}

/** Calls `refresh` when the machine wakes from sleep or the screen is unlocked: data is stale by then. */
export function refreshOnWake(refresh: () => void): void {
  powerMonitor.on('resume', refresh);
  powerMonitor.on('unlock-screen', refresh);
}

/** Where Linux desktops look for programs to start at login (XDG autostart). */
export function linuxAutostartFile(env: NodeJS.ProcessEnv, home: string): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'autostart', 'llmeter.desktop');
}

/**
 * Starts the app at login, or stops doing so. macOS and Windows have an API for it; on Linux
 * Electron has none, so the XDG autostart entry is written (pointing at the AppImage when the app
 * runs as one) or removed.
 */
export function applyLaunchAtLogin(enabled: boolean, platform: NodeJS.Platform, env: NodeJS.ProcessEnv): void {
  if (platform !== 'linux') {
    app.setLoginItemSettings({ openAtLogin: enabled });
    return;
  }
  const file = linuxAutostartFile(env, app.getPath('home'));
  if (!enabled) {
    rmSync(file, { force: true });
    return;
  }
  // Unpackaged (`npm start`), the Electron binary needs the app folder as its argument.
  const command = app.isPackaged ? [env.APPIMAGE || process.execPath] : [process.execPath, app.getAppPath()];
  const exec = command.map((part) => `"${part.replace(/(["\\`$])/g, '\\$1')}"`).join(' ');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, ['[Desktop Entry]', 'Type=Application', 'Name=LLMeter', 'Comment=What LLM APIs cost, in the tray', `Exec=${exec}`, 'X-GNOME-Autostart-enabled=true', ''].join('\n'));
}
