import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROVIDER_IDS } from '../../shared/providers.js';
import { startLlmeter } from '../support/cli.js';
import { parseSamples } from '../support/prom-text.js';
import { tempDir } from '../support/temp.js';

describe('llmeter demo', () => {
  it('serves a generated history from its own folder, marked demo, without touching real data', async () => {
    const dataDir = tempDir();
    const demo = await startLlmeter(['demo', '--port', '0', '--days', '30'], { HOME: dataDir, LLMETER_DATA_DIR: dataDir, PATH: process.env.PATH, LLMETER_OPENAI_ADMIN_KEY: 'sk-admin-must-not-be-used-0000000000' });
    try {
      await expect.poll(() => demo.output()).toContain('Demo data folder');
      const token = /Bearer ([^"\s]+)/.exec(demo.output())![1]!;
      const metrics = parseSamples(await (await fetch(`${demo.url}/api/v1/metrics`, { headers: { Authorization: `Bearer ${token}` } })).text());
      const costs = metrics.filter((s) => s.name === 'llmeter_cost_usd');
      for (const provider of PROVIDER_IDS) expect(costs.some((s) => s.labels.provider === provider && Number(s.value) > 0), provider).toBe(true);

      const uiToken = /\?token=(\S+)/.exec(demo.output())![1]!;
      const overview = (await (await fetch(`${demo.url}/api/v1/ui/getOverview`, { method: 'POST', headers: { Authorization: `Bearer ${uiToken}`, 'Content-Type': 'application/json' } })).json()) as { demo: boolean; providers: Array<{ keySource: string | null }> };
      expect(overview.demo).toBe(true);
      // The key in the environment was not read: demo polls nothing.
      expect(overview.providers.map((p) => p.keySource)).toEqual([null, null, null]);

      expect(existsSync(path.join(dataDir, 'demo', 'llmeter.sqlite'))).toBe(true);
      expect(existsSync(path.join(dataDir, 'llmeter.sqlite'))).toBe(false);
    } finally {
      await demo.stop();
    }
  });
});
