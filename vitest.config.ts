import { defineConfig } from 'vitest/config';

// Node is the default environment; renderer component tests opt into happy-dom per file.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
    exclude: ['**/node_modules/**', 'tests/reliability/soak/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest.json' },
    // electron-store imports 'electron'; processed by Vite, it sees the tests' fake Electron (tests/electron).
    server: { deps: { inline: ['electron-store'] } },
  },
});
