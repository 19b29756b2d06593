/**
 * Six simulated days of polls every 3 hours while the providers' data grows hour by hour: the
 * machine's clock jumps back an hour across one midnight and forward an hour across another, OpenAI
 * is down for 30 hours and Anthropic for more than four days (longer than the trailing window).
 * After every poll nothing is counted twice (tokens and requests never exceed what the provider has
 * reported so far); after the last one everything is there (the gaps were backfilled from the
 * watermark), to the nano-dollar.
 *
 * The poller and the production adapters run in-process on the simulated clock (the adapters'
 * "today" comes from the same clock as the poller's, as on a real machine whose clock jumps).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollProvider, type PollOutcome } from '../../core/poller/poll.js';
import { createHttpClient } from '../../core/providers/http.js';
import { createAnthropicAdapter } from '../../core/providers/anthropic.js';
import { createOpenAiAdapter } from '../../core/providers/openai.js';
import { createOpenRouterAdapter } from '../../core/providers/openrouter.js';
import type { ProviderAdapter } from '../../core/providers/types.js';
import { openDatabase, type Db } from '../../core/store/db.js';
import { getSyncState } from '../../core/store/sync-state.js';
import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import { DAY, expectedTotals, FAKE_KEYS, generateTruth, HOUR, startProviderFake, type FakeTruth, type ProviderFake } from '../fakes/providers.js';
import { tempDir } from '../support/temp.js';
import { expectIntact, expectStoredEqualsTruth, storedTotals } from './support.js';

/** The end of the generated history: a UTC midnight a little before today. */
const END = Math.floor(Date.now() / 1000 / DAY) * DAY - DAY;
const START = END - 6 * DAY;
const STEP = 3 * HOUR;
const FULL_TRUTH = generateTruth({ days: 10, seed: 31, now: END });

/** What the machine's clock says at real time `t`: an hour behind across one midnight, ahead across another. */
function clockOffset(t: number): number {
  if (t >= END - 4 * DAY - 3 * HOUR && t < END - 4 * DAY + 6 * HOUR) return -HOUR;
  if (t >= END - 2 * DAY - 4 * HOUR && t < END - 2 * DAY + 5 * HOUR) return HOUR;
  return 0;
}

/** Providers that answer every request with 503 at real time `t`. */
function down(t: number): ProviderId[] {
  const out: ProviderId[] = [];
  if (t >= END - 5 * DAY + 5 * HOUR && t < END - 4 * DAY + 11 * HOUR) out.push('openai');
  if (t >= END - 5 * DAY && t < END - DAY + 6 * HOUR) out.push('anthropic');
  return out;
}

/**
 * What the providers have reported by real time `t`: usage of completed hours, billed cost of
 * completed days; OpenRouter (daily only) completed days.
 */
function revealedAt(t: number): FakeTruth {
  const reveal = (provider: ProviderId) =>
    FULL_TRUTH[provider].map((day) => {
      const dayDone = day.dayStart + DAY <= t;
      return {
        dayStart: day.dayStart,
        usage: day.usage.filter((u) => (provider === 'openrouter' ? dayDone : u.hourStart + HOUR <= t)).map((u) => ({ ...u })),
        costs: dayDone ? day.costs.map((c) => ({ ...c })) : [],
      };
    });
  return { openai: reveal('openai'), anthropic: reveal('anthropic'), openrouter: reveal('openrouter') };
}

let fake: ProviderFake;
beforeAll(async () => {
  fake = await startProviderFake({ truth: revealedAt(START), now: START });
});
afterAll(async () => fake?.close());

describe('clock jumps and provider outages over six simulated days', () => {
  it('never counts anything twice, and backfills every gap once the clock is right and the provider is back', async () => {
    const db: Db = openDatabase(tempDir('llmeter-clock-'));
    let machineClockMs = 0;
    const now = (): number => machineClockMs;
    const adapters: Record<ProviderId, ProviderAdapter> = {
      openai: createOpenAiAdapter({ now }),
      anthropic: createAnthropicAdapter({ now }),
      openrouter: createOpenRouterAdapter({ now }),
    };
    const http = createHttpClient({ maxRetries: 0 });
    const failures: Record<ProviderId, number> = { openai: 0, anthropic: 0, openrouter: 0 };
    try {
      for (let t = START; t <= END + STEP; t += STEP) {
        fake.truth = revealedAt(t);
        fake.now = t;
        fake.reset();
        for (const provider of down(t)) fake.inject(provider, { status: 503 }, 1000);
        machineClockMs = (t + clockOffset(t)) * 1000;
        const watermarksBefore = Object.fromEntries(PROVIDER_IDS.map((p) => [p, getSyncState(db, p)?.watermark ?? null]));

        const outcomes: PollOutcome[] = [];
        for (const provider of PROVIDER_IDS) {
          outcomes.push(await pollProvider(db, http, { provider, adapter: adapters[provider], key: FAKE_KEYS[provider].admin, baseUrl: fake.baseUrl(provider) }, { backfillDays: 30, trailingDays: 3, now }));
        }

        const when = `${new Date(t * 1000).toISOString()} (clock ${clockOffset(t) / HOUR} h)`;
        for (const outcome of outcomes) {
          const isDown = down(t).includes(outcome.provider);
          expect(outcome.ok, `${outcome.provider} at ${when}: ${outcome.ok ? '' : outcome.error}`).toBe(!isDown);
          if (isDown) {
            failures[outcome.provider]++;
            // A failed poll never moves the watermark: the next success starts where the last one ended.
            expect(getSyncState(db, outcome.provider)?.watermark ?? null, `${outcome.provider} watermark at ${when}`).toBe(watermarksBefore[outcome.provider]);
          }
        }
        // Nothing twice: what is stored never exceeds what the provider has reported by now.
        for (const provider of PROVIDER_IDS) {
          const expected = expectedTotals(fake.truth, provider, 0, Number.MAX_SAFE_INTEGER);
          for (const [model, stored] of Object.entries(storedTotals(db, provider))) {
            const truth = expected[model];
            expect(truth, `${provider}/${model} at ${when} is not in the truth`).toBeDefined();
            for (const field of ['inputTokens', 'cachedInputTokens', 'cacheWriteTokens', 'outputTokens'] as const) {
              expect(stored[field], `${provider}/${model} ${field} at ${when}`).toBeLessThanOrEqual(truth![field]);
            }
            expect(stored.requests ?? 0, `${provider}/${model} requests at ${when}`).toBeLessThanOrEqual(truth!.requests ?? 0);
          }
        }
      }
      expect(failures.openai).toBeGreaterThanOrEqual(30 / 3 - 1);
      expect(failures.anthropic * STEP).toBeGreaterThan(4 * DAY);

      // The last poll ran at END + 3 h with the right clock and every provider up: the whole history is there.
      expectIntact(db);
      expectStoredEqualsTruth(db, FULL_TRUTH, PROVIDER_IDS, 'after the last poll');
    } finally {
      db.close();
    }
  });
});
