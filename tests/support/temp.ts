import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach } from 'vitest';

/**
 * A fresh temporary folder, removed after the current test — or, called at describe level with
 * `lifetime: 'suite'`, after the whole file, so that consecutive tests can share it.
 */
export function tempDir(prefix = 'llmeter-test-', lifetime: 'test' | 'suite' = 'test'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  (lifetime === 'suite' ? afterAll : afterEach)(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
