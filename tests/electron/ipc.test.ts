/**
 * The typed IPC end to end through the fake Electron: the preload's `window.llmeter` invokes
 * channels that main's handlers answer after the sender check and the payload check.
 */
import { pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { registerSecret, type Logger } from '../../core/log.js';
import { API_METHODS, type ApiMethod, type LlmeterApi } from '../../shared/api.js';
import { API_CHANNELS, EVENT_CHANNELS, type LlmeterBridge } from '../../shared/ipc.js';
import { contextBridge, FakeWebContents, FakeWebFrameMain, ipcMain, ipcRenderer, resetFakeElectron } from './fake-electron.js';

vi.mock('electron', () => import('./fake-electron.js'));

const { registerApiHandlers, UntrustedSenderError } = await import('../../electron/main/ipc.js');
const { createSenderCheck } = await import('../../electron/main/security.js');

const rendererUrl = pathToFileURL('/app/dist/renderer/index.html').href;
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** An API whose every method records its request and answers `{method, request}`, or what `answers` says. */
function recordingApi(answers: Partial<Record<ApiMethod, (request: unknown) => Promise<unknown>>> = {}) {
  const calls: Array<{ method: ApiMethod; request: unknown }> = [];
  const api = Object.fromEntries(
    API_METHODS.map((method) => [
      method,
      async (request?: unknown) => {
        calls.push({ method, request });
        return answers[method] ? answers[method](request) : { method, request };
      },
    ]),
  ) as unknown as LlmeterApi;
  return { api, calls };
}

let ownWindow: FakeWebContents;

function register(api: LlmeterApi): void {
  registerApiHandlers(api, { isTrustedSender: createSenderCheck({ rendererUrl, serverOrigin: () => null }, (c) => c === (ownWindow as unknown as Electron.WebContents)), log: silent });
}

const fromOwnPage = () => ({ contents: ownWindow, frame: new FakeWebFrameMain(`${rendererUrl}?window=popover`) });

beforeEach(() => {
  resetFakeElectron();
  ownWindow = new FakeWebContents();
});

describe('main-process handlers', () => {
  it('register one llmeter:<method> channel per API method', () => {
    register(recordingApi().api);
    expect([...ipcMain.handlers.keys()].sort()).toEqual(API_METHODS.map((m) => `llmeter:${m}`).sort());
    expect(Object.values(API_CHANNELS).sort()).toEqual([...ipcMain.handlers.keys()].sort());
  });

  it('answer our page with the API’s value', async () => {
    const { api, calls } = recordingApi();
    register(api);
    const reply = await ipcMain.invoke(API_CHANNELS.getTopModels, fromOwnPage(), { from: 'now-7d', providers: ['openai'] });
    expect(reply).toEqual({ ok: true, value: { method: 'getTopModels', request: { from: 'now-7d', providers: ['openai'] } } });
    expect(calls).toHaveLength(1);
  });

  it.each([
    ['a foreign window', () => ({ contents: new FakeWebContents(), frame: new FakeWebFrameMain(rendererUrl) })],
    ['an iframe of our page', () => ({ contents: ownWindow, frame: new FakeWebFrameMain('https://evil.example/', new FakeWebFrameMain(rendererUrl)) })],
    ['our window after navigating elsewhere', () => ({ contents: ownWindow, frame: new FakeWebFrameMain('https://evil.example/') })],
    ['a destroyed frame', () => ({ contents: ownWindow, frame: null })],
  ])('refuse %s without calling the API', async (_why, sender) => {
    const { api, calls } = recordingApi();
    register(api);
    await expect(ipcMain.invoke(API_CHANNELS.listProviders, sender())).rejects.toBeInstanceOf(UntrustedSenderError);
    await expect(ipcMain.invoke(API_CHANNELS.setProviderKey, sender(), { provider: 'openai', key: 'sk-admin-123456789' })).rejects.toThrow('not part of LLMeter');
    expect(calls).toEqual([]);
  });

  it.each([
    ['getOverview', { extra: 1 }, 'request'],
    ['setProviderKey', { provider: 'openai' }, 'key'],
    ['setProviderKey', { provider: 'azure', key: 'sk-admin-1234' }, 'provider'],
    ['createBudget', { scope: { kind: 'all' }, period: 'year', amountUsd: '10', thresholds: [50] }, 'period'],
    ['createBudget', { scope: { kind: 'all' }, period: 'month', amountUsd: '1e9', thresholds: [50] }, 'amountUsd'],
    ['deleteBudget', { id: -1 }, 'id'],
    ['getSpendSeries', { granularity: 'minute', groupBy: 'provider' }, 'granularity'],
    ['getSpendSeries', { granularity: 'day', groupBy: 'model', top: 0 }, 'top'],
    ['exportData', { format: 'xlsx', granularity: 'day' }, 'format'],
    ['updateSettings', { pollIntervalMinutes: 0 }, 'pollIntervalMinutes'],
    ['updateSettings', { shell: '/bin/sh' }, 'shell'],
    ['listAlerts', 'all of them', 'request'],
  ] as const)('refuse a malformed %s payload (%j) with a reason naming %s', async (method, payload, field) => {
    const { api, calls } = recordingApi();
    register(api);
    const reply = (await ipcMain.invoke(API_CHANNELS[method], fromOwnPage(), payload)) as { ok: boolean; error: string };
    expect(reply.ok).toBe(false);
    expect(reply.error).toContain(method);
    expect(reply.error).toContain(field);
    expect(calls).toEqual([]);
  });

  it('never echo a rejected key', async () => {
    register(recordingApi().api);
    const key = `sk-admin-${'x'.repeat(2000)}`;
    const reply = (await ipcMain.invoke(API_CHANNELS.setProviderKey, fromOwnPage(), { provider: 'openai', key, note: 'hi' })) as { ok: boolean; error: string };
    expect(reply.ok).toBe(false);
    expect(reply.error).not.toContain('xxxxxxxx');
  });

  it('turn an API error into its message, with secrets redacted', async () => {
    registerSecret('sk-admin-SECRETSECRETSECRET');
    register(recordingApi({ testProviderKey: async () => Promise.reject(new Error('OpenAI rejected sk-admin-SECRETSECRETSECRET: check the key')) }).api);
    const reply = await ipcMain.invoke(API_CHANNELS.testProviderKey, fromOwnPage(), { provider: 'openai' });
    expect(reply).toEqual({ ok: false, error: 'OpenAI rejected [redacted]: check the key' });
  });

  it('can be removed again', () => {
    const unregister = registerApiHandlers(recordingApi().api, { isTrustedSender: () => true, log: silent });
    unregister();
    expect(ipcMain.handlers.size).toBe(0);
  });
});

describe('the preload bridge', () => {
  async function loadBridge(api: LlmeterApi): Promise<LlmeterBridge> {
    register(api);
    ipcRenderer.sender = fromOwnPage();
    vi.resetModules();
    await import('../../electron/preload/index.js');
    return contextBridge.exposed.llmeter as LlmeterBridge;
  }

  it('exposes one object, window.llmeter, with the API methods and on() only', async () => {
    const bridge = await loadBridge(recordingApi().api);
    expect(Object.keys(contextBridge.exposed)).toEqual(['llmeter']);
    expect(Object.keys(bridge).sort()).toEqual([...API_METHODS, 'on'].sort());
    for (const value of Object.values(bridge)) expect(typeof value).toBe('function');
  });

  it('calls main and resolves with the value', async () => {
    const { api, calls } = recordingApi({ getOverview: async () => ({ state: 'ok' }) });
    const bridge = await loadBridge(api);
    await expect(bridge.getOverview()).resolves.toEqual({ state: 'ok' });
    await expect(bridge.deleteBudget({ id: 3 })).resolves.toEqual({ method: 'deleteBudget', request: { id: 3 } });
    expect(calls.map((c) => c.method)).toEqual(['getOverview', 'deleteBudget']);
  });

  it('rejects with the app’s message, not Electron’s wrapper', async () => {
    const bridge = await loadBridge(recordingApi({ pollNow: async () => Promise.reject(new Error('Anthropic is unreachable; try again later')) }).api);
    await expect(bridge.pollNow()).rejects.toThrow(/^Anthropic is unreachable; try again later$/);
    await expect(bridge.deleteBudget({ id: 0 })).rejects.toThrow('malformed deleteBudget request');
  });

  it('delivers pushed events as their payload only, until unsubscribed', async () => {
    const bridge = await loadBridge(recordingApi().api);
    const received: unknown[] = [];
    const unsubscribe = bridge.on('showBudget', (payload) => received.push(payload));
    ipcRenderer.emit(EVENT_CHANNELS.showBudget, { sender: 'the IpcRendererEvent' }, { budgetId: 7 });
    ipcRenderer.emit(EVENT_CHANNELS.dataChanged, {}, { at: 'now' });
    unsubscribe();
    ipcRenderer.emit(EVENT_CHANNELS.showBudget, {}, { budgetId: 8 });
    expect(received).toEqual([{ budgetId: 7 }]);
    expect(ipcRenderer.listenerCount(EVENT_CHANNELS.showBudget)).toBe(0);
  });

  it('refuses to subscribe to a channel that is not an event', async () => {
    const bridge = await loadBridge(recordingApi().api);
    expect(() => bridge.on('llmeter:setProviderKey' as never, () => undefined)).toThrow('no event');
    expect(ipcRenderer.eventNames()).toEqual([]);
  });
});
