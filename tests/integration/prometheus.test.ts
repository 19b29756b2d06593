/**
 * Issue 3, as an SRE runs it: `llmeter poll` against the fake providers, `llmeter serve`, and
 * Debian's real `prometheus` binary with the shipped ops/prometheus.yml (bearer token file, the
 * all-time job and the month job, the shipped alert rules) scraping it every second. Every PromQL
 * expression of the seed, of the shipped dashboard and of the rules is run on that Prometheus and
 * compared with what the database holds; `promtool check metrics` reads the served text.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { querySeriesTotals, type SeriesTotals } from '../../core/metrics/snapshot.js';
import { DB_FILE, type Db } from '../../core/store/db.js';
import { listSyncStates } from '../../core/store/sync-state.js';
import type { BudgetStatus } from '../../shared/budgets.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import { PROVIDER_IDS, PROVIDERS } from '../../shared/providers.js';
import { startOfPeriod } from '../../shared/time-range.js';
import { DAY, dollarsToNano, expectedTotals, FAKE_KEYS, generateTruth, HOUR, startProviderFake, withOpenRouterSettled, type FakeTruth, type ProviderFake } from '../fakes/providers.js';
import { ROOT, runLlmeter, startLlmeter, type ServeProcess } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { toolAvailable, TOOLS } from '../support/tools.js';

const NOW = Math.floor(Date.now() / 1000);
const TODAY = NOW - (NOW % DAY);
const METRICS_TOKEN = 'test-metrics-token-prometheus-0123456789';
const OPS = path.join(ROOT, 'ops');
const ALL_TIME = { fromSec: null, toSec: null };

/**
 * 12 billed days, plus today's finished hours of OpenAI and Anthropic usage that no bill covers
 * yet, so that estimates exist. OpenRouter reports completed days only: no today for it.
 */
function truthWithUnbilledToday(): FakeTruth {
  const truth = generateTruth({ days: 13, seed: 23, now: NOW + DAY });
  for (const provider of ['openai', 'anthropic'] as const) {
    const today = truth[provider].at(-1)!;
    today.costs = [];
    today.usage = today.usage.filter((u) => u.hourStart + HOUR <= NOW);
  }
  truth.openrouter.pop();
  return withOpenRouterSettled(truth, NOW);
}

/** A loopback port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Retries `check` until it passes or `ms` elapse, then throws its last failure. */
async function eventually<T>(check: () => Promise<T> | T, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

const usd = (nano: bigint): number => Number(formatNanoAsDecimal(nano));
const sumNano = (values: Iterable<bigint>): bigint => [...values].reduce((a, b) => a + b, 0n);
function groupNano<K>(series: readonly SeriesTotals[], key: (s: SeriesTotals) => K, value: (s: SeriesTotals) => bigint): Map<K, bigint> {
  const groups = new Map<K, bigint>();
  for (const s of series) groups.set(key(s), (groups.get(key(s)) ?? 0n) + value(s));
  return groups;
}

describe.runIf(toolAvailable(TOOLS.prometheus) && toolAvailable(TOOLS.promtool))('a real Prometheus scraping llmeter serve with the shipped config, rules and dashboard', () => {
  const dataDir = tempDir('llmeter-prom-data-', 'suite');
  const promDir = tempDir('llmeter-prom-', 'suite');
  let fake: ProviderFake;
  let serve: ServeProcess;
  let prometheus: ChildProcess;
  let promLog = '';
  let promUrl = '';
  let db: Db;
  let budgets: BudgetStatus[];

  function env(): NodeJS.ProcessEnv {
    const vars: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dataDir, LLMETER_DATA_DIR: dataDir, LLMETER_METRICS_TOKEN: METRICS_TOKEN, LLMETER_INGEST_TOKEN: 'test-ingest-token-0123456789', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent' };
    for (const id of PROVIDER_IDS) {
      vars[PROVIDERS[id].keyEnv] = FAKE_KEYS[id].admin;
      vars[PROVIDERS[id].baseUrlEnv] = fake.baseUrl(id);
    }
    return vars;
  }

  async function query(expr: string): Promise<PromSample[]> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { resultType: string; result: PromSample[] } };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
    expect(body.data.resultType, expr).toBe('vector');
    return body.data.result;
  }

  /** The query's samples keyed by the given labels, values as numbers. */
  async function queryBy(expr: string, ...labels: string[]): Promise<Map<string, number>> {
    return new Map((await query(expr)).map((s) => [labels.map((l) => s.metric[l] ?? '').join('/'), Number(s.value[1])]));
  }

  function expectUsd(actual: number | undefined, expectedNano: bigint, what: string): void {
    expect(actual, what).toBeDefined();
    expect(Math.abs(actual! - usd(expectedNano)), `${what}: ${actual} vs ${formatNanoAsDecimal(expectedNano)}`).toBeLessThanOrEqual(1e-6);
  }

  async function listBudgetsJson(): Promise<BudgetStatus[]> {
    const listed = await runLlmeter(['budget', 'list', '--json'], { env: env() });
    expect(listed.status, listed.stderr).toBe(0);
    return JSON.parse(listed.stdout) as BudgetStatus[];
  }

  async function scrapeText(query = ''): Promise<string> {
    const res = await fetch(`${serve.url}/api/v1/metrics${query}`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    return res.text();
  }

  beforeAll(async () => {
    fake = await startProviderFake({ truth: truthWithUnbilledToday(), now: NOW, credits: 250 });
    const poll = await runLlmeter(['poll', '--backfill-days', '14'], { env: env() });
    expect(poll.stderr).toBe('');
    expect(poll.status).toBe(0);
    const [monthly, weekly, token] = await Promise.all([
      // One cent a month: over (or forecast over) whatever the calendar day.
      runLlmeter(['budget', 'add', '--amount', '0.01', '--period', 'month', '--name', 'Monthly cent'], { env: env() }),
      runLlmeter(['budget', 'add', '--amount', '100000', '--period', 'week', '--provider', 'openai'], { env: env() }),
      runLlmeter(['token', '--metrics'], { env: env() }),
    ]);
    for (const added of [monthly, weekly]) expect(added.status, added.stderr).toBe(0);
    expect(token.stdout.trim()).toBe(METRICS_TOKEN);

    // The shipped config as a user saves it, next to the token file and the rules. Only the port
    // differs (the default one may be taken here), and the scrape and rule intervals are 1 s.
    const [servePort, promPort] = [await freePort(), await freePort()];
    const shipped = readFileSync(path.join(OPS, 'prometheus.yml'), 'utf8');
    expect(shipped.match(/'127\.0\.0\.1:9742'/g), 'both jobs scrape the default port').toHaveLength(2);
    writeFileSync(path.join(promDir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\n${shipped.replaceAll("'127.0.0.1:9742'", `'127.0.0.1:${servePort}'`)}`);
    copyFileSync(path.join(OPS, 'alert-rules.yml'), path.join(promDir, 'alert-rules.yml'));
    writeFileSync(path.join(promDir, 'llmeter-metrics.token'), token.stdout);

    // Prometheus first, so that its start-up overlaps serve's.
    promUrl = `http://127.0.0.1:${promPort}`;
    prometheus = spawn('prometheus', [`--config.file=${path.join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(promDir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout!.on('data', (d: Buffer) => (promLog += d.toString()));
    prometheus.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
    const serveStart = Math.floor(Date.now() / 1000);
    serve = await startLlmeter(['serve', '--port', String(servePort)], env());
    budgets = await listBudgetsJson();
    // Read-only: the test reads what serve wrote, it never migrates or writes the database.
    db = new Database(path.join(dataDir, DB_FILE), { readonly: true });
    // serve polls once on start: wait for it, so that what the database holds stays put.
    await eventually(() => {
      const states = listSyncStates(db);
      expect(states.map((s) => s.provider).sort()).toEqual([...PROVIDER_IDS].sort());
      for (const state of states) expect(state.lastSuccessAt ?? 0).toBeGreaterThanOrEqual(serveStart);
    });
    // Both targets up, and two scrapes in (increase() needs two samples).
    await eventually(async () => {
      expect(prometheus.exitCode, promLog).toBeNull();
      const up = await queryBy('up', 'job');
      expect(up.get('llmeter'), promLog).toBe(1);
      expect(up.get('llmeter-month'), promLog).toBe(1);
      expect((await query('count_over_time(llmeter_build_info[1m]) >= 2')).length).toBe(1);
    });
  }, 120_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await once(prometheus, 'exit');
    }
    db?.close();
    await serve?.stop();
    await fake?.close();
  });

  it('the seed’s PromQL returns what the database holds: total, by provider, top 5 models, output/input ratio', async () => {
    const series = querySeriesTotals(db, ALL_TIME);
    const truthBilled = new Map(PROVIDER_IDS.map((p) => [p, sumNano(Object.values(expectedTotals(fake.truth, p, 0, Number.MAX_SAFE_INTEGER)).map((t) => t.costNano))]));
    const estimated = groupNano(series, (s) => s.provider, (s) => s.estimatedNano);

    const total = await queryBy('sum(llmeter_cost_usd)');
    expectUsd(total.get(''), sumNano(series.map((s) => s.costNano)), 'total');
    // And the database holds the providers' bills plus today's estimates.
    expectUsd(total.get(''), sumNano(truthBilled.values()) + sumNano(estimated.values()), 'total vs billed truth');
    expect(sumNano(estimated.values())).toBe(sumNano(series.filter((s) => s.provider !== 'openrouter').map((s) => s.estimatedNano)));

    const byProvider = await queryBy('sum by (provider) (llmeter_cost_usd)', 'provider');
    expect([...byProvider.keys()].sort()).toEqual([...PROVIDER_IDS].sort());
    for (const provider of PROVIDER_IDS) expectUsd(byProvider.get(provider), truthBilled.get(provider)! + (estimated.get(provider) ?? 0n), provider);

    const byModel = groupNano(series, (s) => s.model, (s) => s.costNano);
    const top5 = [...byModel].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0)).slice(0, 5);
    const topk = await queryBy('topk(5, sum by (model) (llmeter_cost_usd))', 'model');
    expect([...topk.keys()].sort()).toEqual(top5.map(([model]) => model).sort());
    for (const [model, nano] of top5) expectUsd(topk.get(model), nano, `top model ${model}`);

    const tokens = new Map<string, { input: number; output: number }>();
    for (const provider of PROVIDER_IDS) {
      for (const [model, totals] of Object.entries(expectedTotals(fake.truth, provider, 0, Number.MAX_SAFE_INTEGER))) {
        const t = tokens.get(model) ?? { input: 0, output: 0 };
        tokens.set(model, { input: t.input + totals.inputTokens, output: t.output + totals.outputTokens });
      }
    }
    const ratio = await queryBy('sum by (model) (llmeter_output_tokens_total) / sum by (model) (llmeter_input_tokens_total)', 'model');
    expect([...ratio.keys()].sort()).toEqual([...tokens.keys()].sort());
    for (const [model, t] of tokens) {
      // Charges of no model have no tokens: 0/0 is NaN in PromQL, not a ratio of 0.
      if (t.input === 0) expect(ratio.get(model), model).toBeNaN();
      else expect(ratio.get(model)! / (t.output / t.input), model).toBeCloseTo(1, 12);
    }
  });

  it('the new families agree with the database: estimated part, period spend, cache tokens, month job, freshness, balance, budgets', async () => {
    const series = querySeriesTotals(db, ALL_TIME);
    const estimated = await queryBy('sum by (provider) (llmeter_estimated_cost_usd)', 'provider');
    const billed = await queryBy('sum by (provider) (llmeter_cost_usd) - sum by (provider) (llmeter_estimated_cost_usd)', 'provider');
    expect(series.some((s) => s.estimatedNano > 0n) || NOW - TODAY < 2 * HOUR, 'today’s usage is estimated').toBe(true);
    for (const provider of PROVIDER_IDS) {
      const mine = series.filter((s) => s.provider === provider);
      expectUsd(estimated.get(provider), sumNano(mine.map((s) => s.estimatedNano)), `${provider} estimated`);
      expectUsd(billed.get(provider), sumNano(Object.values(expectedTotals(fake.truth, provider, 0, Number.MAX_SAFE_INTEGER)).map((t) => t.costNano)), `${provider} billed`);
    }

    const nowMs = Date.now();
    const periods = await queryBy('llmeter_period_cost_usd', 'provider', 'period');
    for (const [period, unit] of [['day', 'd'], ['week', 'w'], ['month', 'M']] as const) {
      const since = querySeriesTotals(db, { fromSec: startOfPeriod(nowMs, unit) / 1000, toSec: null });
      for (const provider of new Set(since.map((s) => s.provider))) {
        expectUsd(periods.get(`${provider}/${period}`), sumNano(since.filter((s) => s.provider === provider).map((s) => s.costNano)), `${provider} ${period}`);
      }
    }

    const month = querySeriesTotals(db, { fromSec: startOfPeriod(nowMs, 'M') / 1000, toSec: null });
    const monthByModel = await queryBy('sum by (model) (llmeter_month_cost_usd)', 'model');
    expect([...monthByModel.keys()].sort()).toEqual([...new Set(month.map((s) => s.model))].sort());
    for (const [model, nano] of groupNano(month, (s) => s.model, (s) => s.costNano)) expectUsd(monthByModel.get(model), nano, `month ${model}`);
    // The month job's families are renamed, so the seed's sums never add the two windows up.
    expect(await queryBy('count by (job) (llmeter_cost_usd)', 'job')).toEqual(new Map([['llmeter', series.length]]));

    for (const [family, pick] of [['llmeter_cached_input_tokens_total', (s: SeriesTotals) => s.cachedInputTokens], ['llmeter_cache_write_input_tokens_total', (s: SeriesTotals) => s.cacheWriteTokens]] as const) {
      const values = await queryBy(family, 'provider', 'model');
      expect(values.size, family).toBe(series.length);
      for (const s of series) expect(values.get(`${s.provider}/${s.model}`), `${family} ${s.provider}/${s.model}`).toBe(pick(s));
    }
    expect(series.some((s) => s.cachedInputTokens > 0) && series.some((s) => s.cacheWriteTokens > 0)).toBe(true);

    const states = listSyncStates(db);
    const up = await queryBy('llmeter_provider_up', 'provider');
    const lastSuccess = await queryBy('llmeter_last_successful_sync_timestamp_seconds', 'provider');
    const latestBucket = await queryBy('llmeter_latest_bucket_timestamp_seconds', 'provider');
    const errors = await queryBy('llmeter_sync_errors_total', 'provider');
    const duration = await queryBy('llmeter_sync_duration_seconds', 'provider');
    for (const state of states) {
      expect(up.get(state.provider), state.provider).toBe(1);
      expect(lastSuccess.get(state.provider), state.provider).toBe(state.lastSuccessAt);
      expect(latestBucket.get(state.provider), state.provider).toBe(state.latestBucketEnd);
      expect(errors.get(state.provider), state.provider).toBe(0);
      expect(duration.get(state.provider), state.provider).toBe(state.lastDurationMs! / 1000);
    }
    const openrouter = states.find((s) => s.provider === 'openrouter')!;
    const balance = await queryBy('llmeter_balance_usd', 'provider');
    expect([...balance.keys()]).toEqual(['openrouter']);
    expectUsd(balance.get('openrouter'), openrouter.balanceCreditsNano! - openrouter.balanceUsedNano!, 'balance');
    // The fake reports $250 of credits and its whole billed history as used.
    expectUsd(balance.get('openrouter'), 250_000_000_000n - sumNano(fake.truth.openrouter.flatMap((d) => d.costs).map((c) => dollarsToNano(c.dollars))), 'balance vs the fake');

    const used = await queryBy('llmeter_budget_spent_usd / llmeter_budget_usd', 'budget');
    expect([...used.keys()].sort()).toEqual(budgets.map((b) => b.name).sort());
    for (const budget of budgets) expect(used.get(budget.name)! / (Number(budget.spentUsd) / Number(budget.amountUsd)), budget.name).toBeCloseTo(1, 9);
    // A budget over all spend this month spends exactly what the month's period families add up to.
    const monthly = await queryBy('llmeter_budget_spent_usd{budget="Monthly cent"} - scalar(sum(llmeter_period_cost_usd{period="month"}))', 'budget');
    expect(Math.abs(monthly.get('Monthly cent')!)).toBeLessThanOrEqual(1e-6);
  });

  it('Prometheus negotiated OpenMetrics and kept the units', async () => {
    const res = await fetch(`${promUrl}/api/v1/metadata`);
    const { data } = (await res.json()) as { data: Record<string, { type: string; unit: string; help: string }[]> };
    expect(data['llmeter_cost_usd']?.[0]).toMatchObject({ type: 'gauge', unit: 'usd' });
    expect(data['llmeter_sync_duration_seconds']?.[0]).toMatchObject({ type: 'gauge', unit: 'seconds' });
    expect(data['llmeter_last_successful_sync_timestamp_seconds']?.[0]).toMatchObject({ type: 'gauge', unit: 'seconds' });
    // OpenMetrics names a counter family without _total.
    expect(data['llmeter_requests']?.[0]).toMatchObject({ type: 'counter', unit: '' });
  });

  it('every panel of the shipped Grafana dashboard evaluates, with data wherever the database has some', async () => {
    const dashboard = JSON.parse(readFileSync(path.join(OPS, 'grafana-dashboard.json'), 'utf8')) as { panels: { title: string; type: string; targets?: { expr: string }[] }[] };
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(7);
    const monthHasData = querySeriesTotals(db, { fromSec: startOfPeriod(Date.now(), 'M') / 1000, toSec: null }).length > 0;
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const { expr } of panel.targets!) {
        expect(expr, `${panel.title}: Grafana variables would not evaluate here`).not.toMatch(/\$/);
        const result = await query(expr);
        if (expr.includes('llmeter_month_') && !monthHasData) expect(result, `${panel.title}: ${expr}`).toEqual([]);
        else expect(result.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
      }
    }
  });

  it('the shipped alert rules load and evaluate without error; the budgets LLMeter sees as over are pending', async () => {
    const rules = await eventually(async () => {
      const res = await fetch(`${promUrl}/api/v1/rules`);
      const { data } = (await res.json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[] }[] } };
      const all = data.groups.flatMap((g) => g.rules);
      for (const rule of all) {
        expect(rule.lastEvaluation, rule.name).not.toMatch(/^0001-/);
        expect([rule.name, rule.health, rule.lastError ?? '']).toEqual([rule.name, 'ok', '']);
      }
      return all;
    });
    expect(rules.map((r) => r.name).sort()).toEqual(['LLMeterBudgetExceeded', 'LLMeterBudgetForecastExceeded', 'LLMeterDataStale', 'LLMeterDown', 'LLMeterOutputInputRatioSpike', 'LLMeterProviderDown']);

    // Expected from LLMeter's own view of its budgets: over the amount, or forecast past it.
    const expected = budgets
      .flatMap((b) => (Number(b.spentUsd) >= Number(b.amountUsd) ? [['LLMeterBudgetExceeded', b.name]] : Number(b.forecastUsd) > Number(b.amountUsd) ? [['LLMeterBudgetForecastExceeded', b.name]] : []))
      .map(([alert, budget]) => [alert, budget, 'pending']);
    expect(expected.length, 'the one-cent monthly budget is over or forecast over').toBeGreaterThan(0);
    await eventually(async () => {
      const res = await fetch(`${promUrl}/api/v1/alerts`);
      const { data } = (await res.json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
      expect(data.alerts.map((a) => [a.labels.alertname, a.labels.budget, a.state])).toEqual(expected);
    }, 20_000);
  }, 60_000);

  it('the served text passes promtool check metrics; period and freshness families ignore the scrape window', async () => {
    const text = await scrapeText();
    for (const family of ['llmeter_cost_usd', 'llmeter_cached_input_tokens_total', 'llmeter_period_cost_usd', 'llmeter_provider_up', 'llmeter_balance_usd', 'llmeter_budget_spent_usd', 'llmeter_sync_errors_total']) {
      expect(text, family).toMatch(new RegExp(`^${family}\\{`, 'm'));
    }
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: check.status, out: check.stdout + check.stderr }).toEqual({ status: 0, out: '' });

    const windowIndependent = /^llmeter_(period_cost_usd|provider_up|last_successful_sync_timestamp_seconds|latest_bucket_timestamp_seconds|sync_errors_total|sync_duration_seconds|balance_usd|budget_usd|budget_spent_usd)\{.*$/gm;
    const lastHour = await scrapeText('?from=now-1h');
    expect(lastHour.match(windowIndependent)).toEqual(text.match(windowIndependent));
    expect(lastHour.match(/^llmeter_cost_usd\{/gm)?.length ?? 0).toBeLessThan(text.match(/^llmeter_cost_usd\{/gm)!.length);
  });
});
