// Builds everything `npm start`, `npx llmeter` and the packaged app run: the TypeScript of
// shared/, core/, electron/ and sdk/ to dist/ (plus the SDK's CommonJS bundle), and the dashboard
// with Vite to dist/renderer/.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

function run(command, args) {
  const result = spawnSync(command, args, { stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

rmSync('dist', { recursive: true, force: true });
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
// The SDK's `require` entry: one CommonJS bundle next to tsc's ES modules.
run(process.execPath, ['scripts/build-sdk.mjs']);
// The sandboxed Electron preload must be one CommonJS file (scripts/build-preload.mjs says why).
run(process.execPath, ['scripts/build-preload.mjs']);
if (existsSync('renderer/index.html')) run(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn']);
