import type { ProviderId } from '../../shared/providers.js';
import { seededRandom } from '../../shared/random.js';
import { NO_MODEL, type UsageRecord } from '../../shared/usage.js';
import { estimateCostNano } from '../pricing/estimate.js';
import type { Db } from '../store/db.js';
import { recordSyncSuccess } from '../store/sync-state.js';
import { writeProviderFetch, type CoveredRange } from '../store/usage-repo.js';

const HOUR = 3600;
const DAY = 86_400;

interface DemoModel {
  provider: ProviderId;
  model: string;
  /** Mean input tokens per hour at the start of the history. */
  inputPerHour: number;
  outputRatio: number;
  cacheShare: number;
  project: string;
}

const DEMO_MODELS: DemoModel[] = [
  { provider: 'openai', model: 'gpt-4o-2024-08-06', inputPerHour: 900_000, outputRatio: 0.12, cacheShare: 0.35, project: 'proj_support_bot' },
  { provider: 'openai', model: 'gpt-4o-mini-2024-07-18', inputPerHour: 4_000_000, outputRatio: 0.08, cacheShare: 0.5, project: 'proj_search' },
  { provider: 'openai', model: 'text-embedding-3-small', inputPerHour: 6_000_000, outputRatio: 0, cacheShare: 0, project: 'proj_search' },
  { provider: 'anthropic', model: 'claude-sonnet-4-20250514', inputPerHour: 1_500_000, outputRatio: 0.1, cacheShare: 0.6, project: 'wrkspc_agents' },
  { provider: 'anthropic', model: 'claude-3-5-haiku-20241022', inputPerHour: 2_500_000, outputRatio: 0.15, cacheShare: 0.2, project: 'wrkspc_triage' },
  { provider: 'openrouter', model: 'meta-llama/llama-3.1-70b-instruct', inputPerHour: 700_000, outputRatio: 0.2, cacheShare: 0, project: '' },
  { provider: 'openrouter', model: 'google/gemini-2.0-flash-001', inputPerHour: 1_200_000, outputRatio: 0.1, cacheShare: 0, project: '' },
];

/** Relative traffic at an hour: a working-day curve in UTC, quieter weekends, slow growth. */
function load(at: number, start: number, days: number): number {
  const date = new Date(at * 1000);
  const hour = date.getUTCHours();
  const weekday = date.getUTCDay();
  const diurnal = 0.35 + 0.65 * Math.max(0, Math.sin(((hour - 6) / 24) * 2 * Math.PI));
  const weekend = weekday === 0 || weekday === 6 ? 0.45 : 1;
  const growth = 0.7 + 0.6 * ((at - start) / (days * DAY));
  return diurnal * weekend * growth;
}

/**
 * Fills a fresh database with a realistic history: `days` of hourly usage for several models of all
 * three providers, billed daily cost for every finished day (as providers bill), estimates for
 * today, a web-search line item with no model, and sync state as if polls had succeeded.
 * Deterministic for a given seed and clock.
 */
export function generateDemoHistory(db: Db, options: { days?: number; nowMs?: number; seed?: number } = {}): { rows: number } {
  const days = options.days ?? 90;
  const nowSec = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const todayStart = nowSec - (nowSec % DAY);
  const start = todayStart - days * DAY;
  const currentHour = nowSec - (nowSec % HOUR);
  const rand = seededRandom(options.seed ?? 42);
  let rows = 0;

  for (const provider of ['openai', 'anthropic', 'openrouter'] as const) {
    const models = DEMO_MODELS.filter((m) => m.provider === provider);
    const records: UsageRecord[] = [];
    for (let day = start; day <= todayStart; day += DAY) {
      let dayWebSearchNano = 0n;
      for (const m of models) {
        let dayCostNano = 0n;
        const dayTokens = { input: 0, cached: 0, output: 0, requests: 0 };
        for (let hour = day; hour < day + DAY && hour <= currentHour; hour += HOUR) {
          const input = Math.round(m.inputPerHour * load(hour, start, days) * (0.6 + 0.8 * rand()));
          const cached = Math.round(input * m.cacheShare * (0.8 + 0.4 * rand()));
          const output = Math.round(input * m.outputRatio * (0.7 + 0.6 * rand()));
          const requests = Math.max(1, Math.round(input / (1500 + 2500 * rand())));
          const tokens = { inputTokens: input, cachedInputTokens: cached, cacheWriteTokens: 0, outputTokens: output };
          const cost = estimateCostNano(provider, m.model, tokens, new Date(hour * 1000)) ?? 0n;
          dayCostNano += cost;
          dayTokens.input += input;
          dayTokens.cached += cached;
          dayTokens.output += output;
          dayTokens.requests += requests;
          if (provider !== 'openrouter') {
            records.push({ provider, source: 'usage', bucketStart: hour, bucketEnd: hour + HOUR, bucketWidth: '1h', model: m.model, project: m.project, apiKeyId: '', lineItem: '', requests, ...tokens, costNano: cost, costKind: 'estimated' });
          }
        }
        if (day === todayStart) continue; // today is not billed yet: its usage rows stay estimates
        // The bill differs a little from list-price estimates (discounts, rounding), as real bills do.
        const billed = (dayCostNano * BigInt(Math.round(970 + 40 * rand()))) / 1000n;
        if (provider === 'openrouter') {
          records.push({ provider, source: 'cost', bucketStart: day, bucketEnd: day + DAY, bucketWidth: '1d', model: m.model, project: '', apiKeyId: '', lineItem: '', requests: dayTokens.requests, inputTokens: dayTokens.input, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: dayTokens.output, costNano: billed, costKind: 'billed' });
        } else {
          records.push({ provider, source: 'cost', bucketStart: day, bucketEnd: day + DAY, bucketWidth: '1d', model: m.model, project: m.project, apiKeyId: '', lineItem: `${m.model}, input and output`, requests: null, inputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 0, costNano: billed, costKind: 'billed' });
          dayWebSearchNano += billed / 50n;
        }
      }
      if (provider === 'openai' && day !== todayStart && dayWebSearchNano > 0n) {
        records.push({ provider, source: 'cost', bucketStart: day, bucketEnd: day + DAY, bucketWidth: '1d', model: NO_MODEL, project: '', apiKeyId: '', lineItem: 'web search tool calls', requests: null, inputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 0, costNano: dayWebSearchNano, costKind: 'billed' });
      }
    }
    const coverage: CoveredRange[] = [
      { source: 'usage', start, end: todayStart + DAY },
      { source: 'cost', start, end: todayStart + DAY },
    ];
    writeProviderFetch(db, provider, coverage, records, nowSec);
    rows += records.length;
    recordSyncSuccess(db, provider, {
      at: nowSec - 300,
      watermark: nowSec - 300,
      durationMs: 1200,
      latestBucketEnd: provider === 'openrouter' ? todayStart : currentHour,
      ...(provider === 'openrouter' ? { balance: { creditsNano: 500n * 1_000_000_000n, usedNano: 312_450_000_000n } } : {}),
    });
  }
  return { rows };
}
