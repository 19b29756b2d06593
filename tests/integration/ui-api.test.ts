/**
 * The dashboard's typed API over a real SQLite file: spend aggregates counted exactly as the
 * metrics count them (billed and estimated apart, superseded estimates out), series buckets, and
 * the browser transport of a real startCore: token hand-over, CSRF and content-type guards,
 * validation, static files with CSP and no way out of the build folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiService } from '../../core/api/service.js';
import { startCore, type CoreApp } from '../../core/app.js';
import { resolveConfig } from '../../core/config.js';
import { silentLogger } from '../../core/log.js';
import { queryPeriodSpend } from '../../core/metrics/period-spend.js';
import { querySeriesTotals } from '../../core/metrics/snapshot.js';
import { openSettingsStore } from '../../core/settings/store.js';
import { openDatabase, type Db } from '../../core/store/db.js';
import { writeProviderFetch } from '../../core/store/usage-repo.js';
import type { LlmeterApi } from '../../shared/api.js';
import { formatNanoAsDecimal, parseAmountToNano } from '../../shared/money.js';
import { startOfPeriod } from '../../shared/time-range.js';
import { record } from '../support/records.js';
import { tempDir } from '../support/temp.js';

const HOUR = 3_600;
const DAY = 86_400;
// Thursday 2026-11-19 15:30 UTC: today, this week (from Monday the 16th) and this month differ.
const NOW_MS = Date.UTC(2026, 10, 19, 15, 30);
const TODAY = startOfPeriod(NOW_MS, 'd') / 1000;
const WEEK = startOfPeriod(NOW_MS, 'w') / 1000;
const MONTH = startOfPeriod(NOW_MS, 'M') / 1000;

/** Writes a day of usage and cost the way the poller does, so estimates are superseded by billed days. */
function seed(db: Db): void {
  const at = Math.floor(NOW_MS / 1000);
  // Today, 10:00 and 11:00: estimates only (no bill yet): $1.5 + $0.000000007.
  writeProviderFetch(db, 'openai', [], [
    record({ provider: 'openai', source: 'usage', bucketStart: TODAY + 10 * HOUR, costNano: 1_500_000_000n, inputTokens: 1000, outputTokens: 100, cachedInputTokens: 400 }),
    record({ provider: 'openai', source: 'usage', bucketStart: TODAY + 11 * HOUR, model: 'gpt-4o-mini', costNano: 7n, inputTokens: 10, outputTokens: 1 }),
  ], at);
  // Yesterday (Wednesday): an estimate of $2 replaced by the bill of $2.25 and $0.0123789 of no model.
  writeProviderFetch(db, 'openai', [], [
    record({ provider: 'openai', source: 'usage', bucketStart: TODAY - DAY + 9 * HOUR, costNano: 2_000_000_000n, inputTokens: 5000, outputTokens: 500 }),
    record({ provider: 'openai', source: 'cost', bucketStart: TODAY - DAY, costNano: 2_250_000_000n, lineItem: 'gpt-4o, input' }),
    record({ provider: 'openai', source: 'cost', bucketStart: TODAY - DAY, model: '(no model)', costNano: 12_378_900n, lineItem: 'web search', project: 'proj_a' }),
  ], at);
  // Saturday the 14th: last week, this month; Anthropic in workspace wrk_1, billed.
  writeProviderFetch(db, 'anthropic', [], [
    record({ provider: 'anthropic', source: 'usage', bucketStart: MONTH + 13 * DAY + 3 * HOUR, model: 'claude-sonnet-4', project: 'wrk_1', costNano: 900_000_000n, requests: null, inputTokens: 300 }),
    record({ provider: 'anthropic', source: 'cost', bucketStart: MONTH + 13 * DAY, model: 'claude-sonnet-4', project: 'wrk_1', costNano: 1_000_000_001n }),
  ], at);
  // October: outside this month.
  writeProviderFetch(db, 'openrouter', [], [record({ provider: 'openrouter', source: 'cost', bucketStart: MONTH - 3 * DAY, model: 'openai/gpt-4.1', costNano: 5_000_000_000n })], at);
}

describe('dashboard API over SQLite', () => {
  let db: Db;
  let api: LlmeterApi;

  beforeAll(() => {
    const dataDir = tempDir();
    db = openDatabase(dataDir);
    seed(db);
    api = createApiService({
      db,
      secretStore: null,
      keys: { env: {}, config: resolveConfig({}, { dataDir }) },
      settings: openSettingsStore(dataDir, silentLogger),
      credentials: () => [{ provider: 'openai', key: 'sk-admin-test-key-0000', source: 'env' }],
      reloadCredentials: async () => undefined,
      pollNow: async () => undefined,
      now: () => NOW_MS,
    });
  });
  afterAll(() => db.close());

  it('overview: today, week and month with billed and estimated apart, superseded estimates left out', async () => {
    const overview = await api.getOverview();
    expect(overview.today).toEqual({ totalUsd: '1.500000007', billedUsd: '0', estimatedUsd: '1.500000007' });
    expect(overview.week).toEqual({ totalUsd: '3.762378907', billedUsd: '2.2623789', estimatedUsd: '1.500000007' });
    expect(overview.month).toEqual({ totalUsd: '4.762378908', billedUsd: '3.262378901', estimatedUsd: '1.500000007' });
    expect(overview.demo).toBe(false);
    expect(overview.generatedAt).toBe(new Date(NOW_MS).toISOString());
  });

  it('overview counts exactly what /api/v1/metrics counts for the same window', async () => {
    const overview = await api.getOverview();
    const series = querySeriesTotals(db, { fromSec: MONTH, toSec: null });
    const cost = series.reduce((sum, s) => sum + s.costNano, 0n);
    const estimated = series.reduce((sum, s) => sum + s.estimatedNano, 0n);
    expect(overview.month.totalUsd).toBe(formatNanoAsDecimal(cost));
    expect(overview.month.estimatedUsd).toBe(formatNanoAsDecimal(estimated));
    expect(WEEK).toBe(TODAY - 3 * DAY);
  });

  it('overview counts each period as the budgets and llmeter_period_cost_usd count it', async () => {
    const overview = await api.getOverview();
    const periods = queryPeriodSpend(db, NOW_MS);
    for (const [period, shown] of [['day', overview.today], ['week', overview.week], ['month', overview.month]] as const) {
      expect(shown.totalUsd, period).toBe(formatNanoAsDecimal(periods.reduce((sum, p) => sum + p.costNano[period], 0n)));
    }
  });

  it('providers: configured from the keys, freshness from sync state, spend per provider', async () => {
    const providers = await api.listProviders();
    expect(providers.map((p) => [p.provider, p.configured, p.keySource])).toEqual([
      ['openai', true, 'env'],
      ['anthropic', false, null],
      ['openrouter', false, null],
    ]);
    const openai = providers[0]!;
    // 22 characters: at most an eighth of the key is shown.
    expect(openai.keyFingerprint).toBe('00');
    expect(openai.today.totalUsd).toBe('1.500000007');
    expect(openai.monthToDate).toEqual({ totalUsd: '3.762378907', billedUsd: '2.2623789', estimatedUsd: '1.500000007' });
    // Configured but never polled: the first poll (the backfill) is still to come.
    expect(openai.backfillProgress).toBe(0);
    expect(openai.keyUrl).toBe('https://platform.openai.com/settings/organization/admin-keys');
  });

  it('spend series: zero-filled day buckets per provider that sum to the range total', async () => {
    const series = await api.getSpendSeries({ from: '2026-11-13', to: '2026-11-19', granularity: 'day', groupBy: 'provider' });
    expect(series.buckets).toHaveLength(7);
    expect(series.buckets[0]).toBe('2026-11-13T00:00:00.000Z');
    expect(series.series.map((s) => [s.key, s.provider, s.totalUsd])).toEqual([
      ['openai', 'openai', '3.762378907'],
      ['anthropic', 'anthropic', '1.000000001'],
    ]);
    const openai = series.series[0]!;
    expect(openai.costUsd).toEqual(['0', '0', '0', '0', '0', '2.2623789', '1.500000007']);
    expect(openai.estimatedUsd).toEqual(['0', '0', '0', '0', '0', '0', '1.500000007']);
    expect(series.series[1]!.costUsd[1]).toBe('1.000000001');
  });

  it('spend series by model keeps providers apart, by project shows workspaces, by month aligns to months', async () => {
    const byModel = await api.getSpendSeries({ from: 'now/M', granularity: 'day', groupBy: 'model' });
    expect(byModel.series.map((s) => `${s.provider}:${s.key}=${s.totalUsd}`)).toEqual(['openai:gpt-4o=3.75', 'anthropic:claude-sonnet-4=1.000000001', 'openai:(no model)=0.0123789', 'openai:gpt-4o-mini=0.000000007']);
    const byProject = await api.getSpendSeries({ from: 'now/M', granularity: 'day', groupBy: 'project' });
    expect(byProject.series.map((s) => `${s.provider}:${s.key}`)).toEqual(['openai:', 'anthropic:wrk_1', 'openai:proj_a']);
    const monthly = await api.getSpendSeries({ from: '2026-10-01', to: 'now', granularity: 'month', groupBy: 'provider' });
    expect(monthly.buckets).toEqual(['2026-10-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z']);
    expect(monthly.series.find((s) => s.key === 'openrouter')!.costUsd).toEqual(['5', '0']);
  });

  it('spend series folded to the top groups: the others summed exactly into "other", which says how many it holds', async () => {
    const query = { from: 'now/M', granularity: 'day', groupBy: 'model' } as const;
    const [all, folded] = await Promise.all([api.getSpendSeries(query), api.getSpendSeries({ ...query, top: 2 })]);
    expect(folded.series).toEqual(all.series.slice(0, 2));
    expect(folded.other).toMatchObject({ groups: 2, totalUsd: '0.012378907' });
    for (const part of ['costUsd', 'estimatedUsd'] as const) {
      const rest = all.series.slice(2);
      expect(folded.other![part], part).toEqual(all.buckets.map((_, at) => formatNanoAsDecimal(rest.reduce((sum, s) => sum + parseAmountToNano(s[part][at])!, 0n))));
    }
    // Nothing to fold: no "other"; without top (above) there is none either.
    expect((await api.getSpendSeries({ ...query, top: 4 })).other).toBeUndefined();
    expect(all.other).toBeUndefined();
  });

  it('hourly buckets: daily bills land on the first hour; too many buckets is refused in words', async () => {
    const hourly = await api.getSpendSeries({ from: 'now/d-1d', to: 'now', granularity: 'hour', groupBy: 'provider' });
    expect(hourly.buckets).toHaveLength(24 + 16);
    expect(hourly.series[0]!.costUsd[0]).toBe('2.2623789');
    await expect(api.getSpendSeries({ from: '2026-01-01', to: '2026-11-19', granularity: 'hour', groupBy: 'model' })).rejects.toThrow(/choose a coarser granularity or a shorter range/);
    await expect(api.getSpendSeries({ from: 'yesterday', granularity: 'day', groupBy: 'model' })).rejects.toThrow(/from=yesterday is not understood/);
  });

  it('top models: every model of the range, biggest spend first, with tokens and requests', async () => {
    const models = await api.getTopModels({ from: 'now/M' });
    expect(models.map((m) => [m.provider, m.model, m.cost.totalUsd])).toEqual([
      ['openai', 'gpt-4o', '3.75'],
      ['anthropic', 'claude-sonnet-4', '1.000000001'],
      ['openai', '(no model)', '0.0123789'],
      ['openai', 'gpt-4o-mini', '0.000000007'],
    ]);
    expect(models[0]).toMatchObject({ requests: 2, inputTokens: 6000, cachedInputTokens: 400, outputTokens: 600, cost: { billedUsd: '2.25', estimatedUsd: '1.5' } });
    expect(models[1]!.requests).toBeNull();
    expect(await api.getTopModels({ from: 'now/M', providers: ['anthropic'] })).toHaveLength(1);
  });

  it('customers: none without SDK attribution; export: a same-origin download URL, bad ranges refused', async () => {
    expect(await api.getCustomers({})).toEqual([]);
    const result = await api.exportData({ format: 'csv', granularity: 'day', from: '2026-11-01', to: '2026-11-19', providers: ['openai', 'anthropic'] });
    expect(result).toEqual({ saved: false, downloadUrl: '/api/v1/export?format=csv&granularity=day&from=2026-11-01&to=2026-11-19&provider=openai&provider=anthropic' });
    await expect(api.exportData({ format: 'csv', granularity: 'day', from: '2026-11-19', to: '2026-11-01' })).rejects.toThrow(/must be before/);
  });

  it('budgets round-trip through the API', async () => {
    const created = await api.createBudget({ name: 'November', scope: { kind: 'all' }, period: 'month', amountUsd: '4', thresholds: [50, 100] });
    expect(created).toMatchObject({ name: 'November', spentUsd: '4.762378908', level: 'over' });
    expect((await api.getOverview()).state).toBe('over');
    expect(await api.deleteBudget({ id: created.id })).toEqual({ deleted: true });
    expect(await api.listBudgets()).toEqual([]);
  });
});

describe('dashboard over HTTP (startCore)', () => {
  const UI_TOKEN = 'ui-token-for-the-test-0123456789';
  let core: CoreApp;
  let rendererDir: string;

  const call = (pathAndQuery: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: core.server.port, path: pathAndQuery, method: options.method ?? 'GET', headers: { Host: `127.0.0.1:${core.server.port}`, ...options.headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });
  const cookie = { get Cookie() {
    return `llmeter_ui_${core.server.port}=${UI_TOKEN}`;
  } };
  const json = { 'Content-Type': 'application/json' };

  beforeAll(async () => {
    const dataDir = tempDir();
    rendererDir = path.join(dataDir, 'renderer');
    mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
    writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>LLMeter</title>');
    writeFileSync(path.join(rendererDir, 'assets', 'index-abc.js'), 'console.log(1)');
    writeFileSync(path.join(rendererDir, 'assets', 'index-abc.css'), 'body{}');
    writeFileSync(path.join(dataDir, 'secret.txt'), 'outside the build');
    const env = { LLMETER_UI_TOKEN: UI_TOKEN, LLMETER_METRICS_TOKEN: 'metrics-token-0123456789', LLMETER_INGEST_TOKEN: 'ingest-token-0123456789' };
    core = await startCore({ config: resolveConfig(env, { port: 0, dataDir }), env, log: silentLogger, secretStore: null, dashboard: { rendererDir } });
  });
  afterAll(async () => core?.close());

  it('the printed URL sets an HttpOnly SameSite=Strict cookie and redirects the token out of the address bar', async () => {
    expect(core.dashboardUrl).toBe(`${core.server.url}/?token=${UI_TOKEN}`);
    const res = await call(`/?token=${UI_TOKEN}`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    expect(res.headers['set-cookie']).toEqual([`llmeter_ui_${core.server.port}=${UI_TOKEN}; HttpOnly; SameSite=Strict; Path=/`]);
    // A cookie of another LLMeter on this host (another port) is not this one's.
    const otherPort = await call('/api/v1/ui/getOverview', { method: 'POST', headers: { 'Content-Type': 'application/json', Cookie: `llmeter_ui_1=${UI_TOKEN}` } });
    expect(otherPort.status).toBe(401);
    const wrong = await call('/?token=not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(wrong.body).toContain('open the URL that `llmeter serve` printed');
  });

  it('serves the build with content types and the CSP, and nothing outside it', async () => {
    const index = await call('/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(index.body).toContain('<title>LLMeter</title>');
    expect((await call('/assets/index-abc.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await call('/assets/index-abc.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    for (const escape of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/%2e%2e%5c..%5csecret.txt', '/.%00/secret.txt', '/%E0%A4%A']) {
      const res = await call(escape);
      expect(res.status, escape).toBe(404);
      expect(res.body, escape).not.toContain('outside the build');
    }
    expect((await call('/assets')).status).toBe(404);
  });

  it('the JSON API needs the UI token, by cookie or bearer header, and sends no CORS headers', async () => {
    const anonymous = await call('/api/v1/ui/getOverview', { method: 'POST', headers: json });
    expect(anonymous.status).toBe(401);
    const withCookie = await call('/api/v1/ui/getOverview', { method: 'POST', headers: { ...json, ...cookie } });
    expect(withCookie.status).toBe(200);
    expect(JSON.parse(withCookie.body)).toMatchObject({ demo: false, state: 'empty', today: { totalUsd: '0' } });
    const withBearer = await call('/api/v1/ui/listProviders', { method: 'POST', headers: { ...json, Authorization: `Bearer ${UI_TOKEN}` } });
    expect(JSON.parse(withBearer.body)).toHaveLength(3);
    expect(withBearer.headers['access-control-allow-origin']).toBeUndefined();
    expect((await call('/api/v1/ui/getOverview', { headers: cookie })).status).toBe(405);
  });

  it('refuses other sites (Origin, Sec-Fetch-Site) and bodies that are not JSON', async () => {
    const foreign = await call('/api/v1/ui/createBudget', { method: 'POST', headers: { ...json, ...cookie, Origin: 'http://evil.example' }, body: '{}' });
    expect(foreign.status).toBe(403);
    const sameSiteOtherPort = await call('/api/v1/ui/getOverview', { method: 'POST', headers: { ...json, ...cookie, Origin: 'http://127.0.0.1:1', 'Sec-Fetch-Site': 'same-site' } });
    expect(sameSiteOtherPort.status).toBe(403);
    const own = await call('/api/v1/ui/getOverview', { method: 'POST', headers: { ...json, ...cookie, Origin: `http://127.0.0.1:${core.server.port}`, 'Sec-Fetch-Site': 'same-origin' } });
    expect(own.status).toBe(200);
    const form = await call('/api/v1/ui/deleteBudget', { method: 'POST', headers: { ...cookie, 'Content-Type': 'text/plain' }, body: '{"id":1}' });
    expect(form.status).toBe(415);
  });

  it('validates each request and explains bad input in one line', async () => {
    const notJson = await call('/api/v1/ui/getTopModels', { method: 'POST', headers: { ...json, ...cookie }, body: '{from' });
    expect(notJson).toMatchObject({ status: 400, body: 'The body of getTopModels is not JSON\n' });
    const extra = await call('/api/v1/ui/getTopModels', { method: 'POST', headers: { ...json, ...cookie }, body: '{"from":"now/M","sql":"drop"}' });
    expect(extra.status).toBe(400);
    expect(extra.body).toContain('malformed getTopModels request');
    const badRange = await call('/api/v1/ui/getTopModels', { method: 'POST', headers: { ...json, ...cookie }, body: '{"from":"last tuesday"}' });
    expect(badRange.status).toBe(400);
    expect(badRange.body).toContain('from=last tuesday is not understood');
    const budget = await call('/api/v1/ui/createBudget', { method: 'POST', headers: { ...json, ...cookie }, body: JSON.stringify({ scope: { kind: 'all' }, period: 'month', amountUsd: '0', thresholds: [50] }) });
    expect(budget.status).toBe(400);
    const missing = await call('/api/v1/ui/deleteBudget', { method: 'POST', headers: { ...json, ...cookie }, body: '{"id":999}' });
    expect(missing.status).toBe(200);
    expect(JSON.parse(missing.body)).toEqual({ deleted: false });
  });

  it('export: the download URL the API gives is served as a CSV attachment with the UI cookie', async () => {
    const answer = await call('/api/v1/ui/exportData', { method: 'POST', headers: { ...json, ...cookie }, body: JSON.stringify({ format: 'csv', granularity: 'day', from: 'now-7d' }) });
    const { downloadUrl } = JSON.parse(answer.body) as { downloadUrl: string };
    expect(downloadUrl).toBe('/api/v1/export?format=csv&granularity=day&from=now-7d');
    const file = await call(downloadUrl, { headers: cookie });
    expect(file.status).toBe(200);
    expect(file.headers['content-disposition']).toMatch(/^attachment; filename=".+\.csv"$/);
    expect((await call(downloadUrl)).status).toBe(401);
  });
});
