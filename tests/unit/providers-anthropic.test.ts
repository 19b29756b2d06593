import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createAnthropicAdapter } from '../../core/providers/anthropic.js';
import { NO_MODEL } from '../../shared/usage.js';
import { DAY, FAKE_KEYS, expectedTotals, generateTruth, totalsOf } from '../fakes/providers.js';
import { expectProviderError, startProviderFakeForFile } from '../support/provider-fake.js';

const NOW = Date.UTC(2025, 7, 20, 12, 0, 0) / 1000;
const TODAY = NOW - (NOW % DAY);
const WINDOW = { start: TODAY - 30 * DAY, end: TODAY + DAY };
const adapter = createAnthropicAdapter({ now: () => NOW * 1000 });
const { fake, sleeps, contextFor } = await startProviderFakeForFile({ truth: () => generateTruth({ days: 40, models: 3, seed: 23, now: NOW }), now: NOW });
const context = contextFor('anthropic');

describe('Anthropic adapter against the fake', () => {
  it('follows every page and adds up to the exact truth, requests unknown', async () => {
    const ctx = context();
    const result = await adapter.fetch(ctx, WINDOW);
    const expected = expectedTotals(fake.truth, 'anthropic', WINDOW.start, WINDOW.end);
    expect(totalsOf(result.records)).toEqual(expected);
    expect(Object.values(expected).every((t) => t.requests === null)).toBe(true);
    expect(result.records.every((r) => r.requests === null)).toBe(true);
    // 744 hourly buckets at 168 a page; 31 daily cost buckets at 31 a page.
    expect(fake.requestsTo('anthropic', '/v1/organizations/usage_report/messages')).toHaveLength(5);
    expect(fake.requestsTo('anthropic', '/v1/organizations/cost_report')).toHaveLength(1);
    expect(ctx.http.requestCount).toBe(6);
  });

  it('sends the documented headers and RFC 3339 parameters', async () => {
    await adapter.fetch(context(), { start: TODAY - 2 * DAY, end: TODAY });
    const [usage] = fake.requestsTo('anthropic', '/v1/organizations/usage_report/messages');
    const [cost] = fake.requestsTo('anthropic', '/v1/organizations/cost_report');
    const times = `starting_at=${new Date((TODAY - 2 * DAY) * 1000).toISOString().slice(0, 10)}T00:00:00Z&ending_at=${new Date(TODAY * 1000).toISOString().slice(0, 10)}T00:00:00Z`;
    expect(usage!.rawQuery).toBe(`${times}&bucket_width=1h&group_by[]=model&group_by[]=workspace_id&limit=168`);
    expect(cost!.rawQuery).toBe(`${times}&bucket_width=1d&group_by[]=description&group_by[]=workspace_id&limit=31`);
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    expect(usage!.headers).toMatchObject({ 'x-api-key': FAKE_KEYS.anthropic.admin, 'anthropic-version': '2023-06-01', 'user-agent': `llmeter-desktop/${version}` });
    expect(usage!.headers.authorization).toBeUndefined();
  });

  it('reads cents with fractions exactly', async () => {
    const day = TODAY - 3 * DAY;
    fake.revise('anthropic', day, 'claude-sonnet-4-20250514', '1.2378912'); // served as "123.78912" cents
    const result = await adapter.fetch(context(), WINDOW);
    const billed = result.records.filter((r) => r.source === 'cost' && r.model === 'claude-sonnet-4-20250514' && r.bucketStart === day);
    expect(billed.reduce((sum, r) => sum + r.costNano, 0n)).toBe(1_237_891_200n);
    expect(billed.map((r) => r.costNano)).toContain(1_237_891_200n);
  });

  it('sums input as uncached + cache reads + both cache writes', async () => {
    const result = await adapter.fetch(context(), WINDOW);
    const usage = result.records.filter((r) => r.source === 'usage');
    expect(usage.some((r) => r.cacheWriteTokens > 0)).toBe(true);
    expect(usage.every((r) => r.inputTokens >= r.cachedInputTokens + r.cacheWriteTokens)).toBe(true);
    expect(result.records.find((r) => r.lineItem === 'Web Search Usage')).toMatchObject({ model: NO_MODEL, project: 'wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ' });
    expect(result.records.find((r) => r.lineItem === 'Code Execution Usage')?.project).toBe('');
  });

  it('stores a revised day with its new amount', async () => {
    const day = TODAY - 5 * DAY;
    await adapter.fetch(context(), WINDOW);
    fake.revise('anthropic', day, NO_MODEL, '0.42');
    const result = await adapter.fetch(context(), WINDOW);
    expect(totalsOf(result.records)).toEqual(expectedTotals(fake.truth, 'anthropic', WINDOW.start, WINDOW.end));
    const noModel = result.records.filter((r) => r.model === NO_MODEL && r.bucketStart === day);
    expect(noModel.reduce((sum, r) => sum + r.costNano, 0n)).toBe(420_000_000n);
  });

  it('retries 529 overloaded and 429 with Retry-After', async () => {
    fake.inject('anthropic', { status: 529 });
    fake.inject('anthropic', { status: 429, retryAfter: 2 });
    const result = await adapter.fetch(context(), WINDOW);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]).toBe(2000);
    expect(totalsOf(result.records)).toEqual(expectedTotals(fake.truth, 'anthropic', WINDOW.start, WINDOW.end));
  });

  it('explains 401 and 403 with what to do', async () => {
    const auth = await expectProviderError(adapter.fetch(context('sk-ant-admin01-NOTREALnotreal1234'), WINDOW));
    expect(auth).toMatchObject({ kind: 'auth', status: 401 });
    expect(auth.message).toContain('Anthropic rejected the Admin API key (HTTP 401). Anthropic said: "invalid x-api-key".');
    expect(auth.message).toContain('https://console.anthropic.com/settings/admin-keys');
    expect(auth.message).toContain('npx llmeter keys set anthropic');
    expect(auth.message).not.toContain('NOTREAL');

    const permission = await expectProviderError(adapter.fetch(context(FAKE_KEYS.anthropic.restricted), WINDOW));
    expect(permission).toMatchObject({ kind: 'permission', status: 403 });
    expect(permission.message).toContain('Admin API key');
    expect(permission.message).toContain('npx llmeter keys set anthropic');
    expect(fake.requests).toHaveLength(2);
  });

  it('rejects wrong types naming the field', async () => {
    fake.inject('anthropic', { wrongTypes: true, value: '-3' });
    const error = await expectProviderError(adapter.fetch(context(), WINDOW));
    expect(error.kind).toBe('malformed');
    expect(error.message).toMatch(/usage_report\/messages, field `data\[\d+\]\.results\[0\]\.uncached_input_tokens` should be a count/);

    fake.inject('anthropic', { delayMs: 0 }, 5);
    fake.inject('anthropic', { wrongTypes: true, value: 12.5 }); // cents as a number: accepted
    const lenient = await adapter.fetch(context(), WINDOW);
    expect(lenient.records.some((r) => r.costNano === 125_000_000n)).toBe(true);

    fake.inject('anthropic', { delayMs: 0 }, 5);
    fake.inject('anthropic', { wrongTypes: true, value: '12,50' });
    const amount = await expectProviderError(adapter.fetch(context(), WINDOW));
    expect(amount.message).toMatch(/cost_report, field `data\[\d+\]\.results\[0\]\.amount` should be a decimal amount/);
  });

  it('validates a key with one cost_report call', async () => {
    const ctx = context();
    await adapter.validateKey(ctx);
    expect(ctx.http.requestCount).toBe(1);
    expect(fake.requests[0]!.path).toBe('/v1/organizations/cost_report');
    expect(fake.requests[0]!.query.get('limit')).toBe('1');
  });
});
