import { scopeLabel } from '../../shared/budget-math.js';
import { BUDGET_PERIODS, type BudgetStatus } from '../../shared/budgets.js';
import { nanoToUsd } from '../../shared/money.js';
import type { CustomerSeries } from '../ingest/customers.js';
import type { PeriodSpend } from './period-spend.js';
import type { ProviderSync } from './provider-sync.js';
import type { SeriesTotals } from './snapshot.js';

/** Everything one scrape reports, read once and shared by every family's collect(). */
export interface MetricsSnapshot {
  series: SeriesTotals[];
  /** Every budget in its current period; the scrape's from/to do not apply to them. Absent: no budget samples. */
  budgets?: BudgetStatus[];
  /** Spend per provider in the current day, week and month; the scrape's from/to do not apply. Absent: no period samples. */
  periods?: PeriodSpend[];
  /** Freshness and health per provider; the scrape's from/to do not apply. Absent: no provider samples. */
  providers?: ProviderSync[];
  /** SDK attribution per (provider, model, customer) in the window, top customers plus `other`. Absent: no customer samples. */
  customers?: CustomerSeries[];
  version: string;
}

type Sample = [labels: Record<string, string>, value: number];

/** The media types of the two exposition formats. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** One scrape's families, ready to be written out in its format. */
export interface MetricsExposition {
  contentType: typeof PROMETHEUS_CONTENT_TYPE | typeof OPENMETRICS_CONTENT_TYPE;
  metrics(): Promise<string>;
}

interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: (s: MetricsSnapshot) => Sample[];
}

const escapeText = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
/** Most label values need no escaping: one test instead of three replacements per sample. */
const escapeLabelValue = (value: string): string => (/[\\\n"]/.test(value) ? escapeText(value).replace(/"/g, '\\"') : value);

/** A sample value as the text formats write it. */
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/**
 * One family in the text format, byte for byte as prom-client writes it (which the suite and
 * Prometheus itself check): HELP and TYPE lines, then a line per sample. OpenMetrics names a
 * counter family without its `_total` and keeps the suffix on the samples.
 */
function familyText(family: Family, snapshot: MetricsSnapshot, openMetrics: boolean, labelTexts: WeakMap<Record<string, string>, string>): string {
  const name = openMetrics && family.type === 'counter' ? family.name.replace(/_total$/, '') : family.name;
  const sampleName = openMetrics && family.type === 'counter' ? `${name}_total` : name;
  let text = `# HELP ${name} ${escapeText(family.help)}\n# TYPE ${name} ${family.type}`;
  for (const [labels, value] of family.samples(snapshot)) {
    let labelText = labelTexts.get(labels);
    if (labelText === undefined) {
      labelText = '';
      for (const label in labels) labelText += `${labelText === '' ? '' : ','}${label}="${escapeLabelValue(labels[label]!)}"`;
      if (labelText !== '') labelText = `{${labelText}}`;
      labelTexts.set(labels, labelText);
    }
    text += `\n${sampleName}${labelText} ${valueText(value)}`;
  }
  return text;
}

/**
 * Builds the exposition of one scrape. Every family reads the same lazily-loaded snapshot, so the
 * database is queried once per scrape however many families there are, and concurrent scrapes
 * with different windows never share state. Written straight to text rather than through
 * prom-client's metric objects, whose per-sample bookkeeping cost about 12 µs a sample: a scrape
 * of a few hundred models has thousands of samples, and must take a few milliseconds.
 */
export function buildMetricsRegistry(loadSnapshot: () => MetricsSnapshot, openMetrics: boolean): MetricsExposition {
  const families: Family[] = [];
  const gauge = (name: string, help: string, samples: (s: MetricsSnapshot) => Sample[]): void => {
    families.push({ name, help, type: 'gauge', samples });
  };
  const counter = (name: string, help: string, samples: (s: MetricsSnapshot) => Sample[]): void => {
    families.push({ name, help, type: 'counter', samples });
  };
  // One labels object per series, shared by its seven families, so its label text is written once.
  const seriesLabels = new WeakMap<SeriesTotals, Record<string, string>>();
  const labelsOf = (series: SeriesTotals): Record<string, string> => {
    let labels = seriesLabels.get(series);
    if (!labels) seriesLabels.set(series, (labels = { provider: series.provider, model: series.model }));
    return labels;
  };
  const perModel = (value: (s: SeriesTotals) => number | null) => (s: MetricsSnapshot): Sample[] =>
    s.series.flatMap((series): Sample[] => {
      const v = value(series);
      return v === null ? [] : [[labelsOf(series), v]];
    });

  gauge(
    'llmeter_cost_usd',
    'LLM spend in USD in the requested window (all time by default): billed cost, plus estimates for days the provider has not billed yet. Revised by providers; use delta() or offset, not rate().',
    perModel((s) => nanoToUsd(s.costNano)),
  );
  counter('llmeter_requests_total', 'Model requests in the window, where the provider reports them.', perModel((s) => s.requests));
  counter('llmeter_input_tokens_total', 'Input tokens in the window, cache reads and cache writes included.', perModel((s) => s.inputTokens));
  counter('llmeter_output_tokens_total', 'Output tokens in the window.', perModel((s) => s.outputTokens));
  counter('llmeter_cached_input_tokens_total', "Input tokens in the window read from the provider's prompt cache; a subset of llmeter_input_tokens_total.", perModel((s) => s.cachedInputTokens));
  counter('llmeter_cache_write_input_tokens_total', "Input tokens in the window written to the provider's prompt cache; a subset of llmeter_input_tokens_total.", perModel((s) => s.cacheWriteTokens));
  gauge(
    'llmeter_estimated_cost_usd',
    'The part of llmeter_cost_usd in the window that is still an estimate (tokens times list price for days the provider has not billed yet); billed spend is llmeter_cost_usd minus this.',
    perModel((s) => nanoToUsd(s.estimatedNano)),
  );
  gauge(
    'llmeter_period_cost_usd',
    "Spend in USD in the current UTC calendar day, week (from Monday) or month, counted as llmeter_cost_usd counts it; resets when the period turns. Ignores the scrape's from/to.",
    (s) => (s.periods ?? []).flatMap((p) => BUDGET_PERIODS.map((period): Sample => [{ provider: p.provider, period }, nanoToUsd(p.costNano[period])])),
  );
  const perProvider = (value: (p: ProviderSync) => number | null) => (s: MetricsSnapshot): Sample[] =>
    (s.providers ?? []).flatMap((p): Sample[] => {
      const v = value(p);
      return v === null ? [] : [[{ provider: p.provider }, v]];
    });
  gauge('llmeter_provider_up', "1 when the last poll of the provider's billing API succeeded, 0 when it failed or none has succeeded yet. Ignores the scrape's from/to.", perProvider((p) => (p.up ? 1 : 0)));
  gauge('llmeter_last_successful_sync_timestamp_seconds', 'Unix time of the last successful poll of the provider; data is as fresh as this. Absent before the first success.', perProvider((p) => p.lastSuccessAt));
  gauge(
    'llmeter_latest_bucket_timestamp_seconds',
    "Unix time of the end of the newest time bucket the provider reported data for: how far its billing has caught up (time() minus this is the billing lag). Ignores the scrape's from/to.",
    perProvider((p) => p.latestBucketEnd),
  );
  counter('llmeter_sync_errors_total', 'Failed polls of the provider since the database was created.', perProvider((p) => p.errorCount));
  gauge('llmeter_sync_duration_seconds', 'How long the last poll of the provider took, successful or not.', perProvider((p) => (p.lastDurationMs === null ? null : p.lastDurationMs / 1000)));
  gauge('llmeter_balance_usd', 'Prepaid credits left in USD as of the last successful poll, where the provider reports a balance (OpenRouter).', perProvider((p) => (p.balanceNano === null ? null : nanoToUsd(p.balanceNano))));
  const perBudget = (value: (b: BudgetStatus) => string) => (s: MetricsSnapshot): Sample[] =>
    (s.budgets ?? []).map((b): Sample => [{ budget: b.name, scope: scopeLabel(b.scope), period: b.period }, Number(value(b))]);
  gauge('llmeter_budget_usd', 'Budget amount in USD per period (day, ISO week, month; UTC). Divide llmeter_budget_spent_usd by it for the share used.', perBudget((b) => b.amountUsd));
  gauge(
    'llmeter_budget_spent_usd',
    "Spend in USD counted against the budget in its current period: billed cost plus estimates not billed yet, as llmeter_cost_usd counts it. Ignores the scrape's from/to.",
    perBudget((b) => b.spentUsd),
  );
  gauge('llmeter_budget_forecast_usd', "Projected spend in USD at the end of the budget's current period: the run-rate, smoothed by the previous period where known.", perBudget((b) => b.forecastUsd));
  const customerLabels = new WeakMap<CustomerSeries, Record<string, string>>();
  const customerLabelsOf = (c: CustomerSeries): Record<string, string> => {
    let labels = customerLabels.get(c);
    if (!labels) customerLabels.set(c, (labels = { provider: c.provider, model: c.model, customer_id: c.customerId }));
    return labels;
  };
  const perCustomer = (value: (c: CustomerSeries) => number) => (s: MetricsSnapshot): Sample[] => (s.customers ?? []).map((c): Sample => [customerLabelsOf(c), value(c)]);
  gauge(
    'llmeter_customer_cost_usd',
    'Estimated spend in USD in the window per customer, from SDK-reported tokens times list price (whether or not the provider has a billing key). The top customers by cost keep their id (setting sdk.customerCardinalityCap), the rest are summed under the customer_id other; an empty customer_id is requests that named no customer.',
    perCustomer((c) => nanoToUsd(c.costNano)),
  );
  counter('llmeter_customer_requests_total', 'Model requests in the window per customer, as reported by the SDK (failed ones included).', perCustomer((c) => c.requests));
  counter('llmeter_customer_input_tokens_total', 'Input tokens in the window per customer, as reported by the SDK, cache reads and cache writes included.', perCustomer((c) => c.inputTokens));
  counter('llmeter_customer_output_tokens_total', 'Output tokens in the window per customer, as reported by the SDK.', perCustomer((c) => c.outputTokens));
  gauge('llmeter_build_info', 'LLMeter build metadata; always 1.', (s) => [[{ version: s.version }, 1]]);
  return {
    contentType: openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE,
    async metrics() {
      const snapshot = loadSnapshot();
      const labelTexts = new WeakMap<Record<string, string>, string>();
      const texts = families.map((family) => familyText(family, snapshot, openMetrics, labelTexts));
      return openMetrics ? `${texts.join('\n')}\n# EOF\n` : `${texts.join('\n\n')}\n`;
    },
  };
}
