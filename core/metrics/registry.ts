import { Counter, Gauge, Registry, type RegistryContentType } from 'prom-client';
import { nanoToUsd } from '../../shared/money.js';
import type { SeriesTotals } from './snapshot.js';

/** Everything one scrape reports, read once and shared by every family's collect(). */
export interface MetricsSnapshot {
  series: SeriesTotals[];
  version: string;
}

type Sample = [labels: Record<string, string>, value: number];

/**
 * Builds a registry for one scrape. Every family reads the same lazily-loaded snapshot, so the
 * database is queried once per scrape however many families there are, and concurrent scrapes
 * with different windows never share state.
 */
export function buildMetricsRegistry(loadSnapshot: () => MetricsSnapshot, openMetrics: boolean): Registry<RegistryContentType> {
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE);
  let snapshot: MetricsSnapshot | undefined;
  const read = (): MetricsSnapshot => (snapshot ??= loadSnapshot());

  const gauge = (name: string, help: string, labelNames: string[], samples: (s: MetricsSnapshot) => Sample[]): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of samples(read())) this.set(labels, value);
      },
    });
  };
  const counter = (name: string, help: string, labelNames: string[], samples: (s: MetricsSnapshot) => Sample[]): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of samples(read())) this.inc(labels, value);
      },
    });
  };
  const perModel = (value: (s: SeriesTotals) => number | null) => (s: MetricsSnapshot): Sample[] =>
    s.series.flatMap((series): Sample[] => {
      const v = value(series);
      return v === null ? [] : [[{ provider: series.provider, model: series.model }, v]];
    });

  gauge(
    'llmeter_cost_usd',
    'LLM spend in USD in the requested window (all time by default): billed cost, plus estimates for days the provider has not billed yet. Revised by providers; use delta() or offset, not rate().',
    ['provider', 'model'],
    perModel((s) => nanoToUsd(s.costNano)),
  );
  counter('llmeter_requests_total', 'Model requests in the window, where the provider reports them.', ['provider', 'model'], perModel((s) => s.requests));
  counter('llmeter_input_tokens_total', 'Input tokens in the window, cache reads and cache writes included.', ['provider', 'model'], perModel((s) => s.inputTokens));
  counter('llmeter_output_tokens_total', 'Output tokens in the window.', ['provider', 'model'], perModel((s) => s.outputTokens));
  gauge('llmeter_build_info', 'LLMeter build metadata; always 1.', ['version'], (s) => [[{ version: s.version }, 1]]);
  return registry;
}
