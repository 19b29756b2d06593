/**
 * Electron's security checklist (https://www.electronjs.org/docs/latest/tutorial/security), item
 * by item: every web contents is denied navigation and new windows, every permission is refused,
 * the CSP is sent as a header too, links open in the browser only when they are https and on the
 * allowlist, and IPC is answered only for the main frame of our own page in a window we created.
 * The webPreferences (context isolation, sandbox, no Node) are in windows.ts, where windows are made.
 */
import { app, session, shell, type IpcMainInvokeEvent, type Session, type WebContents } from 'electron';
import { DASHBOARD_CSP } from '../../core/api/dashboard-files.js';
import type { Logger } from '../../core/log.js';
import { PROVIDERS } from '../../shared/providers.js';

/**
 * Pages the app may open in the user's browser: where each provider's admin key is created. Any
 * other URL (another host, another path, http:, file:, custom schemes) is refused.
 */
export const EXTERNAL_URL_ALLOWLIST: readonly string[] = Object.values(PROVIDERS).map((provider) => provider.keyUrl);

/** True when `url` is https and names exactly an allowlisted page (query and fragment aside). */
export function isAllowedExternalUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'https:' || parsed.username !== '' || parsed.password !== '') return false;
  const page = `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
  return EXTERNAL_URL_ALLOWLIST.some((allowed) => allowed.replace(/\/+$/, '') === page);
}

/** Opens `url` in the user's browser if it is allowlisted; returns whether it did. */
export async function openExternalSafely(url: string, log: Logger): Promise<boolean> {
  if (!isAllowedExternalUrl(url)) {
    log.warn('refused to open a link that is not on the allowlist', { url: url.slice(0, 200) });
    return false;
  }
  await shell.openExternal(url);
  return true;
}

/** Where our own pages live: the renderer's index.html and, once it listens, our HTTP server. */
export interface AppOrigins {
  /** file:// URL of the renderer's index.html. */
  rendererUrl: string;
  /** Origin of our HTTP server (`http://127.0.0.1:9742`), or null before it listens. */
  serverOrigin(): string | null;
}

/** True when `url` is one of our pages: the renderer file itself, or anything on our server's origin. */
export function isAppUrl(url: string, origins: AppOrigins): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === 'file:') {
    const renderer = new URL(origins.rendererUrl);
    return parsed.pathname === renderer.pathname && parsed.host === renderer.host;
  }
  const server = origins.serverOrigin();
  return server !== null && parsed.origin === server;
}

/**
 * Decides whether an IPC call may be answered: it must come from the main frame (not an iframe)
 * of a window this app created, showing one of our pages. Electron checklist item 17.
 */
export function createSenderCheck(origins: AppOrigins, isOwnWebContents: (contents: WebContents) => boolean): (event: IpcMainInvokeEvent) => boolean {
  return (event) => {
    const frame = event.senderFrame;
    if (frame === null || frame.parent !== null) return false;
    if (!isOwnWebContents(event.sender)) return false;
    return isAppUrl(frame.url, origins);
  };
}

/**
 * Locks down one web contents: navigation away from our pages is cancelled, redirects too, new
 * windows are denied (an allowlisted https link opens in the browser instead) and <webview> is
 * never attached.
 */
export function hardenWebContents(contents: WebContents, origins: AppOrigins, log: Logger): void {
  contents.on('will-navigate', (event) => {
    if (isAppUrl(event.url, origins)) return;
    event.preventDefault();
    log.warn('blocked navigation away from the app', { url: event.url.slice(0, 200) });
  });
  contents.on('will-redirect', (event) => {
    if (isAppUrl(event.url, origins)) return;
    event.preventDefault();
    log.warn('blocked a redirect away from the app', { url: event.url.slice(0, 200) });
  });
  contents.setWindowOpenHandler(({ url }) => {
    void openExternalSafely(url, log);
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log.warn('blocked a <webview>');
  });
}

/** Refuses every permission (camera, notifications from the page, geolocation, …): the dashboard needs none. */
export function denyAllPermissions(target: Session): void {
  target.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  target.setPermissionCheckHandler(() => false);
}

/**
 * Puts the dashboard's CSP on every response the windows load, whatever sent it: the renderer's
 * index.html carries it as a meta tag and our server as a header, and this makes sure of it even
 * for a page that lost both.
 */
export function enforceCspHeader(target: Session): void {
  target.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [DASHBOARD_CSP] } });
  });
}

/** Installs everything above for the default session and every web contents created from now on. */
export function installSecurityPolicies(origins: AppOrigins, log: Logger): void {
  denyAllPermissions(session.defaultSession);
  enforceCspHeader(session.defaultSession);
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, origins, log));
}
