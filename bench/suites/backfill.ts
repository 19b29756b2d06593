/**
 * Item 5: the first poll of every provider with a year to backfill, 50 models in all, through the
 * real adapters against the loopback fakes. Counts the HTTP requests per endpoint beside the
 * fewest the page limits allow for the window requested, and the wall time.
 */
import { formatNanoAsDecimal } from '../../shared/money.js';
import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import { seededRandom } from '../../shared/random.js';
import { querySeriesTotals } from '../../core/metrics/snapshot.js';
import { pollProvider } from '../../core/poller/poll.js';
import { createHttpClient } from '../../core/providers/http.js';
import { ADAPTERS } from '../../core/providers/registry.js';
import { openDatabase } from '../../core/store/db.js';
import { bucketRanges } from '../../tests/fakes/provider-responses.js';
import { DAY, expectedTotals, FAKE_KEYS, HOUR, startProviderFake, type FakeCost, type FakeDay, type FakeTruth, type FakeUsage } from '../../tests/fakes/providers.js';
import { emptyWorkDir } from '../datasets.js';
import { currentLoad, round } from '../stats.js';

export interface BackfillResult {
  days: number;
  models: number;
  /** Per provider and endpoint: requests made and the fewest the page limits allow. */
  endpoints: Array<{ provider: ProviderId; path: string; requests: number; minimum: number }>;
  requests: number;
  minimum: number;
  records: number;
  seconds: number;
  /** OpenAI's and Anthropic's stored spend equals the fakes' billed truth to the nano-dollar. */
  totalsMatch: boolean;
  load: number;
}

/** Largest page per endpoint, as the fakes enforce the providers' documented limits. */
const PAGE_LIMITS: Record<string, { seconds: number; maxLimit: number }> = {
  'openai /v1/organization/usage/completions': { seconds: HOUR, maxLimit: 168 },
  'openai /v1/organization/costs': { seconds: DAY, maxLimit: 180 },
  'anthropic /v1/organizations/usage_report/messages': { seconds: HOUR, maxLimit: 168 },
  'anthropic /v1/organizations/cost_report': { seconds: DAY, maxLimit: 31 },
};
const MODELS_PER_PROVIDER: Record<ProviderId, number> = { openai: 20, anthropic: 18, openrouter: 12 };
const PROJECTS: Record<ProviderId, string[]> = { openai: ['proj_alpha42', ''], anthropic: ['wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ', ''], openrouter: [''] };

/** A year of sparse hourly usage of 50 models and the daily bills that price it. */
function yearOfTruth(days: number, nowSec: number): FakeTruth {
  const random = seededRandom(365);
  const firstDay = Math.floor(nowSec / DAY) * DAY - days * DAY;
  const truth: FakeTruth = { openai: [], anthropic: [], openrouter: [] };
  for (const provider of PROVIDER_IDS) {
    const models = Array.from({ length: MODELS_PER_PROVIDER[provider] }, (_, i) => ({ id: `${provider}-model-${i + 1}`, label: `Model ${i + 1}`, nanoPerToken: 100 + Math.floor(random() * 5_000), activity: 0.05 + 0.4 * random() }));
    for (let d = 0; d < days; d++) {
      const day: FakeDay = { dayStart: firstDay + d * DAY, usage: [], costs: [] };
      truth[provider].push(day);
      for (const model of models) {
        for (const project of PROJECTS[provider]) {
          const hours: FakeUsage[] = [];
          for (let h = 0; h < 24; h++) {
            if (random() > model.activity) continue;
            const inputTokens = 1 + Math.floor(random() * 200_000);
            const cachedInputTokens = provider === 'openrouter' ? 0 : Math.floor(random() * (inputTokens / 2));
            hours.push({ hourStart: day.dayStart + h * HOUR, model: model.id, project, inputTokens, cachedInputTokens, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, outputTokens: Math.floor(random() * 20_000), requests: 1 + Math.floor(random() * 40) });
          }
          if (hours.length === 0) continue;
          day.usage.push(...hours);
          const tokens = hours.reduce((sum, u) => sum + u.inputTokens + u.outputTokens, 0);
          const line = (lineItem: string, share: number): FakeCost => ({ model: model.id, lineItem, project, dollars: formatNanoAsDecimal((BigInt(tokens) * BigInt(model.nanoPerToken) * BigInt(share)) / 100n) });
          if (provider === 'openrouter') day.costs.push(line('', 100));
          else if (provider === 'openai') day.costs.push(line(`${model.id}, input`, 40), line(`${model.id}, output`, 60));
          else day.costs.push(line(`${model.label} Usage - Input Tokens`, 40), line(`${model.label} Usage - Output Tokens`, 60));
        }
      }
      if (provider === 'openai' && day.usage.length > 0) day.costs.push({ model: null, lineItem: 'web search tool calls', project: '', dollars: '0.125' });
    }
  }
  return truth;
}

export async function benchBackfill(options: { days: number; log: (line: string) => void }): Promise<BackfillResult> {
  const nowSec = Math.floor(Date.now() / 1000);
  const truth = yearOfTruth(options.days, nowSec);
  const fake = await startProviderFake({ truth, now: nowSec });
  const dir = emptyWorkDir('backfill');
  const db = openDatabase(dir);
  try {
    const load = currentLoad();
    const started = performance.now();
    const outcomes = await Promise.all(
      PROVIDER_IDS.map((provider) =>
        pollProvider(db, createHttpClient(), { provider, adapter: ADAPTERS[provider], key: FAKE_KEYS[provider].admin, baseUrl: fake.baseUrl(provider) }, { backfillDays: options.days, trailingDays: 3, now: () => nowSec * 1000 }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    for (const outcome of outcomes) if (!outcome.ok) throw new Error(`backfill of ${outcome.provider} failed: ${outcome.error}`);

    const endpoints: BackfillResult['endpoints'] = [];
    for (const provider of PROVIDER_IDS) {
      for (const path of [...new Set(fake.requestsTo(provider).map((r) => r.path))]) {
        const requests = fake.requestsTo(provider, path);
        const limits = PAGE_LIMITS[`${provider} ${path}`];
        let minimum = 1;
        if (limits) {
          // The window the adapter asked for, read off its first page's query.
          const q = requests[0]!.query;
          const start = provider === 'openai' ? Number(q.get('start_time')) : Date.parse(q.get('starting_at')!) / 1000;
          const endText = provider === 'openai' ? q.get('end_time') : q.get('ending_at');
          const end = endText === null ? nowSec : provider === 'openai' ? Number(endText) : Date.parse(endText) / 1000;
          minimum = Math.ceil(bucketRanges(start, end, limits.seconds).length / limits.maxLimit);
        }
        endpoints.push({ provider, path, requests: requests.length, minimum });
      }
    }
    const stored = querySeriesTotals(db, { fromSec: null, toSec: null });
    const totalsMatch = (['openai', 'anthropic'] as const).every((provider) => {
      const expected = Object.values(expectedTotals(truth, provider, 0, Number.MAX_SAFE_INTEGER)).reduce((sum, t) => sum + t.costNano, 0n);
      const actual = stored.filter((s) => s.provider === provider).reduce((sum, s) => sum + s.costNano, 0n);
      return expected === actual;
    });
    const entry: BackfillResult = {
      days: options.days,
      models: Object.values(MODELS_PER_PROVIDER).reduce((a, b) => a + b, 0),
      endpoints,
      requests: endpoints.reduce((sum, e) => sum + e.requests, 0),
      minimum: endpoints.reduce((sum, e) => sum + e.minimum, 0),
      records: outcomes.reduce((sum, o) => sum + (o.ok ? o.records : 0), 0),
      seconds: round(seconds, 2),
      totalsMatch,
      load,
    };
    options.log(`  backfill ${entry.days} days × ${entry.models} models: ${entry.requests} requests (minimum ${entry.minimum}), ${entry.records.toLocaleString('en-US')} records in ${entry.seconds} s; totals match: ${entry.totalsMatch}`);
    for (const e of endpoints) options.log(`    ${e.provider} ${e.path}: ${e.requests} (minimum ${e.minimum})`);
    return entry;
  } finally {
    db.close();
    await fake.close();
  }
}
