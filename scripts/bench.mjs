// `npm run bench [-- options]`: compiles the benchmarks with the code they measure to
// bench/data/dist, then runs them (bench/run.ts). Not part of `npm test`: it takes minutes and
// builds datasets of up to millions of rows under bench/data/ (git-ignored).
import { spawnSync } from 'node:child_process';

const node = process.execPath;
const compile = spawnSync(node, ['node_modules/typescript/bin/tsc', '-p', 'bench/tsconfig.json'], { stdio: 'inherit' });
// Type errors in files being edited elsewhere still leave runnable output; only a failed emit stops here.
if (compile.error) throw compile.error;
const run = spawnSync(node, ['--expose-gc', 'bench/data/dist/bench/run.js', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(run.status ?? 1);
