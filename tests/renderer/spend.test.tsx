// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiProvider } from '../../renderer/src/api/context.js';
import { PALETTE } from '../../renderer/src/components/SpendChart.js';
import { chartLayers, Spend } from '../../renderer/src/views/Spend.js';
import type { SpendSeries } from '../../shared/api.js';
import { fakeApi } from './fake-api.js';

// happy-dom has no canvas: the uPlot chart itself is drawn and hovered in Chromium (tests/e2e);
// here it is replaced by an element that shows what the view handed it.
vi.mock('../../renderer/src/components/SpendChart.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../renderer/src/components/SpendChart.js')>()),
  SpendChart: (props: { label: string; layers: Array<{ label: string }>; buckets: string[] }) => (
    <div role="img" aria-label={props.label} data-layers={props.layers.map((layer) => layer.label).join('|')} data-buckets={props.buckets.length} />
  ),
}));

const BUCKETS = ['2026-11-17T00:00:00.000Z', '2026-11-18T00:00:00.000Z', '2026-11-19T00:00:00.000Z'];

function modelSeries(count: number): SpendSeries {
  return {
    granularity: 'day',
    groupBy: 'model',
    buckets: BUCKETS,
    series: Array.from({ length: count }, (_, i) => ({
      key: `model-${i}`,
      provider: i % 2 ? 'anthropic' : 'openai',
      costUsd: ['0.1', '0.2', `0.00000000${(i % 9) + 1}`],
      estimatedUsd: ['0', '0', `0.00000000${(i % 9) + 1}`],
      totalUsd: '0.3',
    })),
  };
}

beforeEach(() => {
  Object.defineProperty(navigator, 'language', { value: 'en-US', configurable: true });
});
afterEach(() => cleanup());

describe('spend over time', () => {
  it('draws a layer per series the server kept and one grey layer for the groups it summed, named with their count', () => {
    const folded: SpendSeries = { ...modelSeries(10), other: { groups: 287, costUsd: ['0.4', '0.8', '0.000000014'], estimatedUsd: ['0', '0', '0.000000014'], totalUsd: '1.200000014' } };
    const layers = chartLayers(folded);
    expect(layers).toHaveLength(11);
    expect(layers[0]!.label).toBe('model-0 (OpenAI)');
    expect(layers[10]).toEqual({ label: 'other (287 models)', color: PALETTE[PALETTE.length - 1], values: ['0.4', '0.8', '0.000000014'] });
    // Grey is only ever "other": the ten kept series take the ten colours.
    expect(layers.slice(0, 10).map((layer) => layer.color)).not.toContain(PALETTE[PALETTE.length - 1]);
    expect(chartLayers({ ...modelSeries(1), groupBy: 'project', other: { groups: 1, costUsd: ['0', '0', '0'], estimatedUsd: ['0', '0', '0'], totalUsd: '0' } }).at(-1)!.label).toBe('other (1 project)');
    expect(chartLayers(modelSeries(3)).map((layer) => layer.label)).toEqual(['model-0 (OpenAI)', 'model-1 (Anthropic)', 'model-2 (OpenAI)']);
  });

  it('lists the kept series and "other" in the table, and counts other in the total, billed and estimated', async () => {
    const api = fakeApi({ getSpendSeries: { ...modelSeries(2), other: { groups: 300, costUsd: ['1', '2', '3'], estimatedUsd: ['0', '0', '0.5'], totalUsd: '6' } }, getTopModels: [] });
    render(
      <ApiProvider api={api} autoRefreshMs={0}>
        <Spend />
      </ApiProvider>,
    );
    const table = await screen.findByRole('table', { name: 'Spend by model in the range' });
    const other = within(table).getByRole('row', { name: /other \(300 models\)/ });
    expect(other.textContent).toContain('$6.00');
    expect(other.textContent).toContain('$0.50');
    // 2 × 0.300000001.. + 6: the two kept series end in 1e-9 and 2e-9.
    expect(screen.getByText(/^Total/).textContent).toContain('$6.60');
    expect(screen.getByRole('img').getAttribute('aria-label')).toMatch(/the table below lists the 2 models with the most spend and the other 300 models together\.$/);
  });

  it('asks for the chosen range, granularity and grouping, and lists every group with billed and estimated parts', async () => {
    const api = fakeApi({
      getSpendSeries: modelSeries(3),
      getTopModels: [
        { provider: 'openai', model: 'gpt-4o', cost: { totalUsd: '12.5', billedUsd: '10', estimatedUsd: '2.5' }, requests: 40, inputTokens: 200_000, cachedInputTokens: 50_000, cacheWriteTokens: 0, outputTokens: 20_000 },
        { provider: 'anthropic', model: 'claude-sonnet-4', cost: { totalUsd: '3', billedUsd: '3', estimatedUsd: '0' }, requests: null, inputTokens: 0, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 0 },
      ],
    });
    render(
      <ApiProvider api={api} autoRefreshMs={0}>
        <Spend />
      </ApiProvider>,
    );
    await screen.findByText('Spend by model in the range');
    expect(api.getSpendSeries).toHaveBeenLastCalledWith({ from: 'now/d-29d', to: 'now', granularity: 'day', groupBy: 'provider', top: 10 });
    fireEvent.change(screen.getByLabelText('Range'), { target: { value: '7d' } });
    fireEvent.click(screen.getByRole('radio', { name: 'Hour' }));
    fireEvent.click(screen.getByRole('radio', { name: 'Model' }));
    await waitFor(() => expect(api.getSpendSeries).toHaveBeenLastCalledWith({ from: 'now/d-6d', to: 'now', granularity: 'hour', groupBy: 'model', top: 10 }));
    expect(api.getTopModels).toHaveBeenLastCalledWith({ from: 'now/d-6d', to: 'now' });
    const chart = screen.getByRole('img');
    expect(chart.getAttribute('aria-label')).toMatch(/^Stacked bars of spend per day by model, 3 buckets/);
    expect(chart.getAttribute('data-layers')).toBe('model-0 (OpenAI)|model-1 (Anthropic)|model-2 (OpenAI)');
    const models = screen.getByRole('table', { name: /Models by spend in the range/ });
    const gpt = within(models).getByRole('row', { name: /gpt-4o/ });
    expect(gpt.textContent).toContain('$12.50billed $10.00 estimated $2.50');
    // 50 000 of 200 000 input tokens from the cache; 20 000 out per 200 000 in.
    expect(gpt.textContent).toContain('25%');
    expect(gpt.textContent).toContain('0.1');
    expect(within(models).getByRole('row', { name: /claude-sonnet-4/ }).textContent).toContain('n/a');
  });
});
