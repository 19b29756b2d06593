/**
 * `kill -9` of an `llmeter serve` that holds SDK changes of the customer rollups in memory
 * (core/ingest/held-changes.ts): the days they fall in were marked with the hourly rows, and the
 * next start sums them again, so the per-customer totals stay exact.
 */
import { describe, expect, it } from 'vitest';
import { startLlmeter } from '../support/cli.js';
import { customerRollupDrift } from '../support/customer-rollups.js';
import { tempDir } from '../support/temp.js';
import { llmeterEnv, openRaw, postIngest, scrapeFamilySum, sdkEvents } from './support.js';

const NOW = Math.floor(Date.now() / 1000);

describe('kill -9 of llmeter serve while it holds SDK changes', () => {
  it('the next start sums the marked days again from the hourly rows: per-customer totals exact', async () => {
    const dataDir = tempDir('llmeter-kill-ingest-');
    const first = await startLlmeter(['serve', '--port', '0'], llmeterEnv(dataDir, null));
    const batches = Array.from({ length: 12 }, (_, i) => sdkEvents(200, { startSec: NOW - i * 60, customerId: `customer-${i % 4}` }));
    try {
      for (const batch of batches) expect((await postIngest(first.url, batch)).status).toBe(200);
    } finally {
      // At once, within the quiet second after the last batch: nothing has folded what it holds.
      await first.stop('SIGKILL');
    }
    const left = openRaw(dataDir);
    try {
      expect(left.prepare('SELECT COUNT(*) FROM sdk_customers_unlogged').pluck().get()).toBeGreaterThan(0);
      expect(customerRollupDrift(left)).not.toEqual([]);
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
      expect(after.prepare('SELECT COUNT(*) FROM sdk_customers_unlogged').pluck().get()).toBe(0);
      expect(customerRollupDrift(after)).toEqual([]);
    } finally {
      after.close();
    }
  });
});
