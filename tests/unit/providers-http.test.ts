import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isRetryable } from '../../core/providers/errors.js';
import { parseRetryAfter } from '../../core/providers/http.js';
import { FAKE_KEYS, generateTruth } from '../fakes/providers.js';
import { expectProviderError, startProviderFakeForFile } from '../support/provider-fake.js';

const NOW = Date.UTC(2025, 7, 20, 12, 0, 0) / 1000;
const { fake, sleeps, http: client } = await startProviderFakeForFile({ truth: () => generateTruth({ days: 3, seed: 1, now: NOW }), now: NOW });
const credits = () => `${fake.baseUrl('openrouter')}/api/v1/credits`;
const auth = { authorization: `Bearer ${FAKE_KEYS.openrouter.admin}` };

describe('createHttpClient', () => {
  it('returns parsed JSON and counts requests', async () => {
    const http = client();
    await expect(http.getJson('openrouter', credits(), auth)).resolves.toMatchObject({ data: { total_credits: 500 } });
    expect(http.requestCount).toBe(1);
    expect(fake.requests[0]!.headers.accept).toBe('application/json');
  });

  it('waits what Retry-After asks on 429, in seconds or as an HTTP date, capped by maxDelayMs', async () => {
    const http = client({ maxDelayMs: 60_000 });
    fake.inject('openrouter', { status: 429, retryAfter: 1 });
    fake.inject('openrouter', { status: 503, retryAfter: new Date(Date.now() + 5_000).toUTCString() });
    fake.inject('openrouter', { status: 429, retryAfter: 3_600 });
    await http.getJson('openrouter', credits(), auth);
    expect(http.requestCount).toBe(4);
    expect(sleeps[0]).toBe(1_000);
    expect(sleeps[1]).toBeGreaterThan(3_000); // HTTP dates have whole seconds
    expect(sleeps[1]).toBeLessThanOrEqual(5_000);
    expect(sleeps[2]).toBe(60_000);
  });

  it('backs off exponentially with full jitter on 5xx, then reports a server error', async () => {
    fake.inject('openrouter', { status: 500 }, 3);
    const error = await expectProviderError(client({ maxRetries: 2, baseDelayMs: 100 }).getJson('openrouter', credits(), auth));
    expect(error).toMatchObject({ kind: 'server', status: 500 });
    expect(error.message).toContain('OpenRouter had a server error (HTTP 500)');
    expect(error.message).toContain('Tried 3 times.');
    expect(sleeps).toHaveLength(2);
    sleeps.forEach((ms, attempt) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(100 * 2 ** attempt);
    });
  });

  it('retries an HTML 502 from a proxy and then succeeds', async () => {
    fake.inject('openrouter', { status: 502, body: 'html' });
    const http = client();
    await expect(http.getJson('openrouter', credits(), auth)).resolves.toBeTruthy();
    expect(http.requestCount).toBe(2);
  });

  it.each([
    [401, 'auth'],
    [403, 'permission'],
    [400, 'bad_request'],
    [404, 'bad_request'],
  ] as const)('does not retry HTTP %i (%s)', async (status, kind) => {
    fake.inject('openrouter', { status });
    const http = client();
    const error = await expectProviderError(http.getJson('openrouter', credits(), auth));
    expect(error).toMatchObject({ kind, status, provider: 'openrouter' });
    expect(http.requestCount).toBe(1);
    expect(isRetryable(error.kind)).toBe(false);
  });

  it("quotes the provider's own message from each documented error shape, scrubbed of keys", async () => {
    const openai = await expectProviderError(client().getJson('openai', `${fake.baseUrl('openai')}/v1/organization/costs?start_time=0&limit=999`, { authorization: `Bearer ${FAKE_KEYS.openai.admin}` }));
    expect(openai.message).toContain('OpenAI said: "limit must be between 1 and 180"');
    const anthropic = await expectProviderError(client().getJson('anthropic', `${fake.baseUrl('anthropic')}/v1/organizations/cost_report?starting_at=2025-08-01T00:00:00Z`, { 'x-api-key': FAKE_KEYS.anthropic.admin }));
    expect(anthropic.message).toContain('Anthropic said: "anthropic-version: header is required"');
    const key = 'sk-admin-abcdefghijklmnopqrstuvwxyz123456';
    const echoed = await expectProviderError(client().getJson('openai', `${fake.baseUrl('openai')}/v1/organization/costs?start_time=0`, { authorization: `Bearer ${key}` }));
    expect(echoed.message).toContain('Incorrect API key provided: sk-…. You can find');
    expect(echoed.message).not.toMatch(/abcdefghi|3456/);
  });

  it('removes any header value from a message even when it does not look like a key', async () => {
    const secret = 'plain-secret-value-42';
    const echo = createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `bad token ${secret}` } }));
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const error = await expectProviderError(client().getJson('openai', `http://127.0.0.1:${(echo.address() as AddressInfo).port}/`, { authorization: secret }));
    echo.close();
    expect(error.message).toContain('OpenAI said: "bad token [redacted]"');
  });

  it('reports an HTML page and truncated JSON as malformed, naming status and content type but not the body', async () => {
    fake.inject('openrouter', { body: 'html' });
    const html = await expectProviderError(client().getJson('openrouter', credits(), auth));
    expect(html).toMatchObject({ kind: 'malformed', status: 200 });
    expect(html.message).toContain('(HTTP 200)');
    expect(html.message).toContain('content-type text/html');
    expect(html.message).not.toContain('<');

    fake.inject('openrouter', { body: 'truncated' });
    const truncated = await expectProviderError(client().getJson('openrouter', credits(), auth));
    expect(truncated.kind).toBe('malformed');
    expect(truncated.message).toContain('content-type application/json');
    expect(truncated.message).not.toContain('total_credits');
  });

  it('stops reading a huge body at maxBytes instead of buffering it', async () => {
    fake.inject('openrouter', { hugeBody: 2 * 1024 ** 3 });
    const started = Date.now();
    const error = await expectProviderError(client({ maxBytes: 256 * 1024 }).getJson('openrouter', credits(), auth));
    expect(error.kind).toBe('too_large');
    expect(error.message).toContain('262144 bytes');
    expect(Date.now() - started).toBeLessThan(2_000); // 2 GiB would take far longer
  });

  it('times out a slow answer, and retries it', async () => {
    fake.inject('openrouter', { delayMs: 300 }, 2);
    const error = await expectProviderError(client({ timeoutMs: 50, maxRetries: 1 }).getJson('openrouter', credits(), auth));
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain('OpenRouter did not answer in time');
    expect(sleeps).toHaveLength(1);

    fake.inject('openrouter', { delayMs: 300 });
    await expect(client({ timeoutMs: 100, maxRetries: 1 }).getJson('openrouter', credits(), auth)).resolves.toBeTruthy();
  });

  it('reports a closed port as unreachable after retrying', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const http = client({ maxRetries: 2 });
    const error = await expectProviderError(http.getJson('anthropic', `http://127.0.0.1:${port}/v1/organizations/cost_report`, {}));
    expect(error.kind).toBe('unreachable');
    expect(error.message).toContain('Could not reach Anthropic. (ECONNREFUSED)');
    expect(error.message).toContain('LLMETER_ANTHROPIC_BASE_URL');
    expect(http.requestCount).toBe(3);
  });

  it('refuses to follow a redirect, which would carry the key to another origin', async () => {
    const redirect: typeof fetch = async () => new Response(null, { status: 302, headers: { location: 'https://elsewhere.example/' } });
    const error = await expectProviderError(client({ fetch: redirect }).getJson('anthropic', 'https://api.anthropic.com/v1/x', {}));
    expect(error.kind).toBe('bad_request');
    expect(error.message).toContain('LLMeter does not follow redirects');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and ignores junk', () => {
    expect(parseRetryAfter('7')).toBe(7_000);
    expect(parseRetryAfter('Wed, 20 Aug 2025 12:00:30 GMT', Date.UTC(2025, 7, 20, 12, 0, 0))).toBe(30_000);
    expect(parseRetryAfter('Wed, 20 Aug 2025 11:00:00 GMT', Date.UTC(2025, 7, 20, 12, 0, 0))).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
