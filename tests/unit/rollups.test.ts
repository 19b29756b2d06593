/**
 * The usage rollups (core/store/rollups.ts) against the raw rows they summarize: whatever is
 * written (provider fetches that replace and supersede rows, SDK batches, billing keys coming and
 * going, repairs by hand in SQL) and whatever window is asked, the rollup-backed queries give exactly what aggregating the
 * raw rows gives; the same for the SDK customer rollups. Also: the migration builds them from rows
 * stored before it, and the fast cost estimator equals the price table to the nano-dollar.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { foldCustomerRollups, pendingCustomerChanges, queryCustomerSeries } from '../../core/ingest/customers.js';
import { writeSdkEvents, syncSdkSpendWithBilling } from '../../core/ingest/store.js';
import type { IngestEvent } from '../../core/ingest/schema.js';
import { querySeriesTotals } from '../../core/metrics/snapshot.js';
import { createCostEstimator, estimateCostNano, type TokenCounts } from '../../core/pricing/estimate.js';
import { DB_FILE, openDatabase, type Db } from '../../core/store/db.js';
import { MIGRATIONS } from '../../core/store/migrations.js';
import { bucketStarts, querySpendSeries } from '../../core/api/spend-queries.js';
import { planWindow, querySpendByProvider } from '../../core/store/rollups.js';
import { COUNTED_ROWS_SQL, ESTIMATED_NANO_SQL, SPEND_NANO_SQL } from '../../core/store/spend-sql.js';
import { writeProviderFetch } from '../../core/store/usage-repo.js';
import type { ProviderId } from '../../shared/providers.js';
import { formatNanoAsDecimal, parseAmountToNano } from '../../shared/money.js';
import { seededRandom } from '../../shared/random.js';
import type { UsageRecord } from '../../shared/usage.js';
import { record } from '../support/records.js';
import { tempDir } from '../support/temp.js';

const HOUR = 3_600;
const DAY = 86_400;
/** 2026-01-27T00:00:00Z: the generated history spans the turn of two months. */
const START = Date.UTC(2026, 0, 27) / 1000;
const DAYS = 10;
const MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4'];

/** Per (provider, model) totals the way the raw rows give them: the reference for the rollups. */
function rawSeries(db: Db, from: number, to: number): unknown[] {
  return db
    .prepare(
      `SELECT provider, model, ${SPEND_NANO_SQL} AS cost_nano, ${ESTIMATED_NANO_SQL} AS estimated_nano, SUM(requests) AS requests,
         SUM(input_tokens) AS input_tokens, SUM(cached_input_tokens) AS cached, SUM(cache_write_tokens) AS cache_write, SUM(output_tokens) AS output_tokens
       FROM usage WHERE bucket_start >= ? AND bucket_start < ? AND ${COUNTED_ROWS_SQL}
       GROUP BY provider, model ORDER BY provider, model`,
    )
    .safeIntegers(true)
    .all(from, to)
    .map((row) => {
      const r = row as Record<string, bigint | string | null>;
      return [r['provider'], r['model'], r['cost_nano'], r['estimated_nano'], r['requests'] === null ? null : Number(r['requests']), Number(r['input_tokens']), Number(r['cached']), Number(r['cache_write']), Number(r['output_tokens'])];
    });
}

function rollupSeries(db: Db, from: number | null, to: number | null): unknown[] {
  return querySeriesTotals(db, { fromSec: from, toSec: to }).map((s) => [s.provider, s.model, s.costNano, s.estimatedNano, s.requests, s.inputTokens, s.cachedInputTokens, s.cacheWriteTokens, s.outputTokens]);
}

function rawSpend(db: Db, from: number, to: number, project: string | null): unknown[] {
  return db
    .prepare(`SELECT provider, ${SPEND_NANO_SQL} AS cost_nano, ${ESTIMATED_NANO_SQL} AS estimated_nano FROM usage WHERE bucket_start >= ? AND bucket_start < ? AND (? IS NULL OR project = ?) GROUP BY provider ORDER BY provider`)
    .safeIntegers(true)
    .all(from, to, project, project);
}

/** A fetch of one provider: hourly usage estimates and, for finished days, billed cost rows. */
function fetchRecords(random: () => number, provider: ProviderId, days: number[]): UsageRecord[] {
  const records: UsageRecord[] = [];
  for (const day of days) {
    for (const model of MODELS) {
      for (let hour = 0; hour < 24; hour++) {
        if (random() < 0.6) continue;
        const input = 1 + Math.floor(random() * 50_000);
        records.push(
          record({
            provider,
            source: 'usage',
            bucketStart: day + hour * HOUR,
            model,
            project: random() < 0.5 ? 'proj_a' : '',
            requests: provider === 'anthropic' ? null : 1 + Math.floor(random() * 20),
            inputTokens: input,
            cachedInputTokens: Math.floor(input / 3),
            outputTokens: Math.floor(random() * 4_000),
            costNano: BigInt(Math.floor(random() * 1e7)),
          }),
        );
      }
      if (day < START + (DAYS - 2) * DAY && random() < 0.8) {
        records.push(record({ provider, source: 'cost', bucketStart: day, model, lineItem: `${model}, input`, costNano: BigInt(Math.floor(random() * 1e9)) }));
      }
    }
  }
  return records;
}

function sdkEvents(random: () => number, count: number, seq: { next: number }): IngestEvent[] {
  return Array.from({ length: count }, () => {
    const input = 1 + Math.floor(random() * 10_000);
    return {
      id: `00000000-0000-4000-8000-${String(seq.next++).padStart(12, '0')}`,
      provider: (['openai', 'anthropic', 'openrouter'] as const)[Math.floor(random() * 3)]!,
      model: MODELS[Math.floor(random() * MODELS.length)]!,
      occurredAt: START + Math.floor(random() * DAYS * DAY),
      inputTokens: input,
      cachedInputTokens: Math.floor(input / 4),
      cacheWriteTokens: 0,
      outputTokens: Math.floor(random() * 1_000),
      latencyMs: 500,
      status: 200,
      customerId: ['acme', 'globex', '', 'initech'][Math.floor(random() * 4)]!,
      feature: random() < 0.5 ? 'chat' : '',
    };
  });
}

/** Windows of every shape: open ends, day and month boundaries, partial days at both edges. */
function windows(random: () => number): Array<[number | null, number | null]> {
  const some = (): number => START - 2 * DAY + Math.floor(random() * (DAYS + 4) * DAY);
  const list: Array<[number | null, number | null]> = [
    [null, null],
    [START + 5 * DAY, null],
    [null, START + 5 * DAY],
    [Date.UTC(2026, 1, 1) / 1000, null],
    [START, START + DAYS * DAY],
  ];
  for (let i = 0; i < 25; i++) {
    const a = some();
    const b = some();
    list.push([Math.min(a, b), Math.max(a, b) + 1], [a, null], [null, b]);
  }
  return list;
}

/** Per (provider, model, customer) SDK sums straight from the hourly rows: the reference for the customer rollups. */
function rawCustomers(db: Db, from: number, to: number): unknown[] {
  return db
    .prepare('SELECT provider, model, customer_id, SUM(cost_nano), SUM(requests), SUM(input_tokens), SUM(output_tokens) FROM sdk_usage_hourly WHERE hour >= ? AND hour < ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3')
    .raw(true)
    .safeIntegers(true)
    .all(from, to)
    .map((row) => {
      const [provider, model, customerId, cost, requests, input, output] = row as [string, string, string, bigint, bigint, bigint, bigint];
      return [provider, model, customerId, cost, Number(requests), Number(input), Number(output)];
    });
}

/** Where the series checks clip open windows: the generated history, two days either side. */
const SERIES_FROM = START - 2 * DAY;
const SERIES_TO = START + (DAYS + 2) * DAY;

/** The hourly series by model straight from the raw rows whose cost counts: the reference for the hourly rollup (migration 6). */
function rawHourlySeries(db: Db, from: number, to: number): unknown[] {
  const starts = bucketStarts(from, to, 'hour');
  const series = new Map<string, { provider: string; key: string; cost: bigint[]; estimated: bigint[] }>();
  const rows = db
    .prepare(`SELECT bucket_start - bucket_start % ${HOUR}, provider, model, cost_nano, CASE WHEN cost_kind = 'estimated' THEN cost_nano ELSE 0 END FROM usage WHERE superseded = 0 AND bucket_start >= ? AND bucket_start < ?`)
    .raw(true)
    .safeIntegers(true)
    .all(from, to) as Array<[bigint, string, string, bigint, bigint]>;
  for (const [hour, provider, model, cost, estimated] of rows) {
    const id = `${provider}|${model}`;
    if (!series.has(id)) series.set(id, { provider, key: model, cost: starts.map(() => 0n), estimated: starts.map(() => 0n) });
    const at = starts.indexOf(Number(hour));
    series.get(id)!.cost[at]! += cost;
    series.get(id)!.estimated[at]! += estimated;
  }
  return [...series.values()].map((s) => [s.provider, s.key, s.cost.map(formatNanoAsDecimal), s.estimated.map(formatNanoAsDecimal)]).sort((a, b) => String(a.slice(0, 2)).localeCompare(String(b.slice(0, 2))));
}

const nano = (usd: string): bigint => parseAmountToNano(usd)!;

/**
 * The spend series of [from, to): hourly ones equal the raw rows; and folded to their `top` groups,
 * every granularity keeps the biggest groups' series as they were and sums the others into
 * `other`, so that all series together add up to every group's spend, billed and estimated apart.
 */
function expectSeriesExact(db: Db, from: number, to: number): void {
  if (from >= to) return;
  const hourly = querySpendSeries(db, { fromSec: from, toSec: to }, { granularity: 'hour', groupBy: 'model' });
  const shown = hourly.series.map((s) => [s.provider, s.key, s.costUsd, s.estimatedUsd]).sort((a, b) => String(a.slice(0, 2)).localeCompare(String(b.slice(0, 2))));
  expect(shown, `hourly series in [${from}, ${to})`).toEqual(rawHourlySeries(db, from, to));
  for (const [granularity, groupBy] of [['hour', 'model'], ['day', 'project'], ['month', 'model']] as const) {
    const all = granularity === 'hour' && groupBy === 'model' ? hourly : querySpendSeries(db, { fromSec: from, toSec: to }, { granularity, groupBy });
    const folded = querySpendSeries(db, { fromSec: from, toSec: to }, { granularity, groupBy, top: 2 });
    const what = `by ${granularity} and ${groupBy} in [${from}, ${to}), top 2`;
    expect(folded.series, what).toEqual(all.series.slice(0, 2));
    expect(folded.other?.groups, what).toBe(all.series.length > 2 ? all.series.length - 2 : undefined);
    for (const part of ['costUsd', 'estimatedUsd'] as const) {
      const sum = (series: Array<Record<typeof part, string[]>>, at: number): bigint => series.reduce((total, s) => total + nano(s[part][at]!), 0n);
      const perBucket = (series: Array<Record<typeof part, string[]>>) => all.buckets.map((_, at) => sum(series, at));
      expect(perBucket([...folded.series, ...(folded.other ? [folded.other] : [])]), `${what}: ${part}`).toEqual(perBucket(all.series));
    }
  }
}

function expectRollupsExact(db: Db, random: () => number): void {
  for (const [i, [from, to]] of windows(random).entries()) {
    const lo = from ?? Number.MIN_SAFE_INTEGER;
    const hi = to ?? Number.MAX_SAFE_INTEGER;
    expect(rollupSeries(db, from, to), `window [${from}, ${to})`).toEqual(rawSeries(db, lo, hi));
    const customers = queryCustomerSeries(db, { fromSec: from, toSec: to }, 1_000).map((c) => [c.provider, c.model, c.customerId, c.costNano, c.requests, c.inputTokens, c.outputTokens]);
    expect(customers, `customers in [${from}, ${to})`).toEqual(rawCustomers(db, lo, hi));
    for (const project of [null, 'proj_a']) {
      expect(querySpendByProvider(db, lo, hi, { project }), `spend of ${project} in [${from}, ${to})`).toEqual(rawSpend(db, lo, hi, project));
    }
    // A series answer is hundreds of cells: every fourth window (the fixed ones among them) keeps the test fast.
    if (i % 4 === 0) expectSeriesExact(db, Math.max(lo, SERIES_FROM), Math.min(hi, SERIES_TO));
  }
}

/**
 * The same with the customer rollups' changes pending (migration 5: readers add them), and again
 * once folded into the rollups, which empties the log; `inBatch` folds inside an outer transaction,
 * as writeSdkEvents does past CUSTOMER_FOLD_THRESHOLD.
 */
function expectRollupsExactThenFolded(db: Db, random: () => number, inBatch = false): void {
  expect(pendingCustomerChanges(db)).toBeGreaterThan(0);
  expectRollupsExact(db, random);
  if (inBatch) db.transaction(() => foldCustomerRollups(db)).immediate();
  else foldCustomerRollups(db);
  expect(pendingCustomerChanges(db)).toBe(0);
  expectRollupsExact(db, random);
}

describe('usage rollups', () => {
  it('equal the raw rows in every window, through re-polls, supersession, SDK batches and billing keys changing', () => {
    const random = seededRandom(20_261_127);
    const db = openDatabase(tempDir('llmeter-rollups-writes-'));
    const days = Array.from({ length: DAYS }, (_, i) => START + i * DAY);
    const seq = { next: 1 };
    for (const provider of ['openai', 'anthropic'] as const) {
      writeProviderFetch(db, provider, [{ source: 'usage', start: days[0]!, end: days.at(-1)! + DAY }, { source: 'cost', start: days[0]!, end: days.at(-1)! + DAY }], fetchRecords(random, provider, days), START);
    }
    writeSdkEvents(db, sdkEvents(random, 300, seq), { billedProviders: [], nowSec: START });
    expectRollupsExactThenFolded(db, random);

    // A re-poll of the last three days replaces them (rows vanish, costs change, days get billed).
    writeProviderFetch(db, 'openai', [{ source: 'usage', start: days[7]!, end: days[9]! + DAY }, { source: 'cost', start: days[7]!, end: days[9]! + DAY }], fetchRecords(random, 'openai', days.slice(7)), START);
    // SDK rows of the same hours again (existing rows grow), then a key is added and removed.
    writeSdkEvents(db, sdkEvents(random, 300, seq), { billedProviders: ['anthropic'], nowSec: START });
    syncSdkSpendWithBilling(db, ['openai', 'anthropic']);
    expectRollupsExactThenFolded(db, random, true);
    syncSdkSpendWithBilling(db, []);
    writeSdkEvents(db, sdkEvents(random, 200, seq), { billedProviders: [], nowSec: START });
    expectRollupsExact(db, random);
    // A repair by hand, straight in SQL: the triggers follow it too.
    db.prepare("DELETE FROM usage WHERE model = 'gpt-4o' AND bucket_start < ?").run(START + 3 * DAY);
    db.prepare("DELETE FROM sdk_usage_hourly WHERE customer_id = 'globex' AND hour < ?").run(START + 4 * DAY);
    db.prepare("UPDATE sdk_usage_hourly SET cost_nano = cost_nano + 7, hour = hour + 1000 * 86400 WHERE customer_id = 'initech'").run();
    db.prepare("UPDATE usage SET cost_nano = cost_nano * 2, requests = NULL, bucket_start = bucket_start + 1 WHERE model = 'gpt-4o-mini' AND source = 'usage'").run();
    // An update within its (day, provider, model, customer) group is one change of the log.
    db.prepare("UPDATE sdk_usage_hourly SET requests = requests + 3, output_tokens = output_tokens * 2 WHERE customer_id = 'acme'").run();
    expectRollupsExactThenFolded(db, random);
    db.close();
  });

  it('are built by the migration from the rows a database held before it', () => {
    const dir = tempDir('llmeter-rollups-migration-');
    const random = seededRandom(7);
    const old = new Database(path.join(dir, DB_FILE));
    for (const migration of MIGRATIONS.slice(0, 3)) old.exec(migration);
    old.pragma('user_version = 3');
    const days = Array.from({ length: DAYS }, (_, i) => START + i * DAY);
    const insert = old.prepare(`INSERT INTO usage (provider, source, bucket_start, bucket_end, bucket_width, model, project, requests, input_tokens, output_tokens, cost_nano, cost_kind, superseded, updated_at)
      VALUES (@provider, @source, @bucketStart, @bucketEnd, @bucketWidth, @model, @project, @requests, @inputTokens, @outputTokens, @costNano, @costKind, @superseded, 0)`);
    for (const r of fetchRecords(random, 'openai', days)) insert.run({ ...r, superseded: r.source === 'usage' && random() < 0.5 ? 1 : 0 });
    for (const r of fetchRecords(random, 'openrouter', days)) insert.run({ ...r, source: r.source === 'usage' ? 'sdk' : r.source, superseded: random() < 0.5 ? 1 : 0 });
    old.close();

    const db = openDatabase(dir);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expectRollupsExact(db, random);
    db.close();
  });

  it('plan a window as raw edges, full days and full months', () => {
    const feb = Date.UTC(2026, 1, 1) / 1000;
    const mar = Date.UTC(2026, 2, 1) / 1000;
    expect(planWindow(feb - DAY - 5, mar + DAY + 7, true)).toEqual({ raw: [[feb - DAY - 5, feb - DAY], [mar + DAY, mar + DAY + 7]], days: [[feb - DAY, feb], [mar, mar + DAY]], months: [feb, mar] });
    expect(planWindow(feb + 10, feb + 20, true)).toEqual({ raw: [[feb + 10, feb + 20], [0, 0]], days: [[0, 0], [0, 0]], months: [0, 0] });
    expect(planWindow(feb, mar, false)).toEqual({ raw: [[0, 0], [0, 0]], days: [[feb, mar], [0, 0]], months: [0, 0] });
  });
});

describe('the fast cost estimator', () => {
  it('gives exactly what the price table gives, and null where the table has no price', () => {
    const estimate = createCostEstimator();
    const random = seededRandom(42);
    const models: Array<[ProviderId, string]> = [
      ['openai', 'gpt-4o-mini'],
      ['openai', 'gpt-4o-2024-08-06'],
      ['anthropic', 'claude-sonnet-4-20250514'],
      ['anthropic', 'claude-3-5-haiku-20241022'],
      ['openrouter', 'openai/gpt-4.1'],
      ['openrouter', 'google/gemini-2.5-pro'],
      ['openai', 'my-own-finetune'],
    ];
    for (let i = 0; i < 600; i++) {
      const [provider, model] = models[i % models.length]!;
      const input = Math.floor(random() ** 3 * 400_000);
      const cached = Math.floor(random() * input * 0.5);
      const counts: TokenCounts = { inputTokens: input, cachedInputTokens: cached, cacheWriteTokens: Math.floor(random() * (input - cached) * 0.2), outputTokens: Math.floor(random() * 8_000) };
      const at = new Date(Date.UTC(2025, 0, 1) + Math.floor(random() * 600) * DAY * 1000 + Math.floor(random() * DAY * 1000));
      expect(estimate(provider, model, counts, at), `${provider} ${model} ${JSON.stringify(counts)} at ${at.toISOString()}`).toBe(estimateCostNano(provider, model, counts, at));
    }
  });
});
