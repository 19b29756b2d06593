import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { metricsRoutes } from '../../core/http/metrics-route.js';
import { startHttpServer, type RunningServer, sendJson } from '../../core/http/server.js';
import { silentLogger } from '../../core/log.js';

const TOKENS = { metrics: 'metrics-token-123456', ingest: 'ingest-token-123456', ui: 'ui-token-123456' };
let server: RunningServer;
afterEach(async () => server?.close());

async function start(): Promise<RunningServer> {
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    tokens: TOKENS,
    log: silentLogger,
    maxBodyBytes: 1024,
    routes: [
      ...metricsRoutes({
        load: () => ({ series: [{ provider: 'openai', model: 'we"ird\\name\n', costNano: 1_500_000_000n, estimatedNano: 0n, requests: 3, inputTokens: 10, cachedInputTokens: 2, cacheWriteTokens: 0, outputTokens: 5 }], version: '9.9.9' }),
        version: () => 'fixed',
      }),
      { method: 'POST', path: '/echo', auth: 'ingest', handle: async ({ res, readBody }) => sendJson(res, 200, { bytes: (await readBody()).length }) },
      { method: 'GET', path: '/bigints', auth: 'ingest', handle: ({ res }) => sendJson(res, 200, { plain: 1.5, nano: [2n ** 70n, -5n], nested: { id: 'x', n: 0n } }) },
    ],
  });
  return server;
}

function call(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: options.method ?? 'GET', headers: { Host: `127.0.0.1:${server.port}`, ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
const auth = { Authorization: `Bearer ${TOKENS.metrics}` };

describe('HTTP server', () => {
  it('sends bigints in JSON as exact decimal strings, anywhere in the body', async () => {
    await start();
    const res = await call('/bigints', { headers: { Authorization: `Bearer ${TOKENS.ingest}` } });
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"plain":1.5,"nano":["1180591620717411303424","-5"],"nested":{"id":"x","n":"0"}}');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
  });

  it('serves metrics with the 0.0.4 content type and escaped labels', async () => {
    await start();
    const res = await call('/api/v1/metrics', { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.body).toContain('llmeter_cost_usd{provider="openai",model="we\\"ird\\\\name\\n"} 1.5');
    expect(res.body).toContain('# TYPE llmeter_requests_total counter');
    expect(res.body).toContain('llmeter_build_info{version="9.9.9"} 1');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers the alias and OpenMetrics when asked', async () => {
    await start();
    const res = await call('/metrics', { headers: { ...auth, Accept: 'application/openmetrics-text; version=1.0.0,text/plain;q=0.5' } });
    expect(res.headers['content-type']).toMatch(/^application\/openmetrics-text; version=1.0.0/);
    expect(res.body.trimEnd().endsWith('# EOF')).toBe(true);
  });

  it('requires the right bearer token', async () => {
    await start();
    expect((await call('/api/v1/metrics')).status).toBe(401);
    expect((await call('/api/v1/metrics', { headers: { Authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await call('/api/v1/metrics', { headers: { Authorization: `Bearer ${TOKENS.ingest}` } })).status).toBe(401);
    const res = await call('/api/v1/metrics', { headers: { Authorization: `Bearer ${TOKENS.metrics}x` } });
    expect(res.status).toBe(401);
    expect(res.body).toMatch(/metrics token/);
    expect(res.body).not.toContain(TOKENS.metrics);
  });

  it('rejects a foreign Host header before anything else (DNS rebinding)', async () => {
    await start();
    for (const host of ['evil.example', `evil.example:${server.port}`, '127.0.0.1:1', `127.0.0.1:${server.port}.evil.example`]) {
      const res = await call('/api/v1/metrics', { headers: { ...auth, Host: host } });
      expect(res.status, host).toBe(421);
    }
    for (const host of [`localhost:${server.port}`, `[::1]:${server.port}`, `LOCALHOST:${server.port}`]) {
      expect((await call('/api/v1/metrics', { headers: { ...auth, Host: host } })).status, host).toBe(200);
    }
  });

  it('rejects a request without a Host header', async () => {
    await start();
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.end('GET /api/v1/health HTTP/1.0\r\n\r\n'));
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(reply).toMatch(/^HTTP\/1\.[01] 421/);
  });

  it('says 400 with a one-line reason for a bad window', async () => {
    await start();
    const res = await call('/api/v1/metrics?from=tomorrow', { headers: auth });
    expect(res.status).toBe(400);
    expect(res.body.trim().split('\n')).toHaveLength(1);
    expect(res.body).toMatch(/from=tomorrow is not understood/);
  });

  it('says 404, 405, 414 and 413 where they apply', async () => {
    await start();
    expect((await call('/nope')).status).toBe(404);
    expect((await call('/api/v1/metrics', { method: 'POST', headers: auth })).status).toBe(405);
    expect((await call(`/api/v1/metrics?from=${'a'.repeat(5000)}`, { headers: auth })).status).toBe(414);
    const ingest = { Authorization: `Bearer ${TOKENS.ingest}` };
    expect((await call('/echo', { method: 'POST', headers: ingest, body: 'x'.repeat(100) })).body).toBe('{"bytes":100}');
    expect((await call('/echo', { method: 'POST', headers: ingest, body: 'x'.repeat(5000) })).status).toBe(413);
  });

  it('explains a port in use', async () => {
    await start();
    await expect(startHttpServer({ host: '127.0.0.1', port: server.port, tokens: TOKENS, log: silentLogger, routes: [] })).rejects.toThrow(/already in use/);
  });
});
