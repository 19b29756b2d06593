/**
 * The scrape cache: a rendering is reused only while the data, keys and settings are unchanged and
 * it is younger than its maximum age; every write — by this connection or another process's —
 * shows in the very next scrape; gzip is served to scrapers that ask for it and is the same text.
 * Rendering ahead: after this process's own writes, and before a rendering ages out, the queries
 * that are scraped again and again are rendered in the background, and the next scrape is served
 * from that rendering — never from one older than the data.
 */
import { request } from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { acceptsGzip, createMetricsEndpoint, metricsRoutes, RENDER_AHEAD_BURST, REFRESH_MIN_INTERVAL_MS, SCRAPE_REUSE_MS, WATCH_OTHER_WRITES_MS, type MetricsEndpoint, type ReuseTiming } from '../../core/http/metrics-route.js';
import { startHttpServer, type RunningServer } from '../../core/http/server.js';
import { customerDataKey, foldCustomerRollups, pendingWritesFold, pendingCustomerChanges, queryCustomerSeries } from '../../core/ingest/customers.js';
import { writeSdkEvents } from '../../core/ingest/store.js';
import { silentLogger } from '../../core/log.js';
import { createScrapeCache } from '../../core/metrics/scrape-cache.js';
import { querySeriesTotals } from '../../core/metrics/snapshot.js';
import { dataChangeToken } from '../../core/store/change-token.js';
import { DB_FILE, openDatabase, type Db } from '../../core/store/db.js';
import { MIGRATIONS } from '../../core/store/migrations.js';
import { windowSelectionKey } from '../../core/store/window-key.js';
import { writeProviderFetch } from '../../core/store/usage-repo.js';
import type { TimeWindow } from '../../shared/time-range.js';
import { parseSamples, sampleValue } from '../support/prom-text.js';
import { record } from '../support/records.js';
import { tempDir } from '../support/temp.js';
import { pause, until } from '../support/wait.js';

describe('createScrapeCache', () => {
  function harness(maxAgeMs = 1_000) {
    const state = { version: 'v1', now: 10_000, renders: 0 };
    const cache = createScrapeCache({ version: () => state.version, now: () => state.now, maxAgeMs, maxEntries: 3 });
    const get = (key = 'q') => cache.get(key, async () => ({ contentType: 'text/plain', text: `render ${++state.renders} of ${key}` }));
    return { state, cache, get };
  }

  it('reuses a rendering while the version is unchanged and it is younger than the maximum age', async () => {
    const { state, get } = harness();
    expect((await get()).body.toString()).toBe('render 1 of q');
    state.now += 999;
    expect((await get()).body.toString()).toBe('render 1 of q');
    state.now += 1;
    expect((await get()).body.toString()).toBe('render 2 of q');
  });

  it('renders again as soon as the version changes, and when the clock moves back', async () => {
    const { state, get } = harness();
    await get();
    state.version = 'v2';
    expect((await get()).body.toString()).toBe('render 2 of q');
    state.now -= 1;
    expect((await get()).body.toString()).toBe('render 3 of q');
  });

  it('keeps one rendering per key, drops the oldest beyond its bound, and shares one rendering between concurrent requests', async () => {
    const { state, get } = harness();
    const [a, b] = await Promise.all([get('a'), get('a')]);
    expect(a).toBe(b);
    expect(state.renders).toBe(1);
    await get('b');
    await get('c');
    expect((await get('b')).body.toString()).toBe('render 2 of b');
    await get('d'); // a is now the oldest of four: dropped
    expect((await get('a')).body.toString()).toBe('render 5 of a');
  });

  it('does not keep a failed rendering', async () => {
    const state = { fail: true, renders: 0 };
    const cache = createScrapeCache({ version: () => 'v', now: () => 0, maxAgeMs: 1_000 });
    const render = async () => {
      state.renders++;
      if (state.fail) throw new Error('database is locked');
      return { contentType: 'text/plain', text: 'ok' };
    };
    await expect(cache.get('q', render)).rejects.toThrow('database is locked');
    state.fail = false;
    expect((await cache.get('q', render)).body.toString()).toBe('ok');
    expect(state.renders).toBe(2);
  });

  it('keeps the renderings of the version read before a write that changes nothing reported, and only those', async () => {
    const { state, cache, get } = harness();
    await get('a');
    state.version = 'v0';
    await get('b');
    state.version = 'v1';
    cache.unchangedBy(() => {
      state.version = 'v2';
    });
    expect((await get('a')).body.toString()).toBe('render 1 of a');
    expect((await get('b')).body.toString()).toBe('render 3 of b');
    state.version = 'v3';
    expect((await get('a')).body.toString()).toBe('render 4 of a');
  });

  it('gzips the same text, once per rendering', async () => {
    const { get } = harness();
    const scrape = await get();
    const gzipped = await scrape.gzipped();
    expect(gunzipSync(gzipped).equals(scrape.body)).toBe(true);
    expect(await scrape.gzipped()).toBe(gzipped);
  });
});

describe('windowSelectionKey', () => {
  const HOUR = 3_600;
  const hour = Date.UTC(2026, 10, 27, 12) / 1000;
  let db: Db;
  beforeAll(() => {
    db = openDatabase(tempDir('llmeter-window-key-', 'suite'));
    writeProviderFetch(db, 'openai', [], [record({ provider: 'openai', source: 'usage', bucketStart: hour, model: 'gpt-4o' })], hour);
  });
  afterAll(() => db?.close());
  const key = (fromSec: number | null, toSec: number | null = null): string => windowSelectionKey(db, { fromSec, toSec });

  it('moves a bound to the next whole hour when no row starts in between, and keeps open and whole-hour bounds', () => {
    expect(key(hour - 1800)).toBe(key(hour - 10));
    expect(key(hour - 10)).toBe(`${hour}..`);
    expect(key(hour + 10)).toBe(`${hour + HOUR}..`);
    expect(key(hour + 10)).not.toBe(key(hour - 10));
    expect(key(null, hour + 10)).toBe(`..${hour + HOUR}`);
    expect(key(null, null)).toBe('..');
    expect(key(hour, hour + HOUR)).toBe(`${hour}..${hour + HOUR}`);
  });

  it('keeps a bound exact when a row starts between it and the next whole hour', () => {
    writeProviderFetch(db, 'openai', [], [record({ provider: 'openai', source: 'usage', bucketStart: hour + 1800, model: 'odd-bucket' })], hour);
    expect(key(hour + 10)).toBe(`${hour + 10}..`);
    expect(key(hour + 1790)).toBe(`${hour + 1790}..`);
    expect(key(hour + 1810)).toBe(`${hour + HOUR}..`);
    expect(key(null, hour + 1790)).toBe(`..${hour + 1790}`);
  });
});

describe('acceptsGzip', () => {
  it.each([
    ['gzip', true],
    ['deflate, gzip;q=1.0, *;q=0.5', true],
    ['identity, *', true],
    ['gzip;q=0', false],
    ['deflate', false],
    ['', false],
    [undefined, false],
  ])('%j → %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});

describe('a cached /api/v1/metrics over a real database', () => {
  const DAY = 86_400;
  const dir = tempDir('llmeter-scrape-cache-', 'suite');
  let db: Db;
  let other: Db;
  let server: RunningServer;
  const clock = { ms: Date.UTC(2026, 10, 27, 12) };
  const day = Math.floor(clock.ms / 1000 / DAY) * DAY - DAY;
  let loads = 0;

  beforeAll(async () => {
    db = openDatabase(dir);
    other = openDatabase(dir);
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      tokens: { metrics: 'm'.repeat(32), ingest: 'i'.repeat(32), ui: 'u'.repeat(32) },
      log: silentLogger,
      routes: metricsRoutes(
        {
          load: (window) => {
            loads++;
            return { series: querySeriesTotals(db, window), version: 'test' };
          },
          version: () => dataChangeToken(db),
          windowKey: (window) => windowSelectionKey(db, window),
        },
        () => clock.ms,
      ),
    });
  });
  afterAll(async () => {
    await server?.close();
    db?.close();
    other?.close();
  });

  function scrape(headers: Record<string, string> = {}, query = ''): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = request(`${server.url}/api/v1/metrics${query}`, { headers: { Authorization: `Bearer ${'m'.repeat(32)}`, ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve({ headers: res.headers, body: Buffer.concat(chunks) }) : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject).end();
    });
  }
  const costOf = async (model: string): Promise<number> => Number(sampleValue(parseSamples((await scrape()).body.toString('utf8')), 'llmeter_cost_usd', { provider: 'openai', model }));

  function bill(target: Db, model: string, costNano: bigint): void {
    writeProviderFetch(target, 'openai', [], [record({ provider: 'openai', source: 'cost', bucketStart: day, model, costNano })], clock.ms / 1000);
  }

  it('shows a write by its own connection in the very next scrape, and renders nothing new without one', async () => {
    bill(db, 'gpt-4o', 1_500_000_000n);
    expect(await costOf('gpt-4o')).toBe(1.5);
    const before = loads;
    expect(await costOf('gpt-4o')).toBe(1.5);
    expect(await costOf('gpt-4o')).toBe(1.5);
    expect(loads).toBe(before);
    bill(db, 'gpt-4o', 2_250_000_000n);
    expect(await costOf('gpt-4o')).toBe(2.25);
    expect(loads).toBe(before + 1);
  });

  it("shows another process's commit in the very next scrape", async () => {
    await costOf('gpt-4o');
    bill(other, 'gpt-4o-mini', 30_000_000n);
    expect(await costOf('gpt-4o-mini')).toBe(0.03);
  });

  it('renders again once the rendering is older than the reuse limit, even with no write', async () => {
    await costOf('gpt-4o');
    const before = loads;
    clock.ms += SCRAPE_REUSE_MS;
    await costOf('gpt-4o');
    expect(loads).toBe(before + 1);
  });

  it('renders again when the UTC day turns, within the reuse limit', async () => {
    clock.ms = Date.UTC(2026, 10, 27, 23, 59, 59);
    await costOf('gpt-4o');
    const before = loads;
    clock.ms += 500;
    await costOf('gpt-4o');
    expect(loads).toBe(before);
    clock.ms += 1_000; // 00:00:00.5 of the next day: today's, this week's and this month's periods turned
    await costOf('gpt-4o');
    expect(loads).toBe(before + 1);
  });

  it('keys a now-relative window by the rows it selects: reused within the hour, rendered again as now crosses a bucket start', async () => {
    const noon = Date.UTC(2026, 10, 27, 12) / 1000;
    writeProviderFetch(db, 'openai', [], [record({ provider: 'openai', source: 'usage', bucketStart: noon, model: 'gpt-hourly', costNano: 40_000_000n })], noon);
    const lastHour = async (): Promise<number> => Number(sampleValue(parseSamples((await scrape({}, '?from=now-1h')).body.toString('utf8')), 'llmeter_cost_usd', { provider: 'openai', model: 'gpt-hourly' }) ?? 0);
    clock.ms = (noon + 3600 - 30) * 1000; // 12:59:30: the window starts at 11:59:30 and holds the 12:00 bucket
    expect(await lastHour()).toBe(0.04);
    const before = loads;
    clock.ms += 20_000; // 12:59:50: another window, the same rows
    expect(await lastHour()).toBe(0.04);
    expect(loads).toBe(before);
    clock.ms += 20_000; // 13:00:10: the window starts after 12:00, whose bucket is no longer in it
    expect(await lastHour()).toBe(0);
    expect(loads).toBe(before + 1);
  });

  it('answers gzip to a scraper that accepts it, with the same text as the plain answer', async () => {
    const plain = await scrape();
    const gzipped = await scrape({ 'Accept-Encoding': 'gzip' });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.headers['vary']).toBe('Accept-Encoding');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gunzipSync(gzipped.body).toString('utf8')).toBe(plain.body.toString('utf8'));
    expect(Number(gzipped.headers['content-length'])).toBe(gzipped.body.length);
  });
});

describe('rendering ahead of scrapes, over a real server and database', () => {
  const DAY = 86_400;
  const TOKEN = 'm'.repeat(32);
  const nowMs = Date.now();
  const day = Math.floor(nowMs / 1000 / DAY) * DAY - DAY;
  let db: Db;
  let loads: number[] = [];
  /** The window start of each load, in order. */
  let loadedFrom: Array<number | null> = [];
  const servers: Array<{ server: RunningServer; endpoint: MetricsEndpoint }> = [];

  async function serve(timing?: ReuseTiming, now: () => number = Date.now): Promise<{ url: string; endpoint: MetricsEndpoint }> {
    const endpoint = createMetricsEndpoint(
      {
        load: (window) => {
          loads.push(performance.now());
          loadedFrom.push(window.fromSec);
          return { series: querySeriesTotals(db, window), customers: queryCustomerSeries(db, window, 10), version: 'test' };
        },
        version: () => dataChangeToken(db),
        windowKey: (window) => windowSelectionKey(db, window),
      },
      now,
      timing,
    );
    return listen(endpoint);
  }
  /** Serves `endpoint`'s routes until the test ends. */
  async function listen(endpoint: MetricsEndpoint): Promise<{ url: string; endpoint: MetricsEndpoint }> {
    const server = await startHttpServer({ host: '127.0.0.1', port: 0, tokens: { metrics: TOKEN, ingest: 'i'.repeat(32), ui: 'u'.repeat(32) }, log: silentLogger, routes: endpoint.routes });
    servers.push({ server, endpoint });
    return { url: server.url, endpoint };
  }
  let dataDir: string;
  beforeAll(() => {
    dataDir = tempDir('llmeter-render-ahead-', 'suite');
    db = openDatabase(dataDir);
  });
  // Each test's endpoint stops rendering ahead when the test ends: the next one counts renderings of its own.
  afterEach(async () => {
    for (const { server, endpoint } of servers.splice(0)) {
      endpoint.close();
      await server.close();
    }
  });
  afterAll(() => db?.close());

  async function scrape(url: string, query = '', openMetrics = false): Promise<string> {
    const res = await fetch(`${url}/api/v1/metrics${query}`, { headers: { Authorization: `Bearer ${TOKEN}`, ...(openMetrics ? { Accept: 'application/openmetrics-text; version=1.0.0' } : {}) } });
    expect(res.status).toBe(200);
    return res.text();
  }
  const cost = (text: string, model: string): number => Number(sampleValue(parseSamples(text), 'llmeter_cost_usd', { provider: 'openai', model }) ?? 0);
  let billed = 0n;
  /** Adds $0.25 to gpt-4o's bill of yesterday through `through` (default: the server's connection); returns the new total in USD. */
  function bill(through: Db = db): number {
    billed += 250_000_000n;
    writeProviderFetch(through, 'openai', [], [record({ provider: 'openai', source: 'cost', bucketStart: day, model: 'gpt-4o', costNano: billed })], nowMs / 1000);
    return Number(billed) / 1e9;
  }

  it('renders a repeating query again after this process writes, and serves the next scrape from that rendering', async () => {
    const { url, endpoint } = await serve();
    bill();
    await scrape(url);
    await scrape(url);
    const before = loads.length;
    const total = bill();
    endpoint.dataWritten();
    await until(() => loads.length === before + 1);
    expect(cost(await scrape(url), 'gpt-4o')).toBe(total);
    expect(loads.length).toBe(before + 1);
  });

  it('answers a scrape right after a write with the new data, whether or not the rendering ahead has started', async () => {
    const { url, endpoint } = await serve();
    await scrape(url);
    await scrape(url);
    for (let i = 0; i < 3; i++) {
      const total = bill();
      endpoint.dataWritten();
      expect(cost(await scrape(url), 'gpt-4o')).toBe(total);
    }
    // And a write the app did not announce (a repair by hand) still shows in the next scrape.
    const total = bill();
    expect(cost(await scrape(url), 'gpt-4o')).toBe(total);
  });

  it('renders a query ahead at once after each of a few writes, then once a second on average, and not a query scraped only once', async () => {
    const { url, endpoint } = await serve();
    await scrape(url);
    await scrape(url);
    await scrape(url, '?from=2020-01-01');
    loads = [];
    for (let i = 0; i < RENDER_AHEAD_BURST; i++) {
      bill();
      const written = performance.now();
      endpoint.dataWritten();
      await until(() => loads.length === i + 1);
      // At once, not a second after the previous rendering (room for a loaded machine).
      expect(loads[i]! - written).toBeLessThan(REFRESH_MIN_INTERVAL_MS / 2);
    }
    const total = bill();
    endpoint.dataWritten();
    await until(() => loads.length === RENDER_AHEAD_BURST + 1);
    // The burst is spent: the next one waits for the average, a second after the burst began.
    expect(loads[RENDER_AHEAD_BURST]! - loads[0]!).toBeGreaterThanOrEqual(REFRESH_MIN_INTERVAL_MS - 50);
    await pause(100);
    expect(loads).toHaveLength(RENDER_AHEAD_BURST + 1);
    expect(cost(await scrape(url), 'gpt-4o')).toBe(total);
    expect(loads).toHaveLength(RENDER_AHEAD_BURST + 1);
  });

  it('spends no rendering ahead on a query whose rendering is still current', async () => {
    const { url, endpoint } = await serve();
    await scrape(url);
    await scrape(url);
    const before = loads.length;
    // Told of writes that changed nothing (as the watch is after a fold of the customer rollups): each finds the rendering current.
    for (let i = 0; i < RENDER_AHEAD_BURST + 2; i++) {
      endpoint.dataWritten();
      await pause(20);
    }
    expect(loads.length).toBe(before);
    bill();
    const written = performance.now();
    endpoint.dataWritten();
    await until(() => loads.length === before + 1);
    expect(loads[before]! - written).toBeLessThan(REFRESH_MIN_INTERVAL_MS / 2);
  });

  it('renders ahead at most once a second on average under a stream of writes', async () => {
    const { url, endpoint } = await serve();
    await scrape(url);
    await scrape(url);
    loads = [];
    const started = performance.now();
    while (performance.now() - started < 2_500) {
      bill();
      endpoint.dataWritten();
      await pause(20);
    }
    const elapsed = performance.now() - started;
    // The burst, then one per second: 3 + 2.5 at most (one more for timer rounding).
    expect(loads.length).toBeLessThanOrEqual(RENDER_AHEAD_BURST + Math.ceil(elapsed / REFRESH_MIN_INTERVAL_MS) + 1);
    expect(loads.length).toBeGreaterThanOrEqual(RENDER_AHEAD_BURST + 1);
  });

  it('renders ahead the most recently scraped query first, even when the clock ticks while the write is announced', async () => {
    // Each read of this clock waits for the next millisecond: queries made due one after another are not due in the same turn of the timers.
    const tickingClock = (): number => {
      const start = Date.now();
      while (Date.now() === start);
      return Date.now();
    };
    const { url, endpoint } = await serve(undefined, tickingClock);
    await scrape(url, '?from=2020-01-01');
    await scrape(url, '?from=2020-01-01');
    await scrape(url, '?from=2021-01-01');
    await scrape(url, '?from=2021-01-01');
    await scrape(url);
    await scrape(url);
    loadedFrom = [];
    bill();
    endpoint.dataWritten();
    await until(() => loadedFrom.length === 3);
    expect(loadedFrom).toEqual([null, Date.UTC(2021, 0, 1) / 1000, Date.UTC(2020, 0, 1) / 1000]);
  });

  it('renders a repeating query again after another process writes, which it is not told of, within a watch interval', async () => {
    const { url } = await serve();
    await scrape(url);
    await scrape(url);
    // Another connection to the same file, as `llmeter poll` run by cron would open.
    const other = openDatabase(dataDir);
    try {
      const before = loads.length;
      const written = performance.now();
      const total = bill(other);
      await until(() => loads.length === before + 1);
      // Seconds sooner than anything else would render it (the age-out refresh is ~50 s away), with room for a loaded machine.
      expect(loads[before]! - written).toBeLessThan(1_000);
      expect(cost(await scrape(url), 'gpt-4o')).toBe(total);
      expect(loads.length).toBe(before + 1);
    } finally {
      other.close();
    }
  });

  it('does not watch for other writes for a query scraped only once', async () => {
    const { url } = await serve();
    await scrape(url, '?from=2021-01-01');
    const other = openDatabase(dataDir);
    try {
      const before = loads.length;
      bill(other);
      await pause(3 * WATCH_OTHER_WRITES_MS);
      expect(loads.length).toBe(before);
    } finally {
      other.close();
    }
  });

  it('renders a repeating query again before its rendering ages out', async () => {
    const { url } = await serve({ reuseMs: 1_000, refreshBeforeAgeOutMs: 700, watchOtherWritesMs: WATCH_OTHER_WRITES_MS });
    await scrape(url);
    await scrape(url);
    loads = [];
    await until(() => loads.length === 1);
    const text = await scrape(url);
    expect(loads).toHaveLength(1);
    expect(cost(text, 'gpt-4o')).toBe(Number(billed) / 1e9);
  });

  it('keeps its renderings through a write that changes nothing reported (folding the customer rollups), and not through others', async () => {
    const { url, endpoint } = await serve();
    const occurredAt = day + 3_600;
    writeSdkEvents(
      db,
      [{ id: '3f2b8c1e-0000-4000-8000-000000000001', provider: 'openai', model: 'gpt-4o-mini', occurredAt, inputTokens: 1000, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 50, latencyMs: 800, status: 200, customerId: 'acme', feature: '' }],
      { billedProviders: ['openai'], nowSec: nowMs / 1000 },
    );
    expect(pendingCustomerChanges(db)).toBeGreaterThan(0);
    await scrape(url);
    const before = await scrape(url);
    expect(sampleValue(parseSamples(before), 'llmeter_customer_requests_total', { provider: 'openai', model: 'gpt-4o-mini', customer_id: 'acme' })).toBe('1');
    const rendered = loads.length;
    endpoint.unchangedBy(() => foldCustomerRollups(db));
    expect(pendingCustomerChanges(db)).toBe(0);
    // Nor does the watch for other processes' writes take the fold for one.
    await pause(3 * WATCH_OTHER_WRITES_MS);
    expect(loads.length).toBe(rendered);
    expect(await scrape(url)).toBe(before);
    expect(loads.length).toBe(rendered);
    bill();
    await scrape(url);
    expect(loads.length).toBe(rendered + 1);
  });

  describe('the per-customer families, rendered apart and kept while the SDK data is unchanged', () => {
    const counts = { loads: 0, customerLoads: 0 };
    let cap = 2;
    let eventNumber = 0;

    /** An endpoint over `db` whose customer families come from `load` (one registry) or from its own part (`split`). */
    async function serve(split: boolean): Promise<{ url: string; endpoint: MetricsEndpoint }> {
      const customers = (window: TimeWindow) => {
        counts.customerLoads++;
        return queryCustomerSeries(db, window, cap);
      };
      const endpoint = createMetricsEndpoint({
        load: (window) => {
          counts.loads++;
          return { series: querySeriesTotals(db, window), ...(split ? {} : { customers: customers(window) }), version: 'test' };
        },
        version: () => `${dataChangeToken(db)}|${cap}`,
        // As the app does: the pending SDK writes are folded before a rendering, not by its reads.
        pendingWrite: () => pendingWritesFold(db),
        windowKey: (window) => windowSelectionKey(db, window),
        ...(split ? { customers: { key: () => `${customerDataKey(db)}|${cap}`, load: customers } } : {}),
      });
      return listen(endpoint);
    }
    /** Stores one SDK event of `customerId` (an hour of yesterday), as the ingest route does. */
    function sdkEvent(customerId: string, hour = 3, model = 'gpt-4o-mini'): void {
      const n = ++eventNumber;
      writeSdkEvents(
        db,
        [{ id: `3f2b8c1e-0000-4000-9000-${String(n).padStart(12, '0')}`, provider: 'openai', model, occurredAt: day + hour * 3_600, inputTokens: 1_000 + n, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 50, latencyMs: 800, status: 200, customerId, feature: n % 3 ? 'chat' : '' }],
        { billedProviders: [], nowSec: nowMs / 1000 },
      );
    }
    const requestsOf = (text: string, customerId: string, model = 'gpt-4o-mini'): string | undefined =>
      sampleValue(parseSamples(text), 'llmeter_customer_requests_total', { provider: 'openai', model, customer_id: customerId });
    it('gives the same text as one registry with every family, in both formats and over several windows', async () => {
      bill();
      // Customers past the cap of 2 (summed as other), one named 'other' itself, requests naming none, a hostile id.
      for (const [customerId, times] of [['wayne', 5], ['stark', 3], ['other', 2], ['', 2], ['initech "west"\\n', 1], ['umbrella', 1]] as const) {
        for (let i = 0; i < times; i++) sdkEvent(customerId, 2 + i, i % 2 ? 'gpt-4o' : 'gpt-4o-mini');
      }
      const [split, whole] = [await serve(true), await serve(false)];
      const yesterday = new Date(day * 1000).toISOString();
      for (const query of ['', '?from=now-1h', `?from=${yesterday}`, `?from=${yesterday}&to=${new Date((day + 4 * 3_600) * 1000).toISOString()}`]) {
        for (const openMetrics of [false, true]) {
          const text = await scrape(split.url, query, openMetrics);
          expect(text, `${query} ${openMetrics ? 'OpenMetrics' : 'Prometheus'}`).toBe(await scrape(whole.url, query, openMetrics));
        }
      }
      expect(requestsOf(await scrape(split.url), 'wayne')).toBe('3');
      expect(requestsOf(await scrape(split.url), 'umbrella', 'gpt-4o')).toBeUndefined();
    });

    it('renders only the other families after a write that changes no SDK data, and the customers again after one that does', async () => {
      const { url, endpoint } = await serve(true);
      sdkEvent('wayne');
      const first = await scrape(url);
      const [loads, customerLoads] = [counts.loads, counts.customerLoads];
      const total = bill();
      endpoint.dataWritten();
      const afterBill = await scrape(url);
      expect(counts.loads).toBeGreaterThan(loads);
      expect(counts.customerLoads).toBe(customerLoads);
      expect(sampleValue(parseSamples(afterBill), 'llmeter_cost_usd', { provider: 'openai', model: 'gpt-4o' })).toBe(String(total));
      const customerPart = (text: string) => text.slice(text.indexOf('# HELP llmeter_customer_cost_usd'));
      expect(customerPart(afterBill)).toBe(customerPart(first));

      const wayne = Number(requestsOf(afterBill, 'wayne'));
      sdkEvent('wayne');
      const afterEvent = await scrape(url);
      expect(counts.customerLoads).toBe(customerLoads + 1);
      expect(Number(requestsOf(afterEvent, 'wayne'))).toBe(wayne + 1);

      // A fold changes no reported number: neither part is rendered again.
      const rendered = [counts.loads, counts.customerLoads];
      endpoint.unchangedBy(() => foldCustomerRollups(db));
      expect(await scrape(url)).toBe(afterEvent);
      expect([counts.loads, counts.customerLoads]).toEqual(rendered);

      // A change of the cap is in the customers' key.
      cap = 1;
      endpoint.dataWritten();
      const capped = await scrape(url);
      expect(counts.customerLoads).toBe(customerLoads + 2);
      expect(requestsOf(capped, 'stark')).toBeUndefined();
      cap = 2;
    });

    it('customerDataKey moves with every change of what the customer families report, whoever writes, and with nothing else', () => {
      const keys = [customerDataKey(db)];
      const expectMoved = (what: string) => {
        const key = customerDataKey(db);
        expect(keys, what).not.toContain(key);
        keys.push(key);
      };
      const expectKept = (what: string) => expect(customerDataKey(db), what).toBe(keys.at(-1));
      sdkEvent('hooli', 20);
      expectMoved('a new hourly row');
      sdkEvent('hooli', 20);
      expectMoved('an hourly row added to');
      foldCustomerRollups(db);
      expectKept('a fold of the pending SDK writes');
      db.prepare("UPDATE sdk_usage_hourly SET output_tokens = output_tokens + 1 WHERE customer_id = 'hooli'").run();
      expectMoved('an update by hand of a reported number');
      db.prepare("UPDATE sdk_usage_hourly SET latency_ms_total = latency_ms_total + 1, failed_requests = 1 WHERE customer_id = 'hooli'").run();
      expectKept('an update of numbers the families do not report');
      bill();
      expectKept('a poll');
      foldCustomerRollups(db);
      expect(pendingCustomerChanges(db)).toBe(0);
      expectKept('a fold');
      sdkEvent('hooli', 21);
      expectMoved('a change after a fold, the log numbered from 1 again');
      foldCustomerRollups(db);
      expectKept('a fold, the pending writes numbered from 1 again');
      // Back to the numbers from before that event, but by a different history: a new key (a scrape renders once more, never too few times).
      db.prepare("DELETE FROM sdk_usage_hourly WHERE customer_id = 'hooli' AND hour = ?").run(day + 21 * 3_600);
      expectMoved('a delete');
      foldCustomerRollups(db);
      expectKept('a second fold');
    });

    it('customerDataKey counts the changes pending when the database is upgraded to it, and keeps counting through a fold', () => {
      const dir = tempDir('llmeter-customer-key-upgrade-');
      const old = new Database(path.join(dir, DB_FILE));
      for (const migration of MIGRATIONS.slice(0, 7)) old.exec(migration);
      old.pragma('user_version = 7');
      const insert = old.prepare("INSERT INTO sdk_usage_hourly VALUES (?, 'openai', 'gpt-4o-mini', 'acme', '', 1, 0, 10, 0, 0, 1, 1000, 0, 5, 0)");
      for (const hour of [0, 1, 2]) insert.run(day + hour * 3_600);
      old.close();
      const upgraded = openDatabase(dir);
      try {
        // Migration 9 sums the rollups again from the hourly rows, which folds the 3 changes: the key keeps them.
        expect(pendingCustomerChanges(upgraded)).toBe(0);
        expect(customerDataKey(upgraded)).toBe(3);
        foldCustomerRollups(upgraded);
        expect(customerDataKey(upgraded)).toBe(3);
        // An update through the view logs the old row taken away and the new one added (migration 10).
        upgraded.prepare("UPDATE sdk_usage_hourly SET requests = 2 WHERE hour = ?").run(day);
        expect(customerDataKey(upgraded)).toBe(5);
      } finally {
        upgraded.close();
      }
    });
  });
});
