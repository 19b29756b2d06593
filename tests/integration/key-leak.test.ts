/**
 * The key-leak test: with keys set in the keychain (through the CLI, in process and through the
 * dashboard API) and in the environment, a refused key typed in, polls that succeed and ones that
 * fail, the server started and every route asked (with and without tokens, every dashboard API
 * method, both export formats), no byte sequence of any key appears in the data folder (SQLite,
 * its WAL, settings, key status, exports), in the captured logs, in any HTTP response or in any
 * command's output.
 */
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCore, type CoreApp } from '../../core/app.js';
import { resolveConfig } from '../../core/config.js';
import { osKeychain } from '../../core/keys/keychain.js';
import { listProviderKeys, setProviderKey, testProviderKey, type KeyManagementDeps } from '../../core/keys/manage.js';
import { createLogger } from '../../core/log.js';
import { openSettingsStore } from '../../core/settings/store.js';
import { FAKE_KEYS, generateTruth, startProviderFake, type ProviderFake } from '../fakes/providers.js';
import { runLlmeter } from '../support/cli.js';
import { startPrivateSecretService, type PrivateSecretService } from '../support/secret-service.js';
import { toolAvailable, TOOLS } from '../support/tools.js';
import { API_METHODS, type ApiMethod } from '../../shared/api.js';

const SERVICE = `llmeter-test-key-leak-${process.pid}`;
const NOW = Math.floor(Date.now() / 1000);
const REFUSED_KEY = 'sk-admin-REFUSEDkeyTYPEDinBYmistake0042';
const KEYS = { keychainViaCli: FAKE_KEYS.openai.admin, keychainInProcess: FAKE_KEYS.openrouter.admin, environment: FAKE_KEYS.anthropic.admin, refused: REFUSED_KEY };

/** Each key as the bytes it could be written as: plain UTF-8, UTF-16 (native strings), base64, hex. */
const NEEDLES = Object.entries(KEYS).flatMap(([name, key]) => [
  { name: `${name} (utf-8)`, bytes: Buffer.from(key, 'utf8') },
  { name: `${name} (utf-16le)`, bytes: Buffer.from(key, 'utf16le') },
  { name: `${name} (base64)`, bytes: Buffer.from(Buffer.from(key).toString('base64').slice(0, 32)) },
  { name: `${name} (hex)`, bytes: Buffer.from(Buffer.from(key).toString('hex')) },
]);

/** Where each key was found, as "<where>: <key name>"; empty when nowhere. */
function leaks(where: string, content: Buffer | string): string[] {
  const haystack = typeof content === 'string' ? Buffer.from(content) : content;
  return NEEDLES.filter((needle) => haystack.includes(needle.bytes)).map((needle) => `${where}: ${needle.name}`);
}

function scanFolder(dir: string): { files: string[]; found: string[] } {
  const files: string[] = [];
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) {
      const inner = scanFolder(file);
      files.push(...inner.files);
      found.push(...inner.found);
    } else {
      files.push(name);
      found.push(...leaks(file, readFileSync(file)));
    }
  }
  return { files, found };
}

interface HttpAsk {
  path: string;
  method?: string;
  token?: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
}

/** One request over plain node:http (fetch would not send a foreign Host header); the whole response as text. */
async function ask(port: number, { path: target, method = 'GET', token, headers = {}, body }: HttpAsk): Promise<{ where: string; text: string }> {
  const req = request({ host: '127.0.0.1', port, path: target, method, headers: { host: `127.0.0.1:${port}`, ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  req.end(body === undefined ? undefined : JSON.stringify(body));
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  let answer = '';
  for await (const chunk of res) answer += String(chunk);
  return { where: `HTTP ${method} ${target} → ${res.statusCode}`, text: `${res.rawHeaders.join('\n')}\n\n${answer}` };
}

describe.runIf(toolAvailable(TOOLS.secretService))('no key leaks anywhere', () => {
  let secretService: PrivateSecretService;
  let fake: ProviderFake;
  let dataDir: string;
  let core: CoreApp | undefined;
  const logLines: string[] = [];
  /** Everything a person or a program could read: command output, HTTP responses, API results. */
  const outputs: Array<{ where: string; text: string }> = [];

  beforeAll(async () => {
    [secretService, fake] = await Promise.all([startPrivateSecretService(), startProviderFake({ truth: generateTruth({ days: 3, seed: 11, now: NOW }), now: NOW })]);
    dataDir = mkdtempSync(path.join(tmpdir(), 'llmeter-leak-'));
    Object.assign(process.env, secretService.env);
  });

  afterAll(async () => {
    await core?.close();
    await Promise.all([secretService?.stop(), fake?.close()]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs every path a key takes, and finds it in none of their traces', async () => {
    const env: Record<string, string> = {
      ...secretService.env,
      HOME: dataDir,
      LLMETER_DATA_DIR: dataDir,
      LLMETER_KEYCHAIN_SERVICE: SERVICE,
      LLMETER_LOG_LEVEL: 'debug',
      LLMETER_OPENAI_BASE_URL: fake.baseUrl('openai'),
      LLMETER_ANTHROPIC_BASE_URL: fake.baseUrl('anthropic'),
      LLMETER_OPENROUTER_BASE_URL: fake.baseUrl('openrouter'),
    };
    const withEnvKey = { ...env, LLMETER_ANTHROPIC_ADMIN_KEY: KEYS.environment };
    const cli = async (args: string[], input?: string): Promise<void> => {
      const run = await runLlmeter(args, { env: withEnvKey, ...(input === undefined ? {} : { input }) });
      outputs.push({ where: `llmeter ${args.join(' ')} (exit ${run.status})`, text: run.stdout + run.stderr });
    };

    // Keys in: through the CLI, through the core functions the desktop app calls, and refused.
    await cli(['keys', 'set', 'openai'], KEYS.keychainViaCli);
    await cli(['keys', 'set', 'openai'], KEYS.refused);
    const store = osKeychain(SERVICE);
    const deps: KeyManagementDeps = { env: withEnvKey, config: resolveConfig(env) };
    const set = await setProviderKey(store, 'openrouter', KEYS.keychainInProcess, deps);
    expect(set.ok).toBe(true);
    outputs.push({ where: 'setProviderKey', text: JSON.stringify(set) });
    outputs.push({ where: 'setProviderKey (refused)', text: JSON.stringify(await setProviderKey(store, 'anthropic', KEYS.refused, deps)) });
    outputs.push({ where: 'testProviderKey', text: JSON.stringify(await Promise.all((['openai', 'anthropic', 'openrouter'] as const).map((p) => testProviderKey(store, p, deps)))) });
    outputs.push({ where: 'listProviderKeys', text: JSON.stringify(await listProviderKeys(store, deps)) });
    await cli(['keys', 'list']);
    await cli(['keys', 'test', 'anthropic']);

    // Settings written, polls run (one failing on a revoked key) through the CLI.
    openSettingsStore(dataDir, createLogger({ write: (line) => logLines.push(line) })).update({ pollIntervalMinutes: 30, alerts: { muted: true } });
    await cli(['poll', '--backfill-days', '3']);
    fake.inject('openai', { status: 401 });
    await cli(['poll']);
    await cli(['export', '--format', 'csv']);
    await cli(['export', '--format', 'jsonl', '--granularity', 'hour', '--out', path.join(dataDir, 'export.jsonl')]);

    // The server: polls on start, then every route with and without its token.
    const log = createLogger({ level: 'debug', write: (line) => logLines.push(line) });
    const config = resolveConfig({ ...env, LLMETER_PORT: '0' });
    core = await startCore({ config, env: withEnvKey, log, secretStore: store, poll: { backfillDays: 3 } });
    await core.pollNow();
    fake.inject('openrouter', { status: 403 });
    await core.pollNow();
    const { metrics } = core.tokens;
    // Every route startCore serves; a route added there belongs here too.
    const requests: HttpAsk[] = [
      { path: '/api/v1/metrics', token: metrics },
      { path: '/api/v1/metrics', token: metrics, headers: { accept: 'application/openmetrics-text; version=1.0.0' } },
      { path: '/metrics', token: metrics },
      { path: '/api/v1/metrics?from=now-7d&to=now', token: metrics },
      { path: '/api/v1/metrics?from=yesterday', token: metrics },
      { path: '/api/v1/metrics' },
      { path: '/api/v1/health' },
      { path: '/api/v1/alerts', token: metrics },
      { path: '/api/v1/alerts' },
      { path: '/api/v1/metrics', method: 'POST', token: metrics },
      { path: '/no-such-route' },
      { path: '/' },
      { path: '/api/v1/health', headers: { host: 'attacker.example' } },
    ];
    for (const request of requests) outputs.push(await ask(core.server.port, request));
    // The dashboard's typed API, every method (a method added to ApiMethod is a type error here
    // until it is added), then the export downloads; keys sent in, never back.
    const ui = core.tokens.ui;
    const budget = { scope: { kind: 'provider', provider: 'openai' }, period: 'month', amountUsd: '50', thresholds: [50, 100] };
    const uiCalls: Record<ApiMethod, unknown> = {
      getOverview: undefined,
      getSpendSeries: { granularity: 'day', groupBy: 'model' },
      getTopModels: {},
      getCustomers: {},
      listProviders: undefined,
      setProviderKey: { provider: 'openrouter', key: KEYS.keychainInProcess },
      testProviderKey: { provider: 'anthropic' },
      pollNow: undefined,
      listBudgets: undefined,
      createBudget: budget,
      updateBudget: { id: 1, input: { ...budget, amountUsd: '60' } },
      listAlerts: {},
      deleteBudget: { id: 1 },
      getSettings: undefined,
      updateSettings: { ui: { theme: 'dark' } },
      exportData: { format: 'csv', granularity: 'day' },
      deleteProviderKey: { provider: 'openrouter' },
    };
    const json = { 'content-type': 'application/json' };
    const uiRequests: HttpAsk[] = [
      { path: '/api/v1/ui/setProviderKey', method: 'POST', token: ui, headers: json, body: { provider: 'openai', key: KEYS.refused } },
      { path: '/api/v1/ui/setProviderKey', method: 'POST', token: ui, headers: json, body: { provider: 'openai', key: KEYS.refused, remember: true } },
      { path: '/api/v1/ui/setProviderKey', method: 'POST', headers: json, body: { provider: 'openai', key: KEYS.refused } },
      ...Object.entries(uiCalls).map(([method, body]): HttpAsk => ({ path: `/api/v1/ui/${method}`, method: 'POST', token: ui, headers: json, body })),
      { path: '/api/v1/export?format=csv&granularity=day', token: ui },
      { path: '/api/v1/export?format=jsonl&granularity=hour', token: ui },
    ];
    for (const request of uiRequests) outputs.push(await ask(core.server.port, request));
    for (const method of API_METHODS) expect(outputs.find((o) => o.where.startsWith(`HTTP POST /api/v1/ui/${method} → `))?.where).not.toMatch(/→ (404|405)$/);
    expect(outputs.find((o) => o.where.startsWith('HTTP GET /api/v1/export?format=csv'))?.where).toMatch(/→ 200$/);

    // The traces: the data folder while the database is open (WAL) and after it is closed.
    const whileOpen = scanFolder(dataDir);
    expect(whileOpen.files).toEqual(expect.arrayContaining(['llmeter.sqlite', 'llmeter.sqlite-wal', 'settings.json', 'key-status.json', 'export.jsonl']));
    expect(outputs.find((o) => o.where.startsWith('llmeter export --format csv'))?.text).toMatch(/^period_start,period_end,provider,model/);
    await core.close();
    core = undefined;
    const afterClose = scanFolder(dataDir);

    // The scan can see a key where one is: the fake recorded the headers each key was sent in.
    expect(leaks('fake provider requests', JSON.stringify(fake.requests.map((r) => r.headers))).length).toBeGreaterThan(0);
    // The work really happened: data was stored, and the failing polls were recorded.
    expect(outputs.find((o) => o.where.startsWith('HTTP GET /api/v1/metrics → 200'))?.text).toMatch(/llmeter_cost_usd\{provider="openai"/);
    expect(outputs.find((o) => o.where.startsWith('HTTP GET /api/v1/health'))?.text).toContain('refused access');
    expect(outputs.map((o) => o.where)).toContain('HTTP GET /api/v1/health → 421');
    expect(logLines.length).toBeGreaterThan(0);

    const found = [
      ...whileOpen.found,
      ...afterClose.found,
      ...logLines.flatMap((line) => leaks('log', line)),
      ...outputs.flatMap((output) => leaks(output.where, output.text)),
    ];
    expect(found).toEqual([]);
  });
});
