import { Counter, Gauge, Registry, type RegistryContentType } from 'prom-client';
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

/** Registers families on one registry whose collect() all read the same lazily-loaded data. */
interface FamilyAdder<T> {
  gauge(name: string, help: string, labelNames: string[], samples: (data: T) => Sample[]): void;
  counter(name: string, help: string, labelNames: string[], samples: (data: T) => Sample[]): void;
}

function newRegistry(openMetrics: boolean): Registry<RegistryContentType> {
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE);
  return registry;
}

/** `load`, called on first use only: every family of a registry reads the same data. */
function once<T>(load: () => T): () => T {
  let data: { value: T } | undefined;
  return () => (data ??= { value: load() }).value;
}

/** A family's collect(): clears the metric, then puts each of this reading's samples into it. */
function collecting<T, M extends { reset(): void }>(read: () => T, samples: (data: T) => Sample[], put: (metric: M, labels: Record<string, string>, value: number) => void) {
  return function collect(this: M): void {
    this.reset();
    for (const [labels, value] of samples(read())) put(this, labels, value);
  };
}

function familyAdder<T>(registry: Registry<RegistryContentType>, read: () => T): FamilyAdder<T> {
  return {
    gauge(name, help, labelNames, samples) {
      new Gauge({ name, help, labelNames, registers: [registry], collect: collecting(read, samples, (gauge: Gauge, labels, value) => gauge.set(labels, value)) });
    },
    counter(name, help, labelNames, samples) {
      new Counter({ name, help, labelNames, registers: [registry], collect: collecting(read, samples, (counter: Counter, labels, value) => counter.inc(labels, value)) });
    },
  };
}

/**
 * Builds a registry for one scrape. Every family reads the same lazily-loaded snapshot, so the
 * database is queried once per scrape however many families there are, and concurrent scrapes
 * with different windows never share state. The per-customer families come last; with
 * `customers: false` they are left out, for a host that renders them apart (buildCustomerRegistry)
 * and appends them (joinExpositions): the same text.
 */
export function buildMetricsRegistry(loadSnapshot: () => MetricsSnapshot, openMetrics: boolean, options: { customers: boolean } = { customers: true }): Registry<RegistryContentType> {
  const registry = newRegistry(openMetrics);
  const read = once(loadSnapshot);
  const { gauge, counter } = familyAdder(registry, read);
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
  counter('llmeter_cached_input_tokens_total', "Input tokens in the window read from the provider's prompt cache; a subset of llmeter_input_tokens_total.", ['provider', 'model'], perModel((s) => s.cachedInputTokens));
  counter('llmeter_cache_write_input_tokens_total', "Input tokens in the window written to the provider's prompt cache; a subset of llmeter_input_tokens_total.", ['provider', 'model'], perModel((s) => s.cacheWriteTokens));
  gauge(
    'llmeter_estimated_cost_usd',
    'The part of llmeter_cost_usd in the window that is still an estimate (tokens times list price for days the provider has not billed yet); billed spend is llmeter_cost_usd minus this.',
    ['provider', 'model'],
    perModel((s) => nanoToUsd(s.estimatedNano)),
  );
  gauge(
    'llmeter_period_cost_usd',
    "Spend in USD in the current UTC calendar day, week (from Monday) or month, counted as llmeter_cost_usd counts it; resets when the period turns. Ignores the scrape's from/to.",
    ['provider', 'period'],
    (s) => (s.periods ?? []).flatMap((p) => BUDGET_PERIODS.map((period): Sample => [{ provider: p.provider, period }, nanoToUsd(p.costNano[period])])),
  );
  const perProvider = (value: (p: ProviderSync) => number | null) => (s: MetricsSnapshot): Sample[] =>
    (s.providers ?? []).flatMap((p): Sample[] => {
      const v = value(p);
      return v === null ? [] : [[{ provider: p.provider }, v]];
    });
  gauge('llmeter_provider_up', "1 when the last poll of the provider's billing API succeeded, 0 when it failed or none has succeeded yet. Ignores the scrape's from/to.", ['provider'], perProvider((p) => (p.up ? 1 : 0)));
  gauge('llmeter_last_successful_sync_timestamp_seconds', 'Unix time of the last successful poll of the provider; data is as fresh as this. Absent before the first success.', ['provider'], perProvider((p) => p.lastSuccessAt));
  gauge(
    'llmeter_latest_bucket_timestamp_seconds',
    "Unix time of the end of the newest time bucket the provider reported data for: how far its billing has caught up (time() minus this is the billing lag). Ignores the scrape's from/to.",
    ['provider'],
    perProvider((p) => p.latestBucketEnd),
  );
  counter('llmeter_sync_errors_total', 'Failed polls of the provider since the database was created.', ['provider'], perProvider((p) => p.errorCount));
  gauge('llmeter_sync_duration_seconds', 'How long the last poll of the provider took, successful or not.', ['provider'], perProvider((p) => (p.lastDurationMs === null ? null : p.lastDurationMs / 1000)));
  gauge('llmeter_balance_usd', 'Prepaid credits left in USD as of the last successful poll, where the provider reports a balance (OpenRouter).', ['provider'], perProvider((p) => (p.balanceNano === null ? null : nanoToUsd(p.balanceNano))));
  const perBudget = (value: (b: BudgetStatus) => string) => (s: MetricsSnapshot): Sample[] =>
    (s.budgets ?? []).map((b): Sample => [{ budget: b.name, scope: scopeLabel(b.scope), period: b.period }, Number(value(b))]);
  const budgetLabels = ['budget', 'scope', 'period'];
  gauge('llmeter_budget_usd', 'Budget amount in USD per period (day, ISO week, month; UTC). Divide llmeter_budget_spent_usd by it for the share used.', budgetLabels, perBudget((b) => b.amountUsd));
  gauge(
    'llmeter_budget_spent_usd',
    "Spend in USD counted against the budget in its current period: billed cost plus estimates not billed yet, as llmeter_cost_usd counts it. Ignores the scrape's from/to.",
    budgetLabels,
    perBudget((b) => b.spentUsd),
  );
  gauge('llmeter_budget_forecast_usd', "Projected spend in USD at the end of the budget's current period: the run-rate, smoothed by the previous period where known.", budgetLabels, perBudget((b) => b.forecastUsd));
  gauge('llmeter_build_info', 'LLMeter build metadata; always 1.', ['version'], (s) => [[{ version: s.version }, 1]]);
  if (options.customers) registerCustomerFamilies(familyAdder(registry, () => read().customers ?? []));
  return registry;
}

/** A registry of the per-customer families alone (see buildMetricsRegistry), reading `loadCustomers` once. */
export function buildCustomerRegistry(loadCustomers: () => CustomerSeries[], openMetrics: boolean): Registry<RegistryContentType> {
  const registry = newRegistry(openMetrics);
  registerCustomerFamilies(familyAdder(registry, once(loadCustomers)));
  return registry;
}

function registerCustomerFamilies({ gauge, counter }: FamilyAdder<CustomerSeries[]>): void {
  const perCustomer = (value: (c: CustomerSeries) => number) => (customers: CustomerSeries[]): Sample[] =>
    customers.map((c): Sample => [{ provider: c.provider, model: c.model, customer_id: c.customerId }, value(c)]);
  const customerLabels = ['provider', 'model', 'customer_id'];
  gauge(
    'llmeter_customer_cost_usd',
    'Estimated spend in USD in the window per customer, from SDK-reported tokens times list price (whether or not the provider has a billing key). The top customers by cost keep their id (setting sdk.customerCardinalityCap), the rest are summed under the customer_id other; an empty customer_id is requests that named no customer.',
    customerLabels,
    perCustomer((c) => nanoToUsd(c.costNano)),
  );
  counter('llmeter_customer_requests_total', 'Model requests in the window per customer, as reported by the SDK (failed ones included).', customerLabels, perCustomer((c) => c.requests));
  counter('llmeter_customer_input_tokens_total', 'Input tokens in the window per customer, as reported by the SDK, cache reads and cache writes included.', customerLabels, perCustomer((c) => c.inputTokens));
  counter('llmeter_customer_output_tokens_total', 'Output tokens in the window per customer, as reported by the SDK.', customerLabels, perCustomer((c) => c.outputTokens));
}
