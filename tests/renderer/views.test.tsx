// @vitest-environment happy-dom
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiProvider } from '../../renderer/src/api/context.js';
import { App } from '../../renderer/src/App.js';
import type { LlmeterApi } from '../../shared/api.js';
import { PROVIDER_IDS } from '../../shared/providers.js';
import { budget, fakeApi, overview, providerStatus } from './fake-api.js';

function renderApp(api: LlmeterApi, hash = '#/overview') {
  window.location.hash = hash;
  return render(
    <ApiProvider api={api} autoRefreshMs={0}>
      <App />
    </ApiProvider>,
  );
}

const connected = providerStatus('openai', {
  configured: true,
  keySource: 'keychain',
  keyFingerprint: 'ab12',
  lastPollAt: '2026-11-19T15:20:00.000Z',
  lastSuccessAt: '2026-11-19T15:20:00.000Z',
  dataAsOf: '2026-11-19T00:00:00.000Z',
  today: { totalUsd: '1.5', billedUsd: '0', estimatedUsd: '1.5' },
  monthToDate: { totalUsd: '42.25', billedUsd: '40.75', estimatedUsd: '1.5' },
});

beforeEach(() => {
  Object.defineProperty(navigator, 'language', { value: 'en-US', configurable: true });
});
afterEach(() => cleanup());

describe('first run', () => {
  it('guides to creating a key for the chosen provider and sends it once, clearing the field', async () => {
    const api = fakeApi({ setProviderKey: { ok: true, provider: 'anthropic', errorKind: null, message: 'Anthropic accepted the key ending in …9xyz.' } });
    renderApp(api);
    await screen.findByRole('heading', { level: 1, name: 'Connect your first provider' });
    fireEvent.click(screen.getByRole('radio', { name: 'Anthropic' }));
    const guides = screen.getAllByRole('link', { name: 'console.anthropic.com/settings/admin-keys' });
    expect(guides.map((link) => link.getAttribute('href'))).toEqual(['https://console.anthropic.com/settings/admin-keys', 'https://console.anthropic.com/settings/admin-keys']);
    const field = screen.getByLabelText('Anthropic Admin API key') as HTMLInputElement;
    expect(field.type).toBe('password');
    fireEvent.change(field, { target: { value: '  sk-ant-admin01-secret9xyz  ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Connect' }));
    await screen.findByText('Anthropic accepted the key ending in …9xyz.');
    expect(api.setProviderKey).toHaveBeenCalledWith({ provider: 'anthropic', key: 'sk-ant-admin01-secret9xyz' });
    expect(field.value).toBe('');
  });

  it('warns about a key of the wrong shape and shows the refusal in words', async () => {
    const api = fakeApi({ setProviderKey: { ok: false, provider: 'openai', errorKind: 'permission', message: 'OpenAI refused access (HTTP 403): the key lacks the api.usage.read permission.' } });
    renderApp(api);
    const field = (await screen.findByLabelText('OpenAI organization Admin API key')) as HTMLInputElement;
    fireEvent.change(field, { target: { value: 'sk-proj-abc' } });
    expect(screen.getByText(/This does not look like an OpenAI organization Admin API key/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Connect' }));
    expect((await screen.findByRole('alert')).textContent).toContain('api.usage.read');
  });
});

describe('overview', () => {
  it('labels every amount billed or estimated, says how fresh the data is, and names errors', async () => {
    const failing = providerStatus('anthropic', { configured: true, keySource: 'env', lastError: 'Anthropic rejected the Admin API key (HTTP 401). Create an Admin API key at …', lastErrorKind: 'auth', lastPollAt: '2026-11-19T15:00:00.000Z' });
    renderApp(
      fakeApi({
        getOverview: overview({
          state: 'error',
          today: { totalUsd: '1.5', billedUsd: '0', estimatedUsd: '1.5' },
          month: { totalUsd: '1234.0000001', billedUsd: '1232.5000001', estimatedUsd: '1.5' },
          providers: [connected, failing, providerStatus('openrouter')],
          budgets: [budget()],
        }),
      }),
    );
    const month = (await screen.findByRole('heading', { name: 'This month' })).closest('article')!;
    expect(within(month as HTMLElement).getByText('$1,234.00').getAttribute('title')).toBe('$1,234.0000001');
    expect(month.textContent).toContain('billed $1,232.50 estimated $1.50');
    const today = screen.getByRole('heading', { name: 'Today' }).closest('article')!;
    expect(today.textContent).toBe('Today$1.50estimated');
    const card = screen.getByRole('article', { name: 'OpenAI' });
    expect(card.textContent).toContain('Billing data as of Nov 19, 2026');
    expect(card.textContent).toContain('last poll');
    expect(screen.getByRole('alert').textContent).toMatch(/^Anthropic: Key rejected\. Anthropic rejected the Admin API key/);
    const meter = screen.getByRole('meter', { name: 'Budget Monthly total' });
    expect(meter.getAttribute('aria-valuenow')).toBe('86');
    expect(meter.getAttribute('aria-valuetext')).toContain('$85.50 of $100.00 spent');
    expect(screen.getByText('warning, forecast to exceed')).toBeTruthy();
    expect(screen.getByRole('link', { name: '1 provider failing' }).getAttribute('href')).toBe('#/providers');
  });

  it('marks every page "Demo data" when the app serves the demo', async () => {
    const api = fakeApi({ getOverview: overview({ demo: true, providers: PROVIDER_IDS.map((id) => providerStatus(id, { configured: true })) }) });
    for (const page of ['overview', 'spend', 'providers', 'budgets', 'export']) {
      renderApp(api, `#/${page}`);
      await screen.findByText('Demo data');
      expect(screen.getByRole('note').textContent).toContain('not your real spend');
      cleanup();
    }
  });

  it('shows the customers page only once the SDK attributes spend to customers', async () => {
    const without = renderApp(fakeApi({ getOverview: overview({ providers: [connected] }) }));
    await screen.findByRole('heading', { level: 1, name: 'Overview' });
    expect(within(without.container).queryByRole('link', { name: 'Customers' })).toBeNull();
    cleanup();
    renderApp(
      fakeApi({
        getOverview: overview({ providers: [connected] }),
        getCustomers: [
          { customerId: 'acme', costUsd: '3.25', requests: 12, inputTokens: 1000, outputTokens: 200 },
          { customerId: '', costUsd: '0.5', requests: 3, inputTokens: 10, outputTokens: 2 },
        ],
      }),
      '#/customers',
    );
    await screen.findByRole('heading', { level: 1, name: 'Customers' });
    expect(screen.getByRole('link', { name: 'Customers' }).getAttribute('aria-current')).toBe('page');
    expect((await screen.findByRole('row', { name: /acme/ })).textContent).toContain('$3.25');
    expect(screen.getByRole('row', { name: /no customer named/ }).textContent).toContain('$0.50');
  });
});

describe('budgets', () => {
  it('explains a bad amount, then creates the budget the form describes', async () => {
    const api = fakeApi({ createBudget: budget({ id: 2, name: 'OpenAI daily' }) });
    renderApp(api, '#/budgets');
    await screen.findByText('No budget yet.');
    fireEvent.click(screen.getByRole('button', { name: 'New budget' }));
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'OpenAI daily' } });
    fireEvent.change(screen.getByLabelText('Counts'), { target: { value: 'provider' } });
    fireEvent.change(screen.getByLabelText('Period'), { target: { value: 'day' } });
    fireEvent.change(screen.getByLabelText('Amount (USD)'), { target: { value: 'ten' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create budget' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Enter the amount in dollars, for example 50 or 12.50.');
    fireEvent.change(screen.getByLabelText('Amount (USD)'), { target: { value: '$12.5' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create budget' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Choose the provider this budget counts.');
    fireEvent.change(screen.getByLabelText('Provider'), { target: { value: 'openai' } });
    fireEvent.change(screen.getByLabelText('Alert at (% of amount)'), { target: { value: '100, 50 80' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create budget' }));
    await waitFor(() => expect(api.createBudget).toHaveBeenCalledTimes(1));
    expect(api.createBudget).toHaveBeenCalledWith({ name: 'OpenAI daily', scope: { kind: 'provider', provider: 'openai' }, period: 'day', amountUsd: '12.5', thresholds: [50, 80, 100] });
  });

  it('lists alerts with what was spent and whether it was billed', async () => {
    renderApp(
      fakeApi({
        listBudgets: [budget({ level: 'over', ratio: 1.2, spentUsd: '120', forecastToExceed: false })],
        listAlerts: [{ id: 7, budgetId: 1, budgetName: 'Monthly total', kind: 'threshold', threshold: 100, periodStart: '2026-11-01T00:00:00.000Z', firedAt: '2026-11-18T10:00:00.000Z', spentUsd: '101.5', amountUsd: '100', forecastUsd: '140', estimatedUsd: '2' }],
      }),
      '#/budgets',
    );
    const table = await screen.findByRole('table', { name: 'Alerts, newest first' });
    expect(table.textContent).toContain('Crossed 100 %');
    expect(table.textContent).toContain('$101.50 ($2.00 estimated)');
    expect(screen.getByText('over budget')).toBeTruthy();
  });
});

describe('providers and export', () => {
  it('shows where an environment key comes from, tests it, and offers no removal', async () => {
    const api = fakeApi({
      listProviders: [providerStatus('openai', { ...connected, keySource: 'env' }), providerStatus('anthropic', { configured: true, keySource: 'keychain', backfillProgress: 0 }), providerStatus('openrouter')],
      testProviderKey: { ok: true, provider: 'openai', errorKind: null, message: '(from LLMETER_OPENAI_ADMIN_KEY) OpenAI accepted the key ending in …ab12.' },
    });
    renderApp(api, '#/providers');
    const openai = await screen.findByRole('article', { name: 'OpenAI' });
    expect(openai.textContent).toContain('Connected with the key in LLMETER_OPENAI_ADMIN_KEY, ending in …ab12');
    expect(within(openai).queryByRole('button', { name: 'Remove key' })).toBeNull();
    fireEvent.click(within(openai).getByRole('button', { name: 'Test key' }));
    await within(openai).findByText(/OpenAI accepted the key ending in …ab12/);
    const anthropic = screen.getByRole('article', { name: 'Anthropic' });
    expect(within(anthropic).getByRole('progressbar').hasAttribute('value')).toBe(false);
    fireEvent.click(within(anthropic).getByRole('button', { name: 'Remove key' }));
    fireEvent.click(within(anthropic).getByRole('button', { name: 'Remove' }));
    await waitFor(() => expect(api.deleteProviderKey).toHaveBeenCalledWith({ provider: 'anthropic' }));
  });

  it('exports the chosen range, providers, granularity and format', async () => {
    const api = fakeApi({ exportData: { saved: true, path: '/home/me/llmeter.csv', rows: 1234 } });
    renderApp(api, '#/export');
    await screen.findByRole('heading', { level: 1, name: 'Export' });
    fireEvent.change(screen.getByLabelText('Range'), { target: { value: 'mtd' } });
    fireEvent.click(screen.getByRole('checkbox', { name: 'OpenRouter' }));
    fireEvent.click(screen.getByRole('radio', { name: 'Month' }));
    fireEvent.click(screen.getByRole('radio', { name: 'JSON Lines (scripts)' }));
    fireEvent.click(screen.getByRole('button', { name: 'Export' }));
    expect((await screen.findByText(/Saved 1,234 rows to/)).textContent).toContain('/home/me/llmeter.csv');
    expect(api.exportData).toHaveBeenCalledWith({ from: 'now/M', to: 'now', granularity: 'month', format: 'jsonl', providers: ['openai', 'anthropic'] });
  });
});

describe('desktop events', () => {
  it('refetches when the app pushes dataChanged, and opens budgets when a notification is clicked', async () => {
    const listeners = new Map<string, () => void>();
    const on = ((event: string, listener: () => void) => {
      listeners.set(event, listener);
      return () => listeners.delete(event);
    }) as never;
    const api = fakeApi({ getOverview: overview({ providers: [connected] }) });
    window.location.hash = '#/overview';
    render(
      <ApiProvider api={api} on={on} autoRefreshMs={0}>
        <App />
      </ApiProvider>,
    );
    await screen.findByRole('heading', { level: 1, name: 'Overview' });
    const calls = api.getOverview.mock.calls.length;
    act(() => listeners.get('dataChanged')!());
    await waitFor(() => expect(api.getOverview.mock.calls.length).toBe(calls + 1));
    act(() => listeners.get('showBudget')!());
    await screen.findByRole('heading', { level: 1, name: 'Budgets' });
  });
});

describe('tray popover', () => {
  it('shows the overview without navigation when the desktop app loads ?window=popover', async () => {
    window.history.replaceState(null, '', '/?window=popover#/budgets');
    try {
      render(
        <ApiProvider api={fakeApi({ getOverview: overview({ providers: [connected], budgets: [budget()] }) })} autoRefreshMs={0}>
          <App />
        </ApiProvider>,
      );
      await screen.findByRole('meter', { name: 'Budget Monthly total' });
      expect(screen.queryByRole('navigation')).toBeNull();
      expect(screen.getByRole('main').className).toBe('compact');
    } finally {
      window.history.replaceState(null, '', '/');
    }
  });
});
