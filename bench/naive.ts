/**
 * The baseline the issue measures against: the seed hosted service's approach of reading every
 * usage row on each request and aggregating in application code. Counted as the app counts
 * (superseded estimates and billed-over SDK rows left out), so both give the same totals. Sums are
 * plain numbers (exact below 2^53 nano-dollars, $9M per series), which makes the baseline faster,
 * not slower, than an exact bigint version: the speed-ups reported against it are conservative.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Db } from '../core/store/db.js';

interface UsageRow {
  provider: string;
  source: string;
  bucket_start: number;
  model: string;
  requests: number | null;
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  output_tokens: number;
  cost_nano: number;
  cost_kind: string;
  superseded: number;
}

/** One (provider, model) series' totals, summed in JS. */
export interface NaiveTotals {
  provider: string;
  model: string;
  costNano: number;
  estimatedNano: number;
  requests: number | null;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
}

/** Every row of the usage table, read one by one. */
function everyRow(db: Db): IterableIterator<UsageRow> {
  return db.prepare('SELECT * FROM usage').iterate() as IterableIterator<UsageRow>;
}

/** Per (provider, model) totals of the rows whose bucket starts in [fromSec, toSec), in JS. */
export function naiveSeriesTotals(db: Db, fromSec: number, toSec: number): Map<string, NaiveTotals> {
  const totals = new Map<string, NaiveTotals>();
  for (const row of everyRow(db)) {
    if (row.bucket_start < fromSec || row.bucket_start >= toSec) continue;
    if (row.source === 'sdk' && row.superseded === 1) continue;
    const key = `${row.provider}\u0000${row.model}`;
    let series = totals.get(key);
    if (!series) {
      series = { provider: row.provider, model: row.model, costNano: 0, estimatedNano: 0, requests: null, inputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 0 };
      totals.set(key, series);
    }
    if (row.superseded === 0) {
      series.costNano += row.cost_nano;
      if (row.cost_kind === 'estimated') series.estimatedNano += row.cost_nano;
    }
    if (row.requests !== null) series.requests = (series.requests ?? 0) + row.requests;
    series.inputTokens += row.input_tokens;
    series.cachedInputTokens += row.cached_input_tokens;
    series.cacheWriteTokens += row.cache_write_tokens;
    series.outputTokens += row.output_tokens;
  }
  return totals;
}

/** The per-model families of /api/v1/metrics, computed the baseline way, as exposition text. */
export async function naiveScrape(db: Db, fromSec: number, toSec: number): Promise<string> {
  const series = [...naiveSeriesTotals(db, fromSec, toSec).values()];
  const registry = new Registry();
  const labelNames = ['provider', 'model'];
  const family = (kind: 'gauge' | 'counter', name: string, value: (s: NaiveTotals) => number | null): void => {
    const metric = kind === 'gauge' ? new Gauge({ name, help: name, labelNames, registers: [registry] }) : new Counter({ name, help: name, labelNames, registers: [registry] });
    for (const s of series) {
      const v = value(s);
      if (v === null) continue;
      if (metric instanceof Gauge) metric.set({ provider: s.provider, model: s.model }, v);
      else metric.inc({ provider: s.provider, model: s.model }, v);
    }
  };
  family('gauge', 'llmeter_cost_usd', (s) => s.costNano / 1e9);
  family('counter', 'llmeter_requests_total', (s) => s.requests);
  family('counter', 'llmeter_input_tokens_total', (s) => s.inputTokens);
  family('counter', 'llmeter_output_tokens_total', (s) => s.outputTokens);
  family('counter', 'llmeter_cached_input_tokens_total', (s) => s.cachedInputTokens);
  family('counter', 'llmeter_cache_write_input_tokens_total', (s) => s.cacheWriteTokens);
  family('gauge', 'llmeter_estimated_cost_usd', (s) => s.estimatedNano / 1e9);
  return registry.metrics();
}

/** Spend per (bucket, provider, model) in [fromSec, toSec), bucketed in JS, as the dashboard's JSON would carry it. */
export function naiveSpendSeries(db: Db, fromSec: number, toSec: number, bucketSeconds: number): string {
  const cells = new Map<string, { costNano: number; estimatedNano: number }>();
  for (const row of everyRow(db)) {
    if (row.bucket_start < fromSec || row.bucket_start >= toSec || row.superseded === 1) continue;
    const key = `${row.bucket_start - (row.bucket_start % bucketSeconds)}\u0000${row.provider}\u0000${row.model}`;
    const cell = cells.get(key) ?? { costNano: 0, estimatedNano: 0 };
    cell.costNano += row.cost_nano;
    if (row.cost_kind === 'estimated') cell.estimatedNano += row.cost_nano;
    cells.set(key, cell);
  }
  return JSON.stringify([...cells]);
}

/** `llmeter_cost_usd` per "provider|model" read back from exposition text. */
export function costSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const match of text.matchAll(/^llmeter_cost_usd\{provider="([^"]*)",model="((?:[^"\\]|\\.)*)"\} (\S+)$/gm)) {
    samples.set(`${match[1]}|${match[2]}`, Number(match[3]));
  }
  return samples;
}
