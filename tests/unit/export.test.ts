/**
 * Issue 8: the export adds up to the metrics. A realistic history (fake provider APIs polled by the
 * real poller into a real SQLite file: hourly usage, daily billed line items, estimates superseded
 * by bills, estimates of days not billed yet, SDK and unpriced rows, a credit) is exported over the
 * real HTTP routes and compared with `/api/v1/metrics` for the same windows, to the nano-dollar.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pollAllProviders } from '../../core/app.js';
import { exportRoute } from '../../core/export/route.js';
import { metricsRoutes } from '../../core/http/metrics-route.js';
import { startHttpServer, type RunningServer } from '../../core/http/server.js';
import { silentLogger } from '../../core/log.js';
import { querySeriesTotals } from '../../core/metrics/snapshot.js';
import { dataChangeToken } from '../../core/store/change-token.js';
import { openDatabase, type Db } from '../../core/store/db.js';
import { writeProviderFetch } from '../../core/store/usage-repo.js';
import { formatNanoAsDecimal, parseAmountToNano } from '../../shared/money.js';
import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import { parseTimeWindow } from '../../shared/time-range.js';
import { DAY, FAKE_KEYS, generateTruth, startProviderFake, type ProviderFake } from '../fakes/providers.js';
import { csvObjects } from '../support/csv.js';
import { parseSamples, sampleValue, type Sample } from '../support/prom-text.js';
import { record } from '../support/records.js';

const NOW_MS = Date.UTC(2026, 1, 10, 15, 30); // 2026-02-10T15:30Z: the history spans Dec, Jan and Feb
const NOW = NOW_MS / 1000;
const TODAY = NOW - (NOW % DAY);
const TOKENS = { metrics: 'metrics-token-0123456789', ingest: 'ingest-token-0123456789', ui: 'ui-token-0123456789' };

let dataDir: string;
let db: Db;
let fake: ProviderFake;
let server: RunningServer;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'llmeter-export-'));
  db = openDatabase(dataDir);
  const truth = generateTruth({ days: 45, seed: 8, now: NOW });
  // The last two days are not billed yet: their usage keeps its estimate.
  for (const provider of PROVIDER_IDS) for (const day of truth[provider]) if (day.dayStart >= TODAY - 2 * DAY) day.costs = [];
  fake = await startProviderFake({ truth, now: NOW });
  const baseUrls = Object.fromEntries(PROVIDER_IDS.map((id) => [id, fake.baseUrl(id)])) as Record<ProviderId, string>;
  const outcomes = await pollAllProviders(
    db,
    PROVIDER_IDS.map((provider) => ({ provider, key: FAKE_KEYS[provider].admin, source: 'env' as const })),
    { config: { dataDir, host: '127.0.0.1', port: 0, allowedHosts: [], baseUrls }, env: {}, log: silentLogger, secretStore: null, poll: { backfillDays: 60 }, now: () => NOW_MS },
  );
  expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);
  // OpenRouter's adapter reads activity by the real clock, so its daily rows are written here.
  const openrouterDays = Array.from({ length: 30 }, (_, i) => TODAY - (i + 1) * DAY).flatMap((day, i) =>
    ['openai/gpt-4.1', 'anthropic/claude-sonnet-4'].map((model, m) =>
      record({ provider: 'openrouter', source: 'cost', bucketStart: day, model, requests: 3 + i, inputTokens: 1000 * i + m, outputTokens: 100 * i, costNano: 123_456_789n * BigInt(i + 1) + BigInt(m) }),
    ),
  );
  writeProviderFetch(db, 'openrouter', [{ source: 'cost', start: TODAY - 30 * DAY, end: TODAY }], openrouterDays, NOW);
  // What the provider APIs do not give: SDK events, a model without a price, a billed credit.
  writeProviderFetch(db, 'openai', [], [
    record({ provider: 'openai', source: 'sdk', bucketStart: TODAY - DAY + 5 * 3600, model: 'gpt-4o-2024-08-06', inputTokens: 1200, outputTokens: 80, requests: 3, costNano: 7_123_456_789n }),
    record({ provider: 'openai', source: 'usage', bucketStart: TODAY - DAY + 7 * 3600, model: 'brand-new-model', inputTokens: 999, outputTokens: 11, requests: 2, unpriced: true }),
    record({ provider: 'anthropic', source: 'cost', bucketStart: TODAY - 20 * DAY, model: '(no model)', lineItem: 'Promotional credit', costNano: -1_500_000_001n, requests: null }),
  ], NOW);
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    tokens: TOKENS,
    log: silentLogger,
    routes: [...metricsRoutes({ load: (window) => ({ series: querySeriesTotals(db, window), version: 'test' }), version: () => dataChangeToken(db) }, () => NOW_MS), exportRoute(db, () => NOW_MS)],
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await fake?.close();
  db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function get(pathAndQuery: string, token: string): Promise<Response> {
  return fetch(`${server.url}${pathAndQuery}`, { headers: { Authorization: `Bearer ${token}` } });
}

async function exportCsv(query: string): Promise<Array<Record<string, string>>> {
  const res = await get(`/api/v1/export?${query}`, TOKENS.ui);
  expect(res.status, await res.clone().text()).toBe(200);
  return csvObjects(await res.text());
}

async function metrics(query: string): Promise<Sample[]> {
  const res = await get(`/api/v1/metrics?${query}`, TOKENS.metrics);
  expect(res.status).toBe(200);
  return parseSamples(await res.text());
}

interface Totals {
  costNano: bigint;
  requests: number | null;
  inputTokens: number;
  outputTokens: number;
}

/** Sums the exported rows per provider/model, money exactly. */
function totalsByModel(rows: Array<Record<string, string>>): Map<string, Totals> {
  const totals = new Map<string, Totals>();
  for (const row of rows) {
    const key = JSON.stringify([row.provider, row.model]);
    const t = totals.get(key) ?? { costNano: 0n, requests: null, inputTokens: 0, outputTokens: 0 };
    if (row.cost_usd !== '') t.costNano += parseAmountToNano(row.cost_usd!)!;
    if (row.requests !== '') t.requests = (t.requests ?? 0) + Number(row.requests);
    t.inputTokens += Number(row.input_tokens);
    t.outputTokens += Number(row.output_tokens);
    totals.set(key, t);
  }
  return totals;
}

const WINDOWS: Array<{ name: string; query: string; from?: string; to?: string }> = [
  { name: 'all time', query: '' },
  { name: 'a month, bare-date to', query: 'from=2026-01-01&to=2026-01-31', from: '2026-01-01', to: '2026-01-31' },
  { name: 'mid-day date-times', query: 'from=2026-01-10T06:00:00Z&to=2026-02-03T13:00:00Z', from: '2026-01-10T06:00:00Z', to: '2026-02-03T13:00:00Z' },
  { name: 'now-relative', query: 'from=now-7d&to=now', from: 'now-7d', to: 'now' },
  { name: 'this month so far', query: 'from=now/M', from: 'now/M' },
];

describe('export sums equal the metrics', () => {
  it('the history has what makes it a real test: superseded estimates, open estimates, line items, a credit', () => {
    const kinds = db.prepare('SELECT superseded, cost_kind, COUNT(*) AS n, SUM(cost_nano) AS nano FROM usage GROUP BY superseded, cost_kind').all() as Array<{ superseded: number; cost_kind: string; n: number; nano: number }>;
    expect(kinds.find((k) => k.superseded === 1)?.nano).toBeGreaterThan(0);
    expect(kinds.find((k) => k.superseded === 0 && k.cost_kind === 'estimated')?.nano).toBeGreaterThan(0);
    expect(kinds.find((k) => k.cost_kind === 'billed')?.n).toBeGreaterThan(100);
  });

  for (const window of WINDOWS) {
    for (const granularity of ['hour', 'day', 'month']) {
      it(`${window.name}, per ${granularity}: cost per series equals llmeter_cost_usd, tokens and requests equal their counters`, async () => {
        const rows = await exportCsv(`granularity=${granularity}&${window.query}`);
        const samples = await metrics(window.query);
        const exported = totalsByModel(rows);
        const series = samples.filter((s) => s.name === 'llmeter_cost_usd');
        expect(series.length).toBeGreaterThan(0);
        expect([...exported.keys()].sort()).toEqual(series.map((s) => JSON.stringify([s.labels.provider, s.labels.model])).sort());
        for (const sample of series) {
          const labels = { provider: sample.labels.provider!, model: sample.labels.model! };
          const t = exported.get(JSON.stringify([labels.provider, labels.model]))!;
          expect(Number(formatNanoAsDecimal(t.costNano)), `${labels.provider}/${labels.model}`).toBe(Number(sample.value));
          expect(t.inputTokens).toBe(Number(sampleValue(samples, 'llmeter_input_tokens_total', labels)));
          expect(t.outputTokens).toBe(Number(sampleValue(samples, 'llmeter_output_tokens_total', labels)));
          const requests = sampleValue(samples, 'llmeter_requests_total', labels);
          expect(t.requests).toBe(requests === undefined ? null : Number(requests));
        }
        // And to the nano-dollar against the metrics' own query.
        const expected = querySeriesTotals(db, parseTimeWindow(window.from, window.to, NOW_MS)).reduce((sum, s) => sum + s.costNano, 0n);
        const total = [...exported.values()].reduce((sum, t) => sum + t.costNano, 0n);
        expect(total).toBe(expected);
      });
    }
  }

  it('counts a superseded estimate once, in its billed day, and keeps its tokens', async () => {
    const rows = await exportCsv('granularity=day&from=2026-01-20&to=2026-01-20');
    const superseded = rows.filter((r) => r.cost_kind === 'superseded');
    expect(superseded.length).toBeGreaterThan(0);
    for (const row of superseded) {
      expect(row.source).toBe('usage');
      expect(row.cost_usd).toBe('');
      expect(Number(row.input_tokens)).toBeGreaterThan(0);
    }
    expect(rows.filter((r) => r.source === 'cost').every((r) => r.cost_kind === 'billed' && r.cost_usd !== '')).toBe(true);
    expect(rows.some((r) => r.cost_kind === 'estimated')).toBe(false);
  });

  it('labels each row with its kind and source: open estimates, SDK events, unpriced tokens, a credit', async () => {
    const rows = await exportCsv(`from=${new Date((TODAY - 20 * DAY) * 1000).toISOString()}`);
    const open = rows.filter((r) => r.cost_kind === 'estimated');
    expect(open.length).toBeGreaterThan(0);
    expect(open.every((r) => r.period_start >= new Date((TODAY - 2 * DAY) * 1000).toISOString().replace('.000Z', 'Z'))).toBe(true);
    expect(rows.find((r) => r.source === 'sdk')).toMatchObject({ provider: 'openai', model: 'gpt-4o-2024-08-06', cost_usd: '7.123456789', cost_kind: 'estimated', requests: '3' });
    expect(rows.find((r) => r.model === 'brand-new-model')).toMatchObject({ cost_kind: 'unpriced', cost_usd: '', input_tokens: '999' });
    expect(rows.find((r) => r.line_item === 'Promotional credit')).toMatchObject({ provider: 'anthropic', model: '(no model)', cost_usd: '-1.500000001', cost_kind: 'billed', source: 'cost', requests: '' });
  });
});

describe('granularity', () => {
  const key = (r: Record<string, string>, start: string) => JSON.stringify([start, r.provider, r.model, r.project, r.line_item, r.source, r.cost_kind]);
  const dayOf = (iso: string) => `${iso.slice(0, 10)}T00:00:00Z`;
  const monthOf = (iso: string) => `${iso.slice(0, 7)}-01T00:00:00Z`;

  /** Re-groups hour rows into coarser periods the way the SQL must: sums per group, money exact. */
  function regroup(rows: Array<Record<string, string>>, periodOf: (iso: string) => string): Map<string, string> {
    const groups = new Map<string, { cost: bigint; hasCost: boolean; requests: number | null; tokens: number[] }>();
    for (const r of rows) {
      const k = key(r, periodOf(r.period_start!));
      const g = groups.get(k) ?? { cost: 0n, hasCost: false, requests: null, tokens: [0, 0, 0, 0] };
      if (r.cost_usd !== '') {
        g.cost += parseAmountToNano(r.cost_usd!)!;
        g.hasCost = true;
      }
      if (r.requests !== '') g.requests = (g.requests ?? 0) + Number(r.requests);
      ['input_tokens', 'cached_input_tokens', 'cache_write_tokens', 'output_tokens'].forEach((c, i) => (g.tokens[i]! += Number(r[c])));
      groups.set(k, g);
    }
    return new Map([...groups].map(([k, g]) => [k, JSON.stringify([g.hasCost ? formatNanoAsDecimal(g.cost) : '', g.requests === null ? '' : String(g.requests), ...g.tokens.map(String)])]));
  }
  function flatten(rows: Array<Record<string, string>>): Map<string, string> {
    return new Map(rows.map((r) => [key(r, r.period_start!), JSON.stringify([r.cost_usd, r.requests, r.input_tokens, r.cached_input_tokens, r.cache_write_tokens, r.output_tokens])]));
  }

  it('hour rows keep hourly buckets hourly and daily cost buckets whole', async () => {
    const rows = await exportCsv('granularity=hour');
    const length = (r: Record<string, string>) => (Date.parse(r.period_end!) - Date.parse(r.period_start!)) / 1000;
    expect(rows.filter((r) => r.source === 'usage' && r.provider !== 'openrouter').every((r) => length(r) === 3600)).toBe(true);
    expect(rows.filter((r) => r.source === 'cost').every((r) => length(r) === DAY && r.period_start!.endsWith('T00:00:00Z'))).toBe(true);
    expect(new Set(rows.map((r) => r.period_start!.slice(11))).size).toBeGreaterThan(20);
  });

  it('day and month rows are the hour rows regrouped, to the nano-dollar', async () => {
    const hours = await exportCsv('granularity=hour');
    const days = await exportCsv('granularity=day');
    const months = await exportCsv('granularity=month');
    expect(flatten(days)).toEqual(regroup(hours, dayOf));
    expect(flatten(months)).toEqual(regroup(hours, monthOf));
    expect(days.length).toBeLessThan(hours.length);
    expect(months.length).toBeLessThan(days.length);
    expect(new Set(months.map((r) => `${r.period_start} ${r.period_end}`))).toEqual(
      new Set(['2025-12-01T00:00:00Z 2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z 2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z 2026-03-01T00:00:00Z']),
    );
  });

  it('rows come ordered by period', async () => {
    const rows = await exportCsv('granularity=day');
    const starts = rows.map((r) => r.period_start!);
    expect(starts).toEqual([...starts].sort());
  });
});

describe('filters and formats', () => {
  it('providers (repeated or comma-separated) keep only their rows, summing to their metrics', async () => {
    const samples = (await metrics('from=2026-01-01')).filter((s) => s.name === 'llmeter_cost_usd');
    const want = (providers: string[]) => samples.filter((s) => providers.includes(s.labels.provider!)).reduce((sum, s) => sum + parseAmountToNano(s.value)!, 0n);
    for (const query of ['provider=anthropic', 'provider=anthropic,openrouter', 'provider=anthropic&provider=openrouter']) {
      const rows = await exportCsv(`from=2026-01-01&${query}`);
      const providers = query.includes('openrouter') ? ['anthropic', 'openrouter'] : ['anthropic'];
      expect(new Set(rows.map((r) => r.provider))).toEqual(new Set(providers));
      expect(rows.reduce((sum, r) => sum + (r.cost_usd === '' ? 0n : parseAmountToNano(r.cost_usd!)!), 0n)).toBe(want(providers));
    }
  });

  it('models keep only their rows; a model filter and a provider filter combine', async () => {
    const rows = await exportCsv(`model=${encodeURIComponent('(no model)')}&model=gpt-4o-2024-08-06`);
    expect(new Set(rows.map((r) => r.model))).toEqual(new Set(['(no model)', 'gpt-4o-2024-08-06']));
    const both = await exportCsv(`model=${encodeURIComponent('(no model)')}&provider=openai`);
    expect(both.length).toBeGreaterThan(0);
    expect(both.every((r) => r.provider === 'openai' && r.model === '(no model)')).toBe(true);
  });

  it('JSON Lines carries the same rows, numbers as numbers and money as exact strings', async () => {
    const csv = await exportCsv('granularity=day&from=2026-02-01');
    for (const format of ['jsonl', 'json']) {
      const res = await get(`/api/v1/export?format=${format}&granularity=day&from=2026-02-01`, TOKENS.ui);
      expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
      expect(res.headers.get('content-disposition')).toBe('attachment; filename="llmeter-usage-day-2026-02-01-to-2026-02-10.jsonl"');
      const lines = (await res.text()).split('\n');
      expect(lines.pop()).toBe('');
      const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records).toHaveLength(csv.length);
      records.forEach((rec, i) => {
        expect(Object.keys(rec)).toEqual(Object.keys(csv[i]!));
        for (const [k, v] of Object.entries(rec)) expect(v === null ? '' : String(v), k).toBe(csv[i]![k]);
        expect(typeof rec.input_tokens).toBe('number');
        expect(rec.cost_usd === null || typeof rec.cost_usd === 'string').toBe(true);
      });
    }
  });

  it('names the CSV download and says what it is', async () => {
    const res = await get('/api/v1/export?from=2026-01-01&to=2026-01-31', TOKENS.ui);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="llmeter-usage-day-2026-01-01-to-2026-01-31.csv"');
    const text = await res.text();
    expect(text.slice(0, text.indexOf('\r\n'))).toBe(
      'period_start,period_end,provider,model,project,line_item,requests,input_tokens,cached_input_tokens,cache_write_tokens,output_tokens,cost_usd,cost_kind,source',
    );
  });

  it('answers bad parameters with 400 and one line, and a missing or wrong token with 401', async () => {
    for (const [query, reason] of [
      ['provider=azure', /provider "azure" is not known; use openai, anthropic, openrouter/],
      ['granularity=week', /granularity "week" is not known/],
      ['format=xlsx', /format "xlsx" is not known/],
      ['from=yesterday', /from=yesterday is not understood/],
      ['from=2026-02-01&to=2026-01-01', /must be before/],
    ] as const) {
      const res = await get(`/api/v1/export?${query}`, TOKENS.ui);
      expect(res.status, query).toBe(400);
      const body = await res.text();
      expect(body).toMatch(reason);
      expect(body.trimEnd().split('\n')).toHaveLength(1);
    }
    expect((await get('/api/v1/export', TOKENS.metrics)).status).toBe(401);
    expect((await fetch(`${server.url}/api/v1/export`)).status).toBe(401);
  });

  it('leaves the app’s own connection free while a download is streaming', async () => {
    // Enough rows (about 7 MB) that the download is held back by a client that does not read.
    db.prepare(`WITH RECURSIVE h(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM h WHERE n < 49999)
      INSERT INTO usage (provider, source, bucket_start, bucket_end, bucket_width, model, cost_nano, cost_kind, updated_at)
      SELECT 'openai', 'sdk', ? + n * 3600, ? + n * 3600 + 3600, '1h', 'bulk-model', 1, 'estimated', 0 FROM h`).run(Date.UTC(2019, 0, 1) / 1000, Date.UTC(2019, 0, 1) / 1000);
    const res = await new Promise<IncomingMessage>((resolve) => httpGet(`${server.url}/api/v1/export?granularity=hour&model=bulk-model`, { headers: { Authorization: `Bearer ${TOKENS.ui}` } }, resolve));
    res.pause();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // A poll writing meanwhile must not find the connection busy with the export's iterator.
    writeProviderFetch(db, 'openai', [], [record({ provider: 'openai', source: 'sdk', bucketStart: NOW - 60, model: 'during-download', costNano: 1n })], NOW);
    res.destroy();
    db.prepare("DELETE FROM usage WHERE model IN ('during-download', 'bulk-model')").run();
  });

});
