/**
 * The SDK client against a loopback stand-in for the app's ingest route: batching by size and by
 * interval, retries with the same event ids on 429/5xx, no retry on a refusal, a bounded queue that
 * keeps the newest events while the app is down and delivers them once it is back, and track() that
 * never throws.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LLMeter, type LLMeterOptions, type WireEvent } from '../../sdk/index.js';
import { until } from '../support/wait.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  events: WireEvent[];
}

/** How the stand-in answers the next requests; 'down' drops the connection without an answer. */
type Answer = { status: number; body?: string; retryAfter?: string } | 'down';

let server: Server;
let url: string;
let received: Received[];
let answers: Answer[];
let whenEmpty: Answer;

beforeEach(async () => {
  received = [];
  answers = [];
  whenEmpty = { status: 200 };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = answers.shift() ?? whenEmpty;
      if (answer === 'down') {
        req.socket.destroy();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body, events: (JSON.parse(body) as { events: WireEvent[] }).events });
      res.writeHead(answer.status, { 'Content-Type': 'application/json', ...(answer.retryAfter ? { 'Retry-After': answer.retryAfter } : {}) });
      res.end(answer.body ?? JSON.stringify({ received: 0, inserted: 0, duplicates: 0 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/ingest`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  vi.unstubAllEnvs();
});

const client = (options: LLMeterOptions = {}): LLMeter => new LLMeter({ apiKey: 'ingest-token', baseUrl: url, flushInterval: 0, silent: true, ...options });
const event = (n: number, extra: object = {}) => ({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 100 + n, outputTokens: n, customerId: `c${n}`, ...extra });
const id = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;


describe('LLMeter client', () => {
  it('sends a full batch at once, in the background, and the rest on flush()', async () => {
    const llmeter = client({ batchSize: 3 });
    for (let n = 1; n <= 7; n++) llmeter.track(event(n));
    // track() only queued: nothing was sent on the caller's stack.
    expect(received).toHaveLength(0);
    await until(() => received.length === 2, 3_000, 'two full batches');
    expect(received.map((r) => r.events.length)).toEqual([3, 3]);
    expect(llmeter.stats().queued).toBe(1);
    await llmeter.flush();
    expect(received.flatMap((r) => r.events.map((e) => e.customerId))).toEqual(['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7']);
    expect(received[0]!.headers.authorization).toBe('Bearer ingest-token');
    expect(received[0]!.headers['content-type']).toBe('application/json');
    expect(llmeter.stats()).toEqual({ queued: 0, sent: 7, dropped: 0, rejected: 0, invalid: 0 });
  });

  it('sends what is queued every flushInterval', async () => {
    const llmeter = client({ flushInterval: 20 });
    llmeter.track(event(1));
    await until(() => received.length === 1, 3_000, 'the interval send');
    expect(received[0]!.events[0]).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 101, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 1, status: 200, customerId: 'c1' });
    await llmeter.shutdown();
  });

  it('retries 429 and 5xx with the very same batch, so the app can recognise the events', async () => {
    answers = [{ status: 429, retryAfter: '0' }, { status: 503 }, { status: 200 }];
    const llmeter = client({ maxRetries: 3 });
    llmeter.track(event(1));
    llmeter.track(event(2));
    await llmeter.flush();
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    const uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(received[0]!.events.map((e) => e.id)).toEqual([expect.stringMatching(uuidV7), expect.stringMatching(uuidV7)]);
    expect(llmeter.stats()).toMatchObject({ sent: 2, queued: 0 });
  });

  it('does not retry a refused batch: it is counted and explained', async () => {
    const warnings: string[] = [];
    answers = [{ status: 401, body: 'Missing or wrong bearer token' }, { status: 400, body: 'Invalid batch: events[0].model: must not be empty' }];
    const llmeter = new LLMeter({ apiKey: 'wrong', baseUrl: url, flushInterval: 0, batchSize: 1, onWarning: (m) => warnings.push(m) });
    llmeter.track(event(1));
    llmeter.track(event(2));
    await llmeter.flush();
    expect(received).toHaveLength(2);
    expect(llmeter.stats()).toMatchObject({ sent: 0, rejected: 2, queued: 0 });
    expect(warnings[0]).toMatch(/401.*npx llmeter token/);
    expect(warnings[1]).toContain('events[0].model');
  });

  it('keeps the newest events while the app is down, and delivers them once it is back', async () => {
    const warnings: string[] = [];
    whenEmpty = 'down';
    const llmeter = new LLMeter({ apiKey: 'ingest-token', baseUrl: url, flushInterval: 0, maxRetries: 1, maxQueueSize: 3, onWarning: (m) => warnings.push(m) });
    for (let n = 1; n <= 5; n++) llmeter.track(event(n, { id: id(n) }));
    await llmeter.flush();
    expect(llmeter.stats()).toEqual({ queued: 3, sent: 0, dropped: 2, rejected: 0, invalid: 0 });
    expect(warnings.some((w) => w.includes('the oldest are being dropped'))).toBe(true);
    expect(warnings.some((w) => w.includes('stay queued'))).toBe(true);

    whenEmpty = { status: 200 };
    await llmeter.flush();
    expect(received.flatMap((r) => r.events.map((e) => e.id))).toEqual([id(3), id(4), id(5)]);
    expect(llmeter.stats()).toEqual({ queued: 0, sent: 3, dropped: 2, rejected: 0, invalid: 0 });
  });

  it('track() never throws: an invalid event is counted and skipped', async () => {
    const warnings: string[] = [];
    const llmeter = new LLMeter({ apiKey: 'ingest-token', baseUrl: url, flushInterval: 0, onWarning: (m) => warnings.push(m) });
    const bad = [
      null,
      { provider: 'openai' },
      event(1, { inputTokens: -5 }),
      event(1, { inputTokens: 10, cachedInputTokens: 20 }),
      event(1, { id: 'not-a-uuid' }),
      event(1, { customerId: 'x'.repeat(300) }),
      event(1, { timestamp: 'yesterday-ish' }),
      event(1, { status: 1000 }),
    ];
    for (const e of bad) expect(() => llmeter.track(e as never)).not.toThrow();
    llmeter.track(event(2, { customerId: 42, feature: ' search ', timestamp: new Date('2026-11-01T10:00:00Z') }));
    await llmeter.shutdown();
    expect(llmeter.stats()).toMatchObject({ invalid: bad.length, sent: 1 });
    expect(received[0]!.events[0]).toMatchObject({ customerId: '42', feature: 'search', timestamp: '2026-11-01T10:00:00.000Z' });
    expect(warnings.some((w) => w.includes('cachedInputTokens plus cacheWriteTokens'))).toBe(true);
  });

  it('reads LLMETER_API_KEY and LLMETER_INGEST_URL, and without a token records nothing', async () => {
    vi.stubEnv('LLMETER_API_KEY', 'from-the-environment');
    vi.stubEnv('LLMETER_INGEST_URL', url);
    const llmeter = new LLMeter({ flushInterval: 0, silent: true });
    llmeter.track(event(1));
    await llmeter.shutdown();
    expect(received[0]!.headers.authorization).toBe('Bearer from-the-environment');

    vi.stubEnv('LLMETER_API_KEY', '');
    const warnings: string[] = [];
    const keyless = new LLMeter({ flushInterval: 0, onWarning: (m) => warnings.push(m) });
    keyless.track(event(2));
    await keyless.shutdown();
    expect(received).toHaveLength(1);
    expect(warnings[0]).toContain('LLMETER_API_KEY');
  });

  it('after shutdown(), events are ignored rather than queued forever', async () => {
    const llmeter = client();
    llmeter.track(event(1));
    await llmeter.shutdown();
    llmeter.track(event(2));
    await llmeter.flush();
    expect(received.flatMap((r) => r.events.map((e) => e.customerId))).toEqual(['c1']);
    expect(llmeter.stats().queued).toBe(0);
  });
});
