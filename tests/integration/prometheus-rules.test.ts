/**
 * Issue 3: the shipped Prometheus files pass Debian's promtool: the scrape config (laid out as the
 * README says: token file and rules next to it), the alert rules, and the rules' unit tests
 * (ops/alert-rules.test.yml), which must cover every alert.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { tempDir } from '../support/temp.js';
import { toolAvailable, TOOLS } from '../support/tools.js';

const OPS = path.join(ROOT, 'ops');

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe.runIf(toolAvailable(TOOLS.promtool))('shipped Prometheus files under promtool', () => {
  it('the alert rules are valid', () => {
    const result = promtool(['check', 'rules', 'alert-rules.yml'], OPS);
    expect(result.output).toMatch(/SUCCESS: 6 rules found/);
    expect(result.status, result.output).toBe(0);
  });

  it('the alert rules pass their unit tests, and every alert has one', () => {
    const result = promtool(['test', 'rules', 'alert-rules.test.yml'], OPS);
    expect(result.status, result.output).toBe(0);
    expect(result.output).toMatch(/SUCCESS/);
    const alerts = [...readFileSync(path.join(OPS, 'alert-rules.yml'), 'utf8').matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]);
    const tested = new Set([...readFileSync(path.join(OPS, 'alert-rules.test.yml'), 'utf8').matchAll(/alertname: (\w+)$/gm)].map((m) => m[1]));
    expect(alerts).toHaveLength(6);
    for (const alert of alerts) expect(tested.has(alert), alert).toBe(true);
  });

  it('the scrape config is valid as the README lays it out, and refuses to start without the token file', () => {
    const dir = tempDir('llmeter-promcfg-');
    copyFileSync(path.join(OPS, 'prometheus.yml'), path.join(dir, 'prometheus.yml'));
    copyFileSync(path.join(OPS, 'alert-rules.yml'), path.join(dir, 'alert-rules.yml'));
    const missing = promtool(['check', 'config', 'prometheus.yml'], dir);
    expect(missing.status).not.toBe(0);
    expect(missing.output).toMatch(/llmeter-metrics\.token/);

    writeFileSync(path.join(dir, 'llmeter-metrics.token'), 'a-metrics-token\n');
    const result = promtool(['check', 'config', 'prometheus.yml'], dir);
    expect(result.status, result.output).toBe(0);
    expect(result.output).toMatch(/SUCCESS: 6 rules found/);
  });
});
