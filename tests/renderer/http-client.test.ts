// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest';
import { ApiCallError, createHttpApi, pickTransport } from '../../renderer/src/api/http-client.js';
import type { LlmeterBridge } from '../../shared/ipc.js';
import { API_METHODS } from '../../shared/api.js';

function recordingFetch(response: () => Response) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fetch = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    return response();
  });
  return { calls, fetch: fetch as unknown as typeof globalThis.fetch };
}

describe('the HTTP transport of the typed API', () => {
  it('posts every method as JSON to /api/v1/ui/<method>, with the cookie, and returns the JSON answer', async () => {
    const { calls, fetch } = recordingFetch(() => new Response(JSON.stringify({ ok: 1 }), { status: 200 }));
    const api = createHttpApi({ fetch });
    expect(Object.keys(api).sort()).toEqual([...API_METHODS].sort());
    expect(await api.getTopModels({ from: 'now/M', providers: ['openai'] })).toEqual({ ok: 1 });
    expect(calls[0]!.url).toBe('/api/v1/ui/getTopModels');
    expect(calls[0]!.init).toMatchObject({ method: 'POST', credentials: 'same-origin', body: '{"from":"now/M","providers":["openai"]}' });
    expect((calls[0]!.init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
    await api.getOverview();
    expect(calls[1]!.url).toBe('/api/v1/ui/getOverview');
    expect(calls[1]!.init.body).toBeUndefined();
  });

  it('turns errors into sentences: a missing token says which URL to open, others keep the server’s line', async () => {
    const unauthorized = createHttpApi({ fetch: recordingFetch(() => new Response('Missing or wrong bearer token', { status: 401 })).fetch });
    await expect(unauthorized.listProviders()).rejects.toThrow(/Open the dashboard URL that `npx llmeter serve` printed/);
    const invalid = createHttpApi({ fetch: recordingFetch(() => new Response('from=soon is not understood\n', { status: 400 })).fetch });
    const error = await invalid.getTopModels({ from: 'soon' }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ApiCallError);
    expect(error).toMatchObject({ status: 400, message: 'from=soon is not understood' });
    const down = createHttpApi({
      fetch: (async () => {
        throw new TypeError('fetch failed');
      }) as typeof globalThis.fetch,
    });
    await expect(down.getOverview()).rejects.toThrow('LLMeter is not answering');
  });

  it('uses the Electron bridge and its events when the preload exposed one, else HTTP without events', () => {
    const on = vi.fn(() => () => undefined);
    const bridge = { getOverview: vi.fn(), on } as unknown as LlmeterBridge;
    const desktop = pickTransport({ llmeter: bridge });
    expect(desktop.api).toBe(bridge);
    desktop.on!('dataChanged', () => undefined);
    expect(on).toHaveBeenCalledWith('dataChanged', expect.any(Function));
    const browser = pickTransport({});
    expect(Object.keys(browser.api)).toHaveLength(API_METHODS.length);
    expect(browser.on).toBeNull();
  });
});
