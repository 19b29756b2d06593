import type { UsageRecord } from '../../shared/usage.js';

/** A usage record with sensible defaults, for tests that only care about a few fields. */
export function record(fields: Partial<UsageRecord> & Pick<UsageRecord, 'provider' | 'source' | 'bucketStart'>): UsageRecord {
  const daily = fields.source === 'cost';
  return {
    bucketEnd: fields.bucketStart + (daily ? 86_400 : 3_600),
    bucketWidth: daily ? '1d' : '1h',
    model: 'gpt-4o',
    project: '',
    apiKeyId: '',
    lineItem: '',
    requests: daily ? null : 1,
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 0,
    costNano: 0n,
    costKind: daily ? 'billed' : 'estimated',
    ...fields,
  };
}
