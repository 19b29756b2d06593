import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../core/config.js';
import { keyFingerprint, readKeyStatuses, writeKeyStatus } from '../../core/keys/key-status.js';
import { osKeychain } from '../../core/keys/keychain.js';
import { setProviderKey, type KeyManagementDeps } from '../../core/keys/manage.js';
import { generateTruth, startProviderFake, type ProviderFake } from '../fakes/providers.js';

describe('key fingerprint', () => {
  it('shows the last 4 characters of a key of usual length', () => {
    expect(keyFingerprint('sk-admin-FAKEopenaiADMINkey0000000001')).toBe('0001');
  });
  it('shows fewer of a short key, and nothing of a very short one', () => {
    expect(keyFingerprint('abcdefgh12345678')).toBe('78');
    expect(keyFingerprint('abcdefg')).toBe('');
  });
});

describe('key status file', () => {
  let dataDir: string;
  beforeAll(() => (dataDir = mkdtempSync(path.join(tmpdir(), 'llmeter-keystatus-'))));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('records and forgets per provider, and reads an unusable file as "nothing validated"', () => {
    writeKeyStatus(dataDir, 'openai', { fingerprint: '0001', validatedAt: '2026-01-02T03:04:05.000Z' });
    writeKeyStatus(dataDir, 'anthropic', { fingerprint: 'y001', validatedAt: '2026-01-02T03:04:06.000Z' });
    writeKeyStatus(dataDir, 'openai', null);
    expect(readKeyStatuses(dataDir)).toEqual({ anthropic: { fingerprint: 'y001', validatedAt: '2026-01-02T03:04:06.000Z' } });
    // A status longer than a fingerprint is refused as a whole: it may be more of a key than allowed.
    writeKeyStatus(dataDir, 'openai', { fingerprint: 'sk-admin-whole-key', validatedAt: '2026-01-02T03:04:05.000Z' });
    expect(readKeyStatuses(dataDir)).toEqual({});
  });
});

describe('setProviderKey refuses text that cannot be a key before anything else', () => {
  let fake: ProviderFake;
  let dataDir: string;
  let deps: KeyManagementDeps;
  beforeAll(async () => {
    const now = Math.floor(Date.now() / 1000);
    fake = await startProviderFake({ truth: generateTruth({ days: 1, seed: 2, now }), now });
    dataDir = mkdtempSync(path.join(tmpdir(), 'llmeter-keyformat-'));
    deps = { env: {}, config: resolveConfig({ LLMETER_DATA_DIR: dataDir, LLMETER_OPENAI_BASE_URL: fake.baseUrl('openai') }) };
  });
  afterAll(async () => {
    await fake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([
    ['empty', '   \n', 'No OpenAI organization Admin API key was given.'],
    ['two lines', 'sk-admin-first\nsk-admin-second', 'contains spaces, line breaks'],
    ['a sentence', 'my key is sk-admin-abc', 'contains spaces, line breaks'],
    ['not ASCII', 'sk-admin-ключ-123456789', 'contains spaces, line breaks'],
    ['too long', `sk-admin-${'x'.repeat(2000)}`, 'too long'],
  ])('%s', async (_name, text, message) => {
    // The keychain is never reached for these (none may even exist here), nor the provider.
    const outcome = await setProviderKey(osKeychain(`llmeter-test-format-${process.pid}`), 'openai', text, deps);
    expect(outcome).toMatchObject({ ok: false, errorKind: 'format' });
    expect(outcome.message).toContain(message);
    expect(outcome.message).toContain('Nothing was stored.');
    expect(fake.requests).toHaveLength(0);
  });
});
