// better-sqlite3 for Electron. node_modules/better-sqlite3 is compiled for Node, which the tests and
// the CLI need; Electron embeds another V8 (another NODE_MODULE_VERSION) and cannot load it. This
// compiles a second copy for the Electron in node_modules, in a staging folder, and keeps only its
// addon in build/native/electron/, which the desktop app loads through better-sqlite3's
// `nativeBinding` option (electron/main/paths.ts) and electron-builder ships as a resource.
// Used by `npm start` (when an Electron binary is present) and `npm run dist`.
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const NATIVE_DIR = path.join('build', 'native', 'electron');
export const ADDON_FILE = path.join(NATIVE_DIR, 'better_sqlite3.node');
const STAMP_FILE = path.join(NATIVE_DIR, 'built-for.json');

const versionOf = (pkg) => JSON.parse(readFileSync(path.join('node_modules', pkg, 'package.json'), 'utf8')).version;

/** What the addon must have been built for: Electron and better-sqlite3 versions, platform, arch. */
export function wantedBuild(arch = process.arch) {
  return { electron: versionOf('electron'), betterSqlite3: versionOf('better-sqlite3'), platform: process.platform, arch };
}

/** True when build/native/electron holds an addon built for exactly `wanted`. */
export function electronAddonIsCurrent(wanted = wantedBuild()) {
  if (!existsSync(ADDON_FILE) || !existsSync(STAMP_FILE)) return false;
  return JSON.stringify(JSON.parse(readFileSync(STAMP_FILE, 'utf8'))) === JSON.stringify(wanted);
}

/**
 * Compiles better-sqlite3 for Electron into build/native/electron/ (a prebuilt binary when
 * better-sqlite3 publishes one for this Electron, else from source with Electron's headers; both
 * are downloads). node_modules is not touched.
 */
export async function buildElectronAddon(arch = process.arch) {
  const wanted = wantedBuild(arch);
  const staging = path.resolve('build', 'native', '.staging');
  const moduleDir = path.join(staging, 'node_modules', 'better-sqlite3');
  const source = path.resolve('node_modules', 'better-sqlite3');
  rmSync(staging, { recursive: true, force: true });
  // Sources only: the copy's build/ is produced for Electron below.
  cpSync(source, moduleDir, { recursive: true, filter: (file) => file !== path.join(source, 'build') });
  writeFileSync(path.join(staging, 'package.json'), JSON.stringify({ name: 'llmeter-native-staging', version: '0.0.0', private: true, dependencies: { 'better-sqlite3': wanted.betterSqlite3 } }));
  try {
    const { rebuild } = await import('@electron/rebuild');
    await rebuild({ buildPath: staging, electronVersion: wanted.electron, arch, onlyModules: ['better-sqlite3'], force: true });
    mkdirSync(NATIVE_DIR, { recursive: true });
    copyFileSync(path.join(moduleDir, 'build', 'Release', 'better_sqlite3.node'), ADDON_FILE);
    writeFileSync(STAMP_FILE, `${JSON.stringify(wanted, null, 2)}\n`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
    // Nothing but the staging folder was there: leave no empty build/native/ behind.
    if (readdirSync(path.dirname(staging)).length === 0) rmSync(path.dirname(staging), { recursive: true });
  }
  return ADDON_FILE;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(`better-sqlite3 for Electron: ${await buildElectronAddon()}`);
}
