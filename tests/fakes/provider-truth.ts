/**
 * The "truth" behind the fake provider APIs: what an organization really used and was billed,
 * generated from a seed, plus the exact totals any correct reading of the APIs must arrive at.
 */
import { SETTLE_SECONDS } from '../../core/providers/openrouter.js';
import { formatNanoAsDecimal, parseAmountToNano } from '../../shared/money.js';
import type { ProviderId } from '../../shared/providers.js';
import { seededRandom } from '../../shared/random.js';
import { NO_MODEL } from '../../shared/usage.js';
import type { UsageRecord } from '../../shared/usage.js';

export const HOUR = 3_600;
export const DAY = 86_400;

/** One hour of one model's usage in one project. */
export interface FakeUsage {
  hourStart: number;
  model: string;
  /** Project (OpenAI) or workspace (Anthropic); '' is the default one, served as null. */
  project: string;
  /** All input: uncached, cache reads and cache writes. */
  inputTokens: number;
  cachedInputTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  outputTokens: number;
  requests: number;
}

/** One billed line of one day. */
export interface FakeCost {
  /** null for charges of no model (web search, storage, code execution). */
  model: string | null;
  /** OpenAI line_item / Anthropic description, exactly as served. */
  lineItem: string;
  project: string;
  /** Exact amount in dollars as a decimal string, e.g. "0.003472222". */
  dollars: string;
}

export interface FakeDay {
  dayStart: number;
  usage: FakeUsage[];
  costs: FakeCost[];
}

export interface FakeTruth {
  openai: FakeDay[];
  anthropic: FakeDay[];
  openrouter: FakeDay[];
}

/** What a correct reading of one provider's APIs must add up to, for one model. */
export interface ModelTotals {
  costNano: bigint;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  /** null where the provider does not report requests (Anthropic). */
  requests: number | null;
}

interface ModelSpec {
  id: string;
  /** Anthropic's descriptions name the model in words. */
  label: string;
  /** Prices in nano-dollars per million tokens: input, cached input, output. */
  prices: [bigint, bigint, bigint];
}

const CATALOG: Record<ProviderId, ModelSpec[]> = {
  openai: [
    { id: 'gpt-4o-2024-08-06', label: 'GPT-4o', prices: [2_500_000_000n, 1_250_000_000n, 10_000_000_000n] },
    { id: 'gpt-4o-mini-2024-07-18', label: 'GPT-4o mini', prices: [150_000_000n, 75_000_000n, 600_000_000n] },
    { id: 'o3-2025-04-16', label: 'o3', prices: [2_000_000_000n, 500_000_000n, 8_000_000_000n] },
    { id: 'gpt-4.1-nano-2025-04-14', label: 'GPT-4.1 nano', prices: [100_000_000n, 25_000_000n, 400_000_000n] },
  ],
  anthropic: [
    { id: 'claude-sonnet-4-20250514', label: 'Claude Sonnet 4', prices: [3_000_000_000n, 300_000_000n, 15_000_000_000n] },
    { id: 'claude-3-5-haiku-20241022', label: 'Claude Haiku 3.5', prices: [800_000_000n, 80_000_000n, 4_000_000_000n] },
    { id: 'claude-opus-4-1-20250805', label: 'Claude Opus 4.1', prices: [15_000_000_000n, 1_500_000_000n, 75_000_000_000n] },
    { id: 'claude-3-7-sonnet-20250219', label: 'Claude Sonnet 3.7', prices: [3_000_000_000n, 300_000_000n, 15_000_000_000n] },
  ],
  openrouter: [
    { id: 'openai/gpt-4.1', label: 'GPT-4.1', prices: [2_000_000_000n, 500_000_000n, 8_000_000_000n] },
    { id: 'anthropic/claude-sonnet-4', label: 'Claude Sonnet 4', prices: [3_000_000_000n, 300_000_000n, 15_000_000_000n] },
    { id: 'google/gemini-2.5-flash', label: 'Gemini 2.5 Flash', prices: [300_000_000n, 75_000_000n, 2_500_000_000n] },
    { id: 'meta-llama/llama-3.3-70b-instruct', label: 'Llama 3.3 70B', prices: [130_000_000n, 130_000_000n, 400_000_000n] },
  ],
};

const PROJECTS: Record<ProviderId, string[]> = {
  openai: ['proj_alpha42', ''],
  anthropic: ['wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ', ''],
  openrouter: [''],
};

/** tokens × price per million, in nano-dollars, rounded half up: fractional cents on purpose. */
function priced(tokens: number, nanoPerMillion: bigint): bigint {
  return (BigInt(tokens) * nanoPerMillion + 500_000n) / 1_000_000n;
}

const LINE_KIND: Record<'input' | 'output' | 'cached', Record<'openai' | 'anthropic', string>> = {
  input: { openai: 'input', anthropic: 'Input Tokens' },
  output: { openai: 'output', anthropic: 'Output Tokens' },
  cached: { openai: 'cached input', anthropic: 'Cache Read Input Tokens' },
};

/**
 * Generates `days` completed UTC days before the day containing `now` (Unix s) for every provider:
 * sparse hourly usage of `models` models (so many hourly buckets are empty, and about one day in
 * ten is entirely quiet), daily costs priced from that usage with fractional cents, and line items
 * of no model (web search, storage, code execution); OpenRouter's days as settled at `now`
 * (withOpenRouterSettled).
 */
export function generateTruth(options: { days: number; models?: number; seed: number; now: number }): FakeTruth {
  const random = seededRandom(options.seed);
  const int = (max: number) => Math.floor(random() * max);
  const firstDay = Math.floor(options.now / DAY) * DAY - options.days * DAY;
  const truth: FakeTruth = { openai: [], anthropic: [], openrouter: [] };
  for (const provider of ['openai', 'anthropic', 'openrouter'] as const) {
    const models = CATALOG[provider].slice(0, options.models ?? 3);
    for (let d = 0; d < options.days; d++) {
      const day: FakeDay = { dayStart: firstDay + d * DAY, usage: [], costs: [] };
      truth[provider].push(day);
      if (random() < 0.1) continue;
      for (let h = 0; h < 24; h++) {
        for (const model of models) {
          for (const project of PROJECTS[provider]) {
            if (random() > 0.25) continue;
            const inputTokens = 1 + int(200_000);
            const caching = provider !== 'openrouter';
            const cachedInputTokens = caching ? int(inputTokens / 2) : 0;
            const cacheWrite5mTokens = caching ? int((inputTokens - cachedInputTokens) / 10) : 0;
            const cacheWrite1hTokens = provider === 'anthropic' ? int((inputTokens - cachedInputTokens - cacheWrite5mTokens) / 10) : 0;
            const usage = { inputTokens, cachedInputTokens, cacheWrite5mTokens, cacheWrite1hTokens, outputTokens: int(20_000), requests: 1 + int(40) };
            day.usage.push({ hourStart: day.dayStart + h * HOUR, model: model.id, project, ...usage });
          }
        }
      }
      day.costs = costsOf(provider, day.usage, models, random);
    }
  }
  return withOpenRouterSettled(truth, options.now);
}

/**
 * Empties the OpenRouter days of `truth` that have not settled at `nowSec`: the adapter counts a
 * day only SETTLE_SECONDS after it ends, so a run in the first half hour of a UTC day must not
 * expect the day before.
 */
export function withOpenRouterSettled(truth: FakeTruth, nowSec: number): FakeTruth {
  for (const day of truth.openrouter) {
    if (day.dayStart + DAY + SETTLE_SECONDS <= nowSec) continue;
    day.usage = [];
    day.costs = [];
  }
  return truth;
}

function costsOf(provider: ProviderId, usage: FakeUsage[], models: ModelSpec[], random: () => number): FakeCost[] {
  const costs: FakeCost[] = [];
  for (const model of models) {
    for (const project of PROJECTS[provider]) {
      const hours = usage.filter((u) => u.model === model.id && u.project === project);
      if (hours.length === 0) continue;
      const sum = (pick: (u: FakeUsage) => number) => hours.reduce((total, u) => total + pick(u), 0);
      const cached = sum((u) => u.cachedInputTokens);
      const uncached = sum((u) => u.inputTokens) - cached;
      const output = sum((u) => u.outputTokens);
      const [inPrice, cachedPrice, outPrice] = model.prices;
      if (provider === 'openrouter') {
        costs.push({ model: model.id, lineItem: '', project, dollars: formatNanoAsDecimal(priced(uncached, inPrice) + priced(output, outPrice)) });
        continue;
      }
      const line = (kind: keyof typeof LINE_KIND, nano: bigint): FakeCost => ({
        model: model.id,
        lineItem: provider === 'openai' ? `${model.id}, ${LINE_KIND[kind].openai}` : `${model.label} Usage - ${LINE_KIND[kind].anthropic}`,
        project,
        dollars: formatNanoAsDecimal(nano),
      });
      costs.push(line('input', priced(uncached, inPrice)), line('output', priced(output, outPrice)));
      if (cached > 0) costs.push(line('cached', priced(cached, cachedPrice)));
    }
  }
  if (provider === 'openai' && usage.length > 0) {
    costs.push({ model: null, lineItem: 'web search tool calls', project: 'proj_alpha42', dollars: formatNanoAsDecimal(25_000_000n * BigInt(1 + Math.floor(random() * 40))) });
    costs.push({ model: null, lineItem: 'file search storage', project: '', dollars: '0.003472222' });
    // Has a model name but bills calls, not tokens: belongs to no model's token bill.
    costs.push({ model: null, lineItem: 'gpt-4o-mini-search-preview-2025-03-11, web search', project: '', dollars: '0.0275' });
  }
  if (provider === 'anthropic' && usage.length > 0) {
    costs.push({ model: null, lineItem: 'Web Search Usage', project: 'wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ', dollars: formatNanoAsDecimal(10_000_000n * BigInt(1 + Math.floor(random() * 30))) });
    costs.push({ model: null, lineItem: 'Code Execution Usage', project: '', dollars: '0.0123789' });
  }
  return costs;
}

/**
 * Exact totals per model of what `provider` used in [fromSec, toSec): usage by the hour it started,
 * cost by the day it was billed for (OpenRouter: usage by day too, since it only reports days).
 * Cost rows of no model are under NO_MODEL. Integer math throughout.
 */
export function expectedTotals(truth: FakeTruth, provider: ProviderId, fromSec: number, toSec: number): Record<string, ModelTotals> {
  const totals: Record<string, ModelTotals> = {};
  const of = (model: string) => (totals[model] ??= emptyTotals());
  const inWindow = (sec: number) => sec >= fromSec && sec < toSec;
  for (const day of truth[provider]) {
    for (const usage of day.usage) {
      if (!inWindow(provider === 'openrouter' ? day.dayStart : usage.hourStart)) continue;
      const t = of(usage.model);
      t.inputTokens += usage.inputTokens;
      t.outputTokens += usage.outputTokens;
      if (provider !== 'openrouter') {
        t.cachedInputTokens += usage.cachedInputTokens;
        t.cacheWriteTokens += usage.cacheWrite5mTokens + usage.cacheWrite1hTokens;
      }
      if (provider !== 'anthropic') t.requests = (t.requests ?? 0) + usage.requests;
    }
    if (!inWindow(day.dayStart)) continue;
    for (const cost of day.costs) of(cost.model ?? NO_MODEL).costNano += dollarsToNano(cost.dollars);
  }
  return totals;
}

/** The same totals computed from what an adapter returned, to compare with expectedTotals. */
export function totalsOf(records: readonly UsageRecord[]): Record<string, ModelTotals> {
  const totals: Record<string, ModelTotals> = {};
  for (const record of records) {
    const t = (totals[record.model] ??= emptyTotals());
    t.costNano += record.costNano;
    t.inputTokens += record.inputTokens;
    t.cachedInputTokens += record.cachedInputTokens;
    t.cacheWriteTokens += record.cacheWriteTokens;
    t.outputTokens += record.outputTokens;
    if (record.requests !== null) t.requests = (t.requests ?? 0) + record.requests;
  }
  return totals;
}

/** Requests start as null ("not reported") and become a number with the first count. */
function emptyTotals(): ModelTotals {
  return { costNano: 0n, inputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 0, requests: null };
}

/** An exact decimal dollar string as nano-dollars. */
export function dollarsToNano(dollars: string): bigint {
  const nano = parseAmountToNano(dollars, 0);
  if (nano === null) throw new Error(`not a decimal amount: ${dollars}`);
  return nano;
}
