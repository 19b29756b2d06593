// `npm run dist`: the installers of the desktop app (electron-builder.yml): macOS dmg, Windows NSIS,
// Linux AppImage and deb, in release/. Steps: build everything (scripts/build.mjs), compile
// better-sqlite3 for Electron into build/native/electron/ (scripts/electron-native.mjs; node_modules
// keeps its Node build), then electron-builder. Arguments go to electron-builder, e.g.
// `npm run dist -- --linux deb` or `npm run dist -- --dir` (unpacked, for a quick look).
// Both downloads (Electron, and better-sqlite3's prebuilt addon or Electron's headers) need the
// network. Build each OS's installers on that OS: native addons are per platform.
import { spawnSync } from 'node:child_process';
import { buildElectronAddon, electronAddonIsCurrent } from './electron-native.mjs';

function run(args) {
  const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(['scripts/build.mjs']);
if (!electronAddonIsCurrent()) {
  try {
    await buildElectronAddon();
  } catch (err) {
    console.error(`npm run dist: better-sqlite3 could not be compiled for Electron: ${String(err?.message ?? err).split('\n')[0]}. It downloads a prebuilt addon or Electron's headers: check the network, or install a C++ toolchain for node-gyp.`);
    process.exit(1);
  }
}
run(['node_modules/electron-builder/cli.js', '--config', 'electron-builder.yml', '--publish', 'never', ...process.argv.slice(2)]);
