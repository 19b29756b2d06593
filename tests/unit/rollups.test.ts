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
import { customerDataKey, foldCustomerRollups, pendingCustomerChanges, queryCustomerSeries, queryCustomerTotals } from '../../core/ingest/customers.js';
import { writeSdkEvents, syncSdkSpendWithBilling } from '../../core/ingest/store.js';
import type { IngestEvent } from '../../core/ingest/schema.js';
import { querySeriesTotals } from '../../core/metrics/snapshot.js';
import { createCostEstimator, estimateCostNano, type TokenCounts } from '../../core/pricing/estimate.js';
import { DB_FILE, openDatabase, type Db } from '../../core/store/db.js';
import { MIGRATIONS } from '../../core/store/migrations.js';
import { bucketStarts, querySpendSeries, type SeriesOptions } from '../../core/api/spend-queries.js';
import { planLevels, planWindow, querySpendByProvider } from '../../core/store/rollups.js';
import { COUNTED_ROWS_SQL, ESTIMATED_NANO_SQL, SPEND_NANO_SQL } from '../../core/store/spend-sql.js';
import { writeProviderFetch } from '../../core/store/usage-repo.js';
import type { Granularity } from '../../shared/api.js';
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

function rawSpend(db: Db, from: number, to: number, filter: { project?: string | null; provider?: string | null }): unknown[] {
  const { project = null, provider = null } = filter;
  return db
    .prepare(
      `SELECT provider, ${SPEND_NANO_SQL} AS cost_nano, ${ESTIMATED_NANO_SQL} AS estimated_nano FROM usage
       WHERE bucket_start >= ? AND bucket_start < ? AND (? IS NULL OR project = ?) AND (? IS NULL OR provider = ?) GROUP BY provider ORDER BY provider`,
    )
    .safeIntegers(true)
    .all(from, to, project, project, provider, provider);
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

/** The dashboard's customer ranking of [from, to), of `providers` only when given, straight from the SDK's hourly rows. */
function rawCustomerTotals(db: Db, from: number, to: number, providers: ProviderId[] | null): unknown[] {
  const filter = providers ? ` AND provider IN (${providers.map(() => '?').join(', ')})` : '';
  return db
    .prepare(
      `SELECT customer_id, SUM(cost_nano), SUM(requests), SUM(input_tokens), SUM(output_tokens) FROM sdk_usage_hourly
       WHERE hour >= ? AND hour < ? AND customer_id <> ''${filter} GROUP BY 1 ORDER BY 2 DESC, 3 DESC, 1`,
    )
    .raw(true)
    .safeIntegers(true)
    .all(from, to, ...(providers ?? []))
    .map((row) => {
      const [customerId, cost, requests, input, output] = row as [string, bigint, bigint, bigint, bigint];
      return { customerId, costUsd: formatNanoAsDecimal(cost), requests: Number(requests), inputTokens: Number(input), outputTokens: Number(output) };
    });
}

/** Where the series checks clip open windows: the generated history, two days either side. */
const SERIES_FROM = START - 2 * DAY;
const SERIES_TO = START + (DAYS + 2) * DAY;

/**
 * Windows that reach across a month with rows on both sides of their edges (2026-01-31 and
 * 2026-02-01 hold rows): summed over the whole window, they are read as whole months less the part
 * outside, so these check the parts taken away as well as those added.
 */
const ACROSS_MONTHS: Array<[number, number]> = [
  [Date.UTC(2026, 0, 3, 5) / 1000, Date.UTC(2026, 0, 31, 14, 30, 17) / 1000],
  [Date.UTC(2026, 1, 1, 7, 20, 34) / 1000, Date.UTC(2026, 1, 26) / 1000],
  [Date.UTC(2026, 0, 27, 13) / 1000, Date.UTC(2026, 1, 27, 2) / 1000],
];

const BUCKET_OF: Record<Granularity, string> = {
  hour: `bucket_start - bucket_start % ${HOUR}`,
  day: `bucket_start - bucket_start % ${DAY}`,
  month: `CAST(strftime('%s', bucket_start, 'unixepoch', 'start of month') AS INTEGER)`,
};

/**
 * A series answer straight from the raw rows: spend as SPEND_NANO_SQL counts it per bucket and
 * group, listing by hour the groups with a row whose cost counts, by day and month every group with
 * rows, at $0 if they count for nothing. The reference for the rollup-backed answer, as one line per
 * series (provider, key, then cost and estimated per bucket), sorted.
 */
function rawSpendSeries(db: Db, from: number, to: number, granularity: Granularity, groupBy: SeriesOptions['groupBy'], providers?: readonly ProviderId[]): string[] {
  const starts = bucketStarts(from, to, granularity);
  const at = new Map(starts.map((start, i) => [start, i]));
  const series = new Map<string, { provider: string; key: string; cost: bigint[]; estimated: bigint[] }>();
  const rows = db
    .prepare(
      `SELECT ${BUCKET_OF[granularity]}, provider, ${groupBy}, CASE WHEN superseded = 0 THEN cost_nano ELSE 0 END, CASE WHEN superseded = 0 AND cost_kind = 'estimated' THEN cost_nano ELSE 0 END
       FROM usage WHERE bucket_start >= ? AND bucket_start < ?${granularity === 'hour' ? ' AND superseded = 0' : ''}`,
    )
    .raw(true)
    .safeIntegers(true)
    .all(from, to) as Array<[bigint, ProviderId, string, bigint, bigint]>;
  for (const [bucket, provider, key, cost, estimated] of rows) {
    if (providers && !providers.includes(provider)) continue;
    const id = `${provider}|${key}`;
    if (!series.has(id)) series.set(id, { provider, key, cost: starts.map(() => 0n), estimated: starts.map(() => 0n) });
    series.get(id)!.cost[at.get(Number(bucket))!]! += cost;
    series.get(id)!.estimated[at.get(Number(bucket))!]! += estimated;
  }
  return [...series.values()].map((s) => seriesLine(s.provider, s.key, s.cost.map(formatNanoAsDecimal), s.estimated.map(formatNanoAsDecimal))).sort();
}

/** One series as a line of text: comparing hundreds of answers cell by cell as arrays would make the test slow. */
function seriesLine(provider: string | null, key: string, costUsd: string[], estimatedUsd: string[]): string {
  return `${provider} ${key}: ${costUsd.join(' ')} | ${estimatedUsd.join(' ')}`;
}

const nano = (usd: string): bigint => parseAmountToNano(usd)!;

const GROUPINGS = ['model', 'project', 'provider'] as const;

/**
 * The spend series of [from, to), by every granularity, grouped by GROUPINGS[variant % 3] and, for
 * odd variants, of two providers only: they equal the raw rows; and folded to their `top` groups,
 * they keep the biggest groups' series as they were and sum the others into `other`, so that all
 * series together add up to every group's spend, billed and estimated apart.
 */
function expectSeriesExact(db: Db, from: number, to: number, variant: number): void {
  if (from >= to) return;
  const groupBy = GROUPINGS[variant % GROUPINGS.length]!;
  const providers: ProviderId[] | undefined = variant % 2 === 1 ? ['openai', 'anthropic'] : undefined;
  for (const granularity of ['hour', 'day', 'month'] as const) {
    const options = { granularity, groupBy, ...(providers ? { providers } : {}) };
    const what = `by ${granularity} and ${groupBy}${providers ? ` of ${providers.join(', ')}` : ''} in [${from}, ${to})`;
    const all = querySpendSeries(db, { fromSec: from, toSec: to }, options);
    expect(all.series.map((s) => seriesLine(s.provider, s.key, s.costUsd, s.estimatedUsd)).sort(), what).toEqual(rawSpendSeries(db, from, to, granularity, groupBy, providers));
    const folded = querySpendSeries(db, { fromSec: from, toSec: to }, { ...options, top: 2 });
    expect(folded.series, `${what}, top 2`).toEqual(all.series.slice(0, 2));
    expect(folded.other?.groups, `${what}, top 2`).toBe(all.series.length > 2 ? all.series.length - 2 : undefined);
    for (const part of ['costUsd', 'estimatedUsd'] as const) {
      const sum = (series: Array<Record<typeof part, string[]>>, at: number): bigint => series.reduce((total, s) => total + nano(s[part][at]!), 0n);
      const perBucket = (series: Array<Record<typeof part, string[]>>) => all.buckets.map((_, at) => sum(series, at)).join(' ');
      expect(perBucket([...folded.series, ...(folded.other ? [folded.other] : [])]), `${what}, top 2: ${part}`).toBe(perBucket(all.series));
    }
  }
}

/**
 * What the rollups hold of the rows whose cost counts (migrations 6 and 7: how many, their spend
 * and its estimated part), straight from those rows. Only the hourly rollup deletes a row once
 * nothing counts in it; the others keep it, so rows holding nothing are left out of the comparison.
 */
function expectSpendRollupsExact(db: Db): void {
  const day = `bucket_start - bucket_start % ${DAY}`;
  const tables: Array<[table: string, key: string, rows: string, rawKey: string]> = [
    ['usage_hourly', 'hour, provider, model, project', 'rows', `bucket_start - bucket_start % ${HOUR}, provider, model, project`],
    ['usage_daily', 'day, provider, model, project', 'spend_rows', `${day}, provider, model, project`],
    ['usage_monthly', 'month, provider, model, project', 'spend_rows', `${BUCKET_OF.month}, provider, model, project`],
    ['usage_spend_hour_totals', 'hour, provider', 'rows', `bucket_start - bucket_start % ${HOUR}, provider`],
    ['usage_spend_day_totals', 'day, provider', 'rows', `${day}, provider`],
  ];
  for (const [table, key, rows, rawKey] of tables) {
    const order = key.split(', ').map((_, i) => i + 1).join(', ');
    const stored = db.prepare(`SELECT ${key}, ${rows}, cost_nano, estimated_nano FROM ${table} WHERE ${rows} <> 0 OR cost_nano <> 0 OR estimated_nano <> 0 ORDER BY ${order}`).raw(true).safeIntegers(true).all();
    const raw = db
      .prepare(`SELECT ${rawKey}, COUNT(*), SUM(cost_nano), SUM(CASE WHEN cost_kind = 'estimated' THEN cost_nano ELSE 0 END) FROM usage WHERE superseded = 0 GROUP BY ${order} ORDER BY ${order}`)
      .raw(true)
      .safeIntegers(true)
      .all();
    expect(stored, table).toEqual(raw);
  }
}

/** Every rollup-backed query against the raw rows; `series` false leaves the spend series out (what folding the customer rollups cannot change). */
function expectRollupsExact(db: Db, random: () => number, series = true): void {
  for (const [i, [from, to]] of windows(random).entries()) {
    const lo = from ?? Number.MIN_SAFE_INTEGER;
    const hi = to ?? Number.MAX_SAFE_INTEGER;
    expect(rollupSeries(db, from, to), `window [${from}, ${to})`).toEqual(rawSeries(db, lo, hi));
    const customers = queryCustomerSeries(db, { fromSec: from, toSec: to }, 1_000).map((c) => [c.provider, c.model, c.customerId, c.costNano, c.requests, c.inputTokens, c.outputTokens]);
    expect(customers, `customers in [${from}, ${to})`).toEqual(rawCustomers(db, lo, hi));
    for (const providers of [null, ['openai'] as ProviderId[]]) {
      const ranking = rawCustomerTotals(db, lo, hi, providers);
      const what = `customer ranking in [${from}, ${to})${providers ? ` of ${providers.join(', ')}` : ''}`;
      expect(queryCustomerTotals(db, { fromSec: from, toSec: to }, 1_000, providers ?? []), what).toEqual(ranking);
      expect(queryCustomerTotals(db, { fromSec: from, toSec: to }, 2, providers ?? []), `${what}, first 2`).toEqual(ranking.slice(0, 2));
    }
    for (const filter of [{}, { project: 'proj_a' }, { provider: 'anthropic' }]) {
      expect(querySpendByProvider(db, lo, hi, filter), `spend of ${JSON.stringify(filter)} in [${from}, ${to})`).toEqual(rawSpend(db, lo, hi, filter));
    }
    // A series answer is hundreds of cells: every fourth window (the fixed ones among them) keeps the test fast.
    if (series && i % 4 === 0) expectSeriesExact(db, Math.max(lo, SERIES_FROM), Math.min(hi, SERIES_TO), i / 4);
  }
  if (!series) return;
  for (const [i, [from, to]] of ACROSS_MONTHS.entries()) expectSeriesExact(db, from, to, i);
  expectSpendRollupsExact(db);
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
  expectRollupsExact(db, random, false);
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

  it('keep every SDK hourly row and customer sum through the move to keyed tables (migration 9), and go on from there', () => {
    const dir = tempDir('llmeter-sdk-keys-migration-');
    const random = seededRandom(9);
    const old = new Database(path.join(dir, DB_FILE));
    const taken = new Set<string>();
    /** `count` new hourly rows as migration 3's table took them, customers and features of every kind. */
    const addHours = (count: number): void => {
      const insert = old.prepare('INSERT INTO sdk_usage_hourly VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, 0)');
      while (count > 0) {
        const row = [
          START + Math.floor(random() * DAYS * 24) * HOUR,
          (['openai', 'anthropic'] as const)[Math.floor(random() * 2)]!,
          MODELS[Math.floor(random() * MODELS.length)]!,
          ['', 'acme', 'globex', 'Ünïcode 客户 🚀'][Math.floor(random() * 4)]!,
          ['', 'chat', 'search'][Math.floor(random() * 3)]!,
        ] as const;
        if (taken.has(row.join('|'))) continue;
        taken.add(row.join('|'));
        const requests = 1 + Math.floor(random() * 50);
        insert.run(...row, requests, Math.floor(random() * 3), requests * 900, requests * 80, BigInt(requests) * 1_234_567n, Math.floor(random() * 2), requests * 700);
        count--;
      }
    };
    for (const migration of MIGRATIONS.slice(0, 3)) old.exec(migration);
    addHours(150); // summed into the customer rollups by migration 4
    for (const migration of MIGRATIONS.slice(3, 8)) old.exec(migration);
    old.pragma('user_version = 8');
    addHours(100); // changes pending, logged by migration 5's triggers
    old.prepare("UPDATE sdk_usage_hourly SET requests = requests + 1, hour = hour + 3600 WHERE customer_id = 'globex' AND hour < ?").run(START + DAY);
    const allRows = 'SELECT * FROM sdk_usage_hourly ORDER BY hour, provider, model, customer_id, feature';
    const rowsBefore = old.prepare(allRows).safeIntegers(true).raw(true).all();
    // customerDataKey at migration 8: the folded changes and the log.
    const keyBefore = old.prepare('SELECT changes + COALESCE((SELECT MAX(rowid) FROM sdk_customers_pending), 0) FROM sdk_customers_folded').pluck().get() as number;
    expect(keyBefore).toBeGreaterThan(100);
    old.close();

    const db = openDatabase(dir);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(db.prepare(allRows).safeIntegers(true).raw(true).all()).toEqual(rowsBefore);
    expect(customerDataKey(db)).toBe(keyBefore);
    expectRollupsExact(db, random);
    // SDK batches, and repairs by hand through the view (a new customer and feature, a move, a delete).
    const seq = { next: 1 };
    writeSdkEvents(db, sdkEvents(random, 300, seq), { billedProviders: [], nowSec: START });
    // A change by hand waits for the SDK writes pending to be folded (migration 11).
    foldCustomerRollups(db);
    db.prepare("INSERT INTO sdk_usage_hourly VALUES (?, 'openai', 'gpt-4o', 'hooli', 'agent', 3, 0, 30, 0, 0, 3, 999, 0, 9, 0)").run(START + 2 * DAY);
    db.prepare("UPDATE sdk_usage_hourly SET customer_id = 'hooli', cost_nano = cost_nano + 5 WHERE customer_id = 'acme' AND feature = 'search'").run();
    db.prepare("DELETE FROM sdk_usage_hourly WHERE customer_id = 'Ünïcode 客户 🚀' AND hour < ?").run(START + 3 * DAY);
    expect(db.prepare("SELECT COUNT(*) FROM sdk_usage_hourly WHERE customer_id = 'hooli' AND feature = 'agent'").pluck().get()).toBe(1);
    expect(db.prepare("SELECT COUNT(*) FROM sdk_usage_hourly WHERE customer_id = 'acme' AND feature = 'search'").pluck().get()).toBe(0);
    expect(db.prepare("SELECT COUNT(*) FROM sdk_usage_hourly WHERE customer_id = 'Ünïcode 客户 🚀' AND hour < ?").pluck().get(START + 3 * DAY)).toBe(0);
    expectRollupsExactThenFolded(db, random);
    db.close();
  });

  it('plan a window as raw edges, full days and full months', () => {
    const feb = Date.UTC(2026, 1, 1) / 1000;
    const mar = Date.UTC(2026, 2, 1) / 1000;
    expect(planWindow(feb - DAY - 5, mar + DAY + 7, true)).toEqual({ raw: [[feb - DAY - 5, feb - DAY], [mar + DAY, mar + DAY + 7]], days: [[feb - DAY, feb], [mar, mar + DAY]], months: [feb, mar] });
    expect(planWindow(feb + 10, feb + 20, true)).toEqual({ raw: [[feb + 10, feb + 20], [0, 0]], days: [[0, 0], [0, 0]], months: [0, 0] });
    expect(planWindow(feb, mar, false)).toEqual({ raw: [[0, 0], [0, 0]], days: [[feb, mar], [0, 0]], months: [0, 0] });
  });
  it('plan a window as whole months, days and hours, taking away what lies outside it where that reads fewer rows', () => {
    const at = (month: number, day: number, hour = 0, minute = 0): number => Date.UTC(2026, month - 1, day, hour, minute) / 1000;
    const range = (from: number, to: number, sign: 1 | -1 = 1) => ({ from, to, sign });
    const none = range(0, 0);
    // 90 days back from an afternoon: September to November whole, less the end of November; the last days of August added.
    expect(planLevels(at(8, 29, 14, 35), at(11, 27, 14, 35), ['month', 'day', 'raw'], true)).toEqual({
      month: [range(at(9, 1), at(12, 1)), none],
      day: [range(at(8, 30), at(9, 1)), range(at(11, 28), at(12, 1), -1)],
      hour: [none, none],
      raw: [range(at(8, 29, 14, 35), at(8, 30)), range(at(11, 27, 14, 35), at(11, 28), -1)],
    });
    // In buckets, nothing is taken away: every range lies inside the window.
    expect(planLevels(at(8, 29, 14, 35), at(11, 27, 14, 35), ['day', 'hour', 'raw'], false)).toEqual({
      month: [none, none],
      day: [range(at(8, 30), at(11, 27)), none],
      hour: [range(at(8, 29, 15), at(8, 30)), range(at(11, 27), at(11, 27, 14))],
      raw: [range(at(8, 29, 14, 35), at(8, 29, 15)), range(at(11, 27, 14), at(11, 27, 14, 35))],
    });
    // Under three hours: three whole hours less the minutes outside the window, and no day.
    expect(planLevels(at(3, 2, 9, 5), at(3, 2, 11, 50), ['month', 'day', 'hour', 'raw'], true)).toEqual({
      month: [none, none],
      day: [none, none],
      hour: [range(at(3, 2, 9), at(3, 2, 12)), none],
      raw: [range(at(3, 2, 9), at(3, 2, 9, 5), -1), range(at(3, 2, 11, 50), at(3, 2, 12), -1)],
    });
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
