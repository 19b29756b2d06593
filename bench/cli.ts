/**
 * `llmeter` as bin/llmeter.js runs it, from the benchmark's build of the same sources. With
 * BENCH_RUSAGE_FILE set it writes the process's peak RSS and CPU time there as it exits, so the
 * benchmark can report what the command cost after it has gone.
 */
import { writeFileSync } from 'node:fs';
import { runCli } from '../core/cli/main.js';

const rusageFile = process.env.BENCH_RUSAGE_FILE;
if (rusageFile) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(rusageFile, JSON.stringify({ maxRssKb: usage.maxRSS, userCpuUs: usage.userCPUTime, systemCpuUs: usage.systemCPUTime }));
  });
}
await runCli(process.argv);
