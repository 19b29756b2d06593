import type { BenchRun } from './run.js';

const GOALS = {
  scrapeP50Ms: 5,
  scrapeP99Ms: 20,
  scrapeSpeedup: 100,
  dashboardP50Ms: 20,
  ingestEventsPerSecond: 50_000,
  exportRowsPerSecond: 300_000,
  exportPeakRssMb: 150,
  firstMetricsMs: 1_000,
  idleRssMb: 80,
  idleCpuPercent: 0.5,
};

const yes = (ok: boolean): string => (ok ? 'yes' : 'NO');
const count = (n: number): string => n.toLocaleString('en-US');

/** The run as a plain-text table: each figure, its baseline where it has one, the goal and whether it is met. */
export function formatReport(run: BenchRun): string {
  const rows: string[][] = [['figure', 'data', 'ours p50 / p99', 'baseline p50', 'speed-up', 'goal', 'met', 'load']];
  for (const result of Object.values(run.scrape ?? {})) {
    for (const s of result.scrape) {
      const met = s.ours.medianMs <= GOALS.scrapeP50Ms && s.ours.p99Ms <= GOALS.scrapeP99Ms && (s.rows < 1_000_000 || s.speedup >= GOALS.scrapeSpeedup);
      rows.push([s.query, `${count(s.rows)} rows, ${s.series} series`, `${s.ours.medianMs} / ${s.ours.p99Ms} ms`, `${s.baseline.medianMs} ms`, `${s.speedup}x`, 'p50 ≤ 5, p99 ≤ 20 ms; ≥ 100x at 1M', yes(met), String(s.load)]);
    }
    for (const d of result.dashboard) {
      rows.push([d.query, `${count(d.rows)} rows`, `${d.ours.medianMs} / ${d.ours.p99Ms} ms`, `${d.baseline.medianMs} ms`, `${d.speedup}x`, 'p50 ≤ 20 ms', yes(d.ours.medianMs <= GOALS.dashboardP50Ms), String(d.load)]);
    }
  }
  if (run.ingest) {
    const i = run.ingest;
    rows.push([`SDK ingest, batches of ${i.batchSize}`, `${count(i.rows)} rows + ${count(i.events)} events`, `${count(i.eventsPerSecond)} events/s`, '', '', '≥ 50 000 events/s, rollup current', yes(i.eventsPerSecond >= GOALS.ingestEventsPerSecond && i.rollupCurrent && i.non2xx === 0), String(i.load)]);
  }
  if (run.export) {
    const e = run.export;
    rows.push(['CSV export (hourly)', `${count(e.exportedRows)} rows out`, `${count(e.rowsPerSecond)} rows/s, ${e.peakRssMb} MB peak, first byte ${e.firstByteMs} ms`, '', '', '≥ 300 000 rows/s, ≤ 150 MB', yes(e.rowsPerSecond >= GOALS.exportRowsPerSecond && e.peakRssMb <= GOALS.exportPeakRssMb), String(e.load)]);
  }
  if (run.backfill) {
    const b = run.backfill;
    rows.push(['backfill, first poll', `${b.days} days × ${b.models} models`, `${b.requests} requests, ${b.seconds} s`, '', '', `minimum ${b.minimum} requests`, yes(b.requests === b.minimum && b.totalsMatch), String(b.load)]);
  }
  if (run.footprint) {
    const f = run.footprint;
    rows.push(['llmeter serve', `${count(f.rows)} rows`, `first metrics ${f.startToFirstMetricsMs} ms, idle ${f.idleRssMb} MB, ${f.idleCpuPercent} % CPU`, '', '', '≤ 1 s, ≤ 80 MB, ≤ 0.5 %', yes(f.startToFirstMetricsMs <= GOALS.firstMetricsMs && f.idleRssMb <= GOALS.idleRssMb && f.idleCpuPercent <= GOALS.idleCpuPercent), String(f.load)]);
  }
  if (run.renderer) {
    const r = run.renderer;
    rows.push(['dashboard bundle', 'production build', `${(r.totalGzipBytes / 1024).toFixed(1)} KiB gzip (${(r.totalBytes / 1024).toFixed(0)} KiB raw)`, '', '', 'reported', '', '']);
    rows.push(['time to first chart', `${count(r.rows)} rows`, `${r.firstChart.medianMs} / ${r.firstChart.p99Ms} ms`, '', '', 'reported', '', String(r.load)]);
    rows.push(['a year by model, redraw', `${count(r.rows)} rows`, `${r.yearByModel.medianMs} / ${r.yearByModel.p99Ms} ms`, '', '', 'reported', '', String(r.load)]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

const ms = (t: { medianMs: number; p99Ms: number } | undefined): string => (t ? `${t.medianMs} / ${t.p99Ms} ms` : '–');

/**
 * Recorded runs side by side as a Markdown table (bench/README.md): each figure in every run,
 * oldest first, with the naive baseline of the last run where the figure has one. The data column
 * is the last run's.
 */
export function formatComparison(runs: ReadonlyArray<readonly [label: string, run: BenchRun]>): string {
  const earlier = runs.slice(0, -1).map(([, run]) => run);
  const [lastLabel, after] = runs[runs.length - 1]!;
  const rows: string[][] = [['figure', 'data', ...runs.map(([label]) => `${label}: p50 / p99`), `naive baseline p50 (${lastLabel} run)`, `${lastLabel} vs baseline`, 'goal']];
  /** Cells of one figure: the earlier runs' (– where a run lacks it), then the last run's. */
  const across = <T>(pick: (run: BenchRun) => T | undefined, show: (value: T) => string, last: T): string[] => [
    ...earlier.map((run) => {
      const value = pick(run);
      return value === undefined ? '–' : show(value);
    }),
    show(last),
  ];
  for (const [size, result] of Object.entries(after.scrape ?? {})) {
    for (const s of result.scrape) {
      const timing = across((run) => run.scrape?.[size]?.scrape.find((b) => b.query === s.query)?.ours, ms, s.ours);
      rows.push([s.query, `${count(s.rows)} rows, ${s.series} series`, ...timing, `${s.baseline.medianMs} ms`, `${s.speedup}x`, 'p50 ≤ 5 ms, p99 ≤ 20 ms, ≥ 100x at 1M']);
    }
    for (const d of result.dashboard) {
      const timing = across((run) => run.scrape?.[size]?.dashboard.find((b) => b.query === d.query)?.ours, ms, d.ours);
      rows.push([d.query, `${count(d.rows)} rows`, ...timing, `${d.baseline.medianMs} ms`, `${d.speedup}x`, 'p50 ≤ 20 ms']);
    }
  }
  if (after.ingest) {
    const line = (i: NonNullable<BenchRun['ingest']>): string => `${count(i.eventsPerSecond)} events/s (batch p50 ${i.latencyMs.p50} ms)`;
    rows.push(['SDK ingest, batches of 500', `${count(after.ingest.rows)} rows`, ...across((run) => run.ingest, line, after.ingest), '', '', '≥ 50 000 events/s']);
  }
  if (after.export) {
    const line = (e: NonNullable<BenchRun['export']>): string => `${count(e.rowsPerSecond)} rows/s, ${e.peakRssMb} MB, first byte ${e.firstByteMs} ms`;
    rows.push(['CSV export, hourly', `${count(after.export.exportedRows)} rows out`, ...across((run) => run.export, line, after.export), '', '', '≥ 300 000 rows/s, ≤ 150 MB']);
  }
  if (after.backfill) {
    const line = (b: NonNullable<BenchRun['backfill']>): string => `${b.requests} requests (minimum ${b.minimum}), ${b.seconds} s`;
    rows.push(['backfill, first poll', `${after.backfill.days} days × ${after.backfill.models} models`, ...across((run) => run.backfill, line, after.backfill), '', '', 'requests = minimum']);
  }
  if (after.footprint) {
    const line = (f: NonNullable<BenchRun['footprint']>): string => `first metrics ${f.startToFirstMetricsMs} ms, idle ${f.idleRssMb} MB, ${f.idleCpuPercent} % CPU`;
    rows.push(['llmeter serve', `${count(after.footprint.rows)} rows`, ...across((run) => run.footprint, line, after.footprint), '', '', '≤ 1 s, ≤ 80 MB, ≤ 0.5 %']);
  }
  if (after.renderer) {
    const r = after.renderer;
    const gzip = (renderer: NonNullable<BenchRun['renderer']>): string => `${(renderer.totalGzipBytes / 1024).toFixed(1)} KiB`;
    rows.push(['dashboard bundle (gzip)', 'production build', ...across((run) => run.renderer, gzip, r), '', '', 'reported']);
    rows.push(['time to first chart', `${count(r.rows)} rows`, ...across((run) => run.renderer?.firstChart, ms, r.firstChart), '', '', 'reported']);
    rows.push(['a year by model, redraw', `${count(r.rows)} rows`, ...across((run) => run.renderer?.yearByModel, ms, r.yearByModel), '', '', 'reported']);
  }
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(rows[0]!), line(rows[0]!.map(() => '---')), ...rows.slice(1).map(line)].join('\n');
}
