/**
 * `npm start` where no Electron binary can be had (these machines): one line says so, the headless
 * mode starts and prints the dashboard URL, and the server answers there until stopped.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp.js';

describe('npm start without an Electron binary', () => {
  it('says so in one line, then serves headless and prints the dashboard URL', async () => {
    const dataDir = tempDir();
    const child = spawn(process.execPath, ['scripts/start.mjs'], {
      env: {
        PATH: process.env.PATH,
        HOME: dataDir,
        LLMETER_DATA_DIR: dataDir,
        LLMETER_PORT: '0',
        LLMETER_METRICS_TOKEN: 'test-metrics-token-0123456789',
        LLMETER_INGEST_TOKEN: 'test-ingest-token-0123456789',
        DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent',
        // No binary on any machine, and no download attempt: the fallback is what is under test.
        ELECTRON_OVERRIDE_DIST_PATH: path.join(dataDir, 'no-electron'),
        ELECTRON_SKIP_BINARY_DOWNLOAD: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    const exited = once(child, 'exit');
    try {
      const deadline = Date.now() + 20_000;
      while (!/Dashboard: (\S+)/.test(stdout) && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 50));
      const lines = stdout.split('\n');
      expect(lines[0]).toMatch(/^LLMeter: the Electron binary is not installed .*, so the headless mode starts instead/);
      expect(lines.filter((line) => line.includes('Electron'))).toHaveLength(1);
      const dashboard = /Dashboard: (\S+)/.exec(stdout)?.[1];
      expect(dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=\S+$/);
      const health = await fetch(new URL('/api/v1/health', dashboard));
      expect(health.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    expect(child.exitCode).toBe(0);
  });
});
