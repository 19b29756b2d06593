/**
 * `node bench/data/dist/bench/write-ab.js <build A> <build B> [groups]`: the SDK write path of two
 * builds (folders compiled with `tsc -p bench/tsconfig.json --outDir …`), side by side in one
 * process. Each writes groups of 4 batches of 500 events (the ingest suite's bodies) into its own
 * copy of the 1M dataset through `writeSdkBatches`, and they take turns group by group, so a slow
 * spell of the machine slows both alike. A build with the SDK bursts' checkpoint thread
 * (core/store/checkpointer.ts) runs it as the app does, told of each group. Prints each build's
 * milliseconds per batch on this thread: wall time, which is what the app's writing thread spends
 * (the checkpoint thread works beside it), and the CPU time of the whole process meanwhile.
 * Over HTTP one build's runs spread more than a change of 5-10 % (bench/README.md, round 9);
 * running the same build twice shows the harness's own bias. `--sql-a` / `--sql-b` run SQL on that
 * side's copy before it writes, to measure a schema change (a trigger dropped or rewritten) on the
 * same build: bench/README.md, round 10.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureDataset, workCopy } from './datasets.js';
import { batchBody } from './suites/ingest.js';
import type { Db } from '../core/store/db.js';
import type { IngestEvent } from '../core/ingest/schema.js';
import type { IngestResult } from '../sdk/wire.js';
import type { BurstCheckpointer } from '../core/store/checkpointer.js';
import { silentLogger } from '../core/log.js';

const GROUP = 4;
const BATCH = 500;

interface Side {
  build: string;
  db: Db;
  parse(raw: Buffer, nowMs: number): IngestEvent[];
  write(db: Db, batches: IngestEvent[][], options: { billedProviders: []; nowSec: number }): IngestResult[];
  checkpointer: BurstCheckpointer | null;
  wallMs: number;
  cpuMs: number;
}

/** Loads the store, schema and ingest modules of the build compiled to `build`, on a copy of `datasetDir`. */
async function loadSide(build: string, datasetDir: string, index: number, sql: string | undefined): Promise<Side> {
  const load = (module: string) => import(pathToFileURL(path.resolve(build, module)).href);
  const [{ openDatabase }, { parseIngestBody }, { writeSdkBatches }] = await Promise.all([load('core/store/db.js'), load('core/ingest/schema.js'), load('core/ingest/store.js')]);
  const db: Db = openDatabase(workCopy(datasetDir, `write-ab-${index}`));
  if (sql) db.exec(sql);
  const checkpointer = existsSync(path.resolve(build, 'core/store/checkpointer.js')) ? (await load('core/store/checkpointer.js')).createBurstCheckpointer(db, silentLogger) : null;
  return { build, db, parse: parseIngestBody, write: writeSdkBatches, checkpointer, wallMs: 0, cpuMs: 0 };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'sql-a': { type: 'string' }, 'sql-b': { type: 'string' } } });
  const [buildA, buildB, groupsArg] = positionals;
  if (!buildA || !buildB) throw new Error('usage: write-ab.js <build A> <build B> [groups, default 150] [--sql-a SQL] [--sql-b SQL]');
  const groups = Number(groupsArg ?? 150);
  const { dir } = ensureDataset('1m', console.log);
  const sides = [await loadSide(buildA, dir, 0, values['sql-a']), await loadSide(buildB, dir, 1, values['sql-b'])];
  const nowMs = Date.now();
  const nowSec = Math.floor(nowMs / 1000);
  for (let group = 0; group < groups; group++) {
    const bodies = Array.from({ length: GROUP }, () => batchBody(BATCH, nowMs));
    // Either side first in turn: whichever writes second finds the machine's caches warmer.
    for (const side of group % 2 === 0 ? sides : [...sides].reverse()) {
      const batches = bodies.map((body) => side.parse(body, nowMs));
      const wallStart = performance.now();
      const cpuStart = process.cpuUsage();
      side.write(side.db, batches, { billedProviders: [], nowSec });
      const cpu = process.cpuUsage(cpuStart);
      side.wallMs += performance.now() - wallStart;
      side.cpuMs += (cpu.user + cpu.system) / 1000;
      side.checkpointer?.busy();
      // A turn of the event loop, as between the app's groups: the thread's messages arrive.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  for (const side of sides) {
    await side.checkpointer?.close();
    side.db.close();
    console.log(`${side.build}: ${(side.wallMs / groups / GROUP).toFixed(2)} ms a batch of ${BATCH} (wall), ${(side.cpuMs / groups / GROUP).toFixed(2)} ms CPU`);
  }
}

await main();
