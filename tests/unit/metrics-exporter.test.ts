/**
 * Issue 3: the exporter's families beyond the seed's four, from a real SQLite database written the
 * way the poller writes it: period spend (UTC day, Monday week, month), freshness and health per
 * provider, and the OpenMetrics details (`# UNIT`, counters' `# TYPE` without `_total`, `# EOF`).
 */
import { describe, expect, it } from 'vitest';
import { renderMetrics } from '../../core/metrics/exposition.js';
import { queryPeriodSpend } from '../../core/metrics/period-spend.js';
import { providerSync } from '../../core/metrics/provider-sync.js';
import { createPeriodSpendReader } from '../../core/budgets/store.js';
import { buildMetricsRegistry, type MetricsSnapshot } from '../../core/metrics/registry.js';
import { querySpendByProvider } from '../../core/store/rollups.js';
import { periodBounds, previousPeriodBounds } from '../../shared/budget-math.js';
import { BUDGET_PERIODS } from '../../shared/budgets.js';
import { querySeriesTotals } from '../../core/metrics/snapshot.js';
import { openMemoryDatabase, type Db } from '../../core/store/db.js';
import { listSyncStates, recordSyncFailure, recordSyncSuccess } from '../../core/store/sync-state.js';
import { writeProviderFetch } from '../../core/store/usage-repo.js';
import { NANO_PER_USD } from '../../shared/money.js';
import type { ProviderId } from '../../shared/providers.js';
import type { UsageRecord } from '../../shared/usage.js';
import { parseSamples, sampleValue } from '../support/prom-text.js';
import { record } from '../support/records.js';

const DAY = 86_400;
const at = (iso: string): number => Date.parse(iso) / 1000;
const usd = (dollars: number): bigint => BigInt(dollars) * NANO_PER_USD;

/** Writes rows as one provider fetch covering their days, as the poller does (estimates get superseded by bills). */
function write(db: Db, provider: ProviderId, rows: UsageRecord[]): void {
  const starts = rows.map((r) => r.bucketStart);
  const coverage = [...new Set(rows.map((r) => r.source))].map((source) => ({ source, start: Math.min(...starts), end: Math.max(...starts) + DAY }));
  writeProviderFetch(db, provider, coverage, rows, 1);
}

/**
 * Wednesday 2026-04-01 starts the month; its ISO week started on Monday 2026-03-30, in March.
 * openai: bills of $1 (Sun 29 Mar), $2 (Mon 30), $4 (Tue 31), $8 (Wed 1 Apr) and a $16 estimate for today (Thu 2 Apr).
 * anthropic: a $32 estimate on 1 Apr superseded by its $64 bill. openrouter: $128 in mid-March only.
 */
function periodHistory(): Db {
  const db = openMemoryDatabase();
  const bill = (provider: ProviderId, iso: string, dollars: number) => record({ provider, source: 'cost', bucketStart: at(iso), costNano: usd(dollars) });
  write(db, 'openai', [bill('openai', '2026-03-29T00:00:00Z', 1), bill('openai', '2026-03-30T00:00:00Z', 2), bill('openai', '2026-03-31T00:00:00Z', 4), bill('openai', '2026-04-01T00:00:00Z', 8)]);
  write(db, 'openai', [record({ provider: 'openai', source: 'usage', bucketStart: at('2026-04-02T10:00:00Z'), costNano: usd(16), inputTokens: 100 })]);
  write(db, 'anthropic', [record({ provider: 'anthropic', source: 'usage', bucketStart: at('2026-04-01T09:00:00Z'), costNano: usd(32), inputTokens: 100 })]);
  write(db, 'anthropic', [bill('anthropic', '2026-04-01T00:00:00Z', 64)]);
  write(db, 'openrouter', [bill('openrouter', '2026-03-15T00:00:00Z', 128)]);
  return db;
}

describe('period spend', () => {
  it('counts the UTC day, the week from Monday (reaching into the previous month) and the month, estimates superseded by bills left out', () => {
    const spend = queryPeriodSpend(periodHistory(), Date.parse('2026-04-02T15:00:00Z'));
    expect(spend).toEqual([
      { provider: 'anthropic', costNano: { day: 0n, week: usd(64), month: usd(64) } },
      { provider: 'openai', costNano: { day: usd(16), week: usd(2 + 4 + 8 + 16), month: usd(8 + 16) } },
    ]);
  });

  it('a week that starts inside the month leaves the month’s first days out of the week', () => {
    const spend = queryPeriodSpend(periodHistory(), Date.parse('2026-04-15T08:00:00Z'));
    expect(spend).toEqual([
      { provider: 'anthropic', costNano: { day: 0n, week: 0n, month: usd(64) } },
      { provider: 'openai', costNano: { day: 0n, week: 0n, month: usd(8 + 16) } },
    ]);
  });

  it('agrees with the window query of llmeter_cost_usd for the same periods', () => {
    const db = periodHistory();
    const nowMs = Date.parse('2026-04-02T15:00:00Z');
    const windowSum = (fromIso: string, provider: ProviderId) =>
      querySeriesTotals(db, { fromSec: at(fromIso), toSec: null })
        .filter((s) => s.provider === provider)
        .reduce((sum, s) => sum + s.costNano, 0n);
    for (const spend of queryPeriodSpend(db, nowMs)) {
      expect(spend.costNano.day).toBe(windowSum('2026-04-02T00:00:00Z', spend.provider));
      expect(spend.costNano.week).toBe(windowSum('2026-03-30T00:00:00Z', spend.provider));
      expect(spend.costNano.month).toBe(windowSum('2026-04-01T00:00:00Z', spend.provider));
    }
  });
});

describe('period spend shared by the budgets and the periods of one moment', () => {
  it('answers every scope of every period and previous period as its own read of the rollups does', () => {
    const db = periodHistory();
    write(db, 'openai', [
      record({ provider: 'openai', source: 'usage', bucketStart: at('2026-04-02T09:00:00Z'), model: 'gpt-4o', project: 'proj_a', costNano: usd(3), inputTokens: 10 }),
      record({ provider: 'openai', source: 'usage', bucketStart: at('2026-03-31T09:00:00Z'), model: 'o3', project: 'proj_b', costNano: usd(5), inputTokens: 10 }),
    ]);
    const nowMs = Date.parse('2026-04-02T15:00:00Z');
    const reader = createPeriodSpendReader(db);
    const filters = [{}, { provider: 'openai' }, { provider: 'anthropic' }, { provider: 'openrouter' }, { model: 'gpt-4o' }, { provider: 'openai', model: 'o3' }, { project: 'proj_a' }, { provider: 'anthropic', project: 'proj_a' }];
    let nonZero = 0;
    for (const period of BUDGET_PERIODS) {
      const current = periodBounds(period, nowMs);
      for (const bounds of [current, previousPeriodBounds(period, current)]) {
        for (const filter of filters) {
          const expected = querySpendByProvider(db, bounds.startMs / 1000, bounds.endMs / 1000, filter);
          expect(reader.byProvider(bounds, filter), `${period} from ${new Date(bounds.startMs).toISOString()} ${JSON.stringify(filter)}`).toEqual(expected);
          if (expected.some((row) => row.cost_nano > 0n)) nonZero++;
        }
      }
    }
    expect(nonZero).toBeGreaterThan(10);
  });
});

describe('provider freshness and health', () => {
  function polled(): Db {
    const db = openMemoryDatabase();
    recordSyncSuccess(db, 'openrouter', { at: 1_700_000_000, watermark: 1_699_999_000, durationMs: 1_250, latestBucketEnd: 1_699_920_000, balance: { creditsNano: usd(250), usedNano: 37_123_456_789n } });
    recordSyncSuccess(db, 'anthropic', { at: 1_700_000_100, watermark: 1_700_000_000, durationMs: 800, latestBucketEnd: 1_699_996_400 });
    recordSyncFailure(db, 'anthropic', { at: 1_700_000_900, message: 'Anthropic answered 401', kind: 'auth', durationMs: 90 });
    recordSyncFailure(db, 'anthropic', { at: 1_700_001_800, message: 'Anthropic answered 401', kind: 'auth', durationMs: 75 });
    return db;
  }

  it('reports the configured providers: a failing one down with its error count, a never-polled one down with no timestamps', () => {
    const sync = providerSync(listSyncStates(polled()), ['openai', 'anthropic', 'openrouter']);
    expect(sync).toEqual([
      { provider: 'openai', up: false, lastSuccessAt: null, latestBucketEnd: null, errorCount: 0, lastDurationMs: null, balanceNano: null },
      { provider: 'anthropic', up: false, lastSuccessAt: 1_700_000_100, latestBucketEnd: 1_699_996_400, errorCount: 2, lastDurationMs: 75, balanceNano: null },
      { provider: 'openrouter', up: true, lastSuccessAt: 1_700_000_000, latestBucketEnd: 1_699_920_000, errorCount: 0, lastDurationMs: 1_250, balanceNano: usd(250) - 37_123_456_789n },
    ]);
  });

  it('leaves out a provider whose key was removed, and reports every stored provider when none is configured (demo)', () => {
    const states = listSyncStates(polled());
    expect(providerSync(states, ['openrouter']).map((p) => p.provider)).toEqual(['openrouter']);
    expect(providerSync(states, null).map((p) => p.provider)).toEqual(['anthropic', 'openrouter']);
  });
});

/** A snapshot with every family populated. */
function fullSnapshot(): MetricsSnapshot {
  const db = openMemoryDatabase();
  write(db, 'openai', [record({ provider: 'openai', source: 'usage', bucketStart: at('2026-04-02T10:00:00Z'), costNano: 1_234_567_891n, inputTokens: 1000, cachedInputTokens: 400, cacheWriteTokens: 50, outputTokens: 70, requests: 3 })]);
  recordSyncSuccess(db, 'openai', { at: 1_700_000_000, watermark: 1_700_000_000, durationMs: 1_500, latestBucketEnd: 1_699_999_200, balance: { creditsNano: usd(10), usedNano: usd(4) } });
  recordSyncFailure(db, 'openai', { at: 1_700_000_900, message: 'OpenAI answered 500', kind: 'server', durationMs: 2_000 });
  return {
    series: querySeriesTotals(db, { fromSec: null, toSec: null }),
    periods: queryPeriodSpend(db, Date.parse('2026-04-02T15:00:00Z')),
    providers: providerSync(listSyncStates(db), ['openai']),
    version: '1.2.3',
  };
}

async function render(openMetrics: boolean): Promise<string> {
  return renderMetrics(buildMetricsRegistry(fullSnapshot, openMetrics));
}

describe('exposition of the full exporter', () => {
  it('exports cache breakdowns, the estimated part, period spend, freshness and balance with exact values', async () => {
    const samples = parseSamples(await render(false));
    const series = { provider: 'openai', model: 'gpt-4o' };
    expect(sampleValue(samples, 'llmeter_cost_usd', series)).toBe('1.234567891');
    expect(sampleValue(samples, 'llmeter_estimated_cost_usd', series)).toBe('1.234567891');
    expect(sampleValue(samples, 'llmeter_cached_input_tokens_total', series)).toBe('400');
    expect(sampleValue(samples, 'llmeter_cache_write_input_tokens_total', series)).toBe('50');
    for (const period of ['day', 'week', 'month']) expect(sampleValue(samples, 'llmeter_period_cost_usd', { provider: 'openai', period }), period).toBe('1.234567891');
    const provider = { provider: 'openai' };
    expect(sampleValue(samples, 'llmeter_provider_up', provider)).toBe('0');
    expect(sampleValue(samples, 'llmeter_last_successful_sync_timestamp_seconds', provider)).toBe('1700000000');
    expect(sampleValue(samples, 'llmeter_latest_bucket_timestamp_seconds', provider)).toBe('1699999200');
    expect(sampleValue(samples, 'llmeter_sync_errors_total', provider)).toBe('1');
    expect(sampleValue(samples, 'llmeter_sync_duration_seconds', provider)).toBe('2');
    expect(sampleValue(samples, 'llmeter_balance_usd', provider)).toBe('6');
    // No aggregate rows: every cost sample names a real provider and model.
    expect(samples.filter((s) => s.name === 'llmeter_cost_usd').map((s) => s.labels)).toEqual([series]);
  });

  it('OpenMetrics: # UNIT for the usd and seconds families, counters typed without _total, # EOF at the end', async () => {
    const text = await render(true);
    const lines = text.split('\n');
    const units = lines.filter((line) => line.startsWith('# UNIT '));
    expect(units).toEqual(
      expect.arrayContaining([
        '# UNIT llmeter_cost_usd usd',
        '# UNIT llmeter_estimated_cost_usd usd',
        '# UNIT llmeter_period_cost_usd usd',
        '# UNIT llmeter_balance_usd usd',
        '# UNIT llmeter_last_successful_sync_timestamp_seconds seconds',
        '# UNIT llmeter_latest_bucket_timestamp_seconds seconds',
        '# UNIT llmeter_sync_duration_seconds seconds',
      ]),
    );
    for (const line of units) {
      const [, , name, unit] = line.split(' ');
      expect(name!.endsWith(`_${unit}`), line).toBe(true);
      // Right after its family's # TYPE line.
      expect(lines[lines.indexOf(line) - 1]!.startsWith(`# TYPE ${name} `), line).toBe(true);
    }
    expect(lines.some((line) => /^# UNIT llmeter_(requests|input_tokens|output_tokens|provider_up|build_info)\b/.test(line))).toBe(false);
    expect(text).toContain('# TYPE llmeter_sync_errors counter\n');
    expect(text).toContain('# TYPE llmeter_cached_input_tokens counter\n');
    expect(text).not.toMatch(/^# TYPE \S+_total /m);
    expect(text).toMatch(/\nllmeter_sync_errors_total\{provider="openai"\} 1\n/);
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text.match(/# EOF/g)).toHaveLength(1);
  });

  it('the 0.0.4 text has no # UNIT lines and no sample timestamps', async () => {
    const text = await render(false);
    expect(text).not.toContain('# UNIT');
    for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) expect(line.split(' '), line).toHaveLength(2);
  });
});
