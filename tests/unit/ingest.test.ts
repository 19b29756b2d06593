/**
 * `POST /api/v1/ingest` over a real SQLite file: one clear 4xx per kind of bad input, idempotence
 * on event ids, the hourly rollups kept exact on write, and SDK spend counted by every view of spend
 * alike — only for providers without a billing key.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { spendByProvider } from '../../core/api/spend-queries.js';
import { createBudget, listBudgets } from '../../core/budgets/budgets.js';
import { startHttpServer, type HttpError, type RunningServer } from '../../core/http/server.js';
import { scheduleAfterIngest } from '../../core/ingest/after-batch.js';
import { createGroupWriter, MAX_GROUP_EVENTS, MAX_GROUP_WAIT_MS } from '../../core/ingest/group-writer.js';
import { pendingCustomerChanges, queryCustomerSeries, queryCustomerTotals } from '../../core/ingest/customers.js';
import { ingestRoute } from '../../core/ingest/route.js';
import { parseIngestBody, type IngestEvent } from '../../core/ingest/schema.js';
import { EVENT_ID_RETENTION_DAYS, syncSdkSpendWithBilling, writeSdkBatches, writeSdkEvents } from '../../core/ingest/store.js';
import { silentLogger } from '../../core/log.js';
import { queryPeriodSpend } from '../../core/metrics/period-spend.js';
import { querySeriesTotals } from '../../core/metrics/snapshot.js';
import { estimateCostNano } from '../../core/pricing/estimate.js';
import { DB_FILE, openDatabase, type Db } from '../../core/store/db.js';
import { MIGRATIONS } from '../../core/store/migrations.js';
import { writeProviderFetch } from '../../core/store/usage-repo.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import type { ProviderId } from '../../shared/providers.js';
import type { WireEvent } from '../../sdk/index.js';
import { folded } from '../support/customer-rollups.js';
import { record } from '../support/records.js';
import { tempDir } from '../support/temp.js';

const TOKEN = 'ingest-token-0123456789';
const NOW_MS = Date.parse('2026-11-18T12:34:56Z');
const ALL = { fromSec: null, toSec: null };

let db: Db;
let server: RunningServer;
let billed: ProviderId[] = [];
let ingested = 0;

const id = (n: number): string => `3f2b8c1e-0000-4000-8000-${String(n).padStart(12, '0')}`;
function event(n: number, fields: Partial<WireEvent> = {}): WireEvent {
  return { id: id(n), provider: 'openai', model: 'gpt-4o-mini', inputTokens: 1000 * n, cachedInputTokens: 100 * n, outputTokens: 50 * n, latencyMs: 800, status: 200, customerId: 'acme', timestamp: '2026-11-18T10:20:00Z', ...fields };
}

async function post(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${server.url}/api/v1/ingest`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

const price = (e: WireEvent): bigint =>
  estimateCostNano(e.provider as ProviderId, e.model, { inputTokens: e.inputTokens, cachedInputTokens: e.cachedInputTokens, cacheWriteTokens: e.cacheWriteTokens ?? 0, outputTokens: e.outputTokens }, new Date(e.timestamp))!;

beforeAll(async () => {
  db = openDatabase(tempDir('llmeter-ingest-', 'suite'));
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    tokens: { metrics: 'm-token-0123456789', ingest: TOKEN, ui: 'u-token-0123456789' },
    log: silentLogger,
    routes: [ingestRoute({ db, billedProviders: () => billed, now: () => NOW_MS, onIngested: (result) => (ingested += result.inserted) })],
  });
});
afterAll(async () => {
  await server.close();
  db.close();
});
beforeEach(() => {
  for (const table of ['sdk_hourly_pending', 'sdk_event_ids', 'sdk_usage_hourly', 'usage', 'budgets']) db.exec(`DELETE FROM ${table}`);
  billed = [];
  ingested = 0;
});

describe('ingest validation', () => {
  it('answers a clear 4xx for each kind of bad input, and stores nothing', async () => {
    const wrongToken = await post({ events: [event(1)] }, { Authorization: 'Bearer nope' });
    expect(wrongToken.status).toBe(401);
    expect(wrongToken.text).toContain('npx llmeter token');
    expect((await post({ events: [event(1)] }, { 'Content-Type': 'text/plain' })).status).toBe(415);
    const malformed = await post('{"events": [', {});
    expect(malformed.status).toBe(400);
    expect(malformed.text).toMatch(/not valid JSON/);

    const cases: Array<[unknown, RegExp]> = [
      [[event(1)], /body: /],
      [{ events: [event(1), { ...event(2), inputTokens: '12' }] }, /events\[1\]\.inputTokens: /],
      [{ events: [event(1, { provider: 'mistral' })] }, /events\[0\]\.provider: .*openai/],
      [{ events: [event(1, { id: 'retry-1' })] }, /events\[0\]\.id: must be a UUID/],
      [{ events: [event(1, { cachedInputTokens: 5000 })] }, /events\[0\]\.cachedInputTokens: cachedInputTokens plus cacheWriteTokens cannot exceed/],
      [{ events: [event(1, { model: '  ' })] }, /events\[0\]\.model: must not be empty/],
      [{ events: [event(1, { customerId: 'a\nb' })] }, /events\[0\]\.customerId: must not contain control characters/],
      [{ events: [event(1, { timestamp: '2026-11-18 10:20' })] }, /events\[0\]\.timestamp: /],
      [{ events: [event(1, { timestamp: '2026-11-18T15:00:00Z' })] }, /events\[0\]\.timestamp: .*more than an hour ahead/],
      [{ events: [event(1, { status: 600 })] }, /events\[0\]\.status: /],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      expect(res.status, res.text).toBe(400);
      expect(res.text).toMatch(message);
      expect(res.text.trim().split('\n')).toHaveLength(1);
    }

    const tooMany = await post({ events: Array.from({ length: 1001 }, (_, n) => event(n + 1)) });
    expect(tooMany.status).toBe(413);
    expect(tooMany.text).toMatch(/at most 1000 events/);
    const tooBig = await post({ events: [event(1)], padding: 'x'.repeat(3 * 1024 * 1024) });
    expect(tooBig.status).toBe(413);

    expect(db.prepare('SELECT COUNT(*) FROM sdk_events').pluck().get()).toBe(0);
    expect(ingested).toBe(0);
  });

  it('accepts fields a newer SDK adds, and a full batch of 1000 events', async () => {
    const res = await post({ events: Array.from({ length: 1000 }, (_, n) => ({ ...event(n + 1), region: 'eu' })), sdkVersion: '9.9' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ received: 1000, inserted: 1000, duplicates: 0 });
  });
  it('reads an ordinary batch quickly exactly as the schema does: the same events, or the same first problem', () => {
    // An event with a lone surrogate is valid but never on the fast path, so a batch holding one is
    // validated by the schema alone: each variant is parsed on its own (fast path when plainly
    // valid) and ahead of that event (schema), and both must give the same result.
    const schemaOnly = event(99, { model: 'gpt-4o-mini\ud800' });
    const parse = (events: unknown[]): unknown => {
      try {
        return parseIngestBody(Buffer.from(JSON.stringify({ events })), NOW_MS)[0];
      } catch (err) {
        return `${(err as HttpError).status} ${(err as Error).message}`;
      }
    };
    const variants: Array<Record<string, unknown>> = [
      ...[id(1), id(2).toUpperCase(), 'retry-1', `{${id(3)}}`, 7].map((value) => ({ id: value })),
      ...['openai', 'anthropic', 'openrouter', 'mistral', 'OpenAI', null].map((value) => ({ provider: value })),
      ...['gpt-4o', '  gpt-4o  ', '\u00a0gpt-4o\u2028', '', '   ', 'a\tb', 'ok\u007f', 'x'.repeat(200), 'x'.repeat(201), ` ${'x'.repeat(200)} `, 5, null].map((value) => ({ model: value })),
      ...[0, 1.5, -1, -0, '12', null, 1e10, 1e10 + 1, 2 ** 53].map((value) => ({ inputTokens: value, cachedInputTokens: 0 })),
      ...[0, 1.5, -1, '3', null].map((value) => ({ outputTokens: value })),
      ...[undefined, 0, 100, null, 1.5, 100_000].map((value) => ({ cacheWriteTokens: value })),
      { cachedInputTokens: 600, cacheWriteTokens: 401 },
      { cachedInputTokens: 600, cacheWriteTokens: 400 },
      ...[0, 86_400_000, 86_400_001, 2.5, '800'].map((value) => ({ latencyMs: value })),
      ...[0, 429, 599, 600, -1, 200.5].map((value) => ({ status: value })),
      ...[undefined, null, '', '  ', ' acme ', 'a\nb', 'c'.repeat(256), 'c'.repeat(257), 42].map((value) => ({ customerId: value })),
      ...[undefined, null, '', ' chat ', 'f\u0000', 'f'.repeat(128), 'f'.repeat(129), false].map((value) => ({ feature: value })),
      ...['2026-11-18T10:20:00Z', '2026-11-18T12:20:00+02:00', '2026-11-18T10:20:00.123456789Z', '2026-11-18 10:20', '2026-02-30T00:00:00Z', '2026-11-18T10:20:00', '2026-11-18T10:20:00z', '2026-11-18T15:00:00Z', 1_763_460_000].map((value) => ({ timestamp: value })),
      { region: 'eu' },
    ];
    let accepted = 0;
    for (const fields of variants) {
      const candidate = { ...event(1, { inputTokens: 1000, cachedInputTokens: 100 }), ...fields };
      const fast = parse([candidate]);
      expect(parse([candidate, schemaOnly]), JSON.stringify(fields)).toEqual(fast);
      if (typeof fast !== 'string') accepted++;
    }
    for (const notAnEvent of [null, [], 'event', 3]) expect(parse([notAnEvent])).toEqual(parse([notAnEvent, schemaOnly]));
    // Both outcomes were exercised: the comparison above is not between two refusals only.
    expect(accepted).toBeGreaterThan(30);
    expect(variants.length - accepted).toBeGreaterThan(30);
  });
});

describe('ingest storage', () => {
  it('is idempotent on event ids: a retried batch, or an id repeated in any case, counts once', async () => {
    const batch = { events: [event(1), event(2), event(3, { customerId: undefined })] };
    expect(JSON.parse((await post(batch)).text)).toEqual({ received: 3, inserted: 3, duplicates: 0 });
    expect(JSON.parse((await post(batch)).text)).toEqual({ received: 3, inserted: 0, duplicates: 3 });
    const again = { events: [event(2, { id: id(2).toUpperCase() }), event(4), event(4)] };
    expect(JSON.parse((await post(again)).text)).toEqual({ received: 3, inserted: 1, duplicates: 2 });
    expect(ingested).toBe(4);

    const totals = querySeriesTotals(db, ALL);
    expect(totals).toHaveLength(1);
    expect(totals[0]).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', requests: 4, inputTokens: 10_000, cachedInputTokens: 1000, outputTokens: 500 });
    expect(totals[0]!.costNano).toBe(price(event(1)) + price(event(2)) + price(event(3)) + price(event(4)));
    expect(totals[0]!.estimatedNano).toBe(totals[0]!.costNano);
  });

  it('rolls events up per hour, customer and feature, exactly, with failures and unknown models counted', async () => {
    const events = [
      event(1, { feature: 'search' }),
      event(2, { feature: 'search', timestamp: '2026-11-18T10:59:59.999Z' }),
      event(3, { timestamp: '2026-11-18T11:00:00Z', status: 429, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 }),
      event(4, { provider: 'anthropic', model: 'claude-sonnet-4-5', cacheWriteTokens: 300, customerId: 'globex' }),
      event(5, { model: 'my-own-finetune', customerId: 'globex' }),
      // The same customer, model and hour as the first two, another feature: a row of its own.
      event(6, { feature: 'chat' }),
    ];
    expect((await post({ events })).status).toBe(200);
    const hourly = folded(db).prepare('SELECT hour, provider, model, customer_id, feature, requests, failed_requests, input_tokens, cost_nano, unpriced_requests, latency_ms_total FROM sdk_usage_hourly ORDER BY hour, provider, model, customer_id, feature').safeIntegers(true).all();
    const at = (iso: string): bigint => BigInt(Date.parse(iso) / 1000);
    expect(hourly).toEqual([
      { hour: at('2026-11-18T10:00:00Z'), provider: 'anthropic', model: 'claude-sonnet-4-5', customer_id: 'globex', feature: '', requests: 1n, failed_requests: 0n, input_tokens: 4000n, cost_nano: price(events[3]!), unpriced_requests: 0n, latency_ms_total: 800n },
      { hour: at('2026-11-18T10:00:00Z'), provider: 'openai', model: 'gpt-4o-mini', customer_id: 'acme', feature: 'chat', requests: 1n, failed_requests: 0n, input_tokens: 6000n, cost_nano: price(events[5]!), unpriced_requests: 0n, latency_ms_total: 800n },
      { hour: at('2026-11-18T10:00:00Z'), provider: 'openai', model: 'gpt-4o-mini', customer_id: 'acme', feature: 'search', requests: 2n, failed_requests: 0n, input_tokens: 3000n, cost_nano: price(events[0]!) + price(events[1]!), unpriced_requests: 0n, latency_ms_total: 1600n },
      { hour: at('2026-11-18T10:00:00Z'), provider: 'openai', model: 'my-own-finetune', customer_id: 'globex', feature: '', requests: 1n, failed_requests: 0n, input_tokens: 5000n, cost_nano: 0n, unpriced_requests: 1n, latency_ms_total: 800n },
      { hour: at('2026-11-18T11:00:00Z'), provider: 'openai', model: 'gpt-4o-mini', customer_id: 'acme', feature: '', requests: 1n, failed_requests: 1n, input_tokens: 0n, cost_nano: 0n, unpriced_requests: 0n, latency_ms_total: 800n },
    ]);
    const usage = db.prepare("SELECT bucket_start, bucket_width, model, requests, cost_kind, unpriced FROM usage WHERE source = 'sdk' AND provider = 'openai' ORDER BY bucket_start, model").all();
    expect(usage).toEqual([
      { bucket_start: Number(at('2026-11-18T10:00:00Z')), bucket_width: '1h', model: 'gpt-4o-mini', requests: 3, cost_kind: 'estimated', unpriced: 0 },
      { bucket_start: Number(at('2026-11-18T10:00:00Z')), bucket_width: '1h', model: 'my-own-finetune', requests: 1, cost_kind: 'estimated', unpriced: 1 },
      { bucket_start: Number(at('2026-11-18T11:00:00Z')), bucket_width: '1h', model: 'gpt-4o-mini', requests: 1, cost_kind: 'estimated', unpriced: 0 },
    ]);
  });

  it('counts SDK spend in every view alike, and only for providers without a billing key', async () => {
    createBudget(db, { name: 'All', scope: { kind: 'all' }, period: 'month', amountUsd: '1000', thresholds: [50] }, NOW_MS);
    const openai = [event(1), event(2)];
    const anthropic = [event(3, { provider: 'anthropic', model: 'claude-sonnet-4-5' })];
    billed = ['openai'];
    await post({ events: [...openai, ...anthropic] });
    const anthropicNano = price(anthropic[0]!);
    const openaiNano = price(openai[0]!) + price(openai[1]!);

    const views = () => ({
      metrics: querySeriesTotals(db, ALL).map((s) => [s.provider, s.costNano, s.inputTokens]),
      dashboard: [...spendByProvider(db, ALL)].map(([provider, spend]) => [provider, spend.costNano]),
      periods: queryPeriodSpend(db, NOW_MS).map((p) => [p.provider, p.costNano.month]),
      budget: listBudgets(db, NOW_MS)[0]!.spentUsd,
    });
    // OpenAI has a billing key: its SDK rows count nowhere (its billing will); Anthropic's count everywhere.
    expect(views()).toEqual({
      metrics: [['anthropic', anthropicNano, 3000]],
      dashboard: [['anthropic', anthropicNano], ['openai', 0n]],
      periods: [['anthropic', anthropicNano], ['openai', 0n]],
      budget: formatNanoAsDecimal(anthropicNano),
    });

    syncSdkSpendWithBilling(db, []);
    expect(views()).toEqual({
      metrics: [['anthropic', anthropicNano, 3000], ['openai', openaiNano, 3000]],
      dashboard: [['anthropic', anthropicNano], ['openai', openaiNano]],
      periods: [['anthropic', anthropicNano], ['openai', openaiNano]],
      budget: formatNanoAsDecimal(anthropicNano + openaiNano),
    });

    // Attribution does not depend on keys.
    syncSdkSpendWithBilling(db, ['openai', 'anthropic']);
    expect(querySeriesTotals(db, ALL)).toEqual([]);
    expect(queryCustomerTotals(db, ALL, 10).map((c) => [c.customerId, c.requests])).toEqual([['acme', 3]]);
  });
});

describe('after a billing key is removed', () => {
  it('SDK spend counts again, except where the billing already stored covers it', async () => {
    const billedDay = Date.parse('2026-11-17T00:00:00Z') / 1000;
    writeProviderFetch(db, 'openai', [], [record({ provider: 'openai', source: 'cost', bucketStart: billedDay, costNano: 7_000_000_000n, lineItem: 'gpt-4o-mini, input' })], NOW_MS / 1000);
    const covered = event(1, { timestamp: '2026-11-17T09:00:00Z' });
    const after = event(2);
    await post({ events: [covered, after] });
    const openaiCost = (): bigint => querySeriesTotals(db, ALL).filter((s) => s.provider === 'openai').reduce((sum, s) => sum + s.costNano, 0n);
    expect(openaiCost()).toBe(7_000_000_000n + price(after));

    syncSdkSpendWithBilling(db, ['openai']);
    expect(openaiCost()).toBe(7_000_000_000n);
    syncSdkSpendWithBilling(db, []);
    expect(openaiCost()).toBe(7_000_000_000n + price(after));
  });
});

describe('customer queries', () => {
  it('rank customers by cost in the window, filter by provider, and fold the rest into "other"', async () => {
    await post({
      events: [
        event(1, { customerId: 'small' }),
        event(5, { customerId: 'big' }),
        event(3, { customerId: 'mid' }),
        event(4, { customerId: 'mid', provider: 'anthropic', model: 'claude-sonnet-4-5' }),
        event(6, { customerId: 'early', timestamp: '2026-11-17T10:00:00Z' }),
        event(7, { customerId: undefined }),
      ],
    });
    const day = { fromSec: Date.parse('2026-11-18T00:00:00Z') / 1000, toSec: Date.parse('2026-11-19T00:00:00Z') / 1000 };
    expect(queryCustomerTotals(db, day, 10).map((c) => c.customerId)).toEqual(['mid', 'big', 'small']);
    expect(queryCustomerTotals(db, day, 1, ['openai']).map((c) => c.customerId)).toEqual(['big']);
    expect(queryCustomerTotals(db, ALL, 10).map((c) => c.customerId)).toEqual(['mid', 'early', 'big', 'small']);

    const series = queryCustomerSeries(db, day, 1);
    expect(series.map((s) => [s.provider, s.customerId, s.requests])).toEqual([
      ['anthropic', 'mid', 1],
      ['openai', '', 1],
      ['openai', 'mid', 1],
      ['openai', 'other', 2],
    ]);
    expect(series.find((s) => s.customerId === 'other')!.costNano).toBe(price(event(1)) + price(event(5)));
    expect(series.find((s) => s.customerId === 'other')!.inputTokens).toBe(6000);
    // The next hour, nothing: the window decides.
    expect(queryCustomerSeries(db, { fromSec: day.toSec, toSec: null }, 1)).toEqual([]);
  });
});

describe('event ids', () => {
  const stored = (n: number): IngestEvent => ({ ...parsedEvent, id: id(n) });
  const parsedEvent: IngestEvent = { id: id(0), provider: 'openai', model: 'gpt-4o-mini', occurredAt: NOW_MS / 1000 - 3600, inputTokens: 10, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 1, latencyMs: 5, status: 200, customerId: 'acme', feature: '' };
  const write = (target: Db, events: IngestEvent[], nowSec: number) => writeSdkEvents(target, events, { billedProviders: [], nowSec });

  it(`are kept ${EVENT_ID_RETENTION_DAYS} days after receipt: a retry within them counts once, older ids are pruned`, () => {
    const fresh = openDatabase(tempDir('llmeter-ingest-ids-'));
    const received = NOW_MS / 1000;
    expect(write(fresh, [stored(1), stored(2)], received)).toEqual({ received: 2, inserted: 2, duplicates: 0 });
    const lastDay = received + EVENT_ID_RETENTION_DAYS * 86_400;
    expect(write(fresh, [stored(1), stored(3)], lastDay)).toEqual({ received: 2, inserted: 1, duplicates: 1 });
    // A second later, the ids of the first batch are past the retention: pruned, so event 2 would count again.
    expect(write(fresh, [stored(4)], lastDay + 1)).toEqual({ received: 1, inserted: 1, duplicates: 0 });
    expect(fresh.prepare('SELECT id FROM sdk_events ORDER BY id').pluck().all()).toEqual([id(3), id(4)]);
    expect(folded(fresh).prepare("SELECT SUM(requests) FROM sdk_usage_hourly").pluck().get()).toBe(4);
    fresh.close();
  });

  it('count exactly the new events of a batch, wherever its known or repeated ids are', () => {
    const fresh = openDatabase(tempDir('llmeter-ingest-mixed-'));
    // Event n weighs 2^n input tokens, so the sums say which copies counted; a copy weighs 2^(n+10).
    const weighed = (n: number, copy = false): IngestEvent => ({ ...stored(n), inputTokens: 2 ** (copy ? n + 10 : n) });
    const received = NOW_MS / 1000;
    const grouped = writeSdkBatches(fresh, [[weighed(1), weighed(2), weighed(3)], [weighed(4), weighed(2, true), weighed(5), weighed(4, true)]], { billedProviders: [], nowSec: received });
    expect(grouped).toEqual([{ received: 3, inserted: 3, duplicates: 0 }, { received: 4, inserted: 2, duplicates: 2 }]);
    expect(write(fresh, [weighed(1, true), weighed(2, true), weighed(3, true)], received)).toEqual({ received: 3, inserted: 0, duplicates: 3 });
    expect(write(fresh, [weighed(6), weighed(1, true), weighed(7)], received)).toEqual({ received: 3, inserted: 2, duplicates: 1 });
    expect(write(fresh, [weighed(3, true), weighed(8)], received)).toEqual({ received: 2, inserted: 1, duplicates: 1 });
    expect(write(fresh, [weighed(9), weighed(9, true), weighed(5, true)], received)).toEqual({ received: 3, inserted: 1, duplicates: 2 });
    expect(write(fresh, [weighed(10), weighed(11)], received)).toEqual({ received: 2, inserted: 2, duplicates: 0 });
    // Every first copy once, no later copy, and no id left behind by a batch whose ids were taken back and stored one by one.
    expect(folded(fresh).prepare('SELECT SUM(requests), SUM(input_tokens) FROM sdk_usage_hourly').raw().get()).toEqual([11, 2 ** 12 - 2]);
    expect(fresh.prepare('SELECT id FROM sdk_events ORDER BY id').pluck().all()).toEqual(Array.from({ length: 11 }, (_, i) => id(i + 1)));
    expect(querySeriesTotals(fresh, ALL)[0]).toMatchObject({ requests: 11, inputTokens: 2 ** 12 - 2 });
    fresh.close();
  });

  it('number a customer again after the batch that named it first was rolled back', () => {
    const fresh = openDatabase(tempDir('llmeter-ingest-keys-'));
    const received = NOW_MS / 1000;
    const named = (n: number, customerId: string, feature: string): IngestEvent => ({ ...stored(n), customerId, feature });
    // An outer transaction that fails after the batch: the ids it numbered for zeta and its feature are gone.
    expect(() =>
      fresh.transaction(() => {
        write(fresh, [named(1, 'zeta', 'voice')], received);
        throw new Error('the outer work failed');
      })(),
    ).toThrow('the outer work failed');
    // Numbered again, these take the ids zeta and voice had: a connection remembering those would file zeta under eta.
    write(fresh, [named(2, 'eta', 'text')], received);
    write(fresh, [named(3, 'zeta', 'voice'), named(4, 'zeta', 'voice')], received);
    expect(folded(fresh).prepare('SELECT customer_id, feature, requests FROM sdk_usage_hourly ORDER BY customer_id').raw().all()).toEqual([
      ['eta', 'text', 1],
      ['zeta', 'voice', 2],
    ]);
    expect(queryCustomerSeries(fresh, ALL, 10).map((c) => [c.customerId, c.requests])).toEqual([
      ['eta', 1],
      ['zeta', 2],
    ]);
    fresh.close();
  });

  it('stored before the upgrade to compact ids still recognise a retried batch', () => {
    const dir = tempDir('llmeter-ingest-upgrade-');
    const old = new Database(path.join(dir, DB_FILE));
    for (const migration of MIGRATIONS.slice(0, 4)) old.exec(migration);
    old.pragma('user_version = 4');
    old.prepare(`INSERT INTO sdk_events VALUES (?, 'openai', 'gpt-4o-mini', 0, 10, 0, 0, 1, 5, 200, 'acme', '', 0, 0, ?)`).run(id(7).toLowerCase(), NOW_MS / 1000 - 86_400);
    old.close();
    const upgraded = openDatabase(dir);
    expect(upgraded.prepare('SELECT id FROM sdk_events').pluck().all()).toEqual([id(7)]);
    expect(write(upgraded, [stored(7), stored(8)], NOW_MS / 1000)).toEqual({ received: 2, inserted: 1, duplicates: 1 });
    upgraded.close();
  });
});

/** A group writer over `db` that counts the transactions it opens (not the savepoints inside them). */
function countingGroupWriter(db: Db): { write: ReturnType<typeof createGroupWriter>; transactions: () => number } {
  let transactions = 0;
  // The same connection, whose transaction() counts the top-level ones.
  const counted = new Proxy(db, {
    get(target, property) {
      if (property === 'transaction') return (fn: () => unknown) => (target.inTransaction || transactions++, target.transaction(fn));
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { write: createGroupWriter({ db: counted, billedProviders: () => [], nowSec: () => NOW_MS / 1000 }), transactions: () => transactions };
}

describe('batches arriving together', () => {
  const parsed = (n: number): IngestEvent => ({ id: id(n), provider: 'openai', model: 'gpt-4o-mini', occurredAt: NOW_MS / 1000, inputTokens: 10, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 1, latencyMs: 5, status: 200, customerId: `c${n % 7}`, feature: '' });
  const range = (from: number, count: number): IngestEvent[] => Array.from({ length: count }, (_, i) => parsed(from + i));

  it('over HTTP, each gets its own counts, a copy of another counted as duplicates', async () => {
    const first = { events: [event(1), event(2)] };
    const answers = await Promise.all([post(first), post({ events: [event(3), event(4), event(5)] }), post(first)]);
    expect(answers.map((a) => JSON.parse(a.text))).toEqual([
      { received: 2, inserted: 2, duplicates: 0 },
      { received: 3, inserted: 3, duplicates: 0 },
      { received: 2, inserted: 0, duplicates: 2 },
    ]);
    expect(folded(db).prepare('SELECT SUM(requests) FROM sdk_usage_hourly').pluck().get()).toBe(5);
    expect(ingested).toBe(5);
  });

  it(`share one transaction, up to ${MAX_GROUP_EVENTS} events`, async () => {
    const fresh = openDatabase(tempDir('llmeter-ingest-group-'));
    const { write, transactions } = countingGroupWriter(fresh);
    const together = await Promise.all([write(range(1, 3)), write(range(10, 2)), write(range(2, 3))]);
    expect(together).toEqual([
      { received: 3, inserted: 3, duplicates: 0 },
      { received: 2, inserted: 2, duplicates: 0 },
      { received: 3, inserted: 1, duplicates: 2 },
    ]);
    expect(transactions()).toBe(1);
    const half = MAX_GROUP_EVENTS / 2;
    const big = await Promise.all([write(range(100_000, half)), write(range(200_000, half)), write(range(300_000, 1))]);
    expect(big.map((r) => r.inserted)).toEqual([half, half, 1]);
    expect(transactions()).toBe(3);
    expect(folded(fresh).prepare('SELECT SUM(requests) FROM sdk_usage_hourly').pluck().get()).toBe(6 + 2 * half + 1);
    fresh.close();
  });
  it(`wait up to ${MAX_GROUP_WAIT_MS} ms for as many senders as the last write held, and no longer`, async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
    const fresh = openDatabase(tempDir('llmeter-ingest-wait-'));
    try {
      const { write, transactions } = countingGroupWriter(fresh);
      const settled: number[] = [];
      const track = (n: number, answer: Promise<unknown>) => void answer.then(() => settled.push(n));
      // A lone sender: written at the next turn of the event loop, without waiting.
      track(1, write(range(1, 2)));
      await vi.advanceTimersToNextTimerAsync();
      expect([transactions(), settled]).toEqual([1, [1]]);
      // Three senders together, then their next batches a little apart: one write each time.
      for (const n of [10, 20, 30]) track(n, write(range(n, 2)));
      await vi.advanceTimersToNextTimerAsync();
      expect([transactions(), settled]).toEqual([2, [1, 10, 20, 30]]);
      track(11, write(range(110, 1)));
      await vi.advanceTimersByTimeAsync(1);
      track(21, write(range(210, 1)));
      await vi.advanceTimersByTimeAsync(1);
      expect([transactions(), settled.length]).toEqual([2, 4]);
      track(31, write(range(310, 1)));
      await vi.advanceTimersToNextTimerAsync();
      expect([transactions(), settled.slice(4)]).toEqual([3, [11, 21, 31]]);
      // One of the three stopped: the other two are written once the wait is over, not before.
      track(12, write(range(120, 1)));
      track(22, write(range(220, 1)));
      await vi.advanceTimersByTimeAsync(MAX_GROUP_WAIT_MS - 1);
      expect([transactions(), settled.length]).toEqual([3, 7]);
      await vi.advanceTimersByTimeAsync(1);
      expect([transactions(), settled.slice(7)]).toEqual([4, [12, 22]]);
      expect(folded(fresh).prepare('SELECT SUM(requests) FROM sdk_usage_hourly').pluck().get()).toBe(2 + 6 + 3 + 2);
    } finally {
      vi.useRealTimers();
      fresh.close();
    }
  });
});

describe('after SDK batches', () => {
  it('budgets are evaluated at once, then at most once per interval with a trailing run; rollups fold once batches stop', async () => {
    const fresh = openDatabase(tempDir('llmeter-ingest-after-'));
    writeSdkEvents(fresh, [{ id: id(1), provider: 'openai', model: 'gpt-4o-mini', occurredAt: NOW_MS / 1000, inputTokens: 10, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 1, latencyMs: 5, status: 200, customerId: 'acme', feature: '' }], { billedProviders: [], nowSec: NOW_MS / 1000 });
    expect(pendingCustomerChanges(fresh)).toBe(1);
    let evaluations = 0;
    const after = scheduleAfterIngest({ db: fresh, evaluateBudgets: () => evaluations++, log: silentLogger, intervalMs: 200 });
    after.request();
    expect(evaluations).toBe(1);
    after.request();
    after.request();
    expect(evaluations).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    // Still within the interval: one trailing evaluation waits, and batches keep the fold waiting too.
    after.request();
    expect([evaluations, pendingCustomerChanges(fresh)]).toEqual([1, 1]);
    await vi.waitFor(() => expect(evaluations).toBe(2), { timeout: 1_000, interval: 10 });
    await vi.waitFor(() => expect(pendingCustomerChanges(fresh)).toBe(0), { timeout: 1_000, interval: 10 });
    expect(queryCustomerSeries(fresh, ALL, 10).map((s) => [s.customerId, s.requests])).toEqual([['acme', 1]]);
    expect(evaluations).toBe(2);
    after.cancel();
    fresh.close();
  });
});
