/**
 * `kill -9` at random points of `llmeter poll`, again and again on one data folder: each
 * provider's window is written in one transaction, so after every kill each provider holds either
 * nothing or exactly the truth — never half a window, never a row twice — the database passes
 * `PRAGMA integrity_check` once its WAL is replayed, and a clean poll afterwards ends exactly at the truth.
 *
 * Half the kills fall anywhere in the process's life (start-up, migrations, fetching); the other
 * half just after the fake answered the last request, where the writes happen. The schedule is
 * seeded: LLMETER_SEED replays a failing one. LLMETER_SOAK=1 runs 100 rounds instead of 12.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_FILE } from '../../core/store/db.js';
import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import { expectedTotals, generateTruth, startProviderFake, type ProviderFake } from '../fakes/providers.js';
import { ROOT, runLlmeter } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { expectIntact, expectStoredEqualsTruth, llmeterEnv, openRaw, runSeed, seededRandom, SOAK, storedTotals } from './support.js';

const NOW = Math.floor(Date.now() / 1000);
const ROUNDS = SOAK ? 100 : 12;
const SEED = runSeed(20_261_127);
const BIN = path.join(ROOT, 'bin/llmeter.js');

let fake: ProviderFake;
beforeAll(async () => {
  fake = await startProviderFake({ truth: generateTruth({ days: 14, models: 4, seed: SEED, now: NOW }), now: NOW });
});
afterAll(async () => fake?.close());

interface Round {
  /** How the process ended: killed by us, or it finished first. */
  ended: 'killed' | 'exited';
  /** Bytes in the WAL right after the kill: committed pages not yet checkpointed into the database. */
  walBytes: number;
}

/** Spawns `llmeter poll` and SIGKILLs it when `killWhen` resolves (unless it exited first). */
async function pollAndKill(dataDir: string, killWhen: (startedAt: number) => Promise<void>): Promise<Round> {
  const child = spawn(process.execPath, [BIN, 'poll', '--backfill-days', '30'], { env: llmeterEnv(dataDir, fake), stdio: 'ignore' });
  const exited = new Promise<'exited'>((resolve) => child.once('exit', () => resolve('exited')));
  const trigger = killWhen(Date.now()).then(() => 'kill' as const);
  const first = await Promise.race([exited, trigger]);
  if (first === 'kill' && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited;
    const wal = path.join(dataDir, `${DB_FILE}-wal`);
    return { ended: child.signalCode === 'SIGKILL' ? 'killed' : 'exited', walBytes: existsSync(wal) ? statSync(wal).size : 0 };
  }
  await exited;
  return { ended: 'exited', walBytes: 0 };
}

/** Resolves once the fake has received `count` requests in total, or after `limitMs`. */
async function requestsReached(count: number, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (fake.requests.length < count && Date.now() < deadline) await sleep(1);
}

describe(`kill -9 during a poll (${ROUNDS} rounds, seed ${SEED})`, () => {
  const dataDir = tempDir('llmeter-kill-', 'suite');

  it('every provider holds nothing or exactly the truth after each kill; a clean poll then ends exactly at the truth', { timeout: SOAK ? 1_200_000 : 120_000 }, async () => {
    const random = seededRandom(SEED);
    // Two polls to time the phases and count their requests, in a folder of their own: a first one
    // (backfill) and a second one (the trailing days only), per provider.
    const calibrationDir = tempDir('llmeter-kill-calibrate-');
    const calibrate = async (): Promise<{ ms: number; requests: Record<ProviderId, number> }> => {
      fake.reset();
      const started = Date.now();
      expect((await runLlmeter(['poll', '--backfill-days', '30'], { env: llmeterEnv(calibrationDir, fake) })).status).toBe(0);
      return { ms: Date.now() - started, requests: Object.fromEntries(PROVIDER_IDS.map((p) => [p, fake.requestsTo(p).length])) as Record<ProviderId, number> };
    };
    const firstPoll = await calibrate();
    const laterPoll = await calibrate();

    const rounds: Round[] = [];
    const complete = new Set<ProviderId>();
    for (let round = 0; round < ROUNDS; round++) {
      fake.reset();
      // A slower first answer for some providers moves their writes apart from the others'.
      for (const provider of PROVIDER_IDS) if (random() < 0.5) fake.inject(provider, { delayMs: Math.floor(random() * 200) });
      // A provider whose window was stored once polls only its trailing days from then on.
      const expectedRequests = PROVIDER_IDS.reduce((sum, p) => sum + (complete.has(p) ? laterPoll : firstPoll).requests[p], 0);
      const expectedMs = PROVIDER_IDS.every((p) => complete.has(p)) ? laterPoll.ms : firstPoll.ms;
      const nearWrites = random() < 0.5;
      const delayMs = Math.floor(random() * (nearWrites ? 40 : expectedMs + 200));
      const result = await pollAndKill(dataDir, async (at) => {
        if (nearWrites) await requestsReached(expectedRequests, expectedMs * 3);
        await sleep(Math.max(0, delayMs - (nearWrites ? 0 : Date.now() - at)));
      });
      rounds.push(result);

      if (!existsSync(path.join(dataDir, DB_FILE))) continue; // killed before the database was created
      // Opening replays the WAL the killed process left behind.
      const db = openRaw(dataDir);
      try {
        expectIntact(db);
        for (const provider of PROVIDER_IDS) {
          const stored = storedTotals(db, provider);
          if (Object.keys(stored).length === 0) {
            // Once complete, a provider's data is only ever replaced whole, never lost.
            expect(complete.has(provider), `round ${round}: ${provider} lost its data`).toBe(false);
            continue;
          }
          expectStoredEqualsTruth(db, fake.truth, [provider], `round ${round} (${result.ended}, kill at ${delayMs} ms${nearWrites ? ' after the last answer' : ''})`);
          complete.add(provider);
        }
      } finally {
        db.close();
      }
    }

    const killed = rounds.filter((r) => r.ended === 'killed').length;
    console.info(`kill -9: ${killed}/${ROUNDS} rounds killed mid-poll (${rounds.filter((r) => r.walBytes > 0).length} left a WAL behind), a first poll takes ${firstPoll.ms} ms, a later one ${laterPoll.ms} ms, seed ${SEED}`);
    // A schedule that never caught the process running would prove nothing.
    expect(killed).toBeGreaterThanOrEqual(Math.ceil(ROUNDS / 2));

    fake.reset();
    const clean = await runLlmeter(['poll'], { env: llmeterEnv(dataDir, fake) });
    expect(clean.stderr).toBe('');
    expect(clean.status).toBe(0);
    const db = openRaw(dataDir);
    try {
      expectIntact(db);
      expectStoredEqualsTruth(db, fake.truth, PROVIDER_IDS, 'after the clean poll');
      expect(Object.keys(expectedTotals(fake.truth, 'openai', 0, NOW)).length).toBeGreaterThan(3);
    } finally {
      db.close();
    }
  });
});
