/**
 * A Secret Service that runs but is locked (screen locked, keyring not unlocked at login, headless
 * server): every command ends within a few seconds, says in one line that the keychain is locked
 * and what to do, never prints or writes a key, and `serve` still starts with keys from the
 * environment. Both kinds of unlock prompt are tried: one that fails at once (no display) and one
 * that no one will ever answer (a dialog on a hidden display), which would hang a call that waits
 * for it.
 */
import { readdirSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeychainLockedError, osKeychain } from '../../core/keys/keychain.js';
import { FAKE_KEYS, generateTruth, startProviderFake, type ProviderFake } from '../fakes/providers.js';
import { runLlmeter, startLlmeter, type CliRun } from '../support/cli.js';
import { startPrivateSecretService, type PrivateSecretService, type UnlockPrompts } from '../support/secret-service.js';
import { toolAvailable, TOOLS, type SystemTool } from '../support/tools.js';

const NOW = Math.floor(Date.now() / 1000);
/** Far more than a locked keychain needs to answer (well under a second), far less than a hang. */
const COMMAND_BOUND_MS = 5_000;
const LOCKED = 'The OS keychain is locked';
const UNLOCK_HINT = 'gnome-keyring-daemon --replace --unlock';
const ENV_HINT = 'LLMETER_OPENAI_ADMIN_KEY, LLMETER_ANTHROPIC_ADMIN_KEY, LLMETER_OPENROUTER_MANAGEMENT_KEY';
const UI_TOKEN = 'ui-token-for-the-locked-keychain-test';

/** An unlock dialog nobody answers needs a display for the GNOME prompter to put it on. */
const HIDDEN_DISPLAY: SystemTool = {
  name: 'Xvfb and the GNOME prompter (an unlock prompt no one answers)',
  probe: ['sh', '-c', 'command -v Xvfb && test -f /usr/share/dbus-1/services/org.gnome.keyring.SystemPrompter.service'],
  install: 'apt-get install xvfb gcr',
};

const modes: UnlockPrompts[] = toolAvailable(TOOLS.secretService) ? ['dismissed', ...(toolAvailable(HIDDEN_DISPLAY) ? ['unanswered' as const] : [])] : [];

/** Every file under `dir` whose bytes contain `secret`. */
function filesContaining(dir: string, secret: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && readFileSync(path.join(entry.parentPath, entry.name)).includes(Buffer.from(secret)))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** The lines of `text` that say the keychain is locked. */
const lockedLines = (text: string): string[] => text.split('\n').filter((line) => line.includes(LOCKED));

describe.each(modes)('a locked Secret Service, unlock prompts %s', (prompts) => {
  const service = `llmeter-test-locked-${prompts}-${process.pid}`;
  const timings: Record<string, number> = {};
  let secretService: PrivateSecretService;
  let fake: ProviderFake;
  let home: string;
  let env: Record<string, string>;

  /** Runs `llmeter`, records how long it took, and checks it neither hung nor printed a key. */
  async function timed(label: string, args: string[], options: { input?: string; extraEnv?: Record<string, string> } = {}): Promise<CliRun> {
    const started = performance.now();
    const run = await runLlmeter(args, { env: { ...env, ...options.extraEnv }, timeoutMs: 30_000, ...(options.input === undefined ? {} : { input: options.input }) });
    timings[label] = Math.round(performance.now() - started);
    expect(run.status, `${label} was killed: it hung`).not.toBeNull();
    expect(timings[label]).toBeLessThan(COMMAND_BOUND_MS);
    for (const key of [FAKE_KEYS.openai.admin, FAKE_KEYS.anthropic.admin]) expect(run.stdout + run.stderr).not.toContain(key);
    return run;
  }

  /** The one line about the lock says what to do. */
  function expectLockedLine(text: string): void {
    const lines = lockedLines(text);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(UNLOCK_HINT);
    expect(lines[0]).toContain(ENV_HINT);
  }

  beforeAll(async () => {
    [secretService, fake] = await Promise.all([startPrivateSecretService({ unlockPrompts: prompts }), startProviderFake({ truth: generateTruth({ days: 2, seed: 11, now: NOW }), now: NOW })]);
    home = mkdtempSync(path.join(tmpdir(), 'llmeter-locked-'));
    env = {
      ...secretService.env,
      HOME: home,
      LLMETER_DATA_DIR: path.join(home, 'data'),
      LLMETER_KEYCHAIN_SERVICE: service,
      LLMETER_OPENAI_BASE_URL: fake.baseUrl('openai'),
      LLMETER_ANTHROPIC_BASE_URL: fake.baseUrl('anthropic'),
      LLMETER_OPENROUTER_BASE_URL: fake.baseUrl('openrouter'),
    };
    // Stored while the keyring is open, the way a person would have done it earlier.
    const stored = await runLlmeter(['keys', 'set', 'openai'], { env, input: `${FAKE_KEYS.openai.admin}\n` });
    expect(stored.status, stored.stderr).toBe(0);
    secretService.lock();
  });

  afterAll(async () => {
    console.log(`locked keychain (${prompts} prompts), ms per command: ${JSON.stringify(timings)}`);
    await Promise.all([secretService?.stop(), fake?.close()]);
    rmSync(home, { recursive: true, force: true });
  });

  it('`keys list` says the keychain is locked instead of "no key", and what to do', async () => {
    const run = await timed('keys list', ['keys', 'list']);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^OpenAI\s+-\s+keychain locked/m);
    expect(run.stdout).not.toMatch(/no key/);
    expectLockedLine(run.stderr);
    expect(secretService.isLocked()).toBe(true);
  });

  it('`keys set` refuses before calling the provider and writes the key nowhere', async () => {
    const before = fake.requests.length;
    const run = await timed('keys set', ['keys', 'set', 'anthropic'], { input: `${FAKE_KEYS.anthropic.admin}\n` });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expectLockedLine(run.stderr);
    expect(fake.requests.length).toBe(before);
    expect(filesContaining(home, FAKE_KEYS.anthropic.admin)).toEqual([]);
  });

  it('`poll` polls the providers whose keys are in the environment and names the locked keychain once', async () => {
    const before = fake.requests.length;
    const run = await timed('poll', ['poll', '--backfill-days', '2'], { extraEnv: { LLMETER_ANTHROPIC_ADMIN_KEY: FAKE_KEYS.anthropic.admin } });
    expect(run.stdout).toMatch(/^Anthropic: ok, \d+ rows/m);
    expect(run.stdout).not.toMatch(/^OpenAI/m);
    expect(run.status).toBe(0);
    expectLockedLine(run.stderr);
    const polled = fake.requests.slice(before);
    expect(polled.length).toBeGreaterThan(0);
    expect(polled.every((request) => request.provider === 'anthropic')).toBe(true);
  });

  it('`poll` with no key in the environment exits with the lock as the reason, not "no provider configured" alone', async () => {
    const run = await timed('poll (keychain only)', ['poll']);
    expect(run.status).toBe(2);
    expectLockedLine(run.stderr);
  });

  it('`serve` starts, serves metrics with a per-run token, and reports the stored-key provider as locked out', async () => {
    const started = performance.now();
    const serve = await startLlmeter(['serve', '--port', '0'], { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env, LLMETER_ANTHROPIC_ADMIN_KEY: FAKE_KEYS.anthropic.admin, LLMETER_UI_TOKEN: UI_TOKEN });
    timings['serve start'] = Math.round(performance.now() - started);
    try {
      expect(timings['serve start']).toBeLessThan(COMMAND_BOUND_MS);
      // The URL is printed first; the metrics line follows it in a later chunk.
      await expect.poll(() => serve.output()).toMatch(/Bearer [^)\s]+\)/);
      const bearer = /Bearer ([^)\s]+)\)/.exec(serve.output())?.[1];
      expect(bearer, serve.output()).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      const metrics = await fetch(`${serve.url}/api/v1/metrics`, { headers: { Authorization: `Bearer ${bearer}` } });
      expect(metrics.status).toBe(200);
      await metrics.text();
      const overview = await fetch(`${serve.url}/api/v1/ui/getOverview`, { method: 'POST', headers: { Authorization: `Bearer ${UI_TOKEN}`, 'Content-Type': 'application/json' } });
      expect(overview.status).toBe(200);
      const providers = ((await overview.json()) as { providers: Array<{ provider: string; configured: boolean; keySource: string | null; lastError: string | null }> }).providers;
      expect(providers.find((p) => p.provider === 'anthropic')).toMatchObject({ configured: true, keySource: 'env' });
      const openai = providers.find((p) => p.provider === 'openai');
      expect(openai?.configured).toBe(false);
      expect(openai?.lastError).toContain(LOCKED);
      expect(serve.output()).not.toContain(FAKE_KEYS.anthropic.admin);
      expect(lockedLines(serve.output()).length).toBeGreaterThan(0);
    } finally {
      const stopping = performance.now();
      expect(await serve.stop()).toBe(0);
      timings['serve stop'] = Math.round(performance.now() - stopping);
    }
    expect(timings['serve stop']).toBeLessThan(COMMAND_BOUND_MS);
  });

  it('`keys set` into a locked keyring that holds none of our entries yet ends within its deadline and stores nothing', async () => {
    // No entry of this service exists, so the search before the write cannot see the lock: the write itself asks for the prompt.
    const fresh = { LLMETER_KEYCHAIN_SERVICE: `${service}-fresh` };
    const started = performance.now();
    const run = await runLlmeter(['keys', 'set', 'openai'], { env: { ...env, ...fresh }, input: `${FAKE_KEYS.openai.admin}\n`, timeoutMs: 30_000 });
    timings['keys set (no entries yet)'] = Math.round(performance.now() - started);
    expect(run.status, 'killed: it hung').toBe(1);
    // The prompt fails at once without a display; an unanswered one is given up after the 10 s write deadline.
    expect(timings['keys set (no entries yet)']).toBeLessThan(prompts === 'dismissed' ? COMMAND_BOUND_MS : 10_000 + COMMAND_BOUND_MS);
    expectLockedLine(run.stderr);
    expect(run.stderr).toContain('The key is valid but was not stored.');
    expect(run.stdout + run.stderr).not.toContain(FAKE_KEYS.openai.admin);
    expect(filesContaining(home, FAKE_KEYS.openai.admin)).toEqual([]);
  }, 30_000);

  it('`token` on a first run (two writes) gives up on the prompt once, not once per token, and still prints both tokens', async () => {
    const started = performance.now();
    const run = await runLlmeter(['token'], { env: { ...env, LLMETER_KEYCHAIN_SERVICE: `${service}-tokens` }, timeoutMs: 30_000 });
    timings['token (no entries yet)'] = Math.round(performance.now() - started);
    expect(run.status, 'killed: it hung').toBe(0);
    // One 10 s deadline at most: the second write fails at once instead of waiting again.
    expect(timings['token (no entries yet)']).toBeLessThan(prompts === 'dismissed' ? COMMAND_BOUND_MS : 10_000 + COMMAND_BOUND_MS);
    expect(run.stdout).toMatch(/metrics token \(LLMETER_METRICS_TOKEN\): \S{20,}/);
    expect(run.stdout).toMatch(/ingest token {2}\(LLMETER_INGEST_TOKEN\): {2}\S{20,}/);
    expectLockedLine(run.stderr);
  }, 30_000);

  it('a read in the process rejects with KeychainLockedError', async () => {
    const saved = { bus: process.env.DBUS_SESSION_BUS_ADDRESS, runtime: process.env.XDG_RUNTIME_DIR };
    Object.assign(process.env, { DBUS_SESSION_BUS_ADDRESS: secretService.env.DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR: secretService.env.XDG_RUNTIME_DIR });
    try {
      const started = performance.now();
      await expect(osKeychain(service).get('provider:openai')).rejects.toBeInstanceOf(KeychainLockedError);
      expect(performance.now() - started).toBeLessThan(COMMAND_BOUND_MS);
    } finally {
      for (const [name, value] of [['DBUS_SESSION_BUS_ADDRESS', saved.bus], ['XDG_RUNTIME_DIR', saved.runtime]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('once unlocked, the stored key is there again: the lock was the only problem', async () => {
    await secretService.unlock();
    const run = await timed('keys list (unlocked)', ['keys', 'list']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^OpenAI\s+…0001\s+OS keychain/m);
    expect(secretService.lookup(service, 'provider:anthropic')).toBeNull();
    expect(secretService.lookup(`${service}-fresh`, 'provider:openai')).toBeNull();
  });
});
