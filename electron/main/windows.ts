/**
 * The app's two windows: the frameless popover that opens at the tray icon (the glance), and the
 * normal, resizable dashboard window. Both load the same renderer page with the same hardened
 * webPreferences; the popover's URL carries `?window=popover` so the page can show its compact view.
 */
import { app, BrowserWindow, screen, type BrowserWindowConstructorOptions, type Rectangle, type WebContents } from 'electron';
import type { Logger } from '../../core/log.js';
import type { ApiEvents } from '../../shared/api.js';
import { EVENT_CHANNELS, type ApiEventName } from '../../shared/ipc.js';

export const POPOVER_SIZE = { width: 380, height: 560 } as const;
/** Gap between the tray icon and the popover, and the popover's minimum distance to screen edges. */
const EDGE_GAP = 6;
/**
 * A blur this soon after show() is ignored: Windows sends a spurious blur right after showing a
 * frameless window, and on macOS a click on the tray icon blurs the popover just before the click
 * handler would toggle it open again.
 */
export const BLUR_GRACE_MS = 300;

/**
 * True when the app runs as a native Wayland client. Wayland does not let a client place its own
 * windows, so the popover cannot be put at the tray icon there.
 */
export function isWaylandSession(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, ozonePlatformSwitch: string): boolean {
  if (platform !== 'linux' || ozonePlatformSwitch === 'x11') return false;
  return ozonePlatformSwitch === 'wayland' || env.XDG_SESSION_TYPE === 'wayland' || Boolean(env.WAYLAND_DISPLAY);
}

/**
 * Where the popover goes: centred on the anchor (the tray icon), below it when the icon is in the
 * upper half of the screen (macOS menu bar, top panels), above it otherwise (Windows taskbar), then
 * clamped into the work area so that no part of it is off screen or under a taskbar.
 */
export function popoverPosition(anchor: Rectangle, size: { width: number; height: number }, workArea: Rectangle): { x: number; y: number } {
  const anchorInLowerHalf = anchor.y + anchor.height / 2 > workArea.y + workArea.height / 2;
  const x = Math.round(anchor.x + anchor.width / 2 - size.width / 2);
  const y = anchorInLowerHalf ? anchor.y - size.height - EDGE_GAP : anchor.y + anchor.height + EDGE_GAP;
  const clamp = (value: number, min: number, max: number): number => Math.max(min, Math.min(value, Math.max(min, max)));
  return {
    x: clamp(x, workArea.x + EDGE_GAP, workArea.x + workArea.width - size.width - EDGE_GAP),
    y: clamp(y, workArea.y + EDGE_GAP, workArea.y + workArea.height - size.height - EDGE_GAP),
  };
}

/**
 * Every window of the app is made here, so that each gets the same webPreferences: the page has no
 * Node, runs sandboxed in an isolated world and keeps the same-origin policy (Electron's security
 * checklist, stated explicitly even where it is Electron's default, for reviewers and for
 * electronegativity, which reads this literal).
 */
function createHardenedWindow(options: Omit<BrowserWindowConstructorOptions, 'webPreferences'>, preload: string): BrowserWindow {
  return new BrowserWindow({
    ...options,
    webPreferences: {
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
      // A middle click must not open a window either (new windows are denied in security.ts).
      disableBlinkFeatures: 'Auxclick',
      preload,
    },
  });
}

/** The two windows and what the rest of main does with them. */
export interface WindowManager {
  /** Creates the (hidden) popover ahead of time so that the first click shows it at once. */
  preparePopover(): void;
  /** Shows the popover at the tray icon, or hides it when it is showing. */
  togglePopover(trayBounds: Rectangle | null): void;
  showPopover(trayBounds: Rectangle | null): void;
  hidePopover(): void;
  /** Opens (or brings to the front) the dashboard window. */
  openDashboard(): BrowserWindow;
  /** Opens the dashboard and sends it `event` once its page is ready to receive it. */
  openDashboardWith<E extends ApiEventName>(event: E, payload: ApiEvents[E]): void;
  /** Pushes `event` to every open window. */
  broadcast<E extends ApiEventName>(event: E, payload: ApiEvents[E]): void;
  /** True for the web contents of a window this manager created (the IPC sender check). */
  isOwnWebContents(contents: WebContents): boolean;
  /** The popover or dashboard when it has the focus (the parent of a dialog it asked for). */
  focusedWindow(): BrowserWindow | null;
}

export interface WindowOptions {
  preloadPath: string;
  /** Absolute path of the renderer's index.html. */
  rendererFile: string;
  /** True on native Wayland, where windows cannot be placed (see isWaylandSession). */
  wayland: boolean;
  log: Logger;
  now?: () => number;
}

/** Creates the window manager. Windows are created on first use; closing the popover only hides it. */
export function createWindowManager(options: WindowOptions): WindowManager {
  const now = options.now ?? Date.now;
  let popover: BrowserWindow | null = null;
  let dashboard: BrowserWindow | null = null;
  let shownAt = Number.NEGATIVE_INFINITY;
  let hiddenByBlurAt = Number.NEGATIVE_INFINITY;
  let warnedAboutWayland = false;
  let quitting = false;
  app.on('before-quit', () => {
    quitting = true;
  });

  const alive = (window: BrowserWindow | null): window is BrowserWindow => window !== null && !window.isDestroyed();

  const createPopover = (): BrowserWindow => {
    const window = createHardenedWindow(
      {
        ...POPOVER_SIZE,
        show: false,
        frame: false,
        resizable: false,
        movable: false,
        minimizable: false,
        maximizable: false,
        fullscreenable: false,
        skipTaskbar: true,
        alwaysOnTop: true,
        title: 'LLMeter',
      },
      options.preloadPath,
    );
    window.on('blur', () => {
      if (now() - shownAt < BLUR_GRACE_MS) return;
      hiddenByBlurAt = now();
      window.hide();
    });
    // Closing the popover (Alt+F4, Cmd+W) hides it; it is destroyed only when the app quits.
    window.on('close', (event) => {
      if (quitting) return;
      event.preventDefault();
      window.hide();
    });
    window.webContents.on('before-input-event', (event, input) => {
      if (input.type !== 'keyDown' || input.key !== 'Escape') return;
      event.preventDefault();
      window.hide();
    });
    void window.loadFile(options.rendererFile, { query: { window: 'popover' } });
    return window;
  };

  const anchorFor = (trayBounds: Rectangle | null): Rectangle | null => {
    if (trayBounds && trayBounds.width > 0 && trayBounds.height > 0) return trayBounds;
    // Linux trays (StatusNotifierItem) report no bounds: open near the pointer, unless Wayland
    // hides the pointer position from us too.
    if (options.wayland) return null;
    const cursor = screen.getCursorScreenPoint();
    return { x: cursor.x, y: cursor.y, width: 0, height: 0 };
  };

  const place = (window: BrowserWindow, trayBounds: Rectangle | null): void => {
    const anchor = anchorFor(trayBounds);
    if (anchor === null) {
      if (!warnedAboutWayland) {
        warnedAboutWayland = true;
        options.log.warn('Wayland does not let an app place its windows, so the LLMeter summary opens in the middle of the screen. Start LLMeter with --ozone-platform=x11 to have it open at the tray icon.');
      }
      window.center();
      return;
    }
    const { workArea } = screen.getDisplayNearestPoint({ x: Math.round(anchor.x + anchor.width / 2), y: Math.round(anchor.y + anchor.height / 2) });
    const { x, y } = popoverPosition(anchor, POPOVER_SIZE, workArea);
    window.setPosition(x, y, false);
  };

  const manager: WindowManager = {
    preparePopover() {
      if (!alive(popover)) popover = createPopover();
    },
    togglePopover(trayBounds) {
      if (alive(popover) && popover.isVisible()) {
        manager.hidePopover();
        return;
      }
      // The click that blurred the popover must not reopen it.
      if (now() - hiddenByBlurAt < BLUR_GRACE_MS) return;
      manager.showPopover(trayBounds);
    },
    showPopover(trayBounds) {
      manager.preparePopover();
      const window = popover as BrowserWindow;
      place(window, trayBounds);
      shownAt = now();
      window.show();
      window.focus();
    },
    hidePopover() {
      if (alive(popover)) popover.hide();
    },
    openDashboard() {
      if (alive(dashboard)) {
        if (dashboard.isMinimized()) dashboard.restore();
        dashboard.show();
        dashboard.focus();
        return dashboard;
      }
      const window = createHardenedWindow({ width: 1120, height: 780, minWidth: 720, minHeight: 480, show: false, title: 'LLMeter', autoHideMenuBar: true }, options.preloadPath);
      window.once('ready-to-show', () => {
        window.show();
        window.focus();
      });
      window.on('closed', () => {
        if (dashboard === window) dashboard = null;
      });
      void window.loadFile(options.rendererFile);
      dashboard = window;
      return window;
    },
    openDashboardWith(event, payload) {
      const window = manager.openDashboard();
      const send = (): void => window.webContents.send(EVENT_CHANNELS[event], payload);
      if (window.webContents.isLoading()) window.webContents.once('did-finish-load', send);
      else send();
    },
    broadcast(event, payload) {
      for (const window of [popover, dashboard]) {
        if (alive(window)) window.webContents.send(EVENT_CHANNELS[event], payload);
      }
    },
    isOwnWebContents(contents) {
      return [popover, dashboard].some((window) => alive(window) && window.webContents === contents);
    },
    focusedWindow() {
      return [dashboard, popover].find((window): window is BrowserWindow => alive(window) && window.isFocused()) ?? null;
    },
  };
  return manager;
}
