/**
 * The spend series' arithmetic: its sums are added as JS numbers only when that is provably exact,
 * and read again as bigints otherwise (sums past 2^53 nano-dollars, credits). Each answer is checked
 * against sums made here in bigint from the records written; the bucket labels against Date's.
 */
import { describe, expect, it } from 'vitest';
import { bucketStarts, earliestBucket, querySpendSeries } from '../../core/api/spend-queries.js';
import { openDatabase, type Db } from '../../core/store/db.js';
import { writeProviderFetch } from '../../core/store/usage-repo.js';
import type { Granularity, SpendSeries } from '../../shared/api.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import type { UsageRecord } from '../../shared/usage.js';
import { record } from '../support/records.js';
import { tempDir } from '../support/temp.js';

const HOUR = 3_600;
const DAY = 86_400;
const START = Date.UTC(2026, 2, 1) / 1000;
const WINDOW = { fromSec: START, toSec: START + 3 * DAY };

/** An estimated hourly row of `model` at `hour` hours after START, or a billed daily one (`day` days after) with its own line item. */
const estimate = (model: string, hour: number, costNano: bigint): UsageRecord => record({ provider: 'openai', source: 'usage', bucketStart: START + hour * HOUR, model, costNano });
const billed = (model: string, day: number, lineItem: string, costNano: bigint): UsageRecord => record({ provider: 'openai', source: 'cost', bucketStart: START + day * DAY, model, lineItem, costNano });

function databaseWith(records: UsageRecord[]): Db {
  const db = openDatabase(tempDir('llmeter-spend-series-'));
  writeProviderFetch(db, 'openai', [], records, START + 4 * DAY);
  return db;
}

/** What the answer must say, summed here in bigint: per model, its spend per bucket and in all; nothing of these records is superseded. */
function expectedSeries(records: UsageRecord[], granularity: Granularity): Map<string, { cost: bigint[]; estimated: bigint[]; total: bigint }> {
  const starts = bucketStarts(WINDOW.fromSec, WINDOW.toSec, granularity);
  const length = granularity === 'hour' ? HOUR : DAY;
  const series = new Map<string, { cost: bigint[]; estimated: bigint[]; total: bigint }>();
  for (const { model, bucketStart, costNano, costKind } of records) {
    if (!series.has(model)) series.set(model, { cost: starts.map(() => 0n), estimated: starts.map(() => 0n), total: 0n });
    const entry = series.get(model)!;
    const at = starts.indexOf(bucketStart - (bucketStart % length));
    entry.cost[at]! += costNano;
    if (costKind === 'estimated') entry.estimated[at]! += costNano;
    entry.total += costNano;
  }
  return series;
}

const text = (nanos: bigint[]): string[] => nanos.map(formatNanoAsDecimal);

/** The answer by model, unfolded and folded to its biggest model, equals the bigint sums, to the character. */
function expectExact(db: Db, records: UsageRecord[]): void {
  for (const granularity of ['hour', 'day'] as const) {
    const expected = expectedSeries(records, granularity);
    const all = querySpendSeries(db, WINDOW, { granularity, groupBy: 'model' });
    const byModel = new Map(all.series.map((s) => [s.key, s]));
    expect([...byModel.keys()].sort(), granularity).toEqual([...expected.keys()].sort());
    for (const [model, want] of expected) {
      const got = byModel.get(model)!;
      expect({ cost: got.costUsd, estimated: got.estimatedUsd, total: got.totalUsd }, `${model} by ${granularity}`).toEqual({ cost: text(want.cost), estimated: text(want.estimated), total: formatNanoAsDecimal(want.total) });
    }

    const folded: SpendSeries = querySpendSeries(db, WINDOW, { granularity, groupBy: 'model', top: 1 });
    const [kept] = folded.series;
    expect(folded.series).toEqual(all.series.slice(0, 1));
    const others = [...expected].filter(([model]) => model !== kept!.key).map(([, series]) => series);
    const sumOf = (part: 'cost' | 'estimated', at: number): bigint => others.reduce((sum, series) => sum + series[part][at]!, 0n);
    const starts = bucketStarts(WINDOW.fromSec, WINDOW.toSec, granularity);
    expect(folded.other, `other by ${granularity}`).toEqual({
      groups: others.length,
      costUsd: text(starts.map((_, at) => sumOf('cost', at))),
      estimatedUsd: text(starts.map((_, at) => sumOf('estimated', at))),
      totalUsd: formatNanoAsDecimal(others.reduce((sum, series) => sum + series.total, 0n)),
    });
  }
}

describe('spend series arithmetic', () => {
  it('is exact in everyday amounts, credits included', () => {
    const records = [
      estimate('gpt-4o', 0, 1n),
      estimate('gpt-4o', 1, 123_456_789n),
      estimate('gpt-4o', 30, 2_500_000_000n),
      estimate('gpt-4o-mini', 0, 999_999_999n),
      estimate('gpt-4o-mini', 5, 7n),
      estimate('o1', 2, 40_000_000_000n),
      billed('o1', 2, 'tokens', 5_000_000_001n),
      billed('o1', 2, 'credit', -5_500_000_000n),
    ];
    expectExact(databaseWith(records), records);
  });

  // Each of these answers needs the bigint fallback for one reason alone: the other amounts are small.
  it('stays exact when totals of amounts a number holds pass 2^53 nano-dollars', () => {
    const big = 4_000_000_000_000_001n; // $4M and a nano-dollar: three of them sum to an odd number past 2^53
    const records = [estimate('gpt-4o', 0, big), estimate('gpt-4o', 1, big), estimate('gpt-4o', 25, big), estimate('gpt-4o-mini', 4, 3n), estimate('o1', 2, 1n)];
    expectExact(databaseWith(records), records);
  });

  it('stays exact when a single sum is too big for a number', () => {
    const records = [estimate('gpt-4o', 0, 5n), estimate('gpt-4o-mini', 3, 2n ** 53n + 1n), estimate('o1', 2, 1n)];
    expectExact(databaseWith(records), records);
  });

  it('stays exact when a credit takes back a sum past 2^53, so that the net is small but its terms are not', () => {
    const big = 6_000_000_000_000_001n;
    const records = [estimate('gpt-4o', 0, big), estimate('gpt-4o', 1, big), estimate('gpt-4o', 2, 1n), billed('gpt-4o', 2, 'credit', -big), estimate('gpt-4o-mini', 0, 5n), billed('o1', 1, 'tokens', 17n)];
    expectExact(databaseWith(records), records);
  });

  it('stays exact when a credit is too big for a number', () => {
    const records = [estimate('gpt-4o', 0, 9n), billed('o3', 1, 'credit', -(2n ** 53n) - 11n), billed('o1', 1, 'tokens', 17n)];
    expectExact(databaseWith(records), records);
  });

  it('labels buckets as Date writes them, across days, months, years and before 1970', () => {
    const db = openDatabase(tempDir('llmeter-spend-series-'));
    for (const [granularity, fromSec, toSec] of [
      ['hour', Date.UTC(2025, 11, 30, 22) / 1000, Date.UTC(2026, 0, 2, 3) / 1000],
      ['hour', -5 * DAY - 7, 2 * DAY],
      ['day', Date.UTC(2024, 1, 27) / 1000, Date.UTC(2024, 2, 3) / 1000],
      ['month', Date.UTC(1969, 10, 15) / 1000, Date.UTC(1971, 1, 1) / 1000],
    ] as const) {
      const answer = querySpendSeries(db, { fromSec, toSec }, { granularity, groupBy: 'model' });
      expect(answer.buckets, `${granularity} from ${fromSec}`).toEqual(bucketStarts(fromSec, toSec, granularity).map((sec) => new Date(sec * 1000).toISOString()));
    }
  });
});

describe('spend series of some providers', () => {
  // SQLite pushes a provider test into every part of the windowed union; on a plain `provider`
  // column it read those parts through a provider index, every row of the provider whatever the
  // window (1M rows: 0.3–2.3 s an answer). Checked on the plans, which do not depend on the size.
  it('read the usage table and the rollups by time, never through a provider index alone', () => {
    const db = databaseWith([estimate('gpt-4o', 0, 5n), billed('o3', 1, 'tokens', 7n)]);
    // Every statement the queries run, with the parameters of its first run.
    const ran = new Map<string, unknown[]>();
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => {
      const statement = prepare(sql);
      for (const method of ['all', 'get', 'iterate'] as const) {
        const run = statement[method].bind(statement) as (...params: unknown[]) => never;
        statement[method] = ((...params: unknown[]) => {
          if (!ran.has(sql)) ran.set(sql, params);
          return run(...params);
        }) as never;
      }
      return statement;
    }) as typeof db.prepare;
    const window = { fromSec: START + 5 * HOUR, toSec: START + 40 * DAY };
    for (const granularity of ['hour', 'day', 'month'] as const) {
      for (const groupBy of ['model', 'project', 'provider'] as const) {
        querySpendSeries(db, window, { granularity, groupBy, providers: ['openai'] });
        querySpendSeries(db, window, { granularity, groupBy, providers: ['openai', 'anthropic'], top: 1 });
      }
    }
    expect(earliestBucket(db, ['openai'])).toBe(START);
    expect(ran.size).toBeGreaterThan(5);
    for (const [sql, params] of ran) {
      const plan = (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((step) => step.detail);
      // An index on (provider, model, time) bounded by time too (one model's series) reads only the window.
      expect(plan.filter((detail) => /\(provider=/.test(detail) && !/\b(hour|day|month|bucket_start)[<>]/.test(detail)), sql).toEqual([]);
    }
  });
});
