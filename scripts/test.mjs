// `npm test`: lint, type-check, build, then the whole vitest suite. When the machine has a
// Secret Service (gnome-keyring + D-Bus), the suite runs inside a private D-Bus session with an
// unlocked keyring so that the keychain tests use the real thing. Ends with one summary line.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const node = process.execPath;
function step(label, command, args, options = {}) {
  process.stdout.write(`\n== ${label}\n`);
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  return result.status ?? 1;
}
function have(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
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
if (have('dbus-run-session') && have('gnome-keyring-daemon')) {
  const inner = `echo -n llmeter-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; exec "${node}" ${vitestArgs.map((a) => `'${a}'`).join(' ')}`;
  status = step('tests (inside a private D-Bus session with gnome-keyring)', 'dbus-run-session', ['--', 'sh', '-c', inner]);
} else {
  status = step('tests', node, vitestArgs);
}

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
