/**
 * Load on a real `llmeter serve` over loopback, bounded in count and time: 200 concurrent scrapes,
 * then scrapes at a fixed rate while polls of the fake providers keep writing (one after another,
 * far more often than the real schedule); SDK ingest at a fixed event rate while scraping. Zero
 * errors, nothing dropped, totals exact; p50/p99 printed for the README.
 *
 * CI runs a short version (100 k usage rows, 1 000 scrapes/s for 5 s, 2 000 events/s for 3 s); the
 * issue's full figures — a 1 M-row database, 1 000 scrapes/s for 30 s, 10 000 events/s for 60 s —
 * run with LLMETER_SOAK=1. Scrapes accept gzip, as Prometheus does; the burst asks for plain text.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../core/store/db.js';
import { newEventId } from '../../sdk/event-id.js';
import { generateTruth, startProviderFake, type ProviderFake } from '../fakes/providers.js';
import { startLlmeter, type ServeProcess } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { expectIntact, INGEST_TOKEN, llmeterEnv, METRICS_TOKEN, openRaw, SOAK, UI_TOKEN } from './support.js';

declare module 'autocannon' {
  interface Options {
    /** Requests per second across all connections. */
    overallRate?: number;
  }
}

type ScrapeResult = Awaited<ReturnType<typeof autocannon>>;

const PLAN = SOAK
  ? { rows: 1_000_000, scrapesPerSecond: 1000, scrapeSeconds: 30, eventsPerSecond: 10_000, ingestSeconds: 60, ingestScrapesPerSecond: 50 }
  : { rows: 100_000, scrapesPerSecond: 1000, scrapeSeconds: 5, eventsPerSecond: 2_000, ingestSeconds: 3, ingestScrapesPerSecond: 50 };
const CONCURRENT = 200;
const BATCH = 1000;
const NOW = Math.floor(Date.now() / 1000);

let fake: ProviderFake;
let serve: ServeProcess;
const dataDir = tempDir('llmeter-load-', 'suite');

/** Fills the database with `rows` hourly usage rows: 3 providers × 30 models × 4 projects, back in time. */
function fillDatabase(rows: number): void {
  const db = openDatabase(dataDir);
  const insert = db.prepare(`INSERT INTO usage (provider, source, bucket_start, bucket_end, bucket_width, model, project, api_key_id, line_item, requests,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, cost_nano, cost_kind, superseded, unpriced, updated_at)
    VALUES (?, 'usage', ?, ?, '1h', ?, ?, '', '', 3, 1000, 10, 0, 100, 12345, 'estimated', 0, 0, 0)`);
  const providers = ['openai', 'anthropic', 'openrouter'];
  // Older than the fakes' history, so that polls replace none of it.
  const newest = Math.floor(NOW / 3600) * 3600 - 40 * 86_400;
  db.transaction(() => {
    for (let i = 0; i < rows; i++) {
      const series = Math.floor(i / 3);
      const hour = newest - 3600 * Math.floor(series / 120);
      insert.run(providers[i % 3], hour, hour + 3600, `load-model-${series % 30}`, `load-project-${Math.floor(series / 30) % 4}`);
    }
  })();
  db.close();
}

beforeAll(async () => {
  fake = await startProviderFake({ truth: generateTruth({ days: 10, seed: 53, now: NOW }), now: NOW });
  fillDatabase(PLAN.rows);
  serve = await startLlmeter(['serve', '--port', '0'], llmeterEnv(dataDir, fake));
  // The load runs against routine polls, not the first one, which backfills a year of history.
  await pollOnce();
}, SOAK ? 600_000 : 60_000);
afterAll(async () => {
  await serve?.stop();
  await fake?.close();
});

/** One poll of every provider through the dashboard API, answered when it has finished. */
async function pollOnce(): Promise<void> {
  const res = await fetch(`${serve.url}/api/v1/ui/pollNow`, { method: 'POST', headers: { Authorization: `Bearer ${UI_TOKEN}`, 'Content-Type': 'application/json' } });
  expect(res.status).toBe(200);
}

/** Polls again and again until `stop` resolves; returns how many ran. */
async function pollContinuously(stop: Promise<unknown>): Promise<number> {
  let done = false;
  void stop.then(() => (done = true));
  let polls = 0;
  while (!done) {
    await pollOnce();
    polls++;
  }
  return polls;
}

/** Scrapes as Prometheus does (gzip accepted), or plain text with `plain`. */
function scrapeLoad(options: { connections: number; amount?: number; overallRate?: number; duration?: number; plain?: boolean }): Promise<ScrapeResult> {
  const { plain, ...load } = options;
  return autocannon({ url: `${serve.url}/api/v1/metrics`, headers: { authorization: `Bearer ${METRICS_TOKEN}`, ...(plain ? {} : { 'accept-encoding': 'gzip' }) }, timeout: 60, ...load });
}

function summary(label: string, result: ScrapeResult): string {
  return `${label}: ${result['2xx']} scrapes in ${result.duration.toFixed(1)} s, latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms, ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`;
}

describe(`load on llmeter serve (${SOAK ? 'soak' : 'short'}: ${PLAN.rows} rows)`, () => {
  it('200 concurrent scrapes, then a fixed scrape rate while polls write: zero errors', async () => {
    const burst = await scrapeLoad({ connections: CONCURRENT, amount: CONCURRENT, plain: true });
    console.info(summary(`${CONCURRENT} concurrent scrapes of ${PLAN.rows} rows`, burst));
    expect({ errors: burst.errors, timeouts: burst.timeouts, non2xx: burst.non2xx, ok: burst['2xx'] }).toEqual({ errors: 0, timeouts: 0, non2xx: 0, ok: CONCURRENT });

    const rated = scrapeLoad({ connections: CONCURRENT, overallRate: PLAN.scrapesPerSecond, duration: PLAN.scrapeSeconds });
    const polls = await pollContinuously(rated);
    const result = await rated;
    console.info(`${summary(`${PLAN.scrapesPerSecond} scrapes/s for ${PLAN.scrapeSeconds} s`, result)}, ${polls} polls meanwhile`);
    expect({ errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx }).toEqual({ errors: 0, timeouts: 0, non2xx: 0 });
    expect(result['2xx']).toBeGreaterThanOrEqual(PLAN.scrapesPerSecond * PLAN.scrapeSeconds * 0.9);
    expect(polls).toBeGreaterThanOrEqual(1);
  }, SOAK ? 900_000 : 90_000);

  it(`SDK ingest at ${PLAN.eventsPerSecond} events/s for ${PLAN.ingestSeconds} s while scraping: nothing dropped, totals exact`, async () => {
    const db = openRaw(dataDir);
    const before = db.prepare('SELECT COUNT(*) FROM sdk_events').pluck().get() as number;
    db.close();

    const batches = (PLAN.eventsPerSecond * PLAN.ingestSeconds) / BATCH;
    const interval = (1000 * BATCH) / PLAN.eventsPerSecond;
    const scraping = scrapeLoad({ connections: 10, overallRate: PLAN.ingestScrapesPerSecond, duration: PLAN.ingestSeconds });
    const sent: Array<{ inputTokens: number; outputTokens: number }> = [];
    const latencies: number[] = [];
    const started = Date.now();
    const posts: Promise<void>[] = [];
    for (let b = 0; b < batches; b++) {
      await sleep(Math.max(0, started + b * interval - Date.now()));
      const events = Array.from({ length: BATCH }, (_, i) => ({
        id: newEventId(),
        provider: 'openai',
        model: 'gpt-4o-mini-2024-07-18',
        inputTokens: 100 + ((b * BATCH + i) % 1000),
        cachedInputTokens: 0,
        outputTokens: 10 + (i % 50),
        latencyMs: 120,
        status: 200,
        customerId: `load-customer-${i % 50}`,
        timestamp: new Date((NOW - (i % 3600)) * 1000).toISOString(),
      }));
      sent.push(...events);
      const postedAt = Date.now();
      posts.push(
        fetch(`${serve.url}/api/v1/ingest`, { method: 'POST', headers: { Authorization: `Bearer ${INGEST_TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ events }) }).then(async (res) => {
          latencies.push(Date.now() - postedAt);
          expect(res.status).toBe(200);
          expect(await res.json()).toEqual({ received: BATCH, inserted: BATCH, duplicates: 0 });
        }),
      );
    }
    await Promise.all(posts);
    const seconds = (Date.now() - started) / 1000;
    const scrapes = await scraping;
    latencies.sort((a, b) => a - b);
    console.info(
      `ingest: ${sent.length} events in ${seconds.toFixed(1)} s (${Math.round(sent.length / seconds)} events/s), batch of ${BATCH} p50 ${latencies[Math.floor(latencies.length / 2)]} ms, p99 ${latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]} ms; ${summary('scrapes meanwhile', scrapes)}`,
    );
    expect({ errors: scrapes.errors, timeouts: scrapes.timeouts, non2xx: scrapes.non2xx }).toEqual({ errors: 0, timeouts: 0, non2xx: 0 });
    // The events went out at the planned rate, not slower (a server that stalls ingest would stretch this).
    expect(seconds).toBeLessThan(PLAN.ingestSeconds * 1.5 + 2);

    const after = openRaw(dataDir);
    try {
      expect((after.prepare('SELECT COUNT(*) FROM sdk_events').pluck().get() as number) - before).toBe(sent.length);
      const ids = after.prepare('SELECT COUNT(*) FROM sdk_events WHERE id IN (SELECT value FROM json_each(?))').pluck();
      expect(ids.get(JSON.stringify(sent.slice(0, 500).map((e) => (e as unknown as { id: string }).id)))).toBe(500);
      const hourly = after.prepare("SELECT SUM(requests) AS requests, SUM(input_tokens) AS input, SUM(output_tokens) AS output FROM sdk_usage_hourly WHERE customer_id LIKE 'load-customer-%'").get();
      expect(hourly).toEqual({
        requests: sent.length,
        input: sent.reduce((sum, e) => sum + e.inputTokens, 0),
        output: sent.reduce((sum, e) => sum + e.outputTokens, 0),
      });
      expectIntact(after);
    } finally {
      after.close();
    }
  }, SOAK ? 900_000 : 90_000);
});
