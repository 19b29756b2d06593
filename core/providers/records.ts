import type { UsageRecord } from '../../shared/usage.js';

/** The store's natural key of a record: two records with equal keys are the same row. */
function naturalKey(record: UsageRecord): string {
  return JSON.stringify([record.source, record.bucketStart, record.model, record.project, record.apiKeyId, record.lineItem]);
}

/**
 * Collects records so that each natural key occurs once. Rows with equal keys inside one bucket
 * are parts of the same total (dimensions we do not group by, OpenRouter's per-endpoint rows) and
 * are summed; a bucket the server sends again on a later page restates it, so its rows replace
 * the earlier ones instead of counting twice.
 */
export class RecordCollector {
  private readonly byKey = new Map<string, UsageRecord>();

  /** Adds all rows of one bucket as the provider sent it. */
  addBucket(rows: readonly UsageRecord[]): void {
    const bucket = new Map<string, UsageRecord>();
    for (const row of rows) {
      const key = naturalKey(row);
      const earlier = bucket.get(key);
      bucket.set(key, earlier ? sumRecords(earlier, row) : row);
    }
    for (const [key, row] of bucket) this.byKey.set(key, row);
  }

  records(): UsageRecord[] {
    return [...this.byKey.values()];
  }
}

function sumRecords(a: UsageRecord, b: UsageRecord): UsageRecord {
  return {
    ...a,
    requests: a.requests === null && b.requests === null ? null : (a.requests ?? 0) + (b.requests ?? 0),
    inputTokens: a.inputTokens + b.inputTokens,
    cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    costNano: a.costNano + b.costNano,
  };
}
