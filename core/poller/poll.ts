import type { ProviderId } from '../../shared/providers.js';
import { PROVIDERS } from '../../shared/providers.js';
import type { UsageRecord } from '../../shared/usage.js';
import { estimateCostNano } from '../pricing/estimate.js';
import { ProviderError } from '../providers/errors.js';
import type { HttpClient } from '../providers/http.js';
import type { ProviderAdapter } from '../providers/types.js';
import { storageFault, type Db } from '../store/db.js';
import { getSyncState, recordSyncFailure, recordSyncSuccess } from '../store/sync-state.js';
import { writeProviderFetch } from '../store/usage-repo.js';
import type { Logger } from '../log.js';

const DAY = 86_400;

/** How far back to look. */
export interface PollWindowOptions {
  /** Days fetched on a provider's first poll. */
  backfillDays: number;
  /** Days re-fetched on every poll because providers revise recent buckets. */
  trailingDays: number;
}

/** Everything one provider poll needs. */
export interface PollTarget {
  provider: ProviderId;
  adapter: ProviderAdapter;
  key: string;
  baseUrl: string;
}

/** The result of polling one provider, for CLI output and the scheduler. */
export type PollOutcome =
  | { provider: ProviderId; ok: true; records: number; unpricedModels: string[]; durationMs: number; requests: number }
  | { provider: ProviderId; ok: false; error: string; kind: string; durationMs: number };

/**
 * The window one poll fetches: from `backfillDays` before today on the first poll, otherwise from
 * `trailingDays` before the older of the last watermark and today (so a gap while the app was off is
 * backfilled), to the end of today. Day-aligned, because providers start the first bucket at the
 * requested time.
 */
export function pollWindow(watermark: number | null, nowSec: number, options: PollWindowOptions): { start: number; end: number } {
  const todayStart = nowSec - (nowSec % DAY);
  const end = todayStart + DAY;
  const start = watermark === null ? todayStart - options.backfillDays * DAY : Math.min(watermark - (watermark % DAY), todayStart) - options.trailingDays * DAY;
  return { start, end };
}

/** Fills token × price estimates into usage rows; returns the models the price table does not know. */
export function estimateUsage(records: UsageRecord[]): string[] {
  const unpriced = new Set<string>();
  for (const record of records) {
    if (record.source === 'cost' || record.costKind === 'billed') continue;
    const estimate = estimateCostNano(record.provider, record.model, record, new Date(record.bucketStart * 1000));
    if (estimate === null) {
      record.costNano = 0n;
      record.unpriced = true;
      unpriced.add(record.model);
    } else {
      record.costNano = estimate;
      record.unpriced = false;
    }
    record.costKind = 'estimated';
  }
  return [...unpriced].sort();
}

/**
 * Polls one provider once and stores the result. Never throws: a failure is recorded in the
 * provider's sync state (what was stored before stays) and returned as an outcome.
 */
export async function pollProvider(
  db: Db,
  http: HttpClient,
  target: PollTarget,
  options: PollWindowOptions & { now?: () => number; log?: Logger; onProgress?: (fraction: number) => void },
): Promise<PollOutcome> {
  const now = options.now ?? Date.now;
  const startedMs = now();
  const nowSec = Math.floor(startedMs / 1000);
  const state = getSyncState(db, target.provider);
  const window = pollWindow(state?.watermark ?? null, nowSec, options);
  const requestsBefore = http.requestCount;
  try {
    const result = await target.adapter.fetch({ baseUrl: target.baseUrl, key: target.key, http, ...(options.onProgress ? { onProgress: options.onProgress } : {}) }, window);
    const unpricedModels = estimateUsage(result.records);
    const writtenAt = Math.floor(now() / 1000);
    writeProviderFetch(db, target.provider, result.coverage, result.records, writtenAt);
    let latestBucketEnd: number | null = null;
    for (const record of result.records) latestBucketEnd = Math.max(latestBucketEnd ?? 0, record.bucketEnd);
    const durationMs = now() - startedMs;
    recordSyncSuccess(db, target.provider, {
      at: writtenAt,
      watermark: Math.min(window.end, writtenAt),
      durationMs,
      latestBucketEnd,
      ...(result.balance ? { balance: result.balance } : {}),
    });
    const requests = http.requestCount - requestsBefore;
    options.log?.info('poll finished', { provider: target.provider, records: result.records.length, requests, durationMs, unpricedModels });
    if (unpricedModels.length > 0) {
      options.log?.warn('no price known for some models; their tokens are kept but their cost is not estimated until billed', { provider: target.provider, models: unpricedModels });
    }
    return { provider: target.provider, ok: true, records: result.records.length, unpricedModels, durationMs, requests };
  } catch (err) {
    const durationMs = now() - startedMs;
    const { message, kind } = describeFailure(target.provider, err);
    // Recording a lock timeout would wait for the same lock again; any other storage fault (a full
    // disk) usually fails this write too, and the outcome still says what happened.
    if (kind !== 'storage_busy') {
      try {
        recordSyncFailure(db, target.provider, { at: Math.floor(now() / 1000), message, kind, durationMs });
      } catch (recordErr) {
        options.log?.warn('the failure could not be recorded in the sync state', { provider: target.provider, error: recordErr instanceof Error ? recordErr.message : String(recordErr) });
      }
    }
    options.log?.error('poll failed', { provider: target.provider, kind, error: message, durationMs });
    return { provider: target.provider, ok: false, error: message, kind, durationMs };
  }
}

function describeFailure(provider: ProviderId, err: unknown): { message: string; kind: string } {
  if (err instanceof ProviderError) return { message: err.message, kind: err.kind };
  const name = PROVIDERS[provider].displayName;
  const fault = storageFault(err);
  if (fault) return { message: `${name}: the data was fetched but could not be stored. ${fault.message} The next poll fetches it again.`, kind: `storage_${fault.kind}` };
  const detail = err instanceof Error ? err.message : String(err);
  return { message: `${name}: polling failed unexpectedly (${detail}). Nothing stored earlier was lost; the next poll retries.`, kind: 'internal' };
}
