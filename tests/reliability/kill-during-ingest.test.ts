/**
 * `kill -9` of an `llmeter serve` whose SDK writes are pending, not folded into the hourly rows and
 * the customer rollups yet (core/ingest/pending-hours.ts): they are rows committed with the
 * batches, and the next start folds them, so the per-customer totals stay exact.
 */
import { describe, expect, it } from 'vitest';
import { startLlmeter } from '../support/cli.js';
import { customerRollupDrift } from '../support/customer-rollups.js';
import { tempDir } from '../support/temp.js';
import { llmeterEnv, openRaw, postIngest, scrapeFamilySum, sdkEvents } from './support.js';

const NOW = Math.floor(Date.now() / 1000);

describe('kill -9 of llmeter serve while SDK writes are pending', () => {
  it('the next start folds them: per-customer totals and hourly rows exact', async () => {
    const dataDir = tempDir('llmeter-kill-ingest-');
    const first = await startLlmeter(['serve', '--port', '0'], llmeterEnv(dataDir, null));
    const batches = Array.from({ length: 12 }, (_, i) => sdkEvents(200, { startSec: NOW - i * 60, customerId: `customer-${i % 4}` }));
    try {
      for (const batch of batches) expect((await postIngest(first.url, batch)).status).toBe(200);
    } finally {
      // At once, within the quiet second after the last batch: nothing has folded the pending writes.
      await first.stop('SIGKILL');
    }
    const left = openRaw(dataDir);
    try {
      expect(left.prepare('SELECT COUNT(*) FROM sdk_hourly_pending').pluck().get()).toBeGreaterThan(0);
      expect(left.prepare('SELECT COALESCE(SUM(requests), 0) FROM sdk_usage_hourly_keyed').pluck().get()).toBeLessThan(batches.flat().length);
    } finally {
      left.close();
    }

    const second = await startLlmeter(['serve', '--port', '0'], llmeterEnv(dataDir, null));
    try {
      expect(await scrapeFamilySum(second.url, 'llmeter_customer_requests_total')).toBe(batches.flat().length);
    } finally {
      await second.stop();
    }
    const after = openRaw(dataDir);
    try {
      expect(after.prepare('SELECT COUNT(*) FROM sdk_hourly_pending').pluck().get()).toBe(0);
      expect(after.prepare('SELECT SUM(requests) FROM sdk_usage_hourly_keyed').pluck().get()).toBe(batches.flat().length);
      expect(customerRollupDrift(after)).toEqual([]);
    } finally {
      after.close();
    }
  });
});
