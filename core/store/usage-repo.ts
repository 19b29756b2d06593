import type { ProviderId } from '../../shared/providers.js';
import type { UsageRecord, UsageSource } from '../../shared/usage.js';
import type { Db } from './db.js';

const DAY = 86_400;

/** A source's time range that a fetch returned completely. */
export interface CoveredRange {
  source: UsageSource;
  start: number;
  end: number;
}

/**
 * Writes one provider fetch atomically: rows of each covered range that the provider no longer
 * reports are removed, every record is upserted on its natural key (so re-polling never double
 * counts), and estimates on days that now have billed cost are marked superseded; the rollups
 * follow through their triggers, in the same transaction.
 */
export function writeProviderFetch(db: Db, provider: ProviderId, coverage: readonly CoveredRange[], records: readonly UsageRecord[], now: number): void {
  const deleteRange = db.prepare('DELETE FROM usage WHERE provider = ? AND source = ? AND bucket_start >= ? AND bucket_start < ?');
  const upsert = prepareUpsert(db);
  db.transaction(() => {
    for (const range of coverage) deleteRange.run(provider, range.source, range.start, range.end);
    // Billed days first, so that each usage row is stored already superseded where it will be: a
    // row changed twice would update the rollups twice (their triggers), which doubled a backfill.
    for (const record of records) if (record.source === 'cost') upsert(record, now);
    for (const record of records) if (record.source !== 'cost') upsert(record, now);
    const touched = touchedDays(coverage, records);
    if (touched) refreshSuperseded(db, provider, touched.start, touched.end);
  }).immediate();
}

/**
 * Returns a function that inserts or replaces one record on its natural key. A usage-endpoint row
 * is stored superseded when its day's billed cost is already stored (refreshSuperseded settles
 * what a fetch changes afterwards); other rows keep the flag they have.
 */
export function prepareUpsert(db: Db): (record: UsageRecord, now: number) => void {
  const statement = db.prepare(`
    INSERT INTO usage (provider, source, bucket_start, bucket_end, bucket_width, model, project, api_key_id, line_item,
      requests, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, cost_nano, cost_kind, superseded, unpriced, updated_at)
    VALUES (@provider, @source, @bucketStart, @bucketEnd, @bucketWidth, @model, @project, @apiKeyId, @lineItem,
      @requests, @inputTokens, @cachedInputTokens, @cacheWriteTokens, @outputTokens, @costNano, @costKind,
      @source = 'usage' AND EXISTS (
        SELECT 1 FROM usage AS billed WHERE billed.provider = @provider AND billed.source = 'cost'
          AND billed.bucket_start >= @bucketStart - @bucketStart % ${DAY} AND billed.bucket_start < @bucketStart - @bucketStart % ${DAY} + ${DAY}),
      @unpriced, @now)
    ON CONFLICT (provider, source, bucket_start, model, project, api_key_id, line_item) DO UPDATE SET
      bucket_end = excluded.bucket_end, bucket_width = excluded.bucket_width, requests = excluded.requests,
      input_tokens = excluded.input_tokens, cached_input_tokens = excluded.cached_input_tokens,
      cache_write_tokens = excluded.cache_write_tokens, output_tokens = excluded.output_tokens,
      cost_nano = excluded.cost_nano, cost_kind = excluded.cost_kind,
      superseded = CASE WHEN excluded.source = 'usage' THEN excluded.superseded ELSE superseded END,
      unpriced = excluded.unpriced, updated_at = excluded.updated_at`);
  return (record, now) => {
    statement.run({ ...record, unpriced: record.unpriced ? 1 : 0, now });
  };
}

function touchedDays(coverage: readonly CoveredRange[], records: readonly UsageRecord[]): { start: number; end: number } | null {
  let start = Infinity;
  let end = -Infinity;
  for (const range of coverage) {
    start = Math.min(start, range.start);
    end = Math.max(end, range.end);
  }
  for (const record of records) {
    start = Math.min(start, record.bucketStart);
    end = Math.max(end, record.bucketEnd);
  }
  if (!Number.isFinite(start)) return null;
  return { start: Math.floor(start / DAY) * DAY, end: Math.ceil(end / DAY) * DAY };
}

/**
 * An estimate stands only until the provider bills that day: a usage row is superseded when a
 * billed cost row exists for the same provider and UTC day. Derived from the rows themselves so
 * it can never drift from them.
 */
function refreshSuperseded(db: Db, provider: ProviderId, start: number, end: number): void {
  const billed = `EXISTS (
      SELECT 1 FROM usage AS billed
      WHERE billed.provider = usage.provider AND billed.source = 'cost'
        AND billed.bucket_start >= usage.bucket_start - usage.bucket_start % ${DAY}
        AND billed.bucket_start < usage.bucket_start - usage.bucket_start % ${DAY} + ${DAY})`;
  // Only the rows whose flag changes are written (and so only they touch the rollups).
  db.prepare(`UPDATE usage SET superseded = ${billed} WHERE provider = ? AND source = 'usage' AND bucket_start >= ? AND bucket_start < ? AND superseded IS NOT ${billed}`).run(provider, start, end);
}
