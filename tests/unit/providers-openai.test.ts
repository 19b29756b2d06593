import { describe, expect, it } from 'vitest';
import { createOpenAiAdapter, modelFromLineItem } from '../../core/providers/openai.js';
import type { ProviderContext } from '../../core/providers/types.js';
import { NO_MODEL } from '../../shared/usage.js';
import { DAY, FAKE_KEYS, HOUR, expectedTotals, generateTruth, totalsOf } from '../fakes/providers.js';
import { expectProviderError, startProviderFakeForFile } from '../support/provider-fake.js';

const NOW = Date.UTC(2025, 7, 20, 12, 0, 0) / 1000;
const TODAY = NOW - (NOW % DAY);
const WINDOW = { start: TODAY - 30 * DAY, end: TODAY + DAY };
const adapter = createOpenAiAdapter({ now: () => NOW * 1000, maxPages: 25 });
const { fake, sleeps, contextFor } = await startProviderFakeForFile({ truth: () => generateTruth({ days: 40, models: 3, seed: 11, now: NOW }), now: NOW });
const context = contextFor('openai');

describe('OpenAI adapter against the fake', () => {
  it('follows every page and adds up to the exact truth', async () => {
    const ctx = context();
    const result = await adapter.fetch(ctx, WINDOW);

    expect(totalsOf(result.records)).toEqual(expectedTotals(fake.truth, 'openai', WINDOW.start, WINDOW.end));
    // 31 days of hourly buckets at 168 a page, then 31 daily cost buckets on one page.
    expect(fake.requestsTo('openai', '/v1/organization/usage/completions')).toHaveLength(5);
    expect(fake.requestsTo('openai', '/v1/organization/costs')).toHaveLength(1);
    expect(ctx.http.requestCount).toBe(6);
    expect(result.coverage).toEqual([
      { source: 'usage', ...WINDOW },
      { source: 'cost', ...WINDOW },
    ]);
  });

  it('reports progress after every page, in buckets of the whole window, ending at 1', async () => {
    const fractions: number[] = [];
    await adapter.fetch({ ...context(), onProgress: (fraction) => fractions.push(fraction) }, WINDOW);
    // 744 hourly buckets over 5 pages, then 31 daily ones: 775 in all.
    expect(fractions).toEqual([168, 336, 504, 672, 744, 775].map((buckets) => buckets / 775));
  });

  it('sends the documented parameters with literal brackets and the bearer key', async () => {
    await adapter.fetch(context(), WINDOW);
    const [usage, ...morePages] = fake.requestsTo('openai', '/v1/organization/usage/completions');
    expect(usage!.rawQuery).toBe(`start_time=${WINDOW.start}&end_time=${WINDOW.end}&bucket_width=1h&group_by[]=model&group_by[]=project_id&limit=168`);
    expect(morePages.every((r) => r.query.get('page')?.startsWith('page_') && r.query.get('start_time') === String(WINDOW.start))).toBe(true);
    const [costs] = fake.requestsTo('openai', '/v1/organization/costs');
    expect(costs!.rawQuery).toBe(`start_time=${WINDOW.start}&end_time=${WINDOW.end}&bucket_width=1d&group_by[]=line_item&group_by[]=project_id&limit=180`);
    expect(costs!.headers.authorization).toBe(`Bearer ${FAKE_KEYS.openai.admin}`);
  });

  it('reads amounts served as numbers and as numeric strings, fractions of a cent exact', async () => {
    const result = await adapter.fetch(context(), WINDOW);
    const storage = result.records.filter((r) => r.lineItem === 'file search storage');
    expect(storage.length).toBeGreaterThan(2); // the fake alternates number and string amounts
    expect(new Set(storage.map((r) => r.costNano))).toEqual(new Set([3_472_222n]));
  });

  it('maps usage and cost rows to records as documented', async () => {
    const result = await adapter.fetch(context(), WINDOW);
    const usage = result.records.find((r) => r.source === 'usage' && r.project === '')!;
    expect(usage).toMatchObject({ provider: 'openai', bucketWidth: '1h', lineItem: '', costNano: 0n, costKind: 'estimated', apiKeyId: '' });
    expect(usage.bucketEnd - usage.bucketStart).toBe(HOUR);
    expect(usage.inputTokens).toBeGreaterThanOrEqual(usage.cachedInputTokens + usage.cacheWriteTokens);
    const cost = result.records.find((r) => r.lineItem === 'gpt-4o-2024-08-06, cached input' && r.project === 'proj_alpha42')!;
    expect(cost).toMatchObject({ source: 'cost', bucketWidth: '1d', model: 'gpt-4o-2024-08-06', costKind: 'billed', requests: null, inputTokens: 0 });
    expect(result.records.find((r) => r.lineItem === 'web search tool calls')?.model).toBe(NO_MODEL);
    // cost rows exist for exactly the days the truth has costs for
    const costDays = fake.truth.openai.filter((d) => d.costs.length > 0 && d.dayStart >= WINDOW.start).map((d) => d.dayStart);
    expect([...new Set(result.records.filter((r) => r.source === 'cost').map((r) => r.bucketStart))].sort((a, b) => a - b)).toEqual(costDays);
    for (const r of result.records) expect(Number.isFinite(r.inputTokens + r.outputTokens + r.cachedInputTokens + r.cacheWriteTokens)).toBe(true);
  });

  it('keeps empty buckets out of the records but inside the coverage', async () => {
    const quiet = fake.truth.openai.find((d) => d.usage.length === 0 && d.dayStart >= WINDOW.start)!;
    expect(quiet).toBeDefined();
    const result = await adapter.fetch(context(), WINDOW);
    expect(result.records.some((r) => r.bucketStart >= quiet.dayStart && r.bucketStart < quiet.dayStart + DAY)).toBe(false);
  });

  it('takes bucket times from the buckets when the window starts off the hour', async () => {
    const window = { start: TODAY - 3 * DAY + 5 * HOUR + 1800, end: TODAY };
    const result = await adapter.fetch(context(), window);
    expect(totalsOf(result.records)).toEqual(expectedTotals(fake.truth, 'openai', window.start, window.end));
    expect(Math.min(...result.records.map((r) => r.bucketStart))).toBeGreaterThan(window.start);
    expect(result.records.filter((r) => r.source === 'cost').every((r) => r.bucketStart % DAY === 0)).toBe(true);
  });

  it('reports a revised bucket with its new amount on the next fetch', async () => {
    const day = TODAY - 2 * DAY;
    const model = 'gpt-4o-mini-2024-07-18';
    await adapter.fetch(context(), WINDOW);
    fake.revise('openai', day, model, '12.345678901');
    const result = await adapter.fetch(context(), WINDOW);
    const billed = result.records.filter((r) => r.source === 'cost' && r.model === model && r.bucketStart === day);
    expect(billed.reduce((sum, r) => sum + r.costNano, 0n)).toBe(12_345_678_901n);
    expect(totalsOf(result.records)).toEqual(expectedTotals(fake.truth, 'openai', WINDOW.start, WINDOW.end));
  });

  it('does not count a bucket twice when a later page repeats it', async () => {
    fake.inject('openai', { cursorLoop: true }, 1); // page 1 is served again under a new cursor
    const result = await adapter.fetch(context(), WINDOW);
    expect(fake.requestsTo('openai', '/v1/organization/usage/completions')).toHaveLength(6);
    expect(totalsOf(result.records)).toEqual(expectedTotals(fake.truth, 'openai', WINDOW.start, WINDOW.end));
  });

  it('fails as malformed on a cursor the server already sent', async () => {
    fake.inject('openai', { cursorLoop: true }, 2);
    const error = await expectProviderError(adapter.fetch(context(), WINDOW));
    expect(error.kind).toBe('malformed');
    expect(error.message).toMatch(/next_page.*repeats a cursor/);
    expect(fake.requests).toHaveLength(2);
  });

  it('stops an endless has_more at the page guard', async () => {
    fake.inject('openai', { endlessHasMore: true }, Infinity);
    const error = await expectProviderError(adapter.fetch(context(), WINDOW));
    expect(error.kind).toBe('malformed');
    expect(error.message).toContain('has_more');
    expect(error.message).toContain('25 pages');
    expect(fake.requests).toHaveLength(25);
  });

  it('retries a 429 after the Retry-After the server asked for', async () => {
    fake.inject('openai', { status: 429, retryAfter: 1 });
    const ctx = context();
    const result = await adapter.fetch(ctx, WINDOW);
    expect(sleeps).toEqual([1000]);
    expect(ctx.http.requestCount).toBe(7);
    expect(totalsOf(result.records)).toEqual(expectedTotals(fake.truth, 'openai', WINDOW.start, WINDOW.end));
  });

  it('retries a 500 and then succeeds', async () => {
    fake.inject('openai', { status: 500 });
    const result = await adapter.fetch(context(), WINDOW);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeLessThan(500);
    expect(totalsOf(result.records)).toEqual(expectedTotals(fake.truth, 'openai', WINDOW.start, WINDOW.end));
  });

  it('explains a rejected key without retrying and without key bytes', async () => {
    const wrongKey = 'sk-admin-WRONGwrongWRONGwrong9876';
    const error = await expectProviderError(adapter.fetch(context(wrongKey), WINDOW));
    expect(error).toMatchObject({ kind: 'auth', status: 401, provider: 'openai' });
    expect(error.message).toContain('OpenAI rejected the organization Admin API key (HTTP 401)');
    expect(error.message).toContain('https://platform.openai.com/settings/organization/admin-keys');
    expect(error.message).toContain('npx llmeter keys set openai');
    expect(error.message).toContain('Incorrect API key provided'); // OpenAI's own words, key removed
    expect(error.message).not.toContain('9876');
    expect(error.message).not.toMatch(/sk-[A-Za-z0-9]/);
    expect(fake.requests).toHaveLength(1);
  });

  it('names the missing permission on 403', async () => {
    const error = await expectProviderError(adapter.fetch(context(FAKE_KEYS.openai.restricted), WINDOW));
    expect(error).toMatchObject({ kind: 'permission', status: 403 });
    expect(error.message).toContain('api.usage.read');
    expect(error.message).toContain('npx llmeter keys set openai');
    expect(error.message).not.toContain(FAKE_KEYS.openai.restricted);
    expect(fake.requests).toHaveLength(1);
  });

  it.each([
    ['a word', 'twelve', /input_tokens` should be a count/],
    ['a negative count', -5, /input_tokens` should be a count, got the negative number -5/],
    ['an absurd count', 1e16, /input_tokens` is implausibly large/],
    ['a fraction', 2.5, /input_tokens` should be a whole number/],
    ['an object', {}, /input_tokens` should be a count, got an object/],
  ])('rejects %s where a token count belongs, naming the field', async (_label, value, pattern) => {
    // The first page of usage with results is page 1; the fault lands on the first request.
    fake.inject('openai', { wrongTypes: true, value });
    const error = await expectProviderError(adapter.fetch(context(), WINDOW));
    expect(error.kind).toBe('malformed');
    expect(error.message).toMatch(pattern);
    expect(error.message).toContain('/v1/organization/usage/completions');
  });

  it('rejects a cost amount that is not a number', async () => {
    fake.inject('openai', { delayMs: 0 }, 5); // the five usage pages pass, the cost page is corrupted
    fake.inject('openai', { wrongTypes: true, value: 'about 3 dollars' });
    const error = await expectProviderError(adapter.fetch(context(), WINDOW));
    expect(error.message).toMatch(/amount\.value` should be a decimal amount, got an unreadable string/);
    expect(error.message).not.toContain('about 3 dollars');
  });

  it('validates a key with one cheap call for yesterday', async () => {
    const ctx = context();
    await adapter.validateKey(ctx);
    expect(ctx.http.requestCount).toBe(1);
    expect(fake.requests[0]!.path).toBe('/v1/organization/costs');
    expect(fake.requests[0]!.rawQuery).toBe(`start_time=${TODAY - DAY}&end_time=${TODAY}&bucket_width=1d&limit=1`);
    const error = await expectProviderError(adapter.validateKey(context(FAKE_KEYS.openai.restricted)));
    expect(error.kind).toBe('permission');
  });
});

describe('OpenAI responses the fake does not produce', () => {
  const page = (results: unknown[]) => ({ object: 'page', data: [{ object: 'bucket', start_time: TODAY, end_time: TODAY + DAY, results }], has_more: false, next_page: null });
  /** A context whose "server" answers usage and costs with the given bodies. */
  const stub = (bodies: { usage?: unknown; costs?: unknown }): ProviderContext => ({
    baseUrl: 'http://unused.invalid',
    key: 'k',
    http: { requestCount: 0, getJson: async (_provider, url) => (url.includes('/costs?') ? (bodies.costs ?? page([])) : (bodies.usage ?? page([]))) },
  });
  const cost = (amount: unknown) => ({ costs: page([{ object: 'organization.costs.result', amount, line_item: 'gpt-4o, input', project_id: null }]) });

  it('refuses a currency other than USD', async () => {
    const error = await expectProviderError(adapter.fetch(stub(cost({ value: 1, currency: 'eur' })), WINDOW));
    expect(error.message).toMatch(/amount\.currency` is not "usd"/);
  });

  it('reads exponent notation and long decimals exactly', async () => {
    const tiny = await adapter.fetch(stub(cost({ value: 1e-7, currency: 'usd' })), WINDOW);
    expect(tiny.records.map((r) => r.costNano)).toEqual([100n]);
    const precise = await adapter.fetch(stub(cost({ value: '1234.567891234', currency: 'usd' })), WINDOW);
    expect(precise.records.map((r) => r.costNano)).toEqual([1_234_567_891_234n]);
  });

  it('refuses has_more without a cursor and a page that is not an object', async () => {
    const error = await expectProviderError(adapter.fetch(stub({ usage: { ...page([]), has_more: true, next_page: null } }), WINDOW));
    expect(error.message).toMatch(/next_page` is empty/);
    const notAPage = await expectProviderError(adapter.fetch(stub({ usage: [1, 2] }), WINDOW));
    expect(notAPage.message).toMatch(/\(body\)` should be an object, got a list/);
  });

  it('sums rows that share dimensions within one bucket', async () => {
    const row = { object: 'organization.usage.completions.result', input_tokens: '10', output_tokens: 1, num_model_requests: 1, model: 'm', project_id: null };
    const result = await adapter.fetch(stub({ usage: page([row, { ...row, input_tokens: 5 }]) }), WINDOW);
    expect(result.records.map((r) => [r.inputTokens, r.requests])).toEqual([[15, 2]]);
  });
});

describe('modelFromLineItem', () => {
  it.each([
    ['gpt-4o-2024-08-06, input', 'gpt-4o-2024-08-06'],
    ['gpt-4o-2024-08-06, output', 'gpt-4o-2024-08-06'],
    ['gpt-4o-2024-08-06, cached input', 'gpt-4o-2024-08-06'],
    ['gpt-5, cache write', 'gpt-5'],
    ['gpt-5, cached input write', 'gpt-5'],
    ['gpt-4o-audio-preview, audio input', 'gpt-4o-audio-preview'],
    ['gpt-4o-audio-preview, audio output', 'gpt-4o-audio-preview'],
    ['gpt-image-1, image output', 'gpt-image-1'],
    ['dall-e-3, image', 'dall-e-3'],
    ['ft:gpt-4o-mini:acme, org, input', 'ft:gpt-4o-mini:acme, org'],
    ['gpt-4o, Input Tokens', 'gpt-4o'],
    ['gpt-4o-mini-search-preview, web search', NO_MODEL],
    ['web search tool calls', NO_MODEL],
    ['file search storage', NO_MODEL],
    ['', NO_MODEL],
  ])('%s → %s', (lineItem, model) => {
    expect(modelFromLineItem(lineItem)).toBe(model);
  });
});
