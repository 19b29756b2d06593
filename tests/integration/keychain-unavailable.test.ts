/**
 * Linux without a Secret Service (no D-Bus session, no keyring daemon): every keychain operation
 * fails with a message that says what to install and which environment variables work instead.
 * Nothing falls back to plaintext, and no provider is called for a key that could not be kept.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeychainUnavailableError, osKeychain } from '../../core/keys/keychain.js';
import { FAKE_KEYS, generateTruth, startProviderFake, type ProviderFake } from '../fakes/providers.js';
import { runLlmeter } from '../support/cli.js';

const NOW = Math.floor(Date.now() / 1000);
const INSTALL_HINT = 'apt-get install gnome-keyring dbus';
const ENV_HINT = 'LLMETER_OPENAI_ADMIN_KEY, LLMETER_ANTHROPIC_ADMIN_KEY, LLMETER_OPENROUTER_MANAGEMENT_KEY';

describe.runIf(process.platform === 'linux')('no Secret Service on Linux', () => {
  let fake: ProviderFake;
  let home: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    fake = await startProviderFake({ truth: generateTruth({ days: 1, seed: 9, now: NOW }), now: NOW });
    home = mkdtempSync(path.join(tmpdir(), 'llmeter-nokeyring-'));
    // No DBUS_SESSION_BUS_ADDRESS and an empty runtime folder: libdbus has no session bus to find.
    env = {
      HOME: home,
      XDG_RUNTIME_DIR: home,
      LLMETER_DATA_DIR: path.join(home, 'data'),
      LLMETER_KEYCHAIN_SERVICE: `llmeter-test-nokeyring-${process.pid}`,
      LLMETER_OPENAI_BASE_URL: fake.baseUrl('openai'),
    };
  });

  afterAll(async () => {
    await fake?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('`keys set` fails before calling the provider, saying what to install and which variables work', async () => {
    const run = await runLlmeter(['keys', 'set', 'openai'], { env, input: FAKE_KEYS.openai.admin });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('The OS keychain is not available');
    expect(run.stderr).toContain(INSTALL_HINT);
    expect(run.stderr).toContain(ENV_HINT);
    expect(fake.requests).toHaveLength(0);
    // No plaintext fallback: the key is in no file of the data folder or home.
    const files = existsSync(home) ? readdirSync(home, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()) : [];
    for (const entry of files) expect(readFileSync(path.join(entry.parentPath, entry.name)).includes(Buffer.from(FAKE_KEYS.openai.admin))).toBe(false);
  });

  it('`keys list` still shows keys from the environment, and says why the keychain was not read', async () => {
    const run = await runLlmeter(['keys', 'list'], { env: { ...env, LLMETER_OPENAI_ADMIN_KEY: FAKE_KEYS.openai.admin } });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^OpenAI\s+…0001\s+environment \(LLMETER_OPENAI_ADMIN_KEY\)/m);
    expect(run.stdout).toMatch(/^Anthropic\s+-\s+keychain unavailable/m);
    expect(run.stderr.match(/The OS keychain is not available/g)).toHaveLength(1);
    expect(run.stderr).toContain(INSTALL_HINT);
  });

  it('a read reports the missing Secret Service instead of "no such key"', async () => {
    const saved = { bus: process.env.DBUS_SESSION_BUS_ADDRESS, runtime: process.env.XDG_RUNTIME_DIR };
    process.env.DBUS_SESSION_BUS_ADDRESS = `unix:path=${path.join(home, 'no-bus-here')}`;
    process.env.XDG_RUNTIME_DIR = home;
    try {
      const store = osKeychain(env.LLMETER_KEYCHAIN_SERVICE);
      const read = store.get('provider:openai');
      await expect(read).rejects.toBeInstanceOf(KeychainUnavailableError);
      await expect(read).rejects.toThrow(INSTALL_HINT);
    } finally {
      for (const [name, value] of [['DBUS_SESSION_BUS_ADDRESS', saved.bus], ['XDG_RUNTIME_DIR', saved.runtime]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
