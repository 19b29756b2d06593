/**
 * Provider keys in a real Secret Service (gnome-keyring on a private D-Bus session): set through
 * the real `llmeter` command with the key on standard input, validated against the loopback fake,
 * read back with `secret-tool`, listed by fingerprint only, deleted. Refused keys are not stored;
 * keys from the environment win and are never persisted.
 */
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../core/config.js';
import { osKeychain, type SecretStore } from '../../core/keys/keychain.js';
import { listProviderKeys, setProviderKey, testProviderKey, type KeyManagementDeps } from '../../core/keys/manage.js';
import { PROVIDER_IDS } from '../../shared/providers.js';
import { FAKE_KEYS, generateTruth, startProviderFake, type ProviderFake } from '../fakes/providers.js';
import { runLlmeter } from '../support/cli.js';
import { startPrivateSecretService, type PrivateSecretService } from '../support/secret-service.js';
import { toolAvailable, TOOLS } from '../support/tools.js';

const SERVICE = `llmeter-test-keychain-${process.pid}`;
const NOW = Math.floor(Date.now() / 1000);

/** A loopback port that nothing listens on (it was free a moment ago). */
async function unusedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Every file under `dir` whose bytes contain `secret`. */
function filesContaining(dir: string, secret: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) found.push(...filesContaining(file, secret));
    else if (readFileSync(file).includes(Buffer.from(secret))) found.push(file);
  }
  return found;
}

describe.runIf(toolAvailable(TOOLS.secretService))('provider keys in a real Secret Service', () => {
  let secretService: PrivateSecretService;
  let fake: ProviderFake;
  let dataDir: string;
  let env: Record<string, string>;
  const llmeter = (args: string[], input?: string, extraEnv: Record<string, string> = {}) => runLlmeter(args, { env: { ...env, ...extraEnv }, ...(input === undefined ? {} : { input }) });
  const stored = (provider: string) => secretService.lookup(SERVICE, `provider:${provider}`);

  beforeAll(async () => {
    [secretService, fake] = await Promise.all([startPrivateSecretService(), startProviderFake({ truth: generateTruth({ days: 2, seed: 4, now: NOW }), now: NOW })]);
    dataDir = mkdtempSync(path.join(tmpdir(), 'llmeter-keychain-'));
    env = {
      ...secretService.env,
      HOME: dataDir,
      LLMETER_DATA_DIR: dataDir,
      LLMETER_KEYCHAIN_SERVICE: SERVICE,
      LLMETER_OPENAI_BASE_URL: fake.baseUrl('openai'),
      LLMETER_ANTHROPIC_BASE_URL: fake.baseUrl('anthropic'),
      LLMETER_OPENROUTER_BASE_URL: fake.baseUrl('openrouter'),
    };
    // The in-process checks below use the same private Secret Service.
    Object.assign(process.env, secretService.env);
  });

  afterAll(async () => {
    await Promise.all([secretService?.stop(), fake?.close()]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('`keys set openai` validates with one call, stores the key, and secret-tool reads it back', async () => {
    const key = FAKE_KEYS.openai.admin;
    const before = fake.requests.length;
    const run = await llmeter(['keys', 'set', 'openai'], `${key}\n`);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('OpenAI accepted the key ending in …0001');
    expect(run.stdout).not.toContain(key);
    const calls = fake.requests.slice(before);
    expect(calls.map((call) => `${call.provider} ${call.path}`)).toEqual(['openai /v1/organization/costs']);
    expect(calls[0]!.headers.authorization).toBe(`Bearer ${key}`);
    expect(stored('openai')).toBe(key);
  });

  it('`keys list` shows the source, the last 4 characters and the validation time, never the key', async () => {
    const run = await llmeter(['keys', 'list']);
    expect(run.status).toBe(0);
    const openai = run.stdout.split('\n').find((line) => line.startsWith('OpenAI'));
    expect(openai).toMatch(/^OpenAI\s+…0001\s+OS keychain\s+validated \d{4}-\d{2}-\d{2}T/);
    expect(run.stdout).toMatch(/^Anthropic\s+-\s+no key/m);
    expect(run.stdout).not.toContain(FAKE_KEYS.openai.admin.slice(0, -4));
  });

  it('a wrong key (401) is refused with what to do, and nothing is stored', async () => {
    const wrong = 'sk-ant-admin01-WRONGkeyWRONGkeyWRONGkey9';
    const run = await llmeter(['keys', 'set', 'anthropic'], wrong);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Anthropic rejected the Admin API key (HTTP 401)');
    expect(run.stderr).toContain('The key was not stored.');
    expect(run.stderr + run.stdout).not.toContain(wrong);
    expect(stored('anthropic')).toBeNull();
  });

  it('a key without the billing permission (403) is told apart and does not replace the stored key', async () => {
    const run = await llmeter(['keys', 'set', 'openai'], FAKE_KEYS.openai.restricted);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('OpenAI refused access (HTTP 403)');
    expect(run.stderr).toContain('api.usage.read');
    // A project key is not an admin key: the message says so.
    expect(run.stderr).toContain('does not start with "sk-admin-"');
    expect(stored('openai')).toBe(FAKE_KEYS.openai.admin);
  });

  it('an unreachable provider is reported as such, and nothing is stored', async () => {
    const closedPort = await unusedPort();
    const run = await llmeter(['keys', 'set', 'openrouter'], FAKE_KEYS.openrouter.admin, { LLMETER_OPENROUTER_BASE_URL: `http://127.0.0.1:${closedPort}` });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Could not reach OpenRouter');
    expect(run.stderr).toContain('LLMETER_OPENROUTER_BASE_URL');
    expect(stored('openrouter')).toBeNull();
  });

  it('a key in the environment wins over the keychain and is never written anywhere', async () => {
    const envKey = FAKE_KEYS.anthropic.admin;
    const withEnv = { LLMETER_ANTHROPIC_ADMIN_KEY: envKey };
    const list = await llmeter(['keys', 'list'], undefined, withEnv);
    expect(list.stdout).toMatch(/^Anthropic\s+…y001\s+environment \(LLMETER_ANTHROPIC_ADMIN_KEY\)/m);
    const test = await llmeter(['keys', 'test', 'anthropic'], undefined, withEnv);
    expect(test.status).toBe(0);
    expect(test.stdout).toContain('(from LLMETER_ANTHROPIC_ADMIN_KEY) Anthropic accepted the key ending in …y001');
    const poll = await llmeter(['poll', '--backfill-days', '2'], undefined, withEnv);
    expect(poll.stderr).toBe('');
    expect(poll.status).toBe(0);
    expect(stored('anthropic')).toBeNull();
    expect(filesContaining(dataDir, envKey)).toEqual([]);
    expect(filesContaining(dataDir, FAKE_KEYS.openai.admin)).toEqual([]);
  });

  it('a stored key that the environment overrides is reported as shadowed', async () => {
    const run = await llmeter(['keys', 'set', 'openai'], FAKE_KEYS.openai.admin, { LLMETER_OPENAI_ADMIN_KEY: 'sk-admin-SOMEotherKEYfromTHEenvironment' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('LLMETER_OPENAI_ADMIN_KEY is set in this environment and is used instead');
  });

  describe('validation status, in process', () => {
    let store: SecretStore;
    let deps: KeyManagementDeps;
    beforeAll(() => {
      store = osKeychain(SERVICE);
      deps = { env: {}, config: resolveConfig(env) };
    });

    it('is forgotten when the provider refuses a stored key that it once accepted', async () => {
      expect((await setProviderKey(store, 'openrouter', FAKE_KEYS.openrouter.admin, deps)).ok).toBe(true);
      expect((await listProviderKeys(store, deps)).find((k) => k.provider === 'openrouter')?.validatedAt).not.toBeNull();
      fake.inject('openrouter', { status: 401 });
      const revoked = await testProviderKey(store, 'openrouter', deps);
      expect(revoked).toMatchObject({ ok: false, errorKind: 'auth' });
      expect((await listProviderKeys(store, deps)).find((k) => k.provider === 'openrouter')).toMatchObject({ configured: true, source: 'keychain', validatedAt: null });
    });

    it('is not shown for a key replaced outside LLMeter', async () => {
      await store.set('provider:openrouter', 'sk-or-v1-REPLACEDbyHANDinKEYRINGabcd');
      const info = (await listProviderKeys(store, deps)).find((k) => k.provider === 'openrouter');
      expect(info).toMatchObject({ fingerprint: 'abcd', validatedAt: null });
    });

    it('results never carry the key', async () => {
      const results = [
        await setProviderKey(store, 'anthropic', 'sk-ant-admin01-NOTaVALIDkeyNOTaVALIDkey', deps),
        await testProviderKey(store, 'openai', deps),
        await listProviderKeys(store, deps),
      ];
      const text = JSON.stringify(results);
      for (const key of ['sk-ant-admin01-NOTaVALIDkeyNOTaVALIDkey', FAKE_KEYS.openai.admin, 'sk-or-v1-REPLACEDbyHANDinKEYRINGabcd']) expect(text).not.toContain(key);
    });
  });

  it('`keys delete` removes the entry, and a second delete says there was none', async () => {
    const first = await llmeter(['keys', 'delete', 'openai']);
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('Deleted the OpenAI key from the OS keychain.');
    expect(stored('openai')).toBeNull();
    const second = await llmeter(['keys', 'delete', 'openai']);
    expect(second.stdout).toContain('No OpenAI key was stored in the OS keychain.');
    const list = await llmeter(['keys', 'list']);
    expect(list.stdout).toMatch(/^OpenAI\s+-\s+no key/m);
  });

  it('rejects a provider it does not know, naming the ones it does', async () => {
    const run = await llmeter(['keys', 'set', 'gemini'], 'whatever');
    expect(run.status).not.toBe(0);
    for (const id of PROVIDER_IDS) expect(run.stderr).toContain(id);
  });
});
