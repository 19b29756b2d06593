import { loadavg } from 'node:os';

/** Median and 99th percentile of repeated timings, in milliseconds. */
export interface Timing {
  medianMs: number;
  p99Ms: number;
  runs: number;
}

/** The value below which `fraction` of the sorted samples lie (nearest rank). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) throw new Error('no samples');
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank]!;
}

/** Median and p99 of samples in milliseconds. */
export function summarize(samples: readonly number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  return { medianMs: round(percentile(sorted, 0.5)), p99Ms: round(percentile(sorted, 0.99)), runs: sorted.length };
}

/** How many times to run something, and for how long at most. */
export interface RepeatOptions {
  warmup: number;
  runs: number;
  /**
   * Time the measured runs may take: they stop once it is spent (after at least 3 runs, or after
   * 1 when that one alone took longer), and warm-up stops once it has taken half as long.
   * Keeps slow baselines (seconds per run at millions of rows) bounded; `runs` in the result says
   * how many there were.
   */
  budgetMs?: number;
}

/**
 * Runs `work` up to `warmup` times unmeasured, then up to `runs` times measured one after the
 * other (never concurrently), and summarizes the wall times. `prepare`, when given, runs before
 * each run, outside the measured time.
 */
export async function repeat(work: () => unknown, options: RepeatOptions, prepare?: () => unknown): Promise<Timing> {
  return repeatTimed(async () => {
    const started = performance.now();
    await work();
    return performance.now() - started;
  }, options, prepare);
}

/**
 * As repeat, for work that times a step of its own and returns that time in milliseconds (a
 * browser run times the redraw, not the page's set-up before it): summarizes the returned times.
 * The budget counts the whole runs.
 */
export async function repeatTimed(work: () => Promise<number>, options: RepeatOptions, prepare?: () => unknown): Promise<Timing> {
  const budget = options.budgetMs ?? Infinity;
  const warming = performance.now();
  for (let i = 0; i < options.warmup; i++) {
    await prepare?.();
    await work();
    if (performance.now() - warming > budget / 2) break;
  }
  const samples: number[] = [];
  const started = performance.now();
  for (let i = 0; i < options.runs; i++) {
    await prepare?.();
    samples.push(await work());
    const spent = performance.now() - started;
    if (spent > budget && (samples.length >= 3 || samples[0]! > budget)) break;
  }
  return summarize(samples);
}

/** Rounds a figure for the report: three significant decimals are plenty for milliseconds. */
export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** The 1-minute load average now, next to which every figure is recorded (other work shares the cores). */
export function currentLoad(): number {
  return round(loadavg()[0]!, 2);
}
