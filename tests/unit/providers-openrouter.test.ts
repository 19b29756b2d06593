import { describe, expect, it } from 'vitest';
import { createOpenRouterAdapter } from '../../core/providers/openrouter.js';
import { ADAPTERS } from '../../core/providers/registry.js';
import { PROVIDER_IDS } from '../../shared/providers.js';
import { DAY, FAKE_KEYS, dollarsToNano, expectedTotals, generateTruth, totalsOf } from '../fakes/providers.js';
import { expectProviderError, startProviderFakeForFile } from '../support/provider-fake.js';

const NOW = Date.UTC(2025, 7, 20, 12, 0, 0) / 1000;
const TODAY = NOW - (NOW % DAY);
const adapter = createOpenRouterAdapter({ now: () => fake.now * 1000 });
const { fake, contextFor } = await startProviderFakeForFile({ truth: () => generateTruth({ days: 40, models: 4, seed: 5, now: NOW }), now: NOW, credits: 500 });
const context = contextFor('openrouter');

describe('OpenRouter adapter against the fake', () => {
  it('reads 30 days with one activity call, summing per-endpoint rows and ignoring BYOK', async () => {
    const ctx = context();
    const result = await adapter.fetch(ctx, { start: TODAY - 30 * DAY, end: TODAY + DAY });
    expect(totalsOf(result.records)).toEqual(expectedTotals(fake.truth, 'openrouter', TODAY - 30 * DAY, TODAY));
    expect(fake.requests.map((r) => `${r.path}?${r.rawQuery}`)).toEqual(['/api/v1/activity?', '/api/v1/credits?']);
    expect(ctx.http.requestCount).toBe(2);
    expect(result.coverage).toEqual([{ source: 'cost', start: TODAY - 30 * DAY, end: TODAY }]);
    // One record per day and model although the fake splits half of them over two endpoints.
    const keys = result.records.map((r) => `${r.bucketStart} ${r.model}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(result.records.every((r) => r.source === 'cost' && r.bucketWidth === '1d' && r.costKind === 'billed' && r.cachedInputTokens === 0)).toBe(true);
    const activeDays = fake.truth.openrouter.filter((d) => d.usage.length > 0 && d.dayStart >= TODAY - 30 * DAY).map((d) => d.dayStart);
    expect([...new Set(result.records.map((r) => r.bucketStart))].sort((a, b) => a - b)).toEqual(activeDays);
  });

  it('reports the prepaid balance from credits', async () => {
    const result = await adapter.fetch(context(), { start: TODAY - 2 * DAY, end: TODAY });
    const used = fake.truth.openrouter.flatMap((d) => d.costs).reduce((sum, c) => sum + dollarsToNano(c.dollars), 0n);
    expect(result.balance).toEqual({ creditsNano: 500_000_000_000n, usedNano: used });
  });

  it('clips the coverage to the last 30 completed days', async () => {
    const result = await adapter.fetch(context(), { start: TODAY - 40 * DAY, end: TODAY + DAY });
    expect(result.coverage).toEqual([{ source: 'cost', start: TODAY - 30 * DAY, end: TODAY }]);
    expect(totalsOf(result.records)).toEqual(expectedTotals(fake.truth, 'openrouter', TODAY - 30 * DAY, TODAY));
  });

  it('asks for a single day with ?date= and for today not at all', async () => {
    const yesterday = await adapter.fetch(context(), { start: TODAY - DAY, end: TODAY });
    expect(fake.requestsTo('openrouter', '/api/v1/activity').map((r) => r.rawQuery)).toEqual([`date=${new Date((TODAY - DAY) * 1000).toISOString().slice(0, 10)}`]);
    expect(totalsOf(yesterday.records)).toEqual(expectedTotals(fake.truth, 'openrouter', TODAY - DAY, TODAY));

    fake.reset();
    const today = await adapter.fetch(context(), { start: TODAY, end: TODAY + DAY });
    expect(fake.requests.map((r) => r.path)).toEqual(['/api/v1/credits']);
    expect(today).toMatchObject({ records: [], coverage: [] });
  });

  it('leaves yesterday out until it has settled after midnight', async () => {
    fake.now = TODAY + 10 * 60;
    const result = await adapter.fetch(context(), { start: TODAY - 3 * DAY, end: TODAY + DAY });
    expect(result.coverage).toEqual([{ source: 'cost', start: TODAY - 3 * DAY, end: TODAY - DAY }]);
    expect(result.records.every((r) => r.bucketStart < TODAY - DAY)).toBe(true);
  });

  it('says a management key is needed on 403 and what to do on 401', async () => {
    const permission = await expectProviderError(adapter.fetch(context(FAKE_KEYS.openrouter.restricted), { start: TODAY - 3 * DAY, end: TODAY }));
    expect(permission).toMatchObject({ kind: 'permission', status: 403 });
    expect(permission.message).toContain('management key');
    expect(permission.message).toContain('Only management keys can perform this operation');
    expect(permission.message).toContain('https://openrouter.ai/settings/management-keys');

    const auth = await expectProviderError(adapter.validateKey(context('sk-or-v1-0123456789abcdef')));
    expect(auth).toMatchObject({ kind: 'auth', status: 401 });
    expect(auth.message).toContain('npx llmeter keys set openrouter');
    expect(auth.message).not.toContain('0123456789abcdef');
  });

  it('rejects wrong types in activity and credits, naming the field', async () => {
    fake.inject('openrouter', { wrongTypes: true, value: null });
    const lenient = await adapter.fetch(context(), { start: TODAY - 30 * DAY, end: TODAY });
    expect(lenient.records.length).toBeGreaterThan(0); // a null counter means "not given": 0

    fake.inject('openrouter', { wrongTypes: true, value: -1 });
    const tokens = await expectProviderError(adapter.fetch(context(), { start: TODAY - 30 * DAY, end: TODAY }));
    expect(tokens.message).toMatch(/\/api\/v1\/activity, field `data\[0\]\.prompt_tokens` should be a count, got the negative number -1/);

    fake.inject('openrouter', { delayMs: 0 });
    fake.inject('openrouter', { wrongTypes: true, value: 'lots' });
    const credits = await expectProviderError(adapter.fetch(context(), { start: TODAY - 30 * DAY, end: TODAY }));
    expect(credits.message).toMatch(/\/api\/v1\/credits, field `data\.total_credits` should be a decimal amount/);
  });

  it('validates a key with one credits call', async () => {
    const ctx = context();
    await adapter.validateKey(ctx);
    expect(fake.requests.map((r) => r.path)).toEqual(['/api/v1/credits']);
    expect(ctx.http.requestCount).toBe(1);
  });
});

describe('adapter registry', () => {
  it('has one adapter per provider, under its own id', () => {
    expect(Object.keys(ADAPTERS).sort()).toEqual([...PROVIDER_IDS].sort());
    for (const id of PROVIDER_IDS) expect(ADAPTERS[id].id).toBe(id);
  });
});
