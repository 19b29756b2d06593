import { useMemo, useState } from 'react';
import type { FoldedSeries, Granularity, ModelTotals, SpendAmount, SpendSeries, SpendSeriesQuery } from '../../../shared/api.js';
import { PROVIDERS } from '../../../shared/providers.js';
import { NO_MODEL } from '../../../shared/usage.js';
import { useApiData } from '../api/context.js';
import { Money, SpendFigure } from '../components/Money.js';
import { Choice, RangePicker } from '../components/RangePicker.js';
import { PALETTE, SpendChart, type ChartLayer } from '../components/SpendChart.js';
import { DataState, Empty } from '../components/Status.js';
import { NumberHeader } from '../components/Table.js';
import { formatCount, formatPercent, formatUtcDate, subtractUsd, sumUsd } from '../format.js';
import { defaultRange, rangeQuery, type RangeChoice } from '../range.js';
import { useTheme } from '../theme.js';

const GRANULARITIES: ReadonlyArray<{ id: Granularity; label: string }> = [
  { id: 'hour', label: 'Hour' },
  { id: 'day', label: 'Day' },
  { id: 'month', label: 'Month' },
];

const GROUPINGS: ReadonlyArray<{ id: SpendSeriesQuery['groupBy']; label: string }> = [
  { id: 'provider', label: 'Provider' },
  { id: 'model', label: 'Model' },
  { id: 'project', label: 'Project / workspace' },
];

/**
 * How many groups the chart draws as layers of their own; the server sums the rest into one "other"
 * layer. Ten stays readable with a colour each (PALETTE has ten and a grey for "other"), and keeps
 * the answer small: 90 days of hours by model is 11 series instead of one per model.
 */
const MAX_LAYERS = 10;

const GROUP_WORDS: Record<SpendSeriesQuery['groupBy'], [one: string, many: string]> = { provider: ['provider', 'providers'], model: ['model', 'models'], project: ['project', 'projects'] };

/** "3 models", "1 project". */
function countGroups(count: number, groupBy: SpendSeriesQuery['groupBy']): string {
  return `${formatCount(count)} ${GROUP_WORDS[groupBy][count === 1 ? 0 : 1]}`;
}

/** How a series is named on screen. */
export function seriesLabel(series: SpendSeries['series'][number], groupBy: SpendSeriesQuery['groupBy']): string {
  const provider = series.provider ? PROVIDERS[series.provider].displayName : '';
  if (groupBy === 'provider') return provider || series.key;
  if (groupBy === 'project') return `${series.key === '' ? 'default project' : series.key} (${provider})`;
  return `${series.key === NO_MODEL ? 'no model (tools, storage)' : series.key} (${provider})`;
}

/** How the groups summed beyond the top ones are named: "other (287 models)". */
export function otherLabel(other: FoldedSeries, groupBy: SpendSeriesQuery['groupBy']): string {
  return `other (${countGroups(other.groups, groupBy)})`;
}

/** One layer per series the server kept, then its "other" series, if it summed any groups. */
export function chartLayers(series: SpendSeries): ChartLayer[] {
  const layers = series.series.map((s, i) => ({ label: seriesLabel(s, series.groupBy), color: PALETTE[i % (PALETTE.length - 1)]!, values: s.costUsd }));
  if (series.other) layers.push({ label: otherLabel(series.other, series.groupBy), color: PALETTE[PALETTE.length - 1]!, values: series.other.costUsd });
  return layers;
}

/** The sum of several billed/estimated amounts, exactly. */
function sumAmounts(amounts: readonly SpendAmount[]): SpendAmount {
  return {
    totalUsd: sumUsd(amounts.map((a) => a.totalUsd)),
    billedUsd: sumUsd(amounts.map((a) => a.billedUsd)),
    estimatedUsd: sumUsd(amounts.map((a) => a.estimatedUsd)),
  };
}

/** Spend over time: stacked by provider, model or project, with the top models below. */
export function Spend() {
  const [range, setRange] = useState<RangeChoice>(() => defaultRange());
  const [granularity, setGranularity] = useState<Granularity>('day');
  const [groupBy, setGroupBy] = useState<SpendSeriesQuery['groupBy']>('provider');
  const query = rangeQuery(range);
  const queryKey = JSON.stringify([query, granularity, groupBy]);
  const series = useApiData((api) => api.getSpendSeries({ ...query, granularity, groupBy, top: MAX_LAYERS }), queryKey);
  const models = useApiData((api) => api.getTopModels(query), JSON.stringify(query));

  return (
    <section aria-labelledby="spend-title">
      <header className="page-header">
        <h1 id="spend-title">Spend over time</h1>
        <p className="page-header__meta">Buckets are UTC. Billed cost arrives about a day late; until then a bucket holds estimates.</p>
      </header>
      <div className="toolbar">
        <RangePicker value={range} onChange={setRange} />
        <Choice legend="Granularity" options={GRANULARITIES} value={granularity} onChange={setGranularity} />
        <Choice legend="Stack by" options={GROUPINGS} value={groupBy} onChange={setGroupBy} />
      </div>
      <DataState loaded={series} what="spend over time">
        {(data) => <SeriesPanel data={data} loading={series.loading} />}
      </DataState>
      <h2>Top models</h2>
      <DataState loaded={models} what="top models">
        {(data) => <ModelsTable models={data} />}
      </DataState>
    </section>
  );
}

function SeriesPanel({ data, loading }: { data: SpendSeries; loading: boolean }) {
  const theme = useTheme();
  const layers = useMemo(() => chartLayers(data), [data]);
  if (data.series.length === 0) {
    return <Empty title="No spend in this range.">Choose a longer range, or check the Providers page for the last poll.</Empty>;
  }
  const groupWord = GROUP_WORDS[data.groupBy][0];
  const rows = [...data.series, ...(data.other ? [data.other] : [])];
  const total = sumUsd(rows.map((s) => s.totalUsd));
  const estimated = sumUsd(rows.flatMap((s) => s.estimatedUsd));
  const listed = data.other ? `the ${countGroups(data.series.length, data.groupBy)} with the most spend and the other ${countGroups(data.other.groups, data.groupBy)} together` : `every ${groupWord}`;
  const first = data.buckets[0]!;
  const last = data.buckets[data.buckets.length - 1]!;
  return (
    <div className="series-panel" aria-busy={loading}>
      <p className="series-panel__total">
        Total <SpendFigure amount={{ totalUsd: total, estimatedUsd: estimated, billedUsd: subtractUsd(total, estimated) }} /> from {formatUtcDate(first)} to {formatUtcDate(last)}
      </p>
      <SpendChart
        buckets={data.buckets}
        layers={layers}
        granularity={data.granularity}
        theme={theme}
        label={`Stacked bars of spend per ${data.granularity} by ${groupWord}, ${data.buckets.length} buckets; the table below lists ${listed}.`}
      />
      <table className="data-table">
        <caption>Spend by {groupWord} in the range</caption>
        <thead>
          <tr>
            <th scope="col">{GROUPINGS.find((g) => g.id === data.groupBy)!.label}</th>
            <NumberHeader>Spend</NumberHeader>
            <NumberHeader>of which estimated</NumberHeader>
          </tr>
        </thead>
        <tbody>
          {rows.map((s, i) => (
            <tr key={'key' in s ? `${s.provider}-${s.key}` : 'other'}>
              <th scope="row">
                <span className="swatch" style={{ background: layers[i]!.color }} aria-hidden="true" />
                {layers[i]!.label}
              </th>
              <td className="num">
                <Money usd={s.totalUsd} />
              </td>
              <td className="num">
                <Money usd={sumUsd(s.estimatedUsd)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ModelsTable({ models }: { models: ModelTotals[] }) {
  if (models.length === 0) return <Empty title="No model used in this range." />;
  const total = sumAmounts(models.map((m) => m.cost));
  return (
    <div className="table-scroll">
      <table className="data-table">
        <caption>
          Models by spend in the range: <SpendFigure amount={total} />
        </caption>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Provider</th>
            <NumberHeader>Spend</NumberHeader>
            <NumberHeader>Requests</NumberHeader>
            <NumberHeader>Input tokens</NumberHeader>
            <NumberHeader>Cache share</NumberHeader>
            <NumberHeader>Output tokens</NumberHeader>
            <NumberHeader>Output / input</NumberHeader>
          </tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <tr key={`${m.provider}-${m.model}`}>
              <th scope="row">{m.model === NO_MODEL ? 'no model (tools, storage)' : m.model}</th>
              <td>{PROVIDERS[m.provider].displayName}</td>
              <td className="num">
                <SpendFigure amount={m.cost} />
              </td>
              <td className="num">{m.requests === null ? <span title="This provider does not report requests">n/a</span> : formatCount(m.requests)}</td>
              <td className="num">{formatCount(m.inputTokens)}</td>
              <td className="num" title="Input tokens read from the prompt cache, as a share of all input tokens">
                {m.inputTokens > 0 ? formatPercent(m.cachedInputTokens / m.inputTokens) : '–'}
              </td>
              <td className="num">{formatCount(m.outputTokens)}</td>
              <td className="num">{m.inputTokens > 0 ? (m.outputTokens / m.inputTokens).toLocaleString(undefined, { maximumFractionDigits: 3 }) : '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
