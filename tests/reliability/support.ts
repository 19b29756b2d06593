/**
 * What the reliability suite shares: the environment a spawned `llmeter` gets, and the checks that
 * prove nothing was lost or counted twice (totals against the fakes' truth, natural keys, integrity).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { querySeriesTotals } from '../../core/metrics/snapshot.js';
import { DB_FILE, type Db } from '../../core/store/db.js';
import { newEventId } from '../../sdk/event-id.js';
import { PROVIDER_IDS, PROVIDERS, type ProviderId } from '../../shared/providers.js';
import { expectedTotals, FAKE_KEYS, type FakeTruth, type ModelTotals, type ProviderFake } from '../fakes/providers.js';
import { parseSamples } from '../support/prom-text.js';

/** Long soaks run only with LLMETER_SOAK=1; CI runs the short versions of the same tests. */
export const SOAK = process.env.LLMETER_SOAK === '1';

export const METRICS_TOKEN = 'reliability-metrics-token-0123456789';
export const INGEST_TOKEN = 'reliability-ingest-token-0123456789';
export const UI_TOKEN = 'reliability-ui-token-0123456789';

/**
 * The environment of a spawned `llmeter`: its own data folder, fixed tokens, no keychain (a D-Bus
 * address that does not exist), and every provider's admin key and base URL pointing at `fake`.
 */
export function llmeterEnv(dataDir: string, fake: ProviderFake | null, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dataDir,
    LLMETER_DATA_DIR: dataDir,
    LLMETER_METRICS_TOKEN: METRICS_TOKEN,
    LLMETER_INGEST_TOKEN: INGEST_TOKEN,
    LLMETER_UI_TOKEN: UI_TOKEN,
    LLMETER_LOG_LEVEL: 'warn',
    DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent',
  };
  if (fake) {
    for (const id of PROVIDER_IDS) {
      env[PROVIDERS[id].keyEnv] = FAKE_KEYS[id].admin;
      env[PROVIDERS[id].baseUrlEnv] = fake.baseUrl(id);
    }
  }
  return { ...env, ...extra };
}

/** Opens the data folder's database as a plain SQLite connection (no migration, no WAL change). */
export function openRaw(dataDir: string, options: Database.Options = {}): Db {
  return new Database(path.join(dataDir, DB_FILE), { timeout: 5000, ...options });
}

/** The stored totals of one provider per model, counted as every view counts them (metrics, dashboard). */
export function storedTotals(db: Db, provider: ProviderId): Record<string, ModelTotals> {
  const totals: Record<string, ModelTotals> = {};
  for (const series of querySeriesTotals(db, { fromSec: null, toSec: null })) {
    if (series.provider !== provider) continue;
    totals[series.model] = {
      costNano: series.costNano,
      inputTokens: series.inputTokens,
      cachedInputTokens: series.cachedInputTokens,
      cacheWriteTokens: series.cacheWriteTokens,
      outputTokens: series.outputTokens,
      requests: series.requests,
    };
  }
  return totals;
}

/** Drops the models whose every number is zero: the truth lists a model the stored rows may omit. */
function nonZero(totals: Record<string, ModelTotals>): Record<string, ModelTotals> {
  return Object.fromEntries(
    Object.entries(totals).filter(([, t]) => t.costNano !== 0n || t.inputTokens !== 0 || t.outputTokens !== 0 || t.cachedInputTokens !== 0 || t.cacheWriteTokens !== 0 || (t.requests ?? 0) !== 0),
  );
}

/** Every provider's stored totals equal the truth exactly: cost to the nano-dollar, tokens and requests. */
export function expectStoredEqualsTruth(db: Db, truth: FakeTruth, providers: readonly ProviderId[] = PROVIDER_IDS, label = ''): void {
  for (const provider of providers) {
    expect(nonZero(storedTotals(db, provider)), `${label} ${provider}`).toEqual(nonZero(expectedTotals(truth, provider, 0, Number.MAX_SAFE_INTEGER)));
  }
}

/** Rows sharing a natural key (the usage table's primary key), which must be none. */
export function duplicateRows(db: Db): number {
  return db
    .prepare(
      `SELECT COUNT(*) FROM (SELECT 1 FROM usage GROUP BY provider, source, bucket_start, model, project, api_key_id, line_item HAVING COUNT(*) > 1)`,
    )
    .pluck()
    .get() as number;
}

/** `PRAGMA integrity_check` and the foreign-key check both pass. */
export function expectIntact(db: Db): void {
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  expect(db.pragma('foreign_key_check')).toEqual([]);
  expect(duplicateRows(db)).toBe(0);
}

/** A seeded PRNG, so that a failing random schedule can be replayed from its seed. */
export { seededRandom } from '../../shared/random.js';

/** The seed of this run: LLMETER_SEED to replay one, else a fixed one in CI so that CI is repeatable. */
export function runSeed(fallback: number): number {
  const given = Number(process.env.LLMETER_SEED);
  return Number.isInteger(given) && given > 0 ? given : fallback;
}

/**
 * Whether this machine lets the suite mount file systems (root with CAP_SYS_ADMIN): a read-only
 * bind mount and a size-limited tmpfs are real faults, where chmod means nothing to root. Outside
 * CI a machine without it skips those suites with a line saying so; with CI=true it fails instead.
 */
export function mountAvailable(): boolean {
  const probe = mkdtempSync(path.join(tmpdir(), 'llmeter-mount-probe-'));
  try {
    const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' }).status === 0;
    if (ok) spawnSync('umount', [probe], { stdio: 'ignore' });
    if (ok) return true;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
  const line = 'mounting file systems is not allowed here (the read-only and disk-full tests need root with CAP_SYS_ADMIN)';
  if (process.env.CI === 'true') throw new Error(`${line}; CI=true requires it.`);
  console.warn(`SKIPPED: ${line}.`);
  return false;
}

/** Runs `mount` with these arguments, throwing with its output when it fails. */
export function mount(...args: string[]): void {
  const result = spawnSync('mount', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mount ${args.join(' ')} failed: ${result.stderr}`);
}

/** Unmounts `dir`, lazily so that a process still holding a file there cannot make it fail. */
export function unmount(dir: string): void {
  spawnSync('umount', ['-l', dir], { stdio: 'ignore' });
}

let eventCounter = 0;

/** `count` valid SDK events with fresh ids, of one OpenAI model, an hour apart from `startSec` back. */
export function sdkEvents(count: number, options: { startSec: number; model?: string; customerId?: string; provider?: ProviderId }): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => {
    const n = ++eventCounter;
    return {
      id: newEventId(),
      provider: options.provider ?? 'openai',
      model: options.model ?? 'gpt-4o-mini-2024-07-18',
      inputTokens: 1000 + (n % 97),
      cachedInputTokens: n % 13,
      outputTokens: 100 + (n % 31),
      latencyMs: 250,
      status: 200,
      ...(options.customerId === undefined ? {} : { customerId: options.customerId }),
      timestamp: new Date((options.startSec - (i % 48) * 3600) * 1000).toISOString(),
    };
  });
}

/** POSTs a batch to the ingest route of `baseUrl`. */
export async function postIngest(baseUrl: string, events: unknown[]): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${baseUrl}/api/v1/ingest`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${INGEST_TOKEN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** The lines a person reads on stderr: the structured log lines (such as the keychain warning) left out. */
export function withoutLogLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line !== '' && !line.startsWith('{'));
}

/** The sum of every sample of `family` in a scrape of the metrics of the app at `baseUrl`. */
export async function scrapeFamilySum(baseUrl: string, family: string): Promise<number> {
  const res = await fetch(`${baseUrl}/api/v1/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
  if (res.status !== 200) throw new Error(`scrape of ${baseUrl} answered ${res.status}`);
  return parseSamples(await res.text())
    .filter((sample) => sample.name === family)
    .reduce((sum, sample) => sum + Number(sample.value), 0);
}

