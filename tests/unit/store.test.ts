import Database from 'better-sqlite3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { querySeriesTotals } from '../../core/metrics/snapshot.js';
import { DB_FILE, openDatabase, StoreError } from '../../core/store/db.js';
import { SCHEMA_VERSION } from '../../core/store/migrations.js';
import { writeProviderFetch } from '../../core/store/usage-repo.js';
import { record } from '../support/records.js';
import { tempDir } from '../support/temp.js';

const DAY = 86_400;
const D0 = Date.UTC(2026, 10, 20) / 1000;
const ALL = { fromSec: null, toSec: null };

describe('usage store', () => {
  it('runs migrations on a new file in WAL mode', () => {
    const dir = tempDir();
    const db = openDatabase(dir);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('refuses a database from a newer version and leaves it untouched', () => {
    const dir = tempDir();
    const raw = new Database(path.join(dir, DB_FILE));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    expect(() => openDatabase(dir)).toThrow(StoreError);
    expect(() => openDatabase(dir)).toThrow(/newer LLMeter/);
    const again = new Database(path.join(dir, DB_FILE));
    expect(again.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 5);
    again.close();
  });

  it('re-polling the same window never double counts', () => {
    const db = openDatabase(tempDir());
    const coverage = [{ source: 'cost' as const, start: D0, end: D0 + 2 * DAY }];
    const rows = [record({ provider: 'openai', source: 'cost', bucketStart: D0, costNano: 1_500_000_000n, lineItem: 'gpt-4o, input' })];
    writeProviderFetch(db, 'openai', coverage, rows, 1);
    writeProviderFetch(db, 'openai', coverage, rows, 2);
    expect(querySeriesTotals(db, ALL)[0]!.costNano).toBe(1_500_000_000n);
  });

  it('a revised window replaces what was stored, including rows the provider no longer reports', () => {
    const db = openDatabase(tempDir());
    const coverage = [{ source: 'cost' as const, start: D0, end: D0 + DAY }];
    writeProviderFetch(db, 'openai', coverage, [
      record({ provider: 'openai', source: 'cost', bucketStart: D0, model: 'a', costNano: 5n }),
      record({ provider: 'openai', source: 'cost', bucketStart: D0, model: 'b', costNano: 7n }),
    ], 1);
    writeProviderFetch(db, 'openai', coverage, [record({ provider: 'openai', source: 'cost', bucketStart: D0, model: 'a', costNano: 9n })], 2);
    const totals = querySeriesTotals(db, ALL);
    expect(totals.map((t) => [t.model, t.costNano])).toEqual([['a', 9n]]);
  });

  it('rows outside the covered window and of other providers stay', () => {
    const db = openDatabase(tempDir());
    writeProviderFetch(db, 'openai', [{ source: 'cost', start: D0 - DAY, end: D0 }], [record({ provider: 'openai', source: 'cost', bucketStart: D0 - DAY, costNano: 3n })], 1);
    writeProviderFetch(db, 'anthropic', [{ source: 'cost', start: D0, end: D0 + DAY }], [record({ provider: 'anthropic', source: 'cost', bucketStart: D0, costNano: 4n })], 1);
    writeProviderFetch(db, 'openai', [{ source: 'cost', start: D0, end: D0 + DAY }], [], 2);
    expect(querySeriesTotals(db, ALL).map((t) => [t.provider, t.costNano])).toEqual([['anthropic', 4n], ['openai', 3n]]);
  });

  it('billed cost of a day supersedes that day’s estimates, and only that day’s', () => {
    const db = openDatabase(tempDir());
    const usage = [
      record({ provider: 'openai', source: 'usage', bucketStart: D0 + 3600, costNano: 100n, inputTokens: 10 }),
      record({ provider: 'openai', source: 'usage', bucketStart: D0 + DAY + 3600, costNano: 200n, inputTokens: 20 }),
    ];
    writeProviderFetch(db, 'openai', [{ source: 'usage', start: D0, end: D0 + 2 * DAY }, { source: 'cost', start: D0, end: D0 + 2 * DAY }], usage, 1);
    let [totals] = querySeriesTotals(db, ALL);
    expect(totals!.costNano).toBe(300n);
    expect(totals!.estimatedNano).toBe(300n);

    writeProviderFetch(db, 'openai', [{ source: 'usage', start: D0, end: D0 + 2 * DAY }, { source: 'cost', start: D0, end: D0 + 2 * DAY }], [
      ...usage,
      record({ provider: 'openai', source: 'cost', bucketStart: D0, costNano: 150n }),
    ], 2);
    [totals] = querySeriesTotals(db, ALL);
    expect(totals!.costNano).toBe(350n); // 150 billed for day 0 + 200 estimated for day 1
    expect(totals!.estimatedNano).toBe(200n);
    expect(totals!.inputTokens).toBe(30); // tokens always count
  });

  it('sums money exactly beyond 2^53 nano-dollars', () => {
    const db = openDatabase(tempDir());
    const big = 9_000_000_000_000_001n; // $9M and one nano-dollar
    writeProviderFetch(db, 'openai', [{ source: 'cost', start: D0, end: D0 + 2 * DAY }], [
      record({ provider: 'openai', source: 'cost', bucketStart: D0, costNano: big }),
      record({ provider: 'openai', source: 'cost', bucketStart: D0 + DAY, costNano: big }),
    ], 1);
    expect(querySeriesTotals(db, ALL)[0]!.costNano).toBe(2n * big);
  });

  it('windows count buckets that start inside [from, to)', () => {
    const db = openDatabase(tempDir());
    writeProviderFetch(db, 'openai', [{ source: 'cost', start: D0, end: D0 + 3 * DAY }], [0, 1, 2].map((i) => record({ provider: 'openai', source: 'cost', bucketStart: D0 + i * DAY, costNano: BigInt(10 ** i) })), 1);
    expect(querySeriesTotals(db, { fromSec: D0 + DAY, toSec: D0 + 2 * DAY })[0]!.costNano).toBe(10n);
    expect(querySeriesTotals(db, { fromSec: D0 + 1, toSec: null })[0]!.costNano).toBe(110n);
  });
});
