/**
 * The security checklist of electron/main/security.ts against the fake Electron: navigation,
 * redirects, new windows and <webview> denied; openExternal only for allowlisted https pages;
 * every permission refused; the CSP header; and the IPC sender check.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DASHBOARD_CSP } from '../../core/api/dashboard-files.js';
import type { Logger } from '../../core/log.js';
import { PROVIDERS } from '../../shared/providers.js';
import { app, FakeEvent, FakeWebContents, FakeWebFrameMain, resetFakeElectron, session, shell } from './fake-electron.js';

vi.mock('electron', () => import('./fake-electron.js'));

const { createSenderCheck, EXTERNAL_URL_ALLOWLIST, hardenWebContents, installSecurityPolicies, isAllowedExternalUrl, openExternalSafely } = await import('../../electron/main/security.js');

const RENDERER_FILE = '/opt/LLMeter/resources/app.asar/dist/renderer/index.html';
const origins = { rendererUrl: pathToFileURL(RENDERER_FILE).href, serverOrigin: (): string | null => 'http://127.0.0.1:9742' };

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (message) => void warnings.push(message), error() {} };
}

beforeEach(() => resetFakeElectron());

describe('external links', () => {
  it('allows exactly the providers’ key pages over https', () => {
    expect(EXTERNAL_URL_ALLOWLIST).toEqual(Object.values(PROVIDERS).map((p) => p.keyUrl));
    for (const url of EXTERNAL_URL_ALLOWLIST) expect(isAllowedExternalUrl(url), url).toBe(true);
    expect(isAllowedExternalUrl(`${PROVIDERS.openai.keyUrl}?tab=1#top`)).toBe(true);
  });

  it.each([
    ['http instead of https', PROVIDERS.openai.keyUrl.replace('https:', 'http:')],
    ['another page of the same host', 'https://platform.openai.com/settings/organization/billing'],
    ['a longer path that starts like an allowed one', `${PROVIDERS.openai.keyUrl}-evil`],
    ['another host', 'https://evil.example/settings/organization/admin-keys'],
    ['a look-alike host', 'https://platform.openai.com.evil.example/settings/organization/admin-keys'],
    ['credentials in the URL', 'https://user:pass@platform.openai.com/settings/organization/admin-keys'],
    ['a file URL', 'file:///etc/passwd'],
    ['a javascript URL', 'javascript:alert(1)'],
    ['a custom scheme', 'ms-settings:privacy'],
    ['not a URL', 'not a url'],
  ])('refuses %s', (_why, url) => {
    expect(isAllowedExternalUrl(url)).toBe(false);
  });

  it('opens only allowlisted URLs in the browser', async () => {
    const log = recordingLogger();
    expect(await openExternalSafely('https://evil.example/', log)).toBe(false);
    expect(await openExternalSafely(PROVIDERS.anthropic.keyUrl, log)).toBe(true);
    expect(shell.opened).toEqual([PROVIDERS.anthropic.keyUrl]);
    expect(log.warnings).toHaveLength(1);
  });
});

describe('a hardened web contents', () => {
  function hardened(): { contents: FakeWebContents; log: ReturnType<typeof recordingLogger> } {
    const contents = new FakeWebContents();
    const log = recordingLogger();
    hardenWebContents(contents as unknown as Electron.WebContents, origins, log);
    return { contents, log };
  }

  it('cancels navigation away from the app and lets the app reload itself', () => {
    const { contents, log } = hardened();
    const away = new FakeEvent({ url: 'https://evil.example/phish' });
    contents.emit('will-navigate', away);
    expect(away.defaultPrevented).toBe(true);
    const otherFile = new FakeEvent({ url: 'file:///etc/passwd' });
    contents.emit('will-navigate', otherFile);
    expect(otherFile.defaultPrevented).toBe(true);
    const ownPage = new FakeEvent({ url: `${origins.rendererUrl}?window=popover` });
    contents.emit('will-navigate', ownPage);
    expect(ownPage.defaultPrevented).toBe(false);
    const ownServer = new FakeEvent({ url: 'http://127.0.0.1:9742/' });
    contents.emit('will-navigate', ownServer);
    expect(ownServer.defaultPrevented).toBe(false);
    expect(log.warnings).toHaveLength(2);
  });

  it('cancels redirects away from the app', () => {
    const { contents } = hardened();
    const redirect = new FakeEvent({ url: 'http://127.0.0.1:9999/' });
    contents.emit('will-redirect', redirect);
    expect(redirect.defaultPrevented).toBe(true);
  });

  it('denies every new window; an allowlisted https link opens in the browser instead', async () => {
    const { contents } = hardened();
    const open = (url: string) => contents.windowOpenHandler!({ url, frameName: '', features: '', disposition: 'new-window', referrer: { url: '', policy: 'default' }, postBody: undefined } as unknown as Electron.HandlerDetails);
    expect(open('https://evil.example/')).toEqual({ action: 'deny' });
    expect(open(PROVIDERS.openrouter.keyUrl)).toEqual({ action: 'deny' });
    expect(open(origins.rendererUrl)).toEqual({ action: 'deny' });
    await vi.waitFor(() => expect(shell.opened).toEqual([PROVIDERS.openrouter.keyUrl]));
  });

  it('never attaches a <webview>', () => {
    const { contents } = hardened();
    const attach = new FakeEvent();
    contents.emit('will-attach-webview', attach, {}, {});
    expect(attach.defaultPrevented).toBe(true);
  });
});

describe('installSecurityPolicies', () => {
  it('hardens every web contents created afterwards', () => {
    installSecurityPolicies(origins, recordingLogger());
    const contents = new FakeWebContents();
    app.emit('web-contents-created', new FakeEvent(), contents);
    const away = new FakeEvent({ url: 'https://evil.example/' });
    contents.emit('will-navigate', away);
    expect(away.defaultPrevented).toBe(true);
    expect(contents.windowOpenHandler).not.toBeNull();
  });

  it('refuses every permission request and check', () => {
    installSecurityPolicies(origins, recordingLogger());
    const { permissionRequestHandler, permissionCheckHandler } = session.defaultSession;
    for (const permission of ['media', 'notifications', 'geolocation', 'clipboard-read', 'openExternal'] as const) {
      const callback = vi.fn();
      permissionRequestHandler!(new FakeWebContents() as unknown as Electron.WebContents, permission, callback, {} as Electron.PermissionRequest);
      expect(callback, permission).toHaveBeenCalledExactlyOnceWith(false);
      expect(permissionCheckHandler!(null, permission, origins.rendererUrl, {} as Electron.PermissionCheckHandlerHandlerDetails), permission).toBe(false);
    }
  });

  it('puts the dashboard CSP on every response', () => {
    installSecurityPolicies(origins, recordingLogger());
    let headers: Record<string, string | string[]> | undefined;
    session.defaultSession.headersListener!({ responseHeaders: { 'Content-Security-Policy': ["default-src *"], 'X-Other': ['1'] } } as unknown as Electron.OnHeadersReceivedListenerDetails, (response) => {
      headers = response.responseHeaders;
    });
    expect(headers).toEqual({ 'Content-Security-Policy': [DASHBOARD_CSP], 'X-Other': ['1'] });
  });

  it('the renderer page carries the same CSP in its meta tag (frame-ancestors only works as a header)', () => {
    const html = readFileSync('renderer/index.html', 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    expect(meta).toBeDefined();
    expect(`${meta}; frame-ancestors 'none'`).toBe(DASHBOARD_CSP);
  });
});

describe('the IPC sender check', () => {
  const ours = new FakeWebContents();
  const check = createSenderCheck(origins, (contents) => contents === (ours as unknown as Electron.WebContents));
  const event = (contents: FakeWebContents, frame: FakeWebFrameMain | null) => ({ sender: contents, senderFrame: frame }) as unknown as Electron.IpcMainInvokeEvent;

  it('accepts the main frame of our window showing our page (file or server)', () => {
    expect(check(event(ours, new FakeWebFrameMain(`${origins.rendererUrl}?window=popover`)))).toBe(true);
    expect(check(event(ours, new FakeWebFrameMain('http://127.0.0.1:9742/#/budgets')))).toBe(true);
  });

  it.each([
    ['a frame that is gone', () => event(ours, null)],
    ['an iframe inside our page', () => event(ours, new FakeWebFrameMain(origins.rendererUrl, new FakeWebFrameMain(origins.rendererUrl)))],
    ['a window we did not create', () => event(new FakeWebContents(), new FakeWebFrameMain(origins.rendererUrl))],
    ['our window navigated to another site', () => event(ours, new FakeWebFrameMain('https://evil.example/'))],
    ['another local file', () => event(ours, new FakeWebFrameMain('file:///tmp/evil.html'))],
    ['another port on loopback', () => event(ours, new FakeWebFrameMain('http://127.0.0.1:9743/'))],
  ])('refuses %s', (_why, make) => {
    expect(check(make())).toBe(false);
  });

  it('refuses server pages while the server is not listening', () => {
    const noServer = createSenderCheck({ ...origins, serverOrigin: () => null }, () => true);
    expect(noServer(event(ours, new FakeWebFrameMain('http://127.0.0.1:9742/')))).toBe(false);
  });
});
