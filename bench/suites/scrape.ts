/**
 * Items 1 and 2: `GET /api/v1/metrics` over three windows and the dashboard's spend-over-time
 * queries, against a `llmeter serve` process on a copy of a generated dataset, each beside the
 * naive baseline (every row read and aggregated in JS) on the same file.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import path from 'node:path';
import { parseTimeWindow } from '../../shared/time-range.js';
import { DB_FILE, openDatabase } from '../../core/store/db.js';
import { ensureDataset, workCopy } from '../datasets.js';
import { costSamples, naiveScrape, naiveSeriesTotals, naiveSpendSeries, type NaiveTotals } from '../naive.js';
import { httpOk, startServe, TOKENS } from '../server.js';
import { currentLoad, repeat, round, type Timing } from '../stats.js';
import { batchBody } from './ingest.js';

/** A measured figure beside its baseline from the same run. */
export interface Comparison {
  dataset: string;
  rows: number;
  models: number;
  query: string;
  ours: Timing;
  baseline: Timing;
  /** baseline median / ours median. */
  speedup: number;
  /** 1-minute load average while this figure was measured. */
  load: number;
}

export interface ScrapeResult {
  /** Opening the generated file with the app: every migration after the generator's schema. */
  migrateMs: number;
  scrape: Array<Comparison & { totalsAgree: boolean; series: number }>;
  /** Each with the size of its JSON answer. */
  dashboard: Array<Comparison & { answerBytes: number }>;
}

const WINDOWS: Array<{ label: string; from: string | null }> = [
  { label: 'all time', from: null },
  { label: 'from=now-1h', from: 'now-1h' },
  { label: 'from=now/M', from: 'now/M' },
];

const OURS = { warmup: 10, runs: 300, budgetMs: 15_000 };
/** Each run waits seconds after its write: fewer runs. */
const SCRAPED_LATER = { warmup: 2, runs: 15, budgetMs: 30_000 };
/**
 * How long after a write the app is scraped, drawn anew for each run: Prometheus scrapes on its
 * own clock, so its next scrape lands anywhere from moments to an interval after a poll or an SDK
 * batch. A fixed delay would always meet, or always miss, the work the app does at fixed times
 * after a write (the customer-rollup fold, after 1 s of quiet; the watch for other processes' writes).
 */
const SCRAPE_LATER_MS = { min: 250, max: 2_500 };
const laterDelay = (): Promise<void> => sleep(SCRAPE_LATER_MS.min + Math.random() * (SCRAPE_LATER_MS.max - SCRAPE_LATER_MS.min));
const BASELINE = { warmup: 1, runs: 10, budgetMs: 20_000 };

/** Whether our cost samples equal the baseline's sums to the metric's precision (1e-6 USD). */
function agree(ours: Map<string, number>, baseline: Map<string, NaiveTotals>): boolean {
  const expected = new Map([...baseline.values()].map((s) => [`${s.provider}|${s.model}`, s.costNano / 1e9]));
  for (const key of new Set([...ours.keys(), ...expected.keys()])) {
    const want = expected.get(key) ?? 0;
    if (Math.abs((ours.get(key) ?? 0) - want) > Math.max(1e-6, Math.abs(want) * 1e-12)) return false;
  }
  return true;
}

export async function benchScrape(size: string, options: { dashboard: boolean; log: (line: string) => void }): Promise<ScrapeResult> {
  const { dir, info } = ensureDataset(size, options.log);
  const work = workCopy(dir, `serve-${size}`);
  const migrateStarted = performance.now();
  openDatabase(work).close();
  const migrateMs = round(performance.now() - migrateStarted, 1);
  const server = await startServe(work);
  const reader = new Database(path.join(work, DB_FILE), { readonly: true });
  const writer = new Database(path.join(work, DB_FILE));
  writer.exec('CREATE TABLE IF NOT EXISTS bench_touch (n INTEGER)');
  const touch = writer.prepare('INSERT INTO bench_touch VALUES (1)');
  const result: ScrapeResult = { migrateMs, scrape: [], dashboard: [] };
  type Common = Omit<ScrapeResult['scrape'][number], 'query' | 'ours' | 'speedup'>;
  const commons = new Map<string, Common>();
  const record = (query: string, timing: Timing, common: Common): void => {
    const entry = { ...common, query, ours: timing, speedup: round(common.baseline.medianMs / timing.medianMs, 1) };
    result.scrape.push(entry);
    options.log(`  ${size} scrape ${query.slice('metrics '.length)}: p50 ${timing.medianMs} ms, p99 ${timing.p99Ms} ms; baseline p50 ${common.baseline.medianMs} ms (${entry.speedup}x); totals agree: ${entry.totalsAgree}`);
  };
  const metricsUrl = (window: (typeof WINDOWS)[number]): string => `${server.url}/api/v1/metrics${window.from ? `?from=${encodeURIComponent(window.from)}` : ''}`;
  try {
    for (const window of WINDOWS) {
      const url = metricsUrl(window);
      const text = await httpOk(url, { token: TOKENS.metrics });
      const bounds = parseTimeWindow(window.from, null, Date.now());
      const fromSec = bounds.fromSec ?? Number.MIN_SAFE_INTEGER;
      const toSec = bounds.toSec ?? Number.MAX_SAFE_INTEGER;
      const baselineTotals = naiveSeriesTotals(reader, fromSec, toSec);
      const load = currentLoad();
      const scrape = () => httpOk(url, { token: TOKENS.metrics });
      // As Prometheus sees it between two writes (polls, SDK batches): the rendering is reused.
      const ours = await repeat(scrape, OURS);
      // Right after a write: another connection commits before every scrape, so each one renders.
      const afterWrite = await repeat(scrape, OURS, () => touch.run());
      // The same write, and Prometheus's scrape some time later: the app has seen the write by then.
      const afterWriteLater = await repeat(scrape, SCRAPED_LATER, async () => {
        touch.run();
        await laterDelay();
      });
      const baseline = await repeat(() => naiveScrape(reader, fromSec, toSec), BASELINE);
      const common = { dataset: size, rows: info.rows, models: info.models, series: baselineTotals.size, baseline, load, totalsAgree: agree(costSamples(text), baselineTotals) };
      commons.set(window.label, common);
      record(`metrics ${window.label}`, ours, common);
      record(`metrics ${window.label}, after a write`, afterWrite, common);
      record(`metrics ${window.label}, after another process's write`, afterWriteLater, common);
    }
    if (options.dashboard) {
      const nowMs = Date.now();
      const from = 'now-90d';
      const bounds = parseTimeWindow(from, null, nowMs);
      for (const granularity of ['day', 'hour'] as const) {
        const what = `spend by model, 90 days, ${granularity === 'day' ? 'daily' : 'hourly'}`;
        // Every model (an API user's query) and the dashboard's own: its 10 biggest models and the rest summed as "other".
        const variants = [
          { query: what, body: JSON.stringify({ from, granularity, groupBy: 'model' }) },
          { query: `${what}, top 10 + other`, body: JSON.stringify({ from, granularity, groupBy: 'model', top: 10 }) },
        ];
        // One baseline for both: the naive approach reads and buckets every row whichever answer it then shapes.
        const baseline = await repeat(() => naiveSpendSeries(reader, bounds.fromSec!, Math.floor(nowMs / 1000), granularity === 'day' ? 86_400 : 3_600), BASELINE);
        for (const variant of variants) {
          const call = () => httpOk(`${server.url}/api/v1/ui/getSpendSeries`, { method: 'POST', token: TOKENS.ui, body: variant.body });
          const answerBytes = Buffer.byteLength(await call());
          const load = currentLoad();
          const ours = await repeat(call, { warmup: 3, runs: 100, budgetMs: 15_000 });
          const entry = { dataset: size, rows: info.rows, models: info.models, query: variant.query, ours, baseline, speedup: round(baseline.medianMs / ours.medianMs, 1), load, answerBytes };
          result.dashboard.push(entry);
          options.log(`  ${size} dashboard ${variant.query}: p50 ${ours.medianMs} ms, p99 ${ours.p99Ms} ms, answer ${answerBytes} bytes; baseline p50 ${baseline.medianMs} ms (${entry.speedup}x)`);
        }
      }
    }
    // Last, because each run stores SDK events that later figures would read too (2 000 customers'
    // rows of the last hour: the customer families rank more groups): after a write by the app
    // itself, an SDK batch of 500 events stored by the server, then the scrape 0.25–2.5 s later.
    for (const window of WINDOWS) {
      const url = metricsUrl(window);
      const afterAppWrite = await repeat(() => httpOk(url, { token: TOKENS.metrics }), SCRAPED_LATER, async () => {
        await httpOk(`${server.url}/api/v1/ingest`, { method: 'POST', token: TOKENS.ingest, body: batchBody(500, Date.now()) });
        await laterDelay();
      });
      record(`metrics ${window.label}, after an in-app write`, afterAppWrite, commons.get(window.label)!);
    }
  } finally {
    reader.close();
    writer.close();
    await server.stop();
  }
  return result;
}
