/**
 * The SDK writer's changes of the customer rollups, held in memory between folds
 * (core/ingest/held-changes.ts): readers find them, an app that stops without folding leaves them
 * to be summed again, another app summing them makes the holder give them up, and nothing is
 * counted twice or lost through a rollback.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startCore } from '../../core/app.js';
import { resolveConfig } from '../../core/config.js';
import { silentLogger } from '../../core/log.js';
import { customerDataKey, foldCustomerRollups, loggedCustomerChanges, pendingCustomerChanges, queryCustomerSeries } from '../../core/ingest/customers.js';
import { HELD_FOLD_MAX_AGE_MS, heldChangeCount, recoverHeldChanges } from '../../core/ingest/held-changes.js';
import type { IngestEvent } from '../../core/ingest/schema.js';
import { writeSdkBatches, writeSdkEvents } from '../../core/ingest/store.js';
import { openDatabase, type Db } from '../../core/store/db.js';
import { customerRollupDrift } from '../support/customer-rollups.js';
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

/** Per (provider, model, customer) sums, all time, from the hourly rows themselves. */
function truth(db: Db): string[] {
  return (
    db
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

describe('the SDK writer holds its changes of the customer rollups in memory', () => {
  it('logs none of them, marks their days in the same transaction, and a reader folds them first', () => {
    const dir = tempDir('llmeter-held-');
    const app = connect(dir);
    writeSdkEvents(app, someEvents(30), OPTIONS);
    writeSdkEvents(app, someEvents(30), OPTIONS);
    expect(loggedCustomerChanges(app)).toBe(0);
    expect(heldChangeCount(app)).toBeGreaterThan(0);
    expect(pendingCustomerChanges(app)).toBe(heldChangeCount(app));
    // The days of its changes are marked (two days: events up to 26 hours ago).
    expect(app.prepare('SELECT COUNT(DISTINCT day), COUNT(DISTINCT owner) FROM sdk_customers_unlogged').raw(true).get()).toEqual([2, 1]);
    // Another program sees the rollups without them until they are folded, never a mix.
    const other = connect(dir);
    expect(fromReaders(other)).toEqual([]);

    expect(fromReaders(app)).toEqual(truth(app));
    expect([heldChangeCount(app), count(app, 'sdk_customers_unlogged')]).toEqual([0, 0]);
    expect(fromReaders(other)).toEqual(truth(app));
    expect(drift(app)).toEqual([]);
  });

  it('folds them once the oldest is HELD_FOLD_MAX_AGE_MS old, with a write', () => {
    const app = connect(tempDir('llmeter-held-age-'));
    let clock = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    writeSdkEvents(app, someEvents(10), OPTIONS);
    clock += HELD_FOLD_MAX_AGE_MS - 1;
    writeSdkEvents(app, someEvents(10), OPTIONS);
    expect(heldChangeCount(app)).toBeGreaterThan(0);
    clock += 1;
    writeSdkEvents(app, someEvents(10), OPTIONS);
    expect(heldChangeCount(app)).toBe(0);
    expect(count(app, 'sdk_customers_unlogged')).toBe(0);
    expect(drift(app)).toEqual([]);
  });

  it('keeps the changes made through the sdk_usage_hourly view logged (by hand, another program)', () => {
    const app = connect(tempDir('llmeter-held-others-'));
    writeSdkEvents(app, [event('acme')], OPTIONS);
    expect(loggedCustomerChanges(app)).toBe(0);
    // The old row taken away, the new one added.
    app.prepare("UPDATE sdk_usage_hourly SET requests = requests + 2 WHERE customer_id = 'acme'").run();
    expect(loggedCustomerChanges(app)).toBe(2);
    // Numbers the rollups do not hold change nothing in them.
    app.prepare("UPDATE sdk_usage_hourly SET latency_ms_total = latency_ms_total + 1 WHERE customer_id = 'acme'").run();
    expect(loggedCustomerChanges(app)).toBe(2);
    writeSdkEvents(app, [event('acme')], OPTIONS);
    // A read folds the held changes only: the readers add the logged ones, and a long log is the quiet second's to fold.
    expect(fromReaders(app)).toEqual(truth(app));
    expect([heldChangeCount(app), loggedCustomerChanges(app)]).toEqual([0, 2]);
    expect(drift(app)).toEqual([]);
  });

  it('logs them inside a caller’s transaction, which may still roll back', () => {
    const app = connect(tempDir('llmeter-held-outer-'));
    app.transaction(() => writeSdkEvents(app, someEvents(20), OPTIONS))();
    expect(heldChangeCount(app)).toBe(0);
    expect(loggedCustomerChanges(app)).toBeGreaterThan(0);
    expect(count(app, 'sdk_customers_unlogged')).toBe(0);
    expect(drift(app)).toEqual([]);
    expect(() => app.transaction(() => {
      writeSdkEvents(app, someEvents(20), OPTIONS);
      throw new Error('the caller gives up');
    })()).toThrow('the caller gives up');
    expect(drift(app)).toEqual([]);
    expect(fromReaders(app)).toEqual(truth(app));
  });

  it('keeps nothing of a write that rolls back', () => {
    const app = connect(tempDir('llmeter-held-rollback-'));
    writeSdkEvents(app, someEvents(20), OPTIONS);
    const held = heldChangeCount(app);
    const key = customerDataKey(app);
    // The write fails after its hourly rows were written: at its usage rows, and at its commit (a
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
      expect([heldChangeCount(app), customerDataKey(app)], error).toEqual([held, key]);
    }
    expect(fromReaders(app)).toEqual(truth(app));
    expect(drift(app)).toEqual([]);
  });

  it('refuses a read inside a transaction while changes are held, rather than answer without them', () => {
    const app = connect(tempDir('llmeter-held-read-'));
    writeSdkEvents(app, [event('acme')], OPTIONS);
    expect(() => app.transaction(() => fromReaders(app))()).toThrow(/inside a transaction/);
    foldCustomerRollups(app);
    expect(app.transaction(() => fromReaders(app))()).toEqual(truth(app));
  });
});

describe('held changes an app did not fold', () => {
  it('are summed again from the hourly rows when an app starts, once', () => {
    const dir = tempDir('llmeter-held-crash-');
    const crashed = connect(dir);
    writeSdkEvents(crashed, someEvents(40), OPTIONS);
    // Another program's change, logged, before the crash: counted once.
    crashed.prepare("UPDATE sdk_usage_hourly SET output_tokens = output_tokens + 5 WHERE customer_id = 'customer-1'").run();
    writeSdkEvents(crashed, someEvents(40), OPTIONS);
    // Stopped without folding: the memory is gone, the marks and hourly rows stay.
    crashed.close();
    const restarted = connect(dir);
    expect(drift(restarted)).not.toEqual([]);
    expect(recoverHeldChanges(restarted)).toBeGreaterThan(0);
    expect(count(restarted, 'sdk_customers_unlogged')).toBe(0);
    expect(drift(restarted)).toEqual([]);
    expect(recoverHeldChanges(restarted)).toBe(0);
    expect(fromReaders(restarted)).toEqual(truth(restarted));
  });

  it('are given up by an app still running when another sums them again, and what it writes after still counts', () => {
    const dir = tempDir('llmeter-held-two-apps-');
    const first = connect(dir);
    writeSdkEvents(first, someEvents(30), OPTIONS);
    const keys = [customerDataKey(first)];
    const second = connect(dir);
    expect(recoverHeldChanges(second)).toBeGreaterThan(0);
    expect(fromReaders(second)).toEqual(truth(second));
    // The first app learns of it at its next write, and holds only that write's changes.
    writeSdkEvents(first, someEvents(30), OPTIONS);
    keys.push(customerDataKey(first));
    expect(fromReaders(first)).toEqual(truth(first));
    expect(drift(first)).toEqual([]);
    // And at a fold, with no write between.
    writeSdkEvents(first, someEvents(30), OPTIONS);
    expect(recoverHeldChanges(second)).toBeGreaterThan(0);
    foldCustomerRollups(first);
    keys.push(customerDataKey(first));
    expect(fromReaders(first)).toEqual(truth(first));
    expect(drift(first)).toEqual([]);
    // Its key never went back (a scrape keyed by it renders again rather than reuse an older rendering).
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('leave nothing to recover after a clean fold, and a restart finds the database as it was', () => {
    const dir = tempDir('llmeter-held-clean-');
    const app = connect(dir);
    writeSdkEvents(app, someEvents(30), OPTIONS);
    foldCustomerRollups(app);
    app.close();
    const restarted = connect(dir);
    expect(recoverHeldChanges(restarted)).toBe(0);
    expect(fromReaders(restarted)).toEqual(truth(restarted));
  });

  it('span a day boundary and old days: every marked day is summed again', () => {
    const dir = tempDir('llmeter-held-days-');
    const crashed = connect(dir);
    writeSdkEvents(crashed, [event('acme', 0), event('acme', 24), event('globex', 24 * 40), event('acme', 24 * 40)], OPTIONS);
    writeSdkEvents(crashed, [event('acme', 0), event('globex', 24 * 40)], OPTIONS);
    expect(count(crashed, 'sdk_customers_unlogged')).toBe(3);
    crashed.close();
    const restarted = connect(dir);
    recoverHeldChanges(restarted);
    expect(drift(restarted)).toEqual([]);
    expect(fromReaders(restarted)).toEqual(truth(restarted));
    const requests = new Map<string, number>();
    for (const s of queryCustomerSeries(restarted, { fromSec: NOW_SEC - 50 * DAY, toSec: NOW_SEC - 30 * DAY }, 10)) requests.set(s.customerId, (requests.get(s.customerId) ?? 0) + s.requests);
    expect(Object.fromEntries(requests)).toEqual({ globex: 2, acme: 1 });
  });

  it('are summed again when the app starts, and the app folds its own when it closes', async () => {
    const dir = tempDir('llmeter-held-app-');
    const crashed = connect(dir);
    writeSdkEvents(crashed, someEvents(40), OPTIONS);
    crashed.close();
    const env = { LLMETER_INGEST_TOKEN: 'held-ingest-token-0123456789', LLMETER_METRICS_TOKEN: 'held-metrics-token-0123456789' };
    const said: string[] = [];
    const core = await startCore({ config: resolveConfig(env, { dataDir: dir, port: 0 }), env, log: { ...silentLogger, info: (message) => said.push(message) }, secretStore: null });
    expect(said.filter((message) => message.includes('summed again'))).toHaveLength(1);
    expect([count(core.db, 'sdk_customers_unlogged'), drift(core.db)]).toEqual([0, []]);
    writeSdkEvents(core.db, someEvents(40), OPTIONS);
    expect(heldChangeCount(core.db)).toBeGreaterThan(0);
    await core.close();
    const reopened = connect(dir);
    expect([count(reopened, 'sdk_customers_unlogged'), drift(reopened)]).toEqual([0, []]);
    expect(fromReaders(reopened)).toEqual(truth(reopened));
  });
});
