/**
 * Hostile HTTP against the whole server as `startCore` builds it, route by route: oversized query
 * strings and bodies, malformed JSON, cross-origin "simple" requests a page on another site can
 * send with the user's cookie (no CORS grant, no state change), and slow clients (headers sent
 * byte by byte, bodies that trickle or stall) cut off by the header and request timeouts.
 * Complements tests/unit/http-server.test.ts (tokens, Host guard, 404/405) and
 * tests/integration/ui-api.test.ts (CSRF on one route each).
 */
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCore, type CoreApp } from '../../core/app.js';
import { resolveConfig } from '../../core/config.js';
import { DEFAULT_SERVER_TIMEOUTS, sendJson, startHttpServer, type RunningServer } from '../../core/http/server.js';
import { silentLogger } from '../../core/log.js';
import { API_METHODS } from '../../shared/api.js';
import { startLlmeter } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { INGEST_TOKEN, llmeterEnv, METRICS_TOKEN, sdkEvents, UI_TOKEN } from './support.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(port: number, pathAndQuery: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: pathAndQuery, method: options.method ?? 'GET', headers: { Host: `127.0.0.1:${port}`, ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    // The server may answer 413 and close before the whole body is sent.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    req.end(options.body);
  });
}

/** Every route the core serves, with the token it takes. */
function everyRoute(): Array<{ method: 'GET' | 'POST'; path: string; auth: Record<string, string> }> {
  const metrics = { Authorization: `Bearer ${METRICS_TOKEN}` };
  const ui = { Authorization: `Bearer ${UI_TOKEN}` };
  return [
    { method: 'GET', path: '/api/v1/metrics', auth: metrics },
    { method: 'GET', path: '/metrics', auth: metrics },
    { method: 'GET', path: '/api/v1/health', auth: {} },
    { method: 'GET', path: '/api/v1/alerts', auth: metrics },
    { method: 'GET', path: '/api/v1/export', auth: ui },
    { method: 'GET', path: '/', auth: {} },
    { method: 'POST', path: '/api/v1/ingest', auth: { Authorization: `Bearer ${INGEST_TOKEN}` } },
    ...API_METHODS.map((method) => ({ method: 'POST' as const, path: `/api/v1/ui/${method}`, auth: ui })),
  ];
}

describe('hostile requests on every route of the core', () => {
  const dataDir = tempDir('llmeter-hostile-', 'suite');
  let core: CoreApp;
  const cookie = (): Record<string, string> => ({ Cookie: `llmeter_ui_${core.server.port}=${UI_TOKEN}` });

  /** Everything a request could have changed: budgets, settings, SDK events, keys, polls. */
  function state(): string {
    const db = core.db;
    return JSON.stringify({
      budgets: db.prepare('SELECT * FROM budgets').all(),
      events: db.prepare('SELECT COUNT(*) FROM sdk_events').pluck().get(),
      usage: db.prepare('SELECT COUNT(*) FROM usage').pluck().get(),
      sync: db.prepare('SELECT * FROM sync_state').all(),
      credentials: core.credentials(),
    });
  }

  beforeAll(async () => {
    const env = llmeterEnv(dataDir, null);
    core = await startCore({ config: resolveConfig(env, { port: 0, dataDir }), env, log: silentLogger, secretStore: null, dashboard: { rendererDir: tempDir('llmeter-hostile-renderer-', 'suite') } });
  });
  afterAll(async () => core?.close());

  it('a query string past 4096 characters gets 414 on every route, before anything runs', async () => {
    const before = state();
    for (const route of everyRoute()) {
      const res = await call(core.server.port, `${route.path}?from=${'9'.repeat(5000)}`, { method: route.method, headers: { ...route.auth, 'Content-Type': 'application/json' }, body: route.path.endsWith('createBudget') ? '{"scope":{"kind":"all"},"period":"month","amountUsd":"1","thresholds":[50]}' : '' });
      expect(res.status, route.path).toBe(414);
      expect(res.body.trim().split('\n'), route.path).toHaveLength(1);
    }
    expect(state()).toBe(before);
  });

  it('a body past the route’s limit gets 413 on every POST route and stores nothing', async () => {
    const before = state();
    // 64 KiB for the dashboard API, 2 MiB for an ingest batch: one byte past the larger fails both.
    const big = Buffer.alloc(2 * 1024 * 1024 + 1, 0x20);
    for (const route of everyRoute().filter((r) => r.method === 'POST')) {
      const res = await call(core.server.port, route.path, { method: 'POST', headers: { ...route.auth, 'Content-Type': 'application/json' }, body: big });
      expect(res.status, route.path).toBe(413);
      expect(res.body, route.path).toMatch(/^Body larger than \d+ bytes\n$/);
    }
    expect(state()).toBe(before);
  });

  it('malformed JSON gets 400 with a one-line reason on ingest and on every UI method, and stores nothing', async () => {
    const before = state();
    const broken = ['{"events": [', '{', 'nul', '{"events": [{"id": "\u0000"}]', '\uFEFF{}x', '[1,2,'];
    for (const route of everyRoute().filter((r) => r.method === 'POST')) {
      for (const body of broken) {
        const res = await call(core.server.port, route.path, { method: 'POST', headers: { ...route.auth, 'Content-Type': 'application/json' }, body });
        expect(res.status, `${route.path} ${JSON.stringify(body)}`).toBe(400);
        expect(res.body.trim().split('\n'), route.path).toHaveLength(1);
        expect(res.body, route.path).toMatch(/not (valid )?JSON/);
      }
    }
    expect(state()).toBe(before);
  });

  it('cross-origin simple requests carrying the cookie change nothing and are granted no CORS', async () => {
    const before = state();
    const payloads: Record<string, string> = {
      createBudget: '{"scope":{"kind":"all"},"period":"month","amountUsd":"1","thresholds":[50]}',
      updateSettings: '{"pollIntervalMinutes":1,"alerts":{"muted":true,"webhookUrl":"http://evil.example/hook"}}',
      setProviderKey: '{"provider":"openai","key":"sk-admin-evil"}',
      deleteProviderKey: '{"provider":"openai"}',
      deleteBudget: '{"id":1}',
    };
    const settingsBefore = JSON.stringify(await core.api.getSettings());
    // What a form or fetch(no-cors) on another site can send without a preflight.
    const simpleTypes = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'];
    for (const route of everyRoute().filter((r) => r.method === 'POST')) {
      const method = route.path.split('/').pop()!;
      for (const contentType of simpleTypes) {
        for (const site of [{ Origin: 'http://evil.example' }, { 'Sec-Fetch-Site': 'cross-site' }, {}] as Array<Record<string, string>>) {
          const res = await call(core.server.port, route.path, { method: 'POST', headers: { ...cookie(), ...site, 'Content-Type': contentType }, body: payloads[method] ?? JSON.stringify({ events: sdkEvents(1, { startSec: 1_700_000_000 }) }) });
          expect(res.status, `${route.path} ${contentType} ${JSON.stringify(site)}`).toBeGreaterThanOrEqual(400);
          expect(res.headers['access-control-allow-origin'], route.path).toBeUndefined();
        }
      }
      // A JSON body needs a preflight; the preflight is never granted.
      const preflight = await call(core.server.port, route.path, { method: 'OPTIONS', headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' } });
      expect(preflight.status, route.path).toBeGreaterThanOrEqual(400);
      expect(Object.keys(preflight.headers).filter((h) => h.startsWith('access-control-')), route.path).toEqual([]);
    }
    for (const route of everyRoute().filter((r) => r.method === 'GET')) {
      const res = await call(core.server.port, route.path, { headers: { ...cookie(), Origin: 'http://evil.example' } });
      expect(res.headers['access-control-allow-origin'], route.path).toBeUndefined();
    }
    expect(state()).toBe(before);
    expect(JSON.stringify(await core.api.getSettings())).toBe(settingsBefore);
  });
});

/** Opens a raw connection and resolves when the server closes it, with what it sent and how long it took. */
function slowClient(port: number, feed: (socket: Socket) => void): Promise<{ reply: string; afterMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1', () => feed(socket));
    let reply = '';
    socket.on('data', (d) => (reply += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ reply, afterMs: Date.now() - started }));
  });
}

/** Writes `text` one byte every `intervalMs` until the socket closes. */
function trickle(socket: Socket, text: string, intervalMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(text[i++ % text.length]!);
  }, intervalMs);
  socket.on('close', () => clearInterval(timer));
}

describe('slow clients', () => {
  const timeouts = { headersMs: 1000, requestMs: 2000 };
  let server: RunningServer;
  beforeAll(async () => {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      tokens: { metrics: METRICS_TOKEN, ingest: INGEST_TOKEN, ui: UI_TOKEN },
      log: silentLogger,
      timeouts,
      routes: [{ method: 'POST', path: '/api/v1/ingest', auth: 'ingest', handle: async ({ res, readBody }) => sendJson(res, 200, { bytes: (await readBody()).length }) }],
    });
  });
  afterAll(async () => server?.close());
  const head = (port: number, length: number): string => `POST /api/v1/ingest HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${INGEST_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

  it('headers sent byte by byte are cut off with 408 at the header timeout', async () => {
    const { reply, afterMs } = await slowClient(server.port, (socket) => trickle(socket, head(server.port, 10), 50));
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(afterMs).toBeGreaterThanOrEqual(timeouts.headersMs - 50);
    expect(afterMs).toBeLessThan(timeouts.headersMs + 1500);
  });

  it('a body that stalls, and one that trickles, are cut off at the request timeout; others are still served', async () => {
    const stalled = slowClient(server.port, (socket) => socket.write(`${head(server.port, 1000)}{"events":`));
    const trickling = slowClient(server.port, (socket) => {
      socket.write(head(server.port, 100_000));
      trickle(socket, '{"events":[]}', 20);
    });
    for (const { reply, afterMs } of await Promise.all([stalled, trickling])) {
      expect(reply).toMatch(/^HTTP\/1\.1 408/);
      expect(afterMs).toBeGreaterThanOrEqual(timeouts.requestMs - 50);
      expect(afterMs).toBeLessThan(timeouts.requestMs + 1500);
    }
    const ok = await call(server.port, '/api/v1/ingest', { method: 'POST', headers: { Authorization: `Bearer ${INGEST_TOKEN}` }, body: '{}' });
    expect(ok.body).toBe('{"bytes":2}');
  });

  it('the production server (`llmeter serve`) cuts a byte-by-byte header client off within 3 s of its 10 s limit (Node alone checks every 30 s)', async () => {
    const dataDir = tempDir('llmeter-slowloris-');
    const serve = await startLlmeter(['serve', '--port', '0'], llmeterEnv(dataDir, null));
    try {
      const port = Number(new URL(serve.url).port);
      const { reply, afterMs } = await slowClient(port, (socket) => trickle(socket, `GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Padding: ${'a'.repeat(1000)}`, 100));
      expect(reply).toMatch(/^HTTP\/1\.1 408/);
      expect(afterMs).toBeGreaterThanOrEqual(DEFAULT_SERVER_TIMEOUTS.headersMs - 100);
      expect(afterMs).toBeLessThan(DEFAULT_SERVER_TIMEOUTS.headersMs + 3000);
    } finally {
      await serve.stop();
    }
  }, 30_000);
});
