// Bundles the preload (electron/preload/index.ts and what it imports from shared/) into ONE
// CommonJS file, dist/electron/preload/preload.cjs. Sandboxed preloads are run as a plain script
// whose `require` knows only a few modules (`electron` among them): no relative files, no ESM, no
// node_modules. Bundling keeps the channel list derived from shared/ in one place rather than a
// hand-copied preload. Run by scripts/build.mjs after tsc.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'vite';

/** Writes the preload bundle to `outDir` (default dist/electron/preload); resolves with its path. */
export async function buildPreload(outDir = 'dist/electron/preload') {
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      lib: { entry: path.resolve('electron/preload/index.ts'), formats: ['cjs'], fileName: () => 'preload.cjs' },
      outDir: path.resolve(outDir),
      emptyOutDir: false,
      minify: false,
      sourcemap: false,
      target: 'es2022',
      rolldownOptions: { external: ['electron'] },
    },
  });
  return path.resolve(outDir, 'preload.cjs');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await buildPreload();
