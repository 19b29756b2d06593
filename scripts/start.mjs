// `npm start`: the desktop tray app when an Electron binary can be had, else the headless mode.
//
// Since Electron 42 the npm package downloads its binary on first use (require('electron') does
// it), not at install. So this first looks for the binary without triggering that, then tries the
// download once, quietly and time-boxed (skipped with ELECTRON_SKIP_BINARY_DOWNLOAD=1). Where no
// binary can be installed (no network to Electron's release host), or it does not run, or
// better-sqlite3 cannot be compiled for it, one line says so and `llmeter serve` starts instead,
// which prints the dashboard URL.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { buildElectronAddon, electronAddonIsCurrent } from './electron-native.mjs';

const ELECTRON_DIR = path.resolve('node_modules', 'electron');
const DOWNLOAD_TIMEOUT_MS = 120_000;

/** The Electron binary's path when it is on disk; never downloads. */
function electronOnDisk() {
  const pathFile = path.join(ELECTRON_DIR, 'path.txt');
  if (!existsSync(pathFile)) return null;
  // With path.txt and the binary in place, require('electron') only returns the path.
  const binary = createRequire(import.meta.url)('electron');
  return existsSync(binary) ? binary : null;
}

/** The Electron binary, downloading it once if needed; null when it cannot be had. */
function findElectron() {
  const present = electronOnDisk();
  if (present || process.env.ELECTRON_SKIP_BINARY_DOWNLOAD === '1') return present;
  const download = spawnSync(process.execPath, [path.join(ELECTRON_DIR, 'install.js')], { stdio: 'ignore', timeout: DOWNLOAD_TIMEOUT_MS });
  return download.status === 0 ? electronOnDisk() : null;
}

/** True when the binary starts (as Node, so no display is needed for the check). */
function electronRuns(binary) {
  const probe = spawnSync(binary, ['-p', 'process.versions.electron'], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, encoding: 'utf8', timeout: 30_000 });
  return probe.status === 0 && /^\d+\.\d+\.\d+/.test(probe.stdout.trim());
}

/** Runs a child with our stdio, passes Ctrl-C and SIGTERM on, and exits with its status. */
function runForeground(command, args) {
  const child = spawn(command, args, { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function startHeadless(reason) {
  console.log(`LLMeter: ${reason}, so the headless mode starts instead (\`llmeter serve\`; the dashboard URL follows).`);
  runForeground(process.execPath, ['bin/llmeter.js', 'serve']);
}

const electron = findElectron();
if (!electron) {
  startHeadless('the Electron binary is not installed (it could not be downloaded; `npx install-electron` retries)');
} else if (!electronRuns(electron)) {
  startHeadless(`the Electron binary at ${electron} does not run`);
} else {
  let addonReady = electronAddonIsCurrent();
  if (!addonReady) {
    try {
      await buildElectronAddon();
      addonReady = true;
    } catch (err) {
      startHeadless(`better-sqlite3 could not be compiled for Electron (${String(err?.message ?? err).split('\n')[0]})`);
    }
  }
  if (addonReady) {
    if (!existsSync('dist/electron/main/index.js') || !existsSync('dist/electron/preload/preload.cjs')) {
      const build = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
      if (build.status !== 0) process.exit(build.status ?? 1);
    }
    runForeground(electron, ['.']);
  }
}
