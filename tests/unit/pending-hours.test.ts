/**
 * The SDK writer's pending writes (core/ingest/pending-hours.ts): each write's customer hours are
 * stored as one row, folded into the hourly rows and the customer rollups later. Readers fold them
 * first, whichever app wrote them; an app that stops without folding leaves them to the next; a
 * change by hand waits for them; and nothing is counted twice or lost through a rollback.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startCore } from '../../core/app.js';
import { resolveConfig } from '../../core/config.js';
import { silentLogger } from '../../core/log.js';
import Database from 'better-sqlite3';
import path from 'node:path';
import { customerDataKey, foldCustomerRollups, loggedCustomerChanges, pendingCustomerChanges, queryCustomerSeries } from '../../core/ingest/customers.js';
import { PENDING_FOLD_ADDITIONS, PENDING_FOLD_MAX_AGE_MS, pendingWriteCount } from '../../core/ingest/pending-hours.js';
import type { IngestEvent } from '../../core/ingest/schema.js';
import { writeSdkBatches, writeSdkEvents } from '../../core/ingest/store.js';
import { DB_FILE, openDatabase, type Db } from '../../core/store/db.js';
import { MIGRATIONS } from '../../core/store/migrations.js';
import { customerRollupDrift, folded } from '../support/customer-rollups.js';
import { tempDir } from '../support/temp.js';

const NOW_SEC = Date.parse('2026-11-18T12:34:56Z') / 1000;
const DAY = 86_400;
const ALL = { fromSec: null, toSec: null };
const OPTIONS = { billedProviders: [], nowSec: NOW_SEC };

let eventNumber = 0;
/** A new SDK event of `customerId`, `hoursAgo` before NOW_SEC. */
function event(customerId: string, hoursAgo = 0, feature = ''): IngestEvent {
  const n = ++eventNumber;
  return {
    id: `3f2b8c1e-0000-4000-8000-${String(n).padStart(12, '0')}`,
    provider: n % 2 ? 'openai' : 'anthropic',
    model: n % 2 ? 'gpt-4o-mini' : 'claude-sonnet-4-20250514',
    occurredAt: NOW_SEC - hoursAgo * 3_600,
    inputTokens: 100 + n,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 10 + (n % 7),
    latencyMs: 300,
    status: 200,
    customerId,
    feature,
  };
}

/** Events over two days, new hourly rows and rows added to, several customers and features. */
function someEvents(count: number): IngestEvent[] {
  return Array.from({ length: count }, (_, i) => event(`customer-${i % 5}`, (i % 3) * 13, i % 2 ? 'chat' : ''));
}

/** Per (provider, model, customer) sums, all time, from the hourly rows themselves (the pending writes folded into them first). */
function truth(db: Db): string[] {
  return (
    folded(db)
      .prepare(
        `SELECT k.provider, k.model, k.customer_id, SUM(h.cost_nano) AS cost, SUM(h.requests) AS requests, SUM(h.input_tokens) AS input, SUM(h.output_tokens) AS output
         FROM sdk_usage_hourly_keyed AS h JOIN sdk_customer_keys AS k ON k.id = h.customer_key
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      )
      .safeIntegers(true)
      .all() as Array<Record<string, bigint | string>>
  ).map((row) => `${row['provider']}|${row['model']}|${row['customer_id']}|${row['cost']}|${row['requests']}|${row['input']}|${row['output']}`);
}

/** The same sums as the customer readers answer them. */
function fromReaders(db: Db): string[] {
  return queryCustomerSeries(db, ALL, 1_000).map((s) => `${s.provider}|${s.model}|${s.customerId}|${s.costNano}|${s.requests}|${s.inputTokens}|${s.outputTokens}`);
}

const drift = customerRollupDrift;

const count = (db: Db, table: string): number => db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;

const open: Db[] = [];
/** Opens the database in `dir` (a connection of its own, as another app or a restart has). */
function connect(dir: string): Db {
  const db = openDatabase(dir);
  open.push(db);
  return db;
}

afterEach(() => {
  vi.restoreAllMocks();
  for (const db of open.splice(0)) if (db.open) db.close();
});

/** How many hourly rows the database holds, pending writes not folded. */
const hourlyRows = (db: Db): number => count(db, 'sdk_usage_hourly_keyed');

describe('the SDK writer stores each write as one pending row', () => {
  it('writes no hourly row and logs nothing; a reader folds them first, in any app on the database', () => {
    const dir = tempDir('llmeter-pending-');
    const app = connect(dir);
    writeSdkEvents(app, someEvents(30), OPTIONS);
    writeSdkEvents(app, someEvents(30), OPTIONS);
    expect([pendingWriteCount(app), hourlyRows(app), loggedCustomerChanges(app)]).toEqual([2, 0, 0]);
    expect(pendingCustomerChanges(app)).toBe(2);
    // Another app on the same folder reads them: it folds them first.
    const other = connect(dir);
    const read = fromReaders(other);
    expect(pendingWriteCount(app)).toBe(0);
    expect(read).toEqual(truth(app));
    expect(folded(app).prepare('SELECT SUM(requests) FROM sdk_usage_hourly_keyed').pluck().get()).toBe(60);
    expect(fromReaders(app)).toEqual(read);
    expect(drift(app)).toEqual([]);
  });

  it('sums many writes to one customer hour into one update, exactly, the cost as an integer past 2^53', () => {
    const app = connect(tempDir('llmeter-pending-sums-'));
    // A model without a price is unpriced; one priced at its most costly and 10^10 tokens a request makes the nano-dollars pass 2^53.
    const costly = (n: number): IngestEvent => ({ ...event('acme'), id: `3f2b8c1e-0000-4000-9000-${String(n).padStart(12, '0')}`, provider: 'openai', model: 'gpt-4o', inputTokens: 10_000_000_000, outputTokens: 10_000_000_000, feature: 'chat' });
    for (let write = 0; write < 40; write++) writeSdkEvents(app, [costly(2 * write), costly(2 * write + 1)], OPTIONS);
    const single = connect(tempDir('llmeter-pending-sums-one-'));
    writeSdkEvents(single, [costly(0)], OPTIONS);
    const one = folded(single).prepare('SELECT cost_nano FROM sdk_usage_hourly_keyed').safeIntegers(true).pluck().get() as bigint;
    expect(pendingWriteCount(app)).toBe(40);
    const rows = folded(app).prepare('SELECT requests, input_tokens, output_tokens, cost_nano FROM sdk_usage_hourly_keyed').safeIntegers(true).raw(true).all();
    expect(one * 80n).toBeGreaterThan(2n ** 53n);
    expect(rows).toEqual([[80n, 800_000_000_000n, 800_000_000_000n, one * 80n]]);
    expect(drift(app)).toEqual([]);
  });

  it('folds them once the oldest is PENDING_FOLD_MAX_AGE_MS old, with a write', () => {
    const app = connect(tempDir('llmeter-pending-age-'));
    let clock = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    writeSdkEvents(app, someEvents(10), OPTIONS);
    clock += PENDING_FOLD_MAX_AGE_MS - 1;
    writeSdkEvents(app, someEvents(10), OPTIONS);
    expect(pendingWriteCount(app)).toBe(2);
    clock += 1;
    writeSdkEvents(app, someEvents(10), OPTIONS);
    expect([pendingWriteCount(app), loggedCustomerChanges(app)]).toEqual([0, 0]);
    expect(drift(app)).toEqual([]);
  });

  it('folds them once PENDING_FOLD_ADDITIONS customer hours were added, with a write', () => {
    const app = connect(tempDir('llmeter-pending-additions-'));
    // 100 customers × 50 features × 20 hours: every event its own customer hour, 10 000 a write.
    const perWrite = 10_000;
    const writes = PENDING_FOLD_ADDITIONS / perWrite;
    const batch = (write: number): IngestEvent[][] =>
      Array.from({ length: perWrite / 1_000 }, (_, b) =>
        Array.from({ length: 1_000 }, (_, i) => {
          const n = write * perWrite + b * 1_000 + i;
          return { ...event(`customer-${n % 100}`, Math.floor(n / 5_000) % 20, `feature-${Math.floor(n / 100) % 50}`), provider: 'openai', model: 'gpt-4o-mini' };
        }),
      );
    for (let write = 0; write < writes - 1; write++) writeSdkBatches(app, batch(write), OPTIONS);
    expect([pendingWriteCount(app), hourlyRows(app)]).toEqual([writes - 1, 0]);
    writeSdkBatches(app, batch(writes - 1), OPTIONS);
    expect([pendingWriteCount(app), hourlyRows(app)]).toEqual([0, PENDING_FOLD_ADDITIONS]);
    expect(drift(app)).toEqual([]);
  });

  it('keeps the changes made through the sdk_usage_hourly view logged, and refuses an update or delete by hand while writes are pending', () => {
    const app = connect(tempDir('llmeter-pending-by-hand-'));
    writeSdkEvents(app, [event('acme')], OPTIONS);
    foldCustomerRollups(app);
    writeSdkEvents(app, [event('acme')], OPTIONS);
    // Its fold would add the pending write back to what the change replaced or removed.
    for (const change of ["UPDATE sdk_usage_hourly SET requests = 7 WHERE customer_id = 'acme'", "DELETE FROM sdk_usage_hourly WHERE customer_id = 'acme'"]) {
      expect(() => app.prepare(change).run(), change).toThrow(/not in sdk_usage_hourly yet.*Retry then/);
    }
    // An insert only adds, as the fold does.
    app.prepare("INSERT INTO sdk_usage_hourly VALUES (?, 'openai', 'gpt-4o', 'hooli', 'agent', 3, 0, 30, 0, 0, 3, 999, 0, 9, 0)").run(NOW_SEC - DAY);
    expect(loggedCustomerChanges(app)).toBe(1);
    // A read folds the pending write (not the log); then a change by hand goes through.
    fromReaders(app);
    expect([pendingWriteCount(app), loggedCustomerChanges(app)]).toEqual([0, 1]);
    // Each row's old numbers taken away, its new ones added.
    const acmeRows = app.prepare("SELECT COUNT(*) FROM sdk_usage_hourly WHERE customer_id = 'acme'").pluck().get() as number;
    expect(acmeRows).toBeGreaterThan(0);
    app.prepare("UPDATE sdk_usage_hourly SET requests = requests + 2 WHERE customer_id = 'acme'").run();
    expect(loggedCustomerChanges(app)).toBe(1 + 2 * acmeRows);
    // Numbers the rollups do not hold change nothing in them.
    app.prepare("UPDATE sdk_usage_hourly SET latency_ms_total = latency_ms_total + 1 WHERE customer_id = 'acme'").run();
    expect(loggedCustomerChanges(app)).toBe(1 + 2 * acmeRows);
    writeSdkEvents(app, [event('acme')], OPTIONS);
    // A read folds the pending writes only: the readers add the logged changes, and a long log is the quiet second's to fold.
    const read = fromReaders(app);
    expect([pendingWriteCount(app), loggedCustomerChanges(app)]).toEqual([0, 1 + 2 * acmeRows]);
    expect(read).toEqual(truth(app));
    expect(drift(app)).toEqual([]);
  });

  it('stores a write inside a caller’s transaction as pending too, and nothing of it when the caller rolls back', () => {
    const app = connect(tempDir('llmeter-pending-outer-'));
    app.transaction(() => writeSdkEvents(app, someEvents(20), OPTIONS))();
    expect(pendingWriteCount(app)).toBe(1);
    const key = customerDataKey(app);
    expect(() => app.transaction(() => {
      writeSdkEvents(app, someEvents(20), OPTIONS);
      throw new Error('the caller gives up');
    })()).toThrow('the caller gives up');
    expect([pendingWriteCount(app), customerDataKey(app)]).toEqual([1, key]);
    expect(fromReaders(app)).toEqual(truth(app));
    expect(folded(app).prepare('SELECT SUM(requests) FROM sdk_usage_hourly_keyed').pluck().get()).toBe(20);
    expect(drift(app)).toEqual([]);
  });

  it('keeps nothing of a write that rolls back', () => {
    const app = connect(tempDir('llmeter-pending-rollback-'));
    writeSdkEvents(app, someEvents(20), OPTIONS);
    const key = customerDataKey(app);
    // The write fails after its pending row was stored: at its usage rows, and at its commit (a
    // deferred foreign key a stand-in trigger breaks, checked only then).
    app.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)');
    const failures = [
      ["CREATE TEMP TRIGGER fail BEFORE INSERT ON usage BEGIN SELECT RAISE(ABORT, 'disk full, say'); END", 'disk full, say'],
      ['CREATE TEMP TRIGGER fail AFTER INSERT ON main.sdk_event_ids BEGIN INSERT INTO child VALUES (42); END', 'FOREIGN KEY constraint failed'],
    ];
    for (const [trigger, error] of failures) {
      app.exec(trigger!);
      expect(() => writeSdkBatches(app, [someEvents(20)], OPTIONS)).toThrow(error);
      app.exec('DROP TRIGGER temp.fail');
      expect([pendingWriteCount(app), customerDataKey(app)], error).toEqual([1, key]);
    }
    expect(fromReaders(app)).toEqual(truth(app));
    expect(drift(app)).toEqual([]);
  });

  it('folds them inside a caller’s transaction when read there, and puts them back when it rolls back', () => {
    const app = connect(tempDir('llmeter-pending-read-'));
    writeSdkEvents(app, someEvents(20), OPTIONS);
    const key = customerDataKey(app);
    let inside: string[] = [];
    expect(() => app.transaction(() => {
      inside = fromReaders(app);
      throw new Error('the caller gives up');
    })()).toThrow('the caller gives up');
    expect([pendingWriteCount(app), hourlyRows(app), customerDataKey(app)]).toEqual([1, 0, key]);
    expect(app.transaction(() => fromReaders(app))()).toEqual(inside);
    expect(inside).toEqual(truth(app));
    expect(customerDataKey(app)).toBe(key);
  });
});

describe('pending writes an app did not fold', () => {
  it('are folded by the next reader, exactly once, across days and old days', () => {
    const dir = tempDir('llmeter-pending-crash-');
    const crashed = connect(dir);
    writeSdkEvents(crashed, [event('acme', 0), event('acme', 24), event('globex', 24 * 40), event('acme', 24 * 40)], OPTIONS);
    writeSdkEvents(crashed, [event('acme', 0), event('globex', 24 * 40)], OPTIONS);
    crashed.close();
    const restarted = connect(dir);
    expect(pendingWriteCount(restarted)).toBe(2);
    const requests = new Map<string, number>();
    for (const s of queryCustomerSeries(restarted, { fromSec: NOW_SEC - 50 * DAY, toSec: NOW_SEC - 30 * DAY }, 10)) requests.set(s.customerId, (requests.get(s.customerId) ?? 0) + s.requests);
    expect(Object.fromEntries(requests)).toEqual({ globex: 2, acme: 1 });
    expect(pendingWriteCount(restarted)).toBe(0);
    expect(fromReaders(restarted)).toEqual(truth(restarted));
    expect(folded(restarted).prepare('SELECT SUM(requests) FROM sdk_usage_hourly_keyed').pluck().get()).toBe(6);
    expect(drift(restarted)).toEqual([]);
  });

  it('are folded by whichever of two apps reads first, and neither app’s key goes back', () => {
    const dir = tempDir('llmeter-pending-two-apps-');
    const first = connect(dir);
    const second = connect(dir);
    const keys = [customerDataKey(first)];
    writeSdkEvents(first, someEvents(30), OPTIONS);
    keys.push(customerDataKey(first));
    writeSdkEvents(second, someEvents(30), OPTIONS);
    keys.push(customerDataKey(first));
    expect(fromReaders(second)).toEqual(truth(second));
    expect(customerDataKey(first)).toBe(keys.at(-1));
    writeSdkEvents(first, someEvents(30), OPTIONS);
    keys.push(customerDataKey(second));
    expect(fromReaders(first)).toEqual(fromReaders(second));
    expect(fromReaders(first)).toEqual(truth(first));
    expect(folded(first).prepare('SELECT SUM(requests) FROM sdk_usage_hourly_keyed').pluck().get()).toBe(90);
    expect(drift(first)).toEqual([]);
    // A scrape keyed by it renders again rather than reuse an older rendering.
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('are folded when the app starts, and the app folds its own when it closes', async () => {
    const dir = tempDir('llmeter-pending-app-');
    const crashed = connect(dir);
    writeSdkEvents(crashed, someEvents(40), OPTIONS);
    crashed.close();
    const env = { LLMETER_INGEST_TOKEN: 'pending-ingest-token-0123456789', LLMETER_METRICS_TOKEN: 'pending-metrics-token-0123456789' };
    const core = await startCore({ config: resolveConfig(env, { dataDir: dir, port: 0 }), env, log: silentLogger, secretStore: null });
    expect([pendingWriteCount(core.db), hourlyRows(core.db) > 0, drift(core.db)]).toEqual([0, true, []]);
    writeSdkEvents(core.db, someEvents(40), OPTIONS);
    expect(pendingWriteCount(core.db)).toBe(1);
    await core.close();
    const reopened = connect(dir);
    expect([pendingWriteCount(reopened), loggedCustomerChanges(reopened), drift(reopened)]).toEqual([0, 0, []]);
    expect(folded(reopened).prepare('SELECT SUM(requests) FROM sdk_usage_hourly_keyed').pluck().get()).toBe(80);
  });

  it('of migration 10 (days held in memory, marked, not folded) are summed again by the upgrade to migration 11', () => {
    const dir = tempDir('llmeter-pending-upgrade-');
    const old = new Database(path.join(dir, DB_FILE));
    for (const migration of MIGRATIONS.slice(0, 10)) old.exec(migration);
    old.pragma('user_version = 10');
    // What a migration-10 app left: keyed hourly rows written without logging, their days marked.
    old.exec("INSERT INTO sdk_customer_keys (provider, model, customer_id) VALUES ('openai', 'gpt-4o-mini', 'acme'), ('openai', 'gpt-4o-mini', 'globex')");
    old.exec("INSERT INTO sdk_features (feature) VALUES ('')");
    const hour = old.prepare('INSERT INTO sdk_usage_hourly_keyed VALUES (?, ?, 1, ?, 0, 100, 0, 0, 10, 5000, 0, 300, 0)');
    for (const [at, customer, requests] of [[NOW_SEC - (NOW_SEC % 3_600), 1, 2], [NOW_SEC - (NOW_SEC % 3_600) - DAY, 2, 3], [NOW_SEC - (NOW_SEC % 3_600) - 40 * DAY, 1, 4]]) hour.run(at, customer, requests);
    const day = (sec: number): number => sec - (sec % DAY);
    old.prepare("INSERT INTO sdk_customers_unlogged VALUES ('an-app', ?), ('an-app', ?)").run(day(NOW_SEC), day(NOW_SEC - DAY));
    old.close();
    const upgraded = connect(dir);
    expect(upgraded.prepare("SELECT name FROM sqlite_master WHERE name = 'sdk_customers_unlogged'").get()).toBeUndefined();
    // The marked days are summed again; the unmarked one, 40 days back, was the old app's to log and stays as it was.
    expect(drift(upgraded)).toEqual([[day(NOW_SEC - 40 * DAY), 1, 1, 5000, 4, 100, 10]]);
    const requests = (from: number, to: number) => queryCustomerSeries(upgraded, { fromSec: from, toSec: to }, 10).map((s) => [s.customerId, s.requests]);
    expect(requests(day(NOW_SEC - DAY), NOW_SEC + 3_600)).toEqual([['acme', 2], ['globex', 3]]);
  });
});
