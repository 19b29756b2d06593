/**
 * The tray app's life: one instance, alive with no window, no dock icon on macOS, launch at login
 * (the OS API on macOS and Windows, an XDG autostart file on Linux), refresh on wake.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../support/temp.js';
import { app, FakeEvent, powerMonitor, resetFakeElectron } from './fake-electron.js';

vi.mock('electron', () => import('./fake-electron.js'));

const { APP_ID, applyLaunchAtLogin, claimSingleInstance, hideDockIcon, keepRunningWithoutWindows, linuxAutostartFile, refreshOnWake } = await import('../../electron/main/lifecycle.js');

beforeEach(() => resetFakeElectron());

describe('single instance', () => {
  it('a second launch is told to leave, and the first one shows itself', () => {
    const show = vi.fn();
    expect(claimSingleInstance(show)).toBe(true);
    app.emit('second-instance', new FakeEvent(), ['llmeter'], '/home/u', {});
    expect(show).toHaveBeenCalledOnce();
  });

  it('returns false when another instance holds the lock, and listens to nothing', () => {
    app.singleInstanceLock = false;
    const show = vi.fn();
    expect(claimSingleInstance(show)).toBe(false);
    expect(app.listenerCount('second-instance')).toBe(0);
  });

  it('the entry point quits at once when another instance runs', async () => {
    app.singleInstanceLock = false;
    vi.resetModules();
    await import('../../electron/main/index.js');
    expect(app.quitCalls).toBe(1);
    expect(app.sandboxEnabled).toBe(true);
    expect(app.appUserModelId).toBe(APP_ID);
    expect(app.listenerCount('will-quit')).toBe(0);
  });
});

describe('living in the tray', () => {
  it('does not quit when the last window closes', () => {
    keepRunningWithoutWindows();
    expect(app.listenerCount('window-all-closed')).toBe(1);
    app.emit('window-all-closed');
    expect(app.quitCalls).toBe(0);
  });

  it('hides the dock icon on macOS only', () => {
    hideDockIcon('linux');
    expect(app.dock.hidden).toBe(false);
    hideDockIcon('darwin');
    expect(app.dock.hidden).toBe(true);
  });

  it('refreshes after sleep and after the screen is unlocked', () => {
    const refresh = vi.fn();
    refreshOnWake(refresh);
    powerMonitor.emit('resume');
    powerMonitor.emit('unlock-screen');
    powerMonitor.emit('suspend');
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it('uses the same id as electron-builder.yml (Windows needs them equal for notifications)', () => {
    expect(readFileSync('electron-builder.yml', 'utf8')).toMatch(new RegExp(`^appId: ${APP_ID.replace(/\./g, '\\.')}$`, 'm'));
  });
});

describe('launch at login', () => {
  it('uses the login-item API on macOS and Windows', () => {
    applyLaunchAtLogin(true, 'darwin', {});
    applyLaunchAtLogin(false, 'win32', {});
    expect(app.loginItemSettings).toEqual([{ openAtLogin: true }, { openAtLogin: false }]);
  });

  it('writes and removes an XDG autostart entry on Linux', () => {
    const config = tempDir();
    const env = { XDG_CONFIG_HOME: config };
    app.paths.home = '/home/nobody';
    app.appPath = '/work/my "app"';
    applyLaunchAtLogin(true, 'linux', env);
    const file = linuxAutostartFile(env, '/home/nobody');
    expect(file).toBe(path.join(config, 'autostart', 'llmeter.desktop'));
    const entry = readFileSync(file, 'utf8');
    expect(entry).toContain('[Desktop Entry]\nType=Application\nName=LLMeter\n');
    expect(entry).toContain(`Exec="${process.execPath}" "/work/my \\"app\\""\n`);
    expect(app.loginItemSettings).toEqual([]);
    applyLaunchAtLogin(false, 'linux', env);
    expect(existsSync(file)).toBe(false);
  });

  it('points the autostart entry at the AppImage when packaged as one', () => {
    const config = tempDir();
    app.paths.home = '/home/nobody';
    app.isPackaged = true;
    const env = { XDG_CONFIG_HOME: config, APPIMAGE: '/home/nobody/Apps/LLMeter-0.1.0.AppImage' };
    applyLaunchAtLogin(true, 'linux', env);
    expect(readFileSync(linuxAutostartFile(env, '/home/nobody'), 'utf8')).toContain('Exec="/home/nobody/Apps/LLMeter-0.1.0.AppImage"\n');
  });

  it('falls back to ~/.config without XDG_CONFIG_HOME', () => {
    expect(linuxAutostartFile({}, '/home/nobody')).toBe('/home/nobody/.config/autostart/llmeter.desktop');
  });
});
