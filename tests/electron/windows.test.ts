/**
 * The popover (frameless, at the tray icon, hidden on blur and Escape, Wayland fallback) and the
 * dashboard window, against the fake Electron.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../core/log.js';
import { app, BrowserWindow, FakeBrowserWindow, FakeEvent, FakeWebContents, resetFakeElectron, screen } from './fake-electron.js';

vi.mock('electron', () => import('./fake-electron.js'));

const { BLUR_GRACE_MS, createWindowManager, isWaylandSession, POPOVER_SIZE, popoverPosition } = await import('../../electron/main/windows.js');

/** Electron's security checklist, every item stated, for both windows. */
const HARDENED_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  experimentalFeatures: false,
  webviewTag: false,
  navigateOnDragDrop: false,
  safeDialogs: true,
  spellcheck: false,
  disableBlinkFeatures: 'Auxclick',
  preload: '/app/dist/electron/preload/preload.cjs',
};

const WORK_AREA_MAC = { x: 0, y: 25, width: 1440, height: 875 };
const WORK_AREA_WIN = { x: 0, y: 0, width: 1920, height: 1040 };

describe('popoverPosition', () => {
  it('opens below a menu-bar icon, centred on it, clear of the menu bar', () => {
    // The work area starts under the 25 px menu bar; the popover keeps its 6 px gap from it.
    expect(popoverPosition({ x: 1000, y: 0, width: 22, height: 24 }, POPOVER_SIZE, WORK_AREA_MAC)).toEqual({ x: 1000 + 11 - 190, y: 25 + 6 });
    expect(popoverPosition({ x: 1000, y: 40, width: 22, height: 24 }, POPOVER_SIZE, { x: 0, y: 0, width: 1440, height: 900 })).toEqual({ x: 821, y: 40 + 24 + 6 });
  });

  it('opens above a taskbar icon at the bottom', () => {
    expect(popoverPosition({ x: 1500, y: 1045, width: 24, height: 30 }, POPOVER_SIZE, WORK_AREA_WIN)).toEqual({ x: 1512 - 190, y: 1040 - 560 - 6 });
  });

  it('stays inside the work area near the right edge', () => {
    expect(popoverPosition({ x: 1900, y: 1045, width: 20, height: 30 }, POPOVER_SIZE, WORK_AREA_WIN).x).toBe(1920 - 380 - 6);
  });

  it('stays inside the work area with the taskbar on the left', () => {
    const workArea = { x: 60, y: 0, width: 1860, height: 1080 };
    expect(popoverPosition({ x: 10, y: 1000, width: 40, height: 40 }, POPOVER_SIZE, workArea)).toEqual({ x: 66, y: 1000 - 560 - 6 });
  });
});

describe('isWaylandSession', () => {
  it.each([
    [{ XDG_SESSION_TYPE: 'wayland' }, 'linux', '', true],
    [{ WAYLAND_DISPLAY: 'wayland-0' }, 'linux', '', true],
    [{}, 'linux', 'wayland', true],
    [{ XDG_SESSION_TYPE: 'wayland' }, 'linux', 'x11', false],
    [{ XDG_SESSION_TYPE: 'x11' }, 'linux', '', false],
    [{ WAYLAND_DISPLAY: 'wayland-0' }, 'darwin', '', false],
  ] as const)('%j on %s with --ozone-platform=%s → %s', (env, platform, ozone, expected) => {
    expect(isWaylandSession(env, platform, ozone)).toBe(expected);
  });
});

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (message) => void warnings.push(message), error() {} };
}

let clock = 0;
function manager(wayland = false) {
  const log = recordingLogger();
  const windows = createWindowManager({ preloadPath: '/app/dist/electron/preload/preload.cjs', rendererFile: '/app/dist/renderer/index.html', wayland, log, now: () => clock });
  return { windows, log };
}

beforeEach(() => {
  resetFakeElectron();
  clock = 1_000_000;
});

describe('the popover', () => {
  it('is a frameless, hidden, hardened window loading the compact view', () => {
    const { windows } = manager();
    windows.preparePopover();
    const popover = FakeBrowserWindow.instances[0]!;
    expect(popover.options).toMatchObject({ frame: false, show: false, resizable: false, skipTaskbar: true, ...POPOVER_SIZE });
    expect(popover.options.webPreferences).toEqual(HARDENED_PREFERENCES);
    expect(popover.loaded).toEqual({ file: '/app/dist/renderer/index.html', options: { query: { window: 'popover' } } });
    expect(popover.visible).toBe(false);
    windows.preparePopover();
    expect(FakeBrowserWindow.instances).toHaveLength(1);
  });

  it('shows at the tray icon, clamped into the work area of that display', () => {
    const { windows } = manager();
    screen.workArea = WORK_AREA_WIN;
    windows.showPopover({ x: 1500, y: 1045, width: 24, height: 30 });
    const popover = FakeBrowserWindow.instances[0]!;
    expect(popover.position).toEqual([1322, 474]);
    expect(screen.nearestPointAsked).toEqual([{ x: 1512, y: 1060 }]);
    expect(popover.visible && popover.focused).toBe(true);
  });

  it('ignores the blur right after showing, and hides on a later one', () => {
    const { windows } = manager();
    windows.showPopover({ x: 10, y: 0, width: 20, height: 20 });
    const popover = FakeBrowserWindow.instances[0]!;
    clock += BLUR_GRACE_MS - 1;
    popover.blur();
    expect(popover.visible).toBe(true);
    clock += 2;
    popover.blur();
    expect(popover.visible).toBe(false);
  });

  it('does not reopen on the tray click that blurred it, but on the next one', () => {
    const { windows } = manager();
    const bounds = { x: 10, y: 0, width: 20, height: 20 };
    windows.togglePopover(bounds);
    const popover = FakeBrowserWindow.instances[0]!;
    clock += 5_000;
    popover.blur();
    clock += 50;
    windows.togglePopover(bounds);
    expect(popover.visible).toBe(false);
    clock += BLUR_GRACE_MS;
    windows.togglePopover(bounds);
    expect(popover.visible).toBe(true);
    windows.togglePopover(bounds);
    expect(popover.visible).toBe(false);
  });

  it('hides on Escape and lets other keys through', () => {
    const { windows } = manager();
    windows.showPopover({ x: 10, y: 0, width: 20, height: 20 });
    const popover = FakeBrowserWindow.instances[0]!;
    const letter = new FakeEvent();
    popover.webContents.emit('before-input-event', letter, { type: 'keyDown', key: 'a' });
    expect(letter.defaultPrevented).toBe(false);
    expect(popover.visible).toBe(true);
    const escapeUp = new FakeEvent();
    popover.webContents.emit('before-input-event', escapeUp, { type: 'keyUp', key: 'Escape' });
    expect(popover.visible).toBe(true);
    const escape = new FakeEvent();
    popover.webContents.emit('before-input-event', escape, { type: 'keyDown', key: 'Escape' });
    expect(escape.defaultPrevented).toBe(true);
    expect(popover.visible).toBe(false);
  });

  it('is hidden, not destroyed, when closed; destroyed once the app quits', () => {
    const { windows } = manager();
    windows.showPopover({ x: 10, y: 0, width: 20, height: 20 });
    const popover = FakeBrowserWindow.instances[0]!;
    popover.close();
    expect(popover.destroyed).toBe(false);
    expect(popover.visible).toBe(false);
    app.emit('before-quit', new FakeEvent());
    popover.close();
    expect(popover.destroyed).toBe(true);
  });

  it('opens near the pointer where the tray has no bounds (Linux on X11)', () => {
    const { windows, log } = manager();
    screen.cursor = { x: 1700, y: 12 };
    windows.showPopover({ x: 0, y: 0, width: 0, height: 0 });
    expect(FakeBrowserWindow.instances[0]!.position).toEqual([1700 - 190, 12 + 6]);
    expect(log.warnings).toEqual([]);
  });

  it('opens centred on Wayland, where windows cannot be placed, and warns once', () => {
    const { windows, log } = manager(true);
    windows.showPopover(null);
    windows.hidePopover();
    windows.showPopover({ x: 0, y: 0, width: 0, height: 0 });
    const popover = FakeBrowserWindow.instances[0]!;
    expect(popover.centered).toBe(true);
    expect(popover.position).toEqual([0, 0]);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toContain('--ozone-platform=x11');
  });
});

describe('the dashboard window', () => {
  it('is a normal resizable window shown once ready, and reused while open', () => {
    const { windows } = manager();
    const dashboard = windows.openDashboard() as unknown as FakeBrowserWindow;
    expect(dashboard.options.frame).toBeUndefined();
    expect(dashboard.options.resizable).toBeUndefined();
    expect(dashboard.options).toMatchObject({ show: false, minWidth: 720, minHeight: 480 });
    expect(dashboard.options.webPreferences).toEqual(HARDENED_PREFERENCES);
    expect(dashboard.loaded).toEqual({ file: '/app/dist/renderer/index.html' });
    expect(dashboard.visible).toBe(false);
    dashboard.emit('ready-to-show');
    expect(dashboard.visible).toBe(true);
    dashboard.minimized = true;
    expect(windows.openDashboard()).toBe(dashboard);
    expect(dashboard.minimized).toBe(false);
    dashboard.close();
    expect(windows.openDashboard()).not.toBe(dashboard);
  });

  it('gets an event once its page has loaded', () => {
    const { windows } = manager();
    windows.openDashboardWith('showBudget', { budgetId: 4 });
    const dashboard = BrowserWindow.instances[0]!;
    expect(dashboard.webContents.sent).toEqual([]);
    dashboard.webContents.finishLoad();
    expect(dashboard.webContents.sent).toEqual([{ channel: 'llmeter:event:showBudget', args: [{ budgetId: 4 }] }]);
    windows.openDashboardWith('showBudget', { budgetId: 5 });
    expect(dashboard.webContents.sent.at(-1)).toEqual({ channel: 'llmeter:event:showBudget', args: [{ budgetId: 5 }] });
  });
});

describe('what other modules ask of the windows', () => {
  it('broadcasts events to every open window', () => {
    const { windows } = manager();
    windows.preparePopover();
    windows.openDashboard();
    windows.broadcast('dataChanged', { at: '2026-11-19T15:30:00Z' });
    for (const window of FakeBrowserWindow.instances) expect(window.webContents.sent).toEqual([{ channel: 'llmeter:event:dataChanged', args: [{ at: '2026-11-19T15:30:00Z' }] }]);
  });

  it('knows its own web contents, and only while the window lives', () => {
    const { windows } = manager();
    const dashboard = windows.openDashboard() as unknown as FakeBrowserWindow;
    const own = dashboard.webContents as unknown as Electron.WebContents;
    expect(windows.isOwnWebContents(own)).toBe(true);
    expect(windows.isOwnWebContents(new FakeWebContents() as unknown as Electron.WebContents)).toBe(false);
    dashboard.close();
    expect(windows.isOwnWebContents(own)).toBe(false);
  });

  it('names the focused window as a dialog parent', () => {
    const { windows } = manager();
    expect(windows.focusedWindow()).toBeNull();
    const dashboard = windows.openDashboard() as unknown as FakeBrowserWindow;
    dashboard.focus();
    expect(windows.focusedWindow()).toBe(dashboard);
  });
});
