/**
 * The data folder misbehaving under a running LLMeter: the database locked by another process past
 * the busy timeout, a read-only folder (a real read-only bind mount: the suite runs as root, which
 * ignores chmod), a full disk (a real size-limited tmpfs), a database from a newer LLMeter. Each
 * gets one clear line saying what happened and what to do, and changes nothing that was stored.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSY_TIMEOUT_MS, DB_FILE } from '../../core/store/db.js';
import { PROVIDERS } from '../../shared/providers.js';
import { generateTruth, startProviderFake, type ProviderFake } from '../fakes/providers.js';
import { runLlmeter, startLlmeter } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { expectIntact, expectStoredEqualsTruth, llmeterEnv, mount, mountAvailable, openRaw, postIngest, sdkEvents, storedTotals, unmount, withoutLogLines } from './support.js';

const NOW = Math.floor(Date.now() / 1000);
let fake: ProviderFake;
beforeAll(async () => {
  fake = await startProviderFake({ truth: generateTruth({ days: 10, seed: 11, now: NOW }), now: NOW });
});
afterAll(async () => fake?.close());

/** Only OpenAI configured: one provider keeps the lock-timeout waits short. */
function openaiOnly(dataDir: string): NodeJS.ProcessEnv {
  const env = llmeterEnv(dataDir, fake);
  for (const id of ['anthropic', 'openrouter'] as const) delete env[PROVIDERS[id].keyEnv];
  return env;
}

function fileHash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe('the database locked by another process beyond the busy timeout', () => {
  const dataDir = tempDir('llmeter-locked-', 'suite');

  it('poll says the database is locked, in one line, and loses nothing; the next poll stores everything', async () => {
    expect((await runLlmeter(['poll'], { env: openaiOnly(dataDir) })).status).toBe(0);
    fake.revise('openai', fake.truth.openai.at(-1)!.dayStart, fake.truth.openai.at(-1)!.costs[0]!.model!, '987.654321');

    const holder = openRaw(dataDir);
    holder.exec('BEGIN IMMEDIATE');
    holder.prepare("UPDATE usage SET cost_nano = 1 WHERE provider = 'openai'").run();
    const started = Date.now();
    const locked = await runLlmeter(['poll'], { env: openaiOnly(dataDir) });
    const waitedMs = Date.now() - started;
    holder.exec('ROLLBACK');
    holder.close();

    expect(locked.status).toBe(1);
    expect(withoutLogLines(locked.stderr)).toEqual([
      `OpenAI: the data was fetched but could not be stored. The database is locked by another process (held for more than ${BUSY_TIMEOUT_MS / 1000} s); nothing was written. Retry; if this persists, close the program that holds ${DB_FILE} open. The next poll fetches it again.`,
    ]);
    expect(waitedMs).toBeGreaterThanOrEqual(BUSY_TIMEOUT_MS);

    const db = openRaw(dataDir);
    try {
      expectIntact(db);
      // The revision is not stored yet, and the holder's uncommitted change is gone.
      expect(storedTotals(db, 'openai')).not.toEqual({});
      expect(db.prepare("SELECT COUNT(*) FROM usage WHERE provider = 'openai' AND cost_nano = 1").pluck().get()).toBe(0);
    } finally {
      db.close();
    }
    expect((await runLlmeter(['poll'], { env: openaiOnly(dataDir) })).status).toBe(0);
    const after = openRaw(dataDir);
    try {
      expectStoredEqualsTruth(after, fake.truth, ['openai']);
    } finally {
      after.close();
    }
  });

  it('ingest answers 503 with Retry-After while locked, and the retried batch is stored exactly once', async () => {
    const serve = await startLlmeter(['serve', '--port', '0'], openaiOnly(dataDir));
    try {
      const batch = sdkEvents(50, { startSec: NOW, provider: 'anthropic', model: 'claude-sonnet-4-20250514' });
      const holder = openRaw(dataDir);
      holder.exec('BEGIN IMMEDIATE');
      const refused = await postIngest(serve.url, batch);
      holder.exec('ROLLBACK');
      holder.close();
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(refused.text).toMatch(/^The database is locked by another process \(held for more than 5 s\); nothing was written\./);

      const retried = await postIngest(serve.url, batch);
      expect(retried.status).toBe(200);
      expect(JSON.parse(retried.text)).toEqual({ received: 50, inserted: 50, duplicates: 0 });
      const db = openRaw(dataDir);
      try {
        expect(db.prepare('SELECT COUNT(*) FROM sdk_events').pluck().get()).toBe(50);
      } finally {
        db.close();
      }
    } finally {
      await serve.stop();
    }
  });
});

describe.runIf(mountAvailable())('a read-only data folder and a full disk (real mounts)', () => {
  it('read-only: poll and serve refuse in one line naming the folder, and the database is left as it was', async () => {
    const dataDir = tempDir('llmeter-readonly-');
    expect((await runLlmeter(['poll'], { env: llmeterEnv(dataDir, fake) })).status).toBe(0);
    const before = fileHash(path.join(dataDir, DB_FILE));
    mount('--bind', '-o', 'ro', dataDir, dataDir);
    try {
      const poll = await runLlmeter(['poll'], { env: llmeterEnv(dataDir, fake) });
      expect(poll.status).toBe(1);
      expect(poll.stderr).toContain(`llmeter: The data folder ${dataDir} cannot be created or written (EROFS); LLMeter keeps its database there. Make it writable, or point LLMETER_DATA_DIR at a folder that is. Nothing was changed.`);
      const serve = await runLlmeter(['serve', '--port', '0'], { env: llmeterEnv(dataDir, fake), timeoutMs: 20_000 });
      expect(serve.status).toBe(1);
      expect(serve.stderr).toContain(`cannot be created or written (EROFS)`);
    } finally {
      unmount(dataDir);
    }
    expect(fileHash(path.join(dataDir, DB_FILE))).toBe(before);
    const db = openRaw(dataDir);
    try {
      expectIntact(db);
      expectStoredEqualsTruth(db, fake.truth);
    } finally {
      db.close();
    }
  });

  it('disk full: the providers that could not be stored say so, what was stored stays exact, and after freeing space a poll completes', async () => {
    const dataDir = tempDir('llmeter-full-');
    mount('-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dataDir);
    try {
      expect((await runLlmeter(['poll'], { env: openaiOnly(dataDir) })).status).toBe(0);
      // Fold the WAL into the database and empty it, so that the next write must grow a file.
      const checkpoint = openRaw(dataDir);
      checkpoint.pragma('wal_checkpoint(TRUNCATE)');
      checkpoint.close();
      const filler = path.join(dataDir, 'filler');
      const { bavail, bsize } = statfsSync(dataDir);
      writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 96 * 1024)));

      const full = await runLlmeter(['poll'], { env: llmeterEnv(dataDir, fake) });
      expect(full.status).toBe(1);
      const lines = withoutLogLines(full.stderr);
      expect(lines.length).toBeGreaterThanOrEqual(1);
      for (const line of lines) {
        expect(line).toMatch(/^(OpenAI|Anthropic|OpenRouter): the data was fetched but could not be stored\. The disk holding the data folder is full; nothing was written and what was stored before is intact\. Free some space, or move LLMETER_DATA_DIR to a larger disk\. The next poll fetches it again\.$/);
      }
      const db = openRaw(dataDir);
      try {
        expectIntact(db);
        expectStoredEqualsTruth(db, fake.truth, ['openai'], 'stored before the disk filled up');
        for (const provider of ['anthropic', 'openrouter'] as const) {
          if (lines.some((l) => l.startsWith(PROVIDERS[provider].displayName))) expect(storedTotals(db, provider), provider).toEqual({});
        }
      } finally {
        db.close();
      }

      writeFileSync(filler, '');
      const freed = await runLlmeter(['poll'], { env: llmeterEnv(dataDir, fake) });
      expect(freed.stderr).toBe('');
      expect(freed.status).toBe(0);
      const after = openRaw(dataDir);
      try {
        expectIntact(after);
        expectStoredEqualsTruth(after, fake.truth);
      } finally {
        after.close();
      }
    } finally {
      unmount(dataDir);
    }
  });
});

describe('a database written by a newer LLMeter', () => {
  it('poll and serve refuse with a message naming both schema versions; the file is not touched', async () => {
    const dataDir = tempDir('llmeter-newer-');
    expect((await runLlmeter(['poll'], { env: openaiOnly(dataDir) })).status).toBe(0);
    const db = openRaw(dataDir);
    db.pragma('user_version = 99');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const file = path.join(dataDir, DB_FILE);
    const before = fileHash(file);
    for (const args of [['poll'], ['serve', '--port', '0']]) {
      const run = await runLlmeter(args, { env: openaiOnly(dataDir), timeoutMs: 20_000 });
      expect(run.status, args[0]).toBe(1);
      expect(run.stderr, args[0]).toContain(`was written by a newer LLMeter (schema 99, this version knows`);
      expect(run.stderr, args[0]).toContain('it was left untouched');
    }
    expect(fileHash(file)).toBe(before);
    expect(existsSync(file)).toBe(true);
  });
});
