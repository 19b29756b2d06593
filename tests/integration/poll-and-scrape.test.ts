/**
 * Issue 2's "done when", as a user does it: `llmeter poll` against fake providers, then
 * `llmeter serve` and a scrape of /api/v1/metrics; totals equal the fakes' billed truth to 1e-6 USD,
 * tokens and requests exact — and again after the provider revises a bucket and we re-poll.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAmountToNano } from '../../shared/money.js';
import { PROVIDER_IDS, PROVIDERS, type ProviderId } from '../../shared/providers.js';
import { NO_MODEL } from '../../shared/usage.js';
import { DAY, expectedTotals, FAKE_KEYS, generateTruth, startProviderFake, type ProviderFake } from '../fakes/providers.js';
import { runLlmeter, startLlmeter } from '../support/cli.js';
import { parseSamples, sampleValue } from '../support/prom-text.js';
import { tempDir } from '../support/temp.js';

const NOW = Math.floor(Date.now() / 1000);
const TODAY = NOW - (NOW % DAY);
const METRICS_TOKEN = 'test-metrics-token-0123456789';
let fake: ProviderFake;

beforeAll(async () => {
  fake = await startProviderFake({ truth: generateTruth({ days: 12, seed: 7, now: NOW }), now: NOW, credits: 250 });
});
afterAll(async () => fake.close());

function env(dataDir: string): NodeJS.ProcessEnv {
  const vars: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dataDir, LLMETER_DATA_DIR: dataDir, LLMETER_METRICS_TOKEN: METRICS_TOKEN, LLMETER_INGEST_TOKEN: 'test-ingest-token-0123456789', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent' };
  for (const id of PROVIDER_IDS) {
    vars[PROVIDERS[id].keyEnv] = FAKE_KEYS[id].admin;
    vars[PROVIDERS[id].baseUrlEnv] = fake.baseUrl(id);
  }
  return vars;
}

async function scrape(url: string, query = ''): Promise<ReturnType<typeof parseSamples>> {
  const res = await fetch(`${url}/api/v1/metrics${query}`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseSamples(await res.text());
}

/** Every model of every provider: cost within 1e-6 USD, tokens and requests exact. */
function expectMetricsEqualTruth(samples: ReturnType<typeof parseSamples>, from: number, to: number): void {
  let series = 0;
  for (const provider of PROVIDER_IDS) {
    const expected = expectedTotals(fake.truth, provider as ProviderId, from, to);
    for (const [model, totals] of Object.entries(expected)) {
      const labels = { provider, model };
      const cost = parseAmountToNano(sampleValue(samples, 'llmeter_cost_usd', labels) ?? 'missing');
      expect(cost, `${provider}/${model} cost`).not.toBeNull();
      const diff = cost! - totals.costNano;
      expect(diff < 0n ? -diff : diff, `${provider}/${model} cost ${cost} vs ${totals.costNano}`).toBeLessThanOrEqual(1000n);
      expect(Number(sampleValue(samples, 'llmeter_input_tokens_total', labels) ?? 0), `${provider}/${model} input`).toBe(totals.inputTokens);
      expect(Number(sampleValue(samples, 'llmeter_output_tokens_total', labels) ?? 0), `${provider}/${model} output`).toBe(totals.outputTokens);
      const requests = sampleValue(samples, 'llmeter_requests_total', labels);
      if (totals.requests === null || model === NO_MODEL) expect(requests, `${provider}/${model} requests`).toBeUndefined();
      else expect(Number(requests), `${provider}/${model} requests`).toBe(totals.requests);
      series++;
    }
  }
  expect(series).toBeGreaterThan(10);
}

describe('poll then scrape (headless, as a user runs it)', () => {
  const dataDir = tempDir('llmeter-poll-', 'suite');

  it('llmeter poll fetches every provider and exits 0', async () => {
    const result = await runLlmeter(['poll', '--backfill-days', '14'], { env: env(dataDir) });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    for (const id of PROVIDER_IDS) expect(result.stdout).toContain(`${PROVIDERS[id].displayName}: ok`);
  });

  it('serve exposes totals equal to the billed truth, all time and for windows', async () => {
    const serve = await startLlmeter(['serve', '--port', '0'], env(dataDir));
    try {
      expectMetricsEqualTruth(await scrape(serve.url), 0, Number.MAX_SAFE_INTEGER);
      const from = TODAY - 7 * DAY;
      const lastDay = new Date((TODAY - 3 * DAY) * 1000).toISOString().slice(0, 10);
      expectMetricsEqualTruth(await scrape(serve.url, `?from=now/d-7d&to=${lastDay}`), from, TODAY - 2 * DAY);
      // Nothing is billed in the last hour: the window is empty rather than wrong.
      const lastHour = await scrape(serve.url, '?from=now-1h');
      expect(lastHour.filter((s) => s.name === 'llmeter_cost_usd')).toEqual([]);
    } finally {
      await serve.stop();
    }
  });

  it('a provider revision is reflected exactly after the next poll, with no double count', async () => {
    const day = TODAY - 2 * DAY;
    const model = fake.truth.openai.find((d) => d.dayStart === day)!.costs[0]!.model!;
    fake.revise('openai', day, model, '1234.567891234');
    fake.revise('anthropic', day, NO_MODEL, '0.0000001');
    const result = await runLlmeter(['poll'], { env: env(dataDir) });
    expect(result.status).toBe(0);
    const serve = await startLlmeter(['serve', '--port', '0'], env(dataDir));
    try {
      expectMetricsEqualTruth(await scrape(serve.url), 0, Number.MAX_SAFE_INTEGER);
    } finally {
      await serve.stop();
    }
  });

  it('a failing provider makes poll exit non-zero with one line naming it, the others still succeed', async () => {
    fake.inject('anthropic', { status: 401 }, 10);
    const result = await runLlmeter(['poll'], { env: env(dataDir) });
    fake.reset();
    expect(result.status).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Anthropic/);
    expect(lines[0]).not.toContain(FAKE_KEYS.anthropic.admin);
    expect(result.stdout).toContain('OpenAI: ok');
    expect(result.stdout).toContain('OpenRouter: ok');
  });
});
