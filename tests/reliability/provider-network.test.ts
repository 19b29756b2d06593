/**
 * Providers that cannot be reached safely, through `llmeter poll` as a user runs it: a base URL
 * whose name does not resolve (DNS failure), an https URL at a server with a self-signed
 * certificate (made here with openssl), and an https URL at a port that speaks plain HTTP. Each
 * provider gets one line saying what failed and what to check, the key goes nowhere it should
 * not, nothing is stored, and the failure is kept for the health endpoint.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSyncStates } from '../../core/store/sync-state.js';
import { PROVIDERS } from '../../shared/providers.js';
import { FAKE_KEYS } from '../fakes/providers.js';
import { haveCommand, runLlmeter } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { llmeterEnv, openRaw, withoutLogLines } from './support.js';

const servers: Server[] = [];
let selfSignedPort = 0;
let plainPort = 0;
/** Whether openssl made a certificate; without it the self-signed case is left out and the test says so. */
let haveCertificate = false;
/** Requests that reached a server: none may, since no TLS session is ever established. */
let reached = 0;

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  const answer = (_req: unknown, res: { end(text: string): void }): void => {
    reached++;
    res.end('{}');
  };
  plainPort = await listen(createHttpServer(answer));
  haveCertificate = haveCommand('openssl');
  if (!haveCertificate) {
    console.warn('openssl is not installed (apt-get install openssl): the self-signed certificate case is not run; the plain-HTTP-on-https case still is.');
    return;
  }
  const dir = tempDir('llmeter-tls-', 'suite');
  const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  selfSignedPort = await listen(createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, answer));
});
afterAll(async () => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

describe('providers behind DNS and TLS failures', () => {
  it('poll names each provider and the cause in one line, stores nothing, and keeps the error for health', async () => {
    const dataDir = tempDir('llmeter-network-');
    const env = llmeterEnv(dataDir, null, {
      [PROVIDERS.openai.keyEnv]: FAKE_KEYS.openai.admin,
      [PROVIDERS.openai.baseUrlEnv]: 'http://nonexistent.invalid',
      [PROVIDERS.openrouter.keyEnv]: FAKE_KEYS.openrouter.admin,
      [PROVIDERS.openrouter.baseUrlEnv]: `https://127.0.0.1:${plainPort}`,
      ...(haveCertificate ? { [PROVIDERS.anthropic.keyEnv]: FAKE_KEYS.anthropic.admin, [PROVIDERS.anthropic.baseUrlEnv]: `https://127.0.0.1:${selfSignedPort}` } : {}),
    });
    const result = await runLlmeter(['poll'], { env, timeoutMs: 60_000 });
    expect(result.status).toBe(1);
    const lines = withoutLogLines(result.stderr);
    expect(lines).toContain('Could not reach OpenAI. (ENOTFOUND) The host name does not resolve. Tried 5 times. Check the network connection and, if set, LLMETER_OPENAI_BASE_URL.');
    const tls = " The TLS connection failed: the server's certificate could not be verified, or it does not speak HTTPS. LLMeter sends no key over a connection it cannot verify.";
    expect(lines).toContain(`Could not reach OpenRouter. (ERR_SSL_WRONG_VERSION_NUMBER)${tls} Tried 5 times. Check the network connection and, if set, LLMETER_OPENROUTER_BASE_URL.`);
    if (haveCertificate) expect(lines).toContain(`Could not reach Anthropic. (DEPTH_ZERO_SELF_SIGNED_CERT)${tls} Tried 5 times. Check the network connection and, if set, LLMETER_ANTHROPIC_BASE_URL.`);
    expect(lines).toHaveLength(haveCertificate ? 3 : 2);
    expect(result.stderr + result.stdout).not.toMatch(/FAKE\w*key/i);
    expect(reached).toBe(0);

    const db = openRaw(dataDir);
    try {
      expect(db.prepare('SELECT COUNT(*) FROM usage').pluck().get()).toBe(0);
      const states = listSyncStates(db);
      expect(states.map((s) => [s.provider, s.lastErrorKind, s.watermark])).toEqual(
        (haveCertificate ? ['anthropic', 'openai', 'openrouter'] : ['openai', 'openrouter']).map((p) => [p, 'unreachable', null]),
      );
    } finally {
      db.close();
    }
  }, 60_000);
});
