/**
 * Delivery of budget alerts to a real loopback webhook receiver: the Slack-compatible body,
 * retries with backoff, failures recorded and never in the poll's way, the webhook URL (a
 * credential) never logged; and the whole path inside the headless core: poll → evaluate →
 * deliver, GET /api/v1/alerts and the budget metrics.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startCore } from '../../core/app.js';
import { createBudget, listAlerts, listBudgets } from '../../core/budgets/budgets.js';
import { evaluateBudgets } from '../../core/budgets/evaluate.js';
import { compositeNotifier, logNotifier, webhookNotifier, type WebhookOptions } from '../../core/budgets/notifiers.js';
import { resolveConfig } from '../../core/config.js';
import { createLogger, silentLogger } from '../../core/log.js';
import type { PollOutcome } from '../../core/poller/poll.js';
import { openSettingsStore } from '../../core/settings/store.js';
import { openDatabase, type Db } from '../../core/store/db.js';
import { writeProviderFetch } from '../../core/store/usage-repo.js';
import { parseAmountToNano } from '../../shared/money.js';
import { FAKE_KEYS, generateTruth, startProviderFake } from '../fakes/providers.js';
import { parseSamples, sampleValue } from '../support/prom-text.js';
import { record } from '../support/records.js';
import { tempDir } from '../support/temp.js';

const NOW = Date.parse('2026-11-18T12:00:00Z');
const SECRET_PATH = '/services/T0001/B0002/sEcReTwEbHoOkPaTh';

interface Receiver {
  url: string;
  port: number;
  requests: Array<{ method: string; path: string; contentType: string; body: string }>;
  close(): Promise<void>;
}

/** A loopback HTTP server answering each request with the status `answer` gives it (or never). */
async function startReceiver(answer: (n: number) => { status: number; headers?: Record<string, string> } | 'hang'): Promise<Receiver> {
  const requests: Receiver['requests'] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks).toString('utf8') });
      const reply = answer(requests.length);
      if (reply === 'hang') return;
      res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
      res.end(reply.status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const receiver = await startReceiver(() => ({ status: 200 }));
  await receiver.close();
  return receiver.port;
}

/** A database with one $10 monthly budget at 110 %: one notice (100 % leading 80 % and 50 %). */
function overspentDb(name = 'Ops'): Db {
  const db = openDatabase(tempDir());
  createBudget(db, { name, scope: { kind: 'all' }, period: 'month', amountUsd: '10', thresholds: [50, 80, 100] }, NOW);
  const row = record({ provider: 'openai', source: 'cost', bucketStart: Date.parse('2026-11-03T00:00:00Z') / 1000, costNano: 11_000_000_000n, lineItem: 'gpt-4o, input' });
  writeProviderFetch(db, 'openai', [], [row], NOW / 1000);
  return db;
}

function capturingLog(): { log: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ level: 'debug', write: (line) => void lines.push(line) }), lines };
}

const fast = (url: string, over: Partial<WebhookOptions> = {}): WebhookOptions => ({ url: () => url, backoffMs: 5, ...over });

describe('webhook delivery (real loopback receiver)', () => {
  it('posts one Slack-compatible JSON message per notice', async () => {
    const receiver = await startReceiver(() => ({ status: 200 }));
    const db = overspentDb('Ops <prod> & co');
    const evaluation = evaluateBudgets(db, NOW, webhookNotifier(fast(`${receiver.url}${SECRET_PATH}`)));
    await evaluation.delivered;
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request).toMatchObject({ method: 'POST', path: SECRET_PATH, contentType: 'application/json' });
    expect(JSON.parse(request!.body)).toEqual({
      text: '*Ops &lt;prod&gt; &amp; co: over budget, 110 % used*\n$11.00 of $10.00 spent this month (all billed). Forecast for the month: $18.86. Also passed 50 %, 80 %.',
    });
    expect(listAlerts(db).map((a) => [a.threshold, a.delivery, a.deliveryError])).toEqual([
      [100, 'sent', null],
      [80, 'sent', null],
      [50, 'sent', null],
    ]);
    db.close();
    await receiver.close();
  });

  it('retries 5xx and 429 with exponential backoff, honouring Retry-After, then delivers', async () => {
    const answers = [{ status: 500 }, { status: 503 }, { status: 429, headers: { 'retry-after': '3' } }, { status: 200 }];
    const receiver = await startReceiver((n) => answers[n - 1]!);
    const waits: number[] = [];
    const db = overspentDb();
    const notifier = webhookNotifier(fast(receiver.url, { attempts: 4, backoffMs: 100, sleep: async (ms) => void waits.push(ms) }));
    await evaluateBudgets(db, NOW, notifier).delivered;
    expect(receiver.requests).toHaveLength(4);
    expect(waits).toEqual([100, 200, 3000]);
    expect(listAlerts(db)[0]).toMatchObject({ delivery: 'sent', deliveryError: null });
    db.close();
    await receiver.close();
  });

  it('gives up at once on an answer retrying cannot fix, naming the host but never the secret path', async () => {
    const receiver = await startReceiver(() => ({ status: 404 }));
    const db = overspentDb();
    const { log, lines } = capturingLog();
    await evaluateBudgets(db, NOW, webhookNotifier(fast(`${receiver.url}${SECRET_PATH}`)), { log }).delivered;
    expect(receiver.requests).toHaveLength(1);
    const [alert] = listAlerts(db);
    expect(alert!.delivery).toBe('failed');
    expect(alert!.deliveryError).toBe(`The alert webhook at 127.0.0.1:${receiver.port} answered HTTP 404; check the webhook URL in the settings (it may have been revoked).`);
    expect(lines.join('')).toContain('budget alert could not be delivered');
    expect(lines.join('')).not.toContain('sEcReT');
    db.close();
    await receiver.close();
  });

  it('records a target that is down, after its retries, without ever rejecting', async () => {
    const port = await deadPort();
    const db = overspentDb();
    const { log, lines } = capturingLog();
    const started = Date.now();
    const evaluation = evaluateBudgets(db, NOW, compositeNotifier([logNotifier(log), webhookNotifier(fast(`http://127.0.0.1:${port}${SECRET_PATH}`))]), { log });
    // The evaluation itself is done: alerts recorded, delivery still under way.
    expect(Date.now() - started).toBeLessThan(1000);
    expect(listAlerts(db).map((a) => a.delivery)).toEqual(['pending', 'pending', 'pending']);
    await expect(evaluation.delivered).resolves.toBeUndefined();
    expect(listAlerts(db).map((a) => a.delivery)).toEqual(['failed', 'failed', 'failed']);
    expect(listAlerts(db)[0]!.deliveryError).toBe(
      `webhook: The alert webhook at 127.0.0.1:${port} could not be reached (ECONNREFUSED) (tried 3 times); the alert is recorded and listed by \`npx llmeter alerts\`.`,
    );
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    // The log channel still delivered: one line with the title, then the failure.
    expect(logged.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'Ops: over budget, 110 % used'],
      ['warn', 'budget alert could not be delivered'],
    ]);
    expect(lines.join('')).not.toContain('sEcReT');
    db.close();
  });

  it('times out a receiver that never answers', async () => {
    const receiver = await startReceiver(() => 'hang');
    const db = overspentDb();
    await evaluateBudgets(db, NOW, webhookNotifier(fast(receiver.url, { timeoutMs: 100, attempts: 2 }))).delivered;
    expect(receiver.requests).toHaveLength(2);
    expect(listAlerts(db)[0]!.deliveryError).toBe(`The alert webhook at 127.0.0.1:${receiver.port} did not answer within 0.1 s (tried 2 times); the alert is recorded and listed by \`npx llmeter alerts\`.`);
    db.close();
    await receiver.close();
  });

  it('sends nothing while no webhook URL is set', async () => {
    const db = overspentDb();
    await evaluateBudgets(db, NOW, webhookNotifier({ url: () => '' })).delivered;
    expect(listAlerts(db)[0]!.delivery).toBe('sent');
    db.close();
  });
});

describe('budget alerts in the headless core', () => {
  it('evaluates after a poll without waiting for a hung webhook, records its failure, and serves alerts and metrics', async () => {
    const nowSec = NOW / 1000;
    const fake = await startProviderFake({ truth: generateTruth({ days: 10, seed: 11, now: nowSec }), now: nowSec });
    const receiver = await startReceiver(() => 'hang');
    const dataDir = tempDir();
    const seed = openDatabase(dataDir);
    createBudget(seed, { scope: { kind: 'provider', provider: 'openai' }, period: 'month', amountUsd: '0.01', thresholds: [50, 80, 100] }, NOW);
    seed.close();
    // The webhook comes from the data folder's settings, as the dashboard saves it.
    openSettingsStore(dataDir, silentLogger).update({ alerts: { webhookUrl: `${receiver.url}${SECRET_PATH}` } });

    const metricsToken = 'budget-test-metrics-token-0123';
    const env = { LLMETER_OPENAI_ADMIN_KEY: FAKE_KEYS.openai.admin, LLMETER_OPENAI_BASE_URL: fake.baseUrl('openai'), LLMETER_METRICS_TOKEN: metricsToken, LLMETER_INGEST_TOKEN: 'budget-test-ingest-token-0123' };
    const { log, lines } = capturingLog();
    const core = await startCore({
      config: resolveConfig(env, { port: 0, dataDir }),
      env,
      log,
      secretStore: null,
      now: () => NOW,
    });
    try {
      // On start nothing was polled yet: nothing to fire.
      expect(listAlerts(core.db)).toEqual([]);
      const polled = new Promise<PollOutcome[]>((resolve) => core.onPolled(resolve));
      await core.pollNow();
      expect((await polled).map((o) => [o.provider, o.ok])).toEqual([['openai', true]]);

      // The poll is over while the webhook still holds the first delivery attempt.
      await expect.poll(() => receiver.requests.length).toBe(1);
      expect(listAlerts(core.db).map((a) => [a.threshold, a.level, a.delivery])).toEqual([
        [100, 'over', 'pending'],
        [80, 'warn', 'pending'],
        [50, 'ok', 'pending'],
      ]);
      expect(JSON.parse(receiver.requests[0]!.body).text).toMatch(/^\*OpenAI, monthly: over budget, \d+ % used\*\n/);

      await receiver.close(); // the target goes down: the hung attempt fails, the retries find nothing
      await core.budgetAlerts.idle();
      const alerts = listAlerts(core.db);
      expect(alerts.map((a) => a.delivery)).toEqual(['failed', 'failed', 'failed']);
      expect(alerts[0]!.deliveryError).toContain(`webhook: The alert webhook at 127.0.0.1:${receiver.port} could not be reached (ECONNREFUSED) (tried 3 times)`);
      expect(lines.join('')).toContain('"msg":"OpenAI, monthly: over budget');
      expect(lines.join('')).not.toContain('sEcReT');

      // A re-poll fires nothing again.
      await core.pollNow();
      expect(core.budgetAlerts.evaluate()?.fired).toEqual([]);
      expect(listAlerts(core.db)).toHaveLength(3);

      const auth = { Authorization: `Bearer ${metricsToken}` };
      const served = await fetch(`${core.server.url}/api/v1/alerts`, { headers: auth });
      expect(served.status).toBe(200);
      expect(await served.json()).toEqual(JSON.parse(JSON.stringify(alerts)));
      expect((await (await fetch(`${core.server.url}/api/v1/alerts?limit=1`, { headers: auth })).json()) as unknown[]).toHaveLength(1);
      expect((await fetch(`${core.server.url}/api/v1/alerts?limit=0`, { headers: auth })).status).toBe(400);
      expect((await fetch(`${core.server.url}/api/v1/alerts`)).status).toBe(401);

      const samples = parseSamples(await (await fetch(`${core.server.url}/api/v1/metrics`, { headers: auth })).text());
      const labels = { budget: 'OpenAI, monthly', scope: 'provider:openai', period: 'month' };
      const [status] = listBudgets(core.db, NOW);
      expect(sampleValue(samples, 'llmeter_budget_usd', labels)).toBe('0.01');
      expect(Number(sampleValue(samples, 'llmeter_budget_spent_usd', labels))).toBe(Number(status!.spentUsd));
      expect(Number(sampleValue(samples, 'llmeter_budget_forecast_usd', labels))).toBe(Number(status!.forecastUsd));
      // The budget counts spend exactly as llmeter_cost_usd does over the same month.
      const month = parseSamples(await (await fetch(`${core.server.url}/api/v1/metrics?from=2026-11-01&to=2026-11-30`, { headers: auth })).text());
      const costNano = month.filter((s) => s.name === 'llmeter_cost_usd' && s.labels.provider === 'openai').reduce((sum, s) => sum + parseAmountToNano(s.value)!, 0n);
      const diff = costNano - parseAmountToNano(status!.spentUsd)!;
      expect(diff < 0n ? -diff : diff).toBeLessThanOrEqual(1000n);
      expect(parseAmountToNano(status!.spentUsd)!).toBeGreaterThan(1_000_000_000n);
    } finally {
      await core.close();
      await receiver.close();
      await fake.close();
    }
  });
});
