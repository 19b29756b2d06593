import type { UsageRecord } from '../../shared/usage.js';
import { JsonReader } from './json-reader.js';
import type { AdapterOptions } from './paging.js';
import { joinUrl } from './paging.js';
import { RecordCollector } from './records.js';
import { DAY, startOfDay, toIsoDate } from './time.js';
import type { Coverage, FetchWindow, ProviderAdapter, ProviderContext } from './types.js';

const ACTIVITY_PATH = '/api/v1/activity';
const CREDITS_PATH = '/api/v1/credits';
/** Activity covers the last 30 completed UTC days and nothing older. */
const ACTIVITY_DAYS = 30;
/**
 * OpenRouter aggregates by request start, so a day's figures still move for a while after
 * midnight (its docs suggest waiting ~30 minutes); a day counts as complete only after that.
 */
export const SETTLE_SECONDS = 30 * 60;

/**
 * OpenRouter's activity (billed dollars, tokens and requests per day and model for the last 30
 * completed UTC days) and credits (prepaid balance). Both need a management key.
 *
 * Requests: at most one activity call per fetch (plus credits). Without `date` one call returns all
 * 30 days, so that is used whenever the window holds two or more available days; exactly one day
 * is asked for with `?date=` (same count, smaller body); a window with no completed day left in the
 * last 30 (e.g. today only) makes no activity call at all.
 */
export function createOpenRouterAdapter(options: AdapterOptions = {}): ProviderAdapter {
  const now = options.now ?? Date.now;
  const headers = (ctx: ProviderContext) => ({ authorization: `Bearer ${ctx.key}` });

  return {
    id: 'openrouter',

    async fetch(ctx, window) {
      const covered = activityCoverage(window, Math.floor(now() / 1000));
      const collector = new RecordCollector();
      if (covered) {
        const days = (covered.end - covered.start) / DAY;
        const query = days === 1 ? `?date=${toIsoDate(covered.start)}` : '';
        const body = await ctx.http.getJson('openrouter', joinUrl(ctx.baseUrl, `${ACTIVITY_PATH}${query}`), headers(ctx));
        const rows = activityRows(body).filter((row) => row.bucketStart >= covered.start && row.bucketStart < covered.end);
        // One response is one bucket: its rows per endpoint and upstream provider add up per day and model.
        collector.addBucket(rows);
      }
      return {
        records: collector.records(),
        coverage: covered ? [covered] : [],
        balance: await readCredits(ctx, headers(ctx)),
      };
    },

    async validateKey(ctx) {
      await readCredits(ctx, headers(ctx));
    },
  };
}

/** The OpenRouter adapter with production settings. */
export const openrouterAdapter = createOpenRouterAdapter();

/** The whole days of the window that activity can report completely, or null when there are none. */
function activityCoverage(window: FetchWindow, nowSec: number): Coverage | null {
  const oldest = startOfDay(nowSec) - ACTIVITY_DAYS * DAY;
  const settled = startOfDay(nowSec - SETTLE_SECONDS);
  // Whole days only: a day row's bucket is the whole day, so a partial day cannot be covered.
  const start = Math.max(Math.ceil(window.start / DAY) * DAY, oldest);
  const end = Math.min(startOfDay(window.end), settled);
  return end > start ? { source: 'cost', start, end } : null;
}

function activityRows(body: unknown): UsageRecord[] {
  const read = new JsonReader('openrouter', ACTIVITY_PATH);
  const data = read.array(read.object(body, '(body)')['data'], 'data');
  return data.map((value, index) => {
    const at = `data[${index}]`;
    const row = read.object(value, at);
    const day = read.date(row['date'], `${at}.date`);
    return {
      provider: 'openrouter',
      source: 'cost',
      bucketStart: day,
      bucketEnd: day + DAY,
      bucketWidth: '1d',
      model: read.string(row['model'], `${at}.model`),
      project: '',
      apiKeyId: '',
      lineItem: '',
      requests: read.count(row['requests'], `${at}.requests`),
      inputTokens: read.count(row['prompt_tokens'], `${at}.prompt_tokens`),
      // Activity does not split out cached or cache-write tokens.
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: read.count(row['completion_tokens'], `${at}.completion_tokens`),
      // Only `usage` (OpenRouter credits spent) is OpenRouter's bill. `byok_usage_inference` is what
      // bring-your-own-key requests cost at the upstream provider, which bills it itself; adding it
      // here would count that spend twice for anyone who also connects that provider.
      costNano: read.amountNano(row['usage'], `${at}.usage`, 0),
      costKind: 'billed',
    };
  });
}

async function readCredits(ctx: ProviderContext, headers: Record<string, string>): Promise<{ creditsNano: bigint; usedNano: bigint }> {
  const read = new JsonReader('openrouter', CREDITS_PATH);
  const body = await ctx.http.getJson('openrouter', joinUrl(ctx.baseUrl, CREDITS_PATH), headers);
  const data = read.object(read.object(body, '(body)')['data'], 'data');
  return {
    creditsNano: read.amountNano(data['total_credits'], 'data.total_credits', 0),
    usedNano: read.amountNano(data['total_usage'], 'data.total_usage', 0),
  };
}
