import type { ProviderId } from '../../shared/providers.js';
import type { Db } from './db.js';

/** What LLMeter remembers about polling one provider. Times are Unix seconds. */
export interface SyncState {
  provider: ProviderId;
  /** End of the last window fetched completely; the next poll starts a trailing window before it. */
  watermark: number | null;
  lastAttemptAt: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  lastErrorKind: string | null;
  lastDurationMs: number | null;
  errorCount: number;
  /** End of the newest bucket that held data: how far the provider's billing has caught up. */
  latestBucketEnd: number | null;
  balanceCreditsNano: bigint | null;
  balanceUsedNano: bigint | null;
}

interface SyncRow {
  provider: string;
  watermark: number | null;
  last_attempt_at: number | null;
  last_success_at: number | null;
  last_error: string | null;
  last_error_kind: string | null;
  last_duration_ms: number | null;
  error_count: number;
  latest_bucket_end: number | null;
  balance_credits_nano: bigint | null;
  balance_used_nano: bigint | null;
}

function toNumber(value: bigint | number | null): number | null {
  return value === null ? null : Number(value);
}

/** Every provider's sync state, oldest provider first. */
export function listSyncStates(db: Db): SyncState[] {
  const rows = db.prepare('SELECT * FROM sync_state ORDER BY provider').safeIntegers(true).all() as SyncRow[];
  return rows.map((row) => ({
    provider: row.provider as ProviderId,
    watermark: toNumber(row.watermark),
    lastAttemptAt: toNumber(row.last_attempt_at),
    lastSuccessAt: toNumber(row.last_success_at),
    lastError: row.last_error,
    lastErrorKind: row.last_error_kind,
    lastDurationMs: toNumber(row.last_duration_ms),
    errorCount: Number(row.error_count),
    latestBucketEnd: toNumber(row.latest_bucket_end),
    balanceCreditsNano: row.balance_credits_nano,
    balanceUsedNano: row.balance_used_nano,
  }));
}

/** One provider's sync state, or null before its first poll. */
export function getSyncState(db: Db, provider: ProviderId): SyncState | null {
  return listSyncStates(db).find((state) => state.provider === provider) ?? null;
}

/** Records a successful poll. */
export function recordSyncSuccess(
  db: Db,
  provider: ProviderId,
  fields: { at: number; watermark: number; durationMs: number; latestBucketEnd: number | null; balance?: { creditsNano: bigint; usedNano: bigint } },
): void {
  db.prepare(`
    INSERT INTO sync_state (provider, watermark, last_attempt_at, last_success_at, last_error, last_error_kind, last_duration_ms, latest_bucket_end, balance_credits_nano, balance_used_nano)
    VALUES (@provider, @watermark, @at, @at, NULL, NULL, @durationMs, @latestBucketEnd, @credits, @used)
    ON CONFLICT (provider) DO UPDATE SET
      watermark = MAX(COALESCE(watermark, 0), excluded.watermark), last_attempt_at = excluded.last_attempt_at,
      last_success_at = excluded.last_success_at, last_error = NULL, last_error_kind = NULL,
      last_duration_ms = excluded.last_duration_ms,
      latest_bucket_end = MAX(COALESCE(latest_bucket_end, 0), COALESCE(excluded.latest_bucket_end, 0)),
      balance_credits_nano = COALESCE(excluded.balance_credits_nano, balance_credits_nano),
      balance_used_nano = COALESCE(excluded.balance_used_nano, balance_used_nano)`).run({
    provider,
    at: fields.at,
    watermark: fields.watermark,
    durationMs: fields.durationMs,
    latestBucketEnd: fields.latestBucketEnd,
    credits: fields.balance?.creditsNano ?? null,
    used: fields.balance?.usedNano ?? null,
  });
}

/** Records a failed poll; what was stored before stays. */
export function recordSyncFailure(db: Db, provider: ProviderId, fields: { at: number; message: string; kind: string; durationMs: number }): void {
  db.prepare(`
    INSERT INTO sync_state (provider, last_attempt_at, last_error, last_error_kind, last_duration_ms, error_count)
    VALUES (@provider, @at, @message, @kind, @durationMs, 1)
    ON CONFLICT (provider) DO UPDATE SET
      last_attempt_at = excluded.last_attempt_at, last_error = excluded.last_error,
      last_error_kind = excluded.last_error_kind, last_duration_ms = excluded.last_duration_ms,
      error_count = error_count + 1`).run({ provider, ...fields });
}
