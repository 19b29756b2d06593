/**
 * Synthetic usage history for the benchmarks: providers × models × projects × hourly buckets over a
 * year, shaped like a real organization's. Popularity is Zipf-skewed (a few models carry most
 * traffic, a long tail is used now and then), traffic follows a working-day curve with quiet
 * weekends, OpenAI and Anthropic report hourly token rows whose estimates are superseded by the
 * daily billed cost rows (line items, plus charges of no model), OpenRouter reports billed days,
 * and the SDK reports the last month's requests per customer for a few models.
 *
 * The file is written at the schema of the first three migrations, straight into SQLite with one
 * transaction and journaling off (only this build of the file runs without a journal); opening it
 * with `openDatabase` then runs every later migration as it would on a user's upgrade.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ProviderId } from '../shared/providers.js';
import { seededRandom } from '../shared/random.js';
import { NO_MODEL } from '../shared/usage.js';
import { insertBudget } from '../core/budgets/store.js';
import { DB_FILE } from '../core/store/db.js';
import { MIGRATIONS } from '../core/store/migrations.js';
import { recordSyncSuccess } from '../core/store/sync-state.js';

const HOUR = 3_600;
const DAY = 86_400;

/** The schema the generator writes: usage and sync state (1), budgets (2), SDK tables (3). */
export const GENERATOR_SCHEMA = 3;

/** Bump when the generated data changes shape, so that cached datasets are rebuilt. */
export const GENERATOR_VERSION = 1;

/** One dataset size. */
export interface DatasetSpec {
  name: string;
  /** Usage rows to aim for; the generated count lands within a few percent of it. */
  targetRows: number;
  models: number;
  /** Most projects (OpenAI) or workspaces (Anthropic) one model is used in. */
  projects: number;
  days: number;
  seed: number;
}

export const DATASETS: Record<string, DatasetSpec> = {
  '10k': { name: '10k', targetRows: 10_000, models: 12, projects: 2, days: 365, seed: 10 },
  '100k': { name: '100k', targetRows: 100_000, models: 50, projects: 3, days: 365, seed: 100 },
  '1m': { name: '1m', targetRows: 1_000_000, models: 300, projects: 4, days: 365, seed: 1_000 },
  // 40 projects: with 10, every one of the ~1 550 series was already active in every hour the
  // traffic curve allows at 7.1 M rows, so the calibration could not reach 10 M.
  '10m': { name: '10m', targetRows: 10_000_000, models: 600, projects: 40, days: 365, seed: 10_000 },
};

/** What a generated dataset holds. */
export interface DatasetInfo {
  spec: DatasetSpec;
  /** Usage rows actually written. */
  rows: number;
  /** (provider, model) pairs: what the scrape's families are labelled by. */
  models: number;
  /** (provider, model, project) series with hourly rows. */
  series: number;
  sdkHourlyRows: number;
  budgets: number;
  /** The clock the history ends at (ms). */
  nowMs: number;
  generateMs: number;
  fileBytes: number;
  generatorVersion: number;
}

/** Relative traffic in an hour (0–1]: a working-day curve in UTC, quieter weekends. */
function load(hourStart: number): number {
  const date = new Date(hourStart * 1000);
  const diurnal = 0.3 + 0.7 * Math.max(0, Math.sin(((date.getUTCHours() - 6) / 24) * 2 * Math.PI));
  const weekday = date.getUTCDay();
  return diurnal * (weekday === 0 || weekday === 6 ? 0.5 : 1);
}

const FAMILIES: Record<ProviderId, string[]> = {
  openai: ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o3', 'o4-mini', 'text-embedding-3-small', 'ft:gpt-4o-mini'],
  anthropic: ['claude-sonnet-4', 'claude-opus-4-1', 'claude-3-5-haiku', 'claude-3-7-sonnet', 'claude-haiku-4-5'],
  openrouter: ['meta-llama/llama-3.3-70b-instruct', 'google/gemini-2.5-flash', 'mistralai/mistral-large', 'qwen/qwen-2.5-72b-instruct', 'deepseek/deepseek-chat'],
};
const LINE_ITEMS: Record<'openai' | 'anthropic', [input: string, output: string, cached: string]> = {
  openai: ['input', 'output', 'cached input'],
  anthropic: ['Input Tokens', 'Output Tokens', 'Cache Read Input Tokens'],
};

interface Series {
  provider: ProviderId;
  model: string;
  project: string;
  /** Share of hours with traffic at full load, before the calibration factor. */
  weight: number;
  /** Input tokens in a busy hour. */
  volume: number;
  /** Nano-dollars per token: input, cached input, output. */
  prices: [number, number, number];
  sdk: boolean;
  activity: number;
}

function buildSeries(spec: DatasetSpec, random: () => number): Series[] {
  const providers: ProviderId[] = [];
  for (let i = 0; i < spec.models; i++) providers.push(i % 20 < 9 ? 'openai' : i % 20 < 15 ? 'anthropic' : 'openrouter');
  const series: Omit<Series, 'weight' | 'sdk' | 'activity'>[] = [];
  providers.forEach((provider, i) => {
    const families = FAMILIES[provider];
    const family = families[i % families.length]!;
    const version = Math.floor(i / families.length);
    const model = version === 0 ? family : provider === 'openai' && family.startsWith('ft:') ? `${family}:acme:v${version}` : `${family}-v${version}`;
    const inputPrice = Math.round(100 + random() * random() * 15_000);
    const prices: [number, number, number] = [inputPrice, Math.round(inputPrice / 4), inputPrice * 4];
    const projectCount = provider === 'openrouter' ? 1 : 1 + Math.floor(random() * random() * spec.projects);
    for (let p = 0; p < projectCount; p++) {
      const project = provider === 'openrouter' ? '' : provider === 'openai' ? `proj_${(p * 7919 + 13).toString(36).padStart(6, '0')}` : `wrkspc_${(p * 104_729 + 7).toString(36).padStart(8, '0')}`;
      series.push({ provider, model, project, volume: 20_000 + Math.round(random() * 2_000_000), prices });
    }
  });
  // Popularity: a random order (Fisher-Yates), Zipf-weighted.
  const order = series.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const weighted: Series[] = series.map((s) => ({ ...s, weight: 0, sdk: false, activity: 0 }));
  order.forEach((index, rank) => (weighted[index]!.weight = (rank + 1) ** -0.9));
  // The SDK instruments the most popular OpenAI and OpenRouter models.
  const instrumented = new Set<string>();
  for (const s of [...weighted].sort((a, b) => b.weight - a.weight)) {
    if (s.provider === 'anthropic' || instrumented.size === 4 || instrumented.has(s.model)) continue;
    instrumented.add(s.model);
    s.sdk = true;
  }
  return weighted;
}

/** Expected usage rows of one series over `days` at hourly activity `q` (mean over the day's load). */
function expectedRows(s: Series, q: number, days: number): number {
  const activeDay = 1 - (1 - q) ** 24;
  return s.provider === 'openrouter' ? days * activeDay : days * (24 * q + 3 * activeDay);
}

/** Scales the weights into per-hour activity so that the dataset lands near its target row count. */
function calibrate(series: Series[], spec: DatasetSpec, meanLoad: number): void {
  const total = (factor: number): number => series.reduce((sum, s) => sum + expectedRows(s, Math.min(1, factor * s.weight) * meanLoad, spec.days), 0);
  let low = 0;
  let high = 1e6;
  for (let i = 0; i < 80; i++) {
    const mid = (low + high) / 2;
    if (total(mid) < spec.targetRows) low = mid;
    else high = mid;
  }
  for (const s of series) s.activity = Math.min(1, low * s.weight);
}

/**
 * Writes the dataset `spec` to `dir/llmeter.sqlite` (replacing any file there), history ending at
 * `nowMs`. Returns what it wrote.
 */
export function generateDataset(dir: string, spec: DatasetSpec, nowMs: number): DatasetInfo {
  const started = performance.now();
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, DB_FILE);
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  const db = new Database(file);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  for (const migration of MIGRATIONS.slice(0, GENERATOR_SCHEMA)) db.exec(migration);
  db.pragma(`user_version = ${GENERATOR_SCHEMA}`);

  const random = seededRandom(spec.seed);
  const series = buildSeries(spec, random);
  const nowSec = Math.floor(nowMs / 1000);
  const todayStart = nowSec - (nowSec % DAY);
  const currentHour = nowSec - (nowSec % HOUR);
  const firstDay = todayStart - spec.days * DAY;
  let loadSum = 0;
  for (let h = firstDay; h < todayStart; h += HOUR) loadSum += load(h);
  calibrate(series, spec, loadSum / (spec.days * 24));

  const insertUsage = db.prepare(`INSERT INTO usage (provider, source, bucket_start, bucket_end, bucket_width, model, project, api_key_id, line_item,
    requests, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, cost_nano, cost_kind, superseded, unpriced, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, 0, ?, ?, ?, ?, 0, ?)`);
  const insertSdkHour = db.prepare(`INSERT INTO sdk_usage_hourly (hour, provider, model, customer_id, feature, requests, failed_requests, input_tokens,
    cached_input_tokens, cache_write_tokens, output_tokens, cost_nano, unpriced_requests, latency_ms_total, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 0, ?, ?)`);
  const features = ['chat', 'search', 'summarize'];
  const sdkFrom = todayStart - 30 * DAY;
  let rows = 0;
  let sdkHourlyRows = 0;

  db.transaction(() => {
    const day = series.map(() => ({ input: 0, cached: 0, output: 0, requests: 0, estimate: 0 }));
    for (let dayStart = firstDay; dayStart <= todayStart; dayStart += DAY) {
      const billed = dayStart < todayStart;
      for (let hour = dayStart; hour < dayStart + DAY && hour <= currentHour; hour += HOUR) {
        const traffic = load(hour);
        series.forEach((s, i) => {
          if (random() >= s.activity * traffic) return;
          const input = Math.max(1, Math.round(s.volume * traffic * (0.5 + random())));
          const cached = Math.round(input * 0.4 * random());
          const output = Math.round(input * (0.05 + 0.15 * random()));
          const requests = 1 + Math.round(input / (800 + 3_000 * random()));
          const estimate = Math.round((input - cached) * s.prices[0] + cached * s.prices[1] + output * s.prices[2]);
          const totals = day[i]!;
          totals.input += input;
          totals.cached += cached;
          totals.output += output;
          totals.requests += requests;
          totals.estimate += estimate;
          if (s.provider !== 'openrouter') {
            // Anthropic's usage report has no request counts.
            insertUsage.run(s.provider, 'usage', hour, hour + HOUR, '1h', s.model, s.project, '', s.provider === 'anthropic' ? null : requests, input, cached, output, estimate, 'estimated', billed ? 1 : 0, hour + HOUR);
            rows++;
          }
          if (s.sdk && hour >= sdkFrom) {
            // The SDK sees part of the traffic, spread over customers and features.
            const sdkRequests = Math.max(1, Math.round(requests / 3));
            insertUsage.run(s.provider, 'sdk', hour, hour + HOUR, '1h', s.model, '', '', sdkRequests, Math.round(input / 3), Math.round(cached / 3), Math.round(output / 3), Math.round(estimate / 3), 'estimated', 0, hour + HOUR);
            rows++;
            const customers = 1 + Math.floor(random() * 6);
            const first = Math.floor(random() * random() * 300);
            for (let c = 0; c < customers; c++) {
              const customer = `customer-${(first + c * 61) % 300}`;
              const share = 1 / customers;
              insertSdkHour.run(hour, s.provider, s.model, customer, features[c % features.length]!, Math.max(1, Math.round(sdkRequests * share)), 0, Math.round((input / 3) * share), Math.round((cached / 3) * share), Math.round((output / 3) * share), Math.round((estimate / 3) * share), 900 * sdkRequests, hour + HOUR);
              sdkHourlyRows++;
            }
          }
        });
      }
      if (!billed) continue;
      // The day is over and billed: cost rows per line item, a little off the list-price estimate, as real bills are.
      const noModelNano = { openai: 0, anthropic: 0 };
      series.forEach((s, i) => {
        const totals = day[i]!;
        if (totals.estimate === 0 && totals.requests === 0) return;
        const bill = totals.estimate * (0.97 + 0.04 * random());
        if (s.provider === 'openrouter') {
          insertUsage.run(s.provider, 'cost', dayStart, dayStart + DAY, '1d', s.model, '', '', totals.requests, totals.input, 0, totals.output, Math.round(bill), 'billed', 0, dayStart + DAY);
          rows++;
        } else {
          const [inputItem, outputItem, cachedItem] = LINE_ITEMS[s.provider];
          const shares: Array<[string, number]> = [
            [inputItem, ((totals.input - totals.cached) * s.prices[0]) / totals.estimate],
            [outputItem, (totals.output * s.prices[2]) / totals.estimate],
            [cachedItem, (totals.cached * s.prices[1]) / totals.estimate],
          ];
          for (const [item, share] of shares) {
            insertUsage.run(s.provider, 'cost', dayStart, dayStart + DAY, '1d', s.model, s.project, `${s.model}, ${item}`, null, 0, 0, 0, Math.round(bill * share), 'billed', 0, dayStart + DAY);
            rows++;
          }
          noModelNano[s.provider] += bill / 50;
        }
        day[i] = { input: 0, cached: 0, output: 0, requests: 0, estimate: 0 };
      });
      for (const provider of ['openai', 'anthropic'] as const) {
        if (noModelNano[provider] === 0) continue;
        insertUsage.run(provider, 'cost', dayStart, dayStart + DAY, '1d', NO_MODEL, '', provider === 'openai' ? 'web search tool calls' : 'Web Search Usage', null, 0, 0, 0, Math.round(noModelNano[provider]), 'billed', 0, dayStart + DAY);
        rows++;
      }
    }
    // SDK spend counts only where no billing data covers it yet (core/ingest/store.ts, billedBefore).
    const billedUntil = db.prepare("SELECT MAX(bucket_end) FROM usage WHERE provider = ? AND source IN ('usage', 'cost')").pluck();
    const supersede = db.prepare("UPDATE usage SET superseded = 1 WHERE provider = ? AND source = 'sdk' AND bucket_start < ?");
    for (const provider of ['openai', 'anthropic', 'openrouter'] as const) {
      const until = billedUntil.get(provider) as number | null;
      if (until !== null) supersede.run(provider, until);
    }

    for (const provider of ['openai', 'anthropic', 'openrouter'] as const) {
      recordSyncSuccess(db, provider, { at: nowSec - 300, watermark: nowSec - 300, durationMs: 1_500, latestBucketEnd: provider === 'openrouter' ? todayStart : currentHour + HOUR });
    }
    const top = [...series].sort((a, b) => b.weight - a.weight);
    const budgets: Array<Parameters<typeof insertBudget>[1]> = [
      { name: 'Organization, monthly', scope: { kind: 'all' }, period: 'month', amountNano: 50_000n * 1_000_000_000n, thresholds: [50, 80, 100] },
      { name: 'OpenAI, weekly', scope: { kind: 'provider', provider: 'openai' }, period: 'week', amountNano: 8_000n * 1_000_000_000n, thresholds: [80, 100] },
      { name: 'Anthropic, daily', scope: { kind: 'provider', provider: 'anthropic' }, period: 'day', amountNano: 900n * 1_000_000_000n, thresholds: [100] },
      { name: 'Top model, monthly', scope: { kind: 'model', model: top[0]!.model, provider: top[0]!.provider }, period: 'month', amountNano: 9_000n * 1_000_000_000n, thresholds: [80, 100] },
      { name: 'Second project, monthly', scope: { kind: 'project', project: top.find((s) => s.project !== '')!.project }, period: 'month', amountNano: 5_000n * 1_000_000_000n, thresholds: [90] },
    ];
    for (const budget of budgets) insertBudget(db, budget, nowSec - DAY);
  })();
  db.close();

  return {
    spec,
    rows,
    // Plus OpenAI's and Anthropic's charges of no model.
    models: new Set(series.map((s) => `${s.provider}|${s.model}`)).size + 2,
    series: series.length,
    sdkHourlyRows,
    budgets: 5,
    nowMs,
    generateMs: Math.round(performance.now() - started),
    fileBytes: statSync(file).size,
    generatorVersion: GENERATOR_VERSION,
  };
}
