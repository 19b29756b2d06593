#!/usr/bin/env node
// Entry point of `npx llmeter`. The TypeScript is compiled to dist/ by `npm install` (prepare).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/core/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('llmeter: the build output is missing; run `npm install` (or `npm run build`) in the project folder first.\n');
  process.exit(1);
}
const { runCli } = await import(entry.href);
await runCli(process.argv);
