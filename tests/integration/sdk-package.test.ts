/**
 * The SDK as a user's application gets it: `llmeter-desktop/sdk` from a project that depends on
 * this package (a symlink in its node_modules), through package.json's exports, by `import` and by
 * `require`, each sending an event to a stand-in of the app. Also: the built SDK depends on nothing
 * but the runtime, and its background timer never keeps the user's process alive.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireEvent } from '../../sdk/index.js';
import { ROOT } from '../support/cli.js';
import { tempDir } from '../support/temp.js';

const SDK_DIST = path.join(ROOT, 'dist/sdk');
const project = tempDir('llmeter-sdk-user-', 'suite');
let app: Server;
let ingestUrl: string;
const received: Array<{ authorization: string | undefined; events: WireEvent[] }> = [];

function run(file: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file], { cwd: project, env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

beforeAll(async () => {
  if (!existsSync(path.join(SDK_DIST, 'index.js')) || !existsSync(path.join(SDK_DIST, 'index.cjs'))) {
    throw new Error('dist/sdk is missing: run `npm run build` (npm test does) before the SDK package tests');
  }
  mkdirSync(path.join(project, 'node_modules'));
  symlinkSync(ROOT, path.join(project, 'node_modules', 'llmeter-desktop'), 'dir');
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-app', private: true, dependencies: { 'llmeter-desktop': 'file:../llmeter' } }));
  app = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ authorization: req.headers.authorization, events: (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events: WireEvent[] }).events });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"received":1,"inserted":1,"duplicates":0}');
    });
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  ingestUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/api/v1/ingest`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => app?.close(() => resolve()));
});

const script = (load: string) => `${load}
const llmeter = new LLMeter({ flushInterval: 0 });
llmeter.track({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 12, outputTokens: 3, customerId: process.env.CUSTOMER });
const fields = attribution({ customerId: 'c', feature: 'f' });
llmeter.shutdown().then(() => console.log(JSON.stringify({ same: LLMeterDefault === LLMeter, wrappers: [typeof wrapOpenAI, typeof wrapAnthropic], fields, stats: llmeter.stats() })));
`;

describe('llmeter-desktop/sdk as a dependency', () => {
  it('loads with import (ES module) and sends an event', async () => {
    writeFileSync(path.join(project, 'esm.mjs'), script("import LLMeterDefault, { LLMeter, wrapOpenAI, wrapAnthropic, attribution } from 'llmeter-desktop/sdk';"));
    const result = await run('esm.mjs', { LLMETER_API_KEY: 'esm-token', LLMETER_INGEST_URL: ingestUrl, CUSTOMER: 'from-esm' });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ same: true, wrappers: ['function', 'function'], fields: { llmeter_customer_id: 'c', llmeter_feature: 'f' }, stats: { queued: 0, sent: 1, dropped: 0, rejected: 0, invalid: 0 } });
    expect(received.find((r) => r.events[0]!.customerId === 'from-esm')).toMatchObject({ authorization: 'Bearer esm-token', events: [{ provider: 'openai', inputTokens: 12 }] });
  });

  it('loads with require (CommonJS) and sends an event', async () => {
    writeFileSync(path.join(project, 'cjs.cjs'), script("const { default: LLMeterDefault, LLMeter, wrapOpenAI, wrapAnthropic, attribution } = require('llmeter-desktop/sdk');"));
    const result = await run('cjs.cjs', { LLMETER_API_KEY: 'cjs-token', LLMETER_INGEST_URL: ingestUrl, CUSTOMER: 'from-cjs' });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ same: true, wrappers: ['function', 'function'], stats: { sent: 1 } });
    expect(received.find((r) => r.events[0]!.customerId === 'from-cjs')).toMatchObject({ authorization: 'Bearer cjs-token' });
  });

  it('depends on nothing but the runtime: no package import, no Node built-in', () => {
    const cjs = readFileSync(path.join(SDK_DIST, 'index.cjs'), 'utf8');
    expect(cjs).not.toMatch(/\brequire\(/);
    for (const file of readdirSync(SDK_DIST).filter((f) => f.endsWith('.js'))) {
      const specifiers = [...readFileSync(path.join(SDK_DIST, file), 'utf8').matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)].map((m) => m[1]!);
      for (const specifier of specifiers) expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\/[\w-]+\.js$/);
    }
    expect(existsSync(path.join(SDK_DIST, 'index.d.ts'))).toBe(true);
  });

  it("never keeps the user's process alive, even with events queued and the app down", async () => {
    writeFileSync(
      path.join(project, 'exit.mjs'),
      "import { LLMeter } from 'llmeter-desktop/sdk';\nconst llmeter = new LLMeter({ flushInterval: 200, batchSize: 1, silent: true });\nllmeter.track({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 1 });\nconsole.log('done');\n",
    );
    const result = await run('exit.mjs', { LLMETER_API_KEY: 'token', LLMETER_INGEST_URL: 'http://127.0.0.1:9/api/v1/ingest' });
    expect(result.stdout).toBe('done\n');
    expect(result.code).toBe(0);
    expect(result.ms).toBeLessThan(3000);
  });
});
