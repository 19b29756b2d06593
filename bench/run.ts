/**
 * `npm run bench [-- --only scrape,ingest,export,backfill,footprint,renderer] [--sizes 10k,100k,1m,10m]
 * [--dataset 1m] [--batches 600] [--label before]`: runs the benchmarks of issue 10, prints a table
 * and records the run in bench/results.json under its label (default "latest"), beside earlier runs
 * with other labels. `npm run bench -- --compare before,after` prints two recorded runs side by side
 * as bench/README.md shows them. See bench/README.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { ensureDataset } from './datasets.js';
import { formatComparison, formatReport } from './report.js';
import type { DatasetInfo } from './generate.js';
import { currentLoad } from './stats.js';
import { benchBackfill, type BackfillResult } from './suites/backfill.js';
import { benchExport, type ExportResult } from './suites/export.js';
import { benchFootprint, type FootprintResult } from './suites/footprint.js';
import { benchIngest, type IngestResult } from './suites/ingest.js';
import { benchRenderer, type RendererResult } from './suites/renderer.js';
import { benchScrape, type ScrapeResult } from './suites/scrape.js';

const SUITES = ['scrape', 'ingest', 'export', 'backfill', 'footprint', 'renderer'] as const;
type Suite = (typeof SUITES)[number];

/** One recorded run of `npm run bench`. */
export interface BenchRun {
  label: string;
  startedAt: string;
  finishedAt?: string;
  machine: { cores: number; cpu: string; memoryGb: number; node: string; platform: string };
  loadAtStart: number;
  loadAtEnd?: number;
  datasets: Record<string, DatasetInfo>;
  scrape?: Record<string, ScrapeResult>;
  ingest?: IngestResult;
  export?: ExportResult;
  backfill?: BackfillResult;
  footprint?: FootprintResult;
  renderer?: RendererResult;
}

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

const compare = option('compare');
if (compare) {
  // `--compare before,after` (or more labels, oldest first): the recorded runs side by side, as bench/README.md shows them; nothing is measured.
  const labels = compare.split(',');
  if (labels.length < 2) throw new Error('--compare takes two or more labels, oldest first: --compare before,after');
  const recorded = JSON.parse(readFileSync(path.resolve('bench', 'results.json'), 'utf8')) as { runs: Record<string, BenchRun> };
  const missing = labels.find((label) => !recorded.runs[label]);
  if (missing !== undefined) throw new Error(`bench/results.json has no run labelled "${missing}"`);
  console.log(formatComparison(labels.map((label) => [label, recorded.runs[label]!] as const)));
  process.exit(0);
}

const only = new Set((option('only')?.split(',') ?? SUITES) as Suite[]);
for (const suite of only) if (!SUITES.includes(suite)) throw new Error(`unknown suite "${suite}"; use ${SUITES.join(', ')}`);
const sizes = option('sizes')?.split(',') ?? ['10k', '100k', '1m', '10m'];
/** The dataset of the single-size benchmarks: a year of hourly data across a few hundred models. */
const large = option('dataset') ?? '1m';
const label = option('label') ?? 'latest';
const log = (line: string): void => console.log(line);

const run: BenchRun = {
  label,
  startedAt: new Date().toISOString(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform },
  loadAtStart: currentLoad(),
  datasets: {},
};
log(`LLMeter benchmarks "${label}" on ${run.machine.cores} cores (${run.machine.cpu}), Node ${run.machine.node}, load average ${run.loadAtStart}`);
for (const size of new Set([...(only.has('scrape') ? sizes : []), ...(['ingest', 'export', 'footprint', 'renderer'].some((s) => only.has(s as Suite)) ? [large] : [])])) {
  run.datasets[size] = ensureDataset(size, log).info;
}

const resultsFile = path.resolve('bench', 'results.json');
const previousRuns = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as { runs: Record<string, BenchRun> }) : { runs: {} };
const previous = previousRuns.runs[label];

/**
 * Records the run so far in bench/results.json (after every suite, so a long run that is stopped
 * keeps what it measured). A partial run (--only) completes the recorded run of its label rather
 * than replacing it.
 */
function save(): void {
  const merged = previous ? { ...previous, ...run, datasets: { ...previous.datasets, ...run.datasets }, scrape: run.scrape ? { ...previous.scrape, ...run.scrape } : previous.scrape } : run;
  writeFileSync(resultsFile, `${JSON.stringify({ runs: { ...previousRuns.runs, [label]: merged } }, null, 2)}\n`);
}

if (only.has('scrape')) {
  run.scrape = {};
  for (const size of sizes) {
    log(`scrape and dashboard queries, ${size}`);
    run.scrape[size] = await benchScrape(size, { dashboard: size === large, log });
    save();
  }
}
if (only.has('ingest')) {
  log('SDK ingest');
  run.ingest = await benchIngest(large, { batches: Number(option('batches') ?? 600), batchSize: 500, connections: 4, log });
  save();
}
if (only.has('export')) {
  log('CSV export');
  run.export = await benchExport(large, { runs: 3, log });
  save();
}
if (only.has('backfill')) {
  log('backfill');
  run.backfill = await benchBackfill({ days: 365, log });
  save();
}
if (only.has('footprint')) {
  log('footprint of llmeter serve');
  run.footprint = await benchFootprint(large, { idleSeconds: 60, log });
  save();
}
if (only.has('renderer')) {
  log('renderer');
  run.renderer = await benchRenderer(large, { runs: 5, log });
  save();
}

run.loadAtEnd = currentLoad();
run.finishedAt = new Date().toISOString();
save();
log(`\n${formatReport(run)}`);
log(`\nrecorded in ${path.relative(process.cwd(), resultsFile)} under "${label}" (load average ${run.loadAtStart} at start, ${run.loadAtEnd} at end)`);
