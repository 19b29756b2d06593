/**
 * Item 6: `llmeter serve` on a year of data (already migrated, as after the first start): time
 * from spawning the process to the first 200 from /api/v1/metrics, then RSS and CPU while idle
 * for a minute (no scrapes, no polls: no provider key is configured).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase } from '../../core/store/db.js';
import { ensureDataset, workCopy } from '../datasets.js';
import { httpRequest, startServe, TOKENS } from '../server.js';
import { currentLoad, round } from '../stats.js';

export interface FootprintResult {
  dataset: string;
  rows: number;
  /** Spawn to the "serving" line. */
  startToListeningMs: number;
  /** Spawn to the first 200 of /api/v1/metrics. */
  startToFirstMetricsMs: number;
  idleRssMb: number;
  /** CPU time over the idle minute, as a share of one core. */
  idleCpuPercent: number;
  idleSeconds: number;
  load: number;
}

const CLOCK_TICKS = 100;

/** utime + stime of a process in seconds, and its resident set in MB, from /proc. */
function processStats(pid: number): { cpuSeconds: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return { cpuSeconds, rssMb: round(rssKb / 1024, 1) };
}

export async function benchFootprint(size: string, options: { idleSeconds: number; log: (line: string) => void }): Promise<FootprintResult> {
  const { dir, info } = ensureDataset(size, options.log);
  const work = workCopy(dir, `footprint-${size}`);
  openDatabase(work).close();
  const load = currentLoad();
  const spawned = performance.now();
  const server = await startServe(work);
  try {
    const startToListeningMs = Math.round(server.startedMs);
    for (;;) {
      const answer = await httpRequest(`${server.url}/api/v1/metrics`, { token: TOKENS.metrics });
      if (answer.status === 200) break;
      await sleep(5);
    }
    const startToFirstMetricsMs = Math.round(performance.now() - spawned);
    // Let start-up work (budget evaluation, the first scrape's garbage) settle before the idle minute.
    await sleep(5_000);
    const pid = server.child.pid!;
    const before = processStats(pid);
    const idleStarted = performance.now();
    await sleep(options.idleSeconds * 1000);
    const after = processStats(pid);
    const idleSeconds = (performance.now() - idleStarted) / 1000;
    const entry: FootprintResult = {
      dataset: size,
      rows: info.rows,
      startToListeningMs,
      startToFirstMetricsMs,
      idleRssMb: after.rssMb,
      idleCpuPercent: round(((after.cpuSeconds - before.cpuSeconds) / idleSeconds) * 100, 2),
      idleSeconds: round(idleSeconds, 1),
      load,
    };
    options.log(`  serve on ${size}: listening after ${entry.startToListeningMs} ms, first metrics after ${entry.startToFirstMetricsMs} ms; idle RSS ${entry.idleRssMb} MB, idle CPU ${entry.idleCpuPercent} % of a core over ${entry.idleSeconds} s`);
    return entry;
  } finally {
    await server.stop();
  }
}
