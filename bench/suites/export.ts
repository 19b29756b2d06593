/**
 * Item 4: `llmeter export --format csv --granularity hour` of a dataset to standard output, in a
 * process of its own (its peak RSS is the export's), read by the benchmark as it arrives: rows per
 * second over the whole run, time to the first byte, and peak RSS.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../../core/store/db.js';
import { ensureDataset, workCopy } from '../datasets.js';
import { CLI_ENTRY, cliEnv } from '../server.js';
import { currentLoad, round } from '../stats.js';

export interface ExportResult {
  dataset: string;
  rows: number;
  /** Data rows written (the header not counted). */
  exportedRows: number;
  bytes: number;
  seconds: number;
  rowsPerSecond: number;
  firstByteMs: number;
  peakRssMb: number;
  load: number;
}

async function exportOnce(dataDir: string): Promise<Omit<ExportResult, 'dataset' | 'rows' | 'load'>> {
  const rusageFile = path.join(dataDir, 'export-rusage.json');
  rmSync(rusageFile, { force: true });
  const started = performance.now();
  const child = spawn(process.execPath, [CLI_ENTRY, 'export', '--format', 'csv', '--granularity', 'hour'], { env: cliEnv(dataDir, { BENCH_RUSAGE_FILE: rusageFile }), stdio: ['ignore', 'pipe', 'inherit'] });
  let firstByteMs = 0;
  let bytes = 0;
  let lines = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    if (bytes === 0) firstByteMs = performance.now() - started;
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`llmeter export exited with ${code}`);
  const rusage = JSON.parse(readFileSync(rusageFile, 'utf8')) as { maxRssKb: number };
  const exportedRows = lines - 1;
  return { exportedRows, bytes, seconds: round(seconds, 2), rowsPerSecond: Math.round(exportedRows / seconds), firstByteMs: Math.round(firstByteMs), peakRssMb: round(rusage.maxRssKb / 1024, 1) };
}

export async function benchExport(size: string, options: { runs: number; log: (line: string) => void }): Promise<ExportResult> {
  const { dir, info } = ensureDataset(size, options.log);
  const work = workCopy(dir, `export-${size}`);
  openDatabase(work).close();
  const load = currentLoad();
  const runs = [];
  for (let i = 0; i < options.runs; i++) runs.push(await exportOnce(work));
  // The median run by throughput; its own figures, not a mix of runs.
  const median = [...runs].sort((a, b) => a.rowsPerSecond - b.rowsPerSecond)[Math.floor(runs.length / 2)]!;
  const entry = { dataset: size, rows: info.rows, ...median, load };
  options.log(`  export ${size}: ${entry.exportedRows.toLocaleString('en-US')} rows in ${entry.seconds} s = ${entry.rowsPerSecond.toLocaleString('en-US')} rows/s, first byte ${entry.firstByteMs} ms, peak RSS ${entry.peakRssMb} MB (median of ${runs.length})`);
  return entry;
}
