/**
 * Two LLMeters on one data folder. The choice: both work safely, no lock file. The desktop app
 * runs the same core on the same folder by default, and a desktop app next to a headless
 * `llmeter serve` (on another port, for a Prometheus) or a `llmeter poll` from cron is a plausible
 * setup; refusing the second would break it. What makes sharing safe: SQLite in WAL mode (readers
 * never wait), a 5 s busy timeout for writers, each poll writing a provider's window in one
 * transaction that replaces the window (idempotent), SDK events keyed by their id, alerts firing
 * once through a unique index. What it needed: migrations that re-check the schema version under
 * the write lock, or two processes opening a new folder at once both run the first migration, and
 * a switch to WAL that tries again when SQLite answers one of them SQLITE_BUSY without waiting.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION } from '../../core/store/migrations.js';
import { DB_FILE, openDatabase } from '../../core/store/db.js';
import { PROVIDER_IDS } from '../../shared/providers.js';
import { generateTruth, startProviderFake, type ProviderFake } from '../fakes/providers.js';
import { ROOT, startLlmeter, type ServeProcess } from '../support/cli.js';
import { folded } from '../support/customer-rollups.js';
import { parseSamples } from '../support/prom-text.js';
import { tempDir } from '../support/temp.js';
import { expectIntact, expectStoredEqualsTruth, llmeterEnv, METRICS_TOKEN, openRaw, postIngest, scrapeFamilySum, sdkEvents, UI_TOKEN } from './support.js';

const NOW = Math.floor(Date.now() / 1000);
let fake: ProviderFake;
beforeAll(async () => {
  fake = await startProviderFake({ truth: generateTruth({ days: 10, seed: 23, now: NOW }), now: NOW });
});
afterAll(async () => fake?.close());

describe('two processes opening one new data folder at the same moment', () => {
  it('the second waits for the first one’s migrations instead of running them again', async () => {
    const dataDir = tempDir('llmeter-migrate-race-');
    // Another process creates the database and holds its write lock while it migrates.
    const script = `
      const Database = require(${JSON.stringify(path.join(ROOT, 'node_modules/better-sqlite3'))});
      const db = new Database(${JSON.stringify(path.join(dataDir, DB_FILE))});
      db.pragma('journal_mode = WAL');
      db.exec('BEGIN IMMEDIATE');
      process.stdout.write('locked\\n');
      setTimeout(() => {
        for (const [i, sql] of ${JSON.stringify(MIGRATIONS)}.entries()) { db.exec(sql); db.pragma('user_version = ' + (i + 1)); }
        db.exec('COMMIT');
        db.close();
      }, 500);`;
    const other = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(other.stdout, 'data');
    // Reads version 0 (the other's migration is not committed yet), then waits for the write lock.
    const db = openDatabase(dataDir);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expectIntact(db);
    } finally {
      db.close();
    }
    await once(other, 'exit');
    expect(other.exitCode).toBe(0);
  });

  it('four processes opening one new folder at the same moment all open it (40 folders)', async () => {
    // Switching a new file to WAL takes it alone for a moment; SQLite answered one of several
    // processes doing it together SQLITE_BUSY at once (about one folder in 20 of 4 processes),
    // without the busy timeout. Each process opens the folders one after the other, each at a start
    // time they share, with its modules loaded already, so the tries meet.
    const folders = Array.from({ length: 40 }, () => tempDir('llmeter-open-race-'));
    const firstStart = Date.now() + 1_500;
    const script = `
      const { openDatabase } = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/core/store/db.js')).href)});
      const results = [];
      const pause = new Int32Array(new SharedArrayBuffer(4));
      for (const [i, folder] of ${JSON.stringify(folders)}.entries()) {
        const start = ${firstStart} + i * 150;
        // Asleep until 3 ms before the start, then spinning, so that the four processes leave the cores free meanwhile.
        if (start - Date.now() > 3) Atomics.wait(pause, 0, 0, start - Date.now() - 3);
        while (Date.now() < start) {}
        try {
          const db = openDatabase(folder);
          db.prepare('SELECT COUNT(*) FROM usage').get();
          db.close();
          results.push('ok');
        } catch (err) {
          results.push(err.message);
        }
      }
      process.stdout.write(JSON.stringify(results));`;
    const outputs = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        await once(child, 'exit');
        return JSON.parse(output) as string[];
      }),
    );
    expect(outputs.flat().filter((result) => result !== 'ok')).toEqual([]);
  });

  it('two `llmeter serve` started together on a new folder both come up (3 folders)', async () => {
    for (let round = 0; round < 3; round++) {
      const dataDir = tempDir('llmeter-two-start-');
      const servers = await Promise.all([startLlmeter(['serve', '--port', '0'], llmeterEnv(dataDir, null)), startLlmeter(['serve', '--port', '0'], llmeterEnv(dataDir, null))]);
      try {
        for (const serve of servers) expect((await fetch(`${serve.url}/api/v1/health`)).status).toBe(200);
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
    }
  });
});

describe('two `llmeter serve` on one data folder, both polling and ingesting', () => {
  const dataDir = tempDir('llmeter-two-serve-', 'suite');
  let servers: ServeProcess[] = [];
  afterAll(async () => Promise.all(servers.map((s) => s.stop())));

  async function pollNow(serve: ServeProcess): Promise<void> {
    const res = await fetch(`${serve.url}/api/v1/ui/pollNow`, { method: 'POST', headers: { Authorization: `Bearer ${UI_TOKEN}`, 'Content-Type': 'application/json' } });
    expect(res.status, await res.text()).toBe(200);
  }

  async function scrapeTotals(serve: ServeProcess): Promise<string> {
    const res = await fetch(`${serve.url}/api/v1/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    const families = new Set(['llmeter_cost_usd', 'llmeter_input_tokens_total', 'llmeter_output_tokens_total', 'llmeter_requests_total']);
    return parseSamples(await res.text())
      .filter((s) => families.has(s.name))
      .map((s) => `${s.name}${JSON.stringify(s.labels)} ${s.value}`)
      .sort()
      .join('\n');
  }

  it('polls of both write the same windows; totals are exact, once, and both serve the same numbers', async () => {
    servers = await Promise.all([startLlmeter(['serve', '--port', '0'], llmeterEnv(dataDir, fake)), startLlmeter(['serve', '--port', '0'], llmeterEnv(dataDir, fake))]);
    // Each polled on start; polling again from both at once overlaps their writes of the same windows.
    await Promise.all(servers.map(pollNow));
    await Promise.all([...servers.map(pollNow), ...servers.map(pollNow)]);

    const db = openRaw(dataDir);
    try {
      expectIntact(db);
      expectStoredEqualsTruth(db, fake.truth, PROVIDER_IDS, 'two servers');
    } finally {
      db.close();
    }
    const [a, b] = await Promise.all(servers.map(scrapeTotals));
    expect(a).toBe(b);
    expect(a.split('\n').length).toBeGreaterThan(10);
  });

  it('SDK batches sent to either, and retried against the other, are stored exactly once', async () => {
    const batches = Array.from({ length: 20 }, (_, i) => sdkEvents(200, { startSec: NOW - i * 60, customerId: `customer-${i % 3}` }));
    await Promise.all(batches.map((batch, i) => postIngest(servers[i % 2]!.url, batch).then((r) => expect(r.status, r.text).toBe(200))));
    // The SDK retries a batch whose answer it did not get, possibly after the app restarted on the other port.
    const retries = await Promise.all(batches.map((batch, i) => postIngest(servers[(i + 1) % 2]!.url, batch)));
    for (const retry of retries) expect(JSON.parse(retry.text)).toEqual({ received: 200, inserted: 0, duplicates: 200 });

    const sent = batches.flat();
    // Right after the last batch, before either server's quiet-second fold: a scrape folds every
    // pending write first, whichever server stored it, so both report every batch.
    const customerRequests = await Promise.all(servers.map((serve) => scrapeFamilySum(serve.url, 'llmeter_customer_requests_total')));
    expect(customerRequests).toEqual([sent.length, sent.length]);
    const db = openRaw(dataDir);
    try {
      expect(db.prepare('SELECT COUNT(*) FROM sdk_events').pluck().get()).toBe(sent.length);
      const hourly = folded(db).prepare('SELECT SUM(requests) AS requests, SUM(input_tokens) AS input, SUM(output_tokens) AS output FROM sdk_usage_hourly').get();
      expect(hourly).toEqual({
        requests: sent.length,
        input: sent.reduce((sum, e) => sum + (e['inputTokens'] as number), 0),
        output: sent.reduce((sum, e) => sum + (e['outputTokens'] as number), 0),
      });
      expectIntact(db);
    } finally {
      db.close();
    }
  });
});
