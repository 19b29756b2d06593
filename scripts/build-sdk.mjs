// Bundles the SDK (sdk/index.ts and the files it imports) into ONE CommonJS file,
// dist/sdk/index.cjs, the `require` entry of `llmeter-desktop/sdk`; tsc writes the ES modules and
// the declarations next to it. Run by scripts/build.mjs after tsc.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'vite';

/** Writes the CommonJS bundle to `outDir` (default dist/sdk); resolves with its path. */
export async function buildSdkCommonJs(outDir = 'dist/sdk') {
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      lib: { entry: path.resolve('sdk/index.ts'), formats: ['cjs'], fileName: () => 'index.cjs' },
      outDir: path.resolve(outDir),
      emptyOutDir: false,
      copyPublicDir: false,
      minify: false,
      sourcemap: false,
      target: 'node20',
      // `require(...).LLMeter` and `require(...).default` alike.
      rolldownOptions: { output: { exports: 'named' } },
    },
  });
  return path.resolve(outDir, 'index.cjs');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await buildSdkCommonJs();
