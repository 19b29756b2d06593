// `npm test`: lint, type-check, build, then the whole vitest suite. Ends with one summary line.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const node = process.execPath;
function step(label, command, args, options = {}) {
  process.stdout.write(`\n== ${label}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  return result.status ?? 1;
}

let status = step('lint', node, ['node_modules/eslint/bin/eslint.js', '.']);
status ||= step('type-check', node, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit']);
status ||= step('build', node, ['scripts/build.mjs']);
if (status !== 0) {
  console.log('\ntests: 0 passed, 1 failed (lint, type-check or build failed before the suite ran)');
  process.exit(status);
}

const vitestArgs = ['node_modules/vitest/vitest.mjs', 'run', ...process.argv.slice(2)];
rmSync('test-output/vitest.json', { force: true });
// Keychain suites start their own private D-Bus and gnome-keyring (tests/support/secret-service.ts),
// so the suite never touches the keychain of the person running it.
status = step('tests', node, vitestArgs);

if (existsSync('test-output/vitest.json')) {
  const report = JSON.parse(readFileSync('test-output/vitest.json', 'utf8'));
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  console.log(`\ntests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
  if (process.env.CI === 'true' && skipped > 0) {
    console.log('CI=true does not allow skipped tests');
    status ||= 1;
  }
}
process.exit(status);
