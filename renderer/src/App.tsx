import { useEffect, useRef, useState } from 'react';
import type { Overview as OverviewData } from '../../shared/api.js';
import { useApiData, useRefresh } from './api/context.js';
import { newestDataAsOf } from './components/Freshness.js';
import { DataState } from './components/Status.js';
import { formatDateTime, formatRelative } from './format.js';
import { ThemeProvider } from './theme.js';
import { Budgets } from './views/Budgets.js';
import { Customers } from './views/Customers.js';
import { Export } from './views/Export.js';
import { Overview } from './views/Overview.js';
import { Providers } from './views/Providers.js';
import { Spend } from './views/Spend.js';

const PAGES = [
  { id: 'overview', label: 'Overview' },
  { id: 'spend', label: 'Spend' },
  { id: 'providers', label: 'Providers' },
  { id: 'budgets', label: 'Budgets' },
  { id: 'export', label: 'Export' },
  { id: 'customers', label: 'Customers' },
] as const;

export type PageId = (typeof PAGES)[number]['id'];

/** The page named by the URL hash (#/spend); hash routes work from file:// and from the server alike. */
export function pageFromHash(hash: string): PageId {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return PAGES.find((page) => page.id === id)?.id ?? 'overview';
}

/** The desktop app's tray popover loads the page with `?window=popover`: a compact glance without navigation. */
export function isPopover(search: string): boolean {
  return new URLSearchParams(search).get('window') === 'popover';
}

function usePage(): PageId {
  const [page, setPage] = useState<PageId>(() => pageFromHash(window.location.hash));
  useEffect(() => {
    const update = () => setPage(pageFromHash(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return page;
}

/** How soon to look again while a provider's history is being fetched, so its numbers appear when they land. */
const BACKFILL_REFRESH_MS = 2_000;

/** The dashboard: header with navigation, the demo marker and freshness on every page, then the page. */
export function App() {
  const page = usePage();
  const refresh = useRefresh();
  const overview = useApiData((api) => api.getOverview(), 'overview');
  const backfilling = overview.data?.providers.some((p) => p.backfillProgress !== null) ?? false;
  useEffect(() => {
    if (!backfilling) return undefined;
    const timer = setTimeout(refresh, BACKFILL_REFRESH_MS);
    return () => clearTimeout(timer);
  }, [backfilling, overview.data, refresh]);
  const settings = useApiData((api) => api.getSettings(), 'settings');
  // The customers page exists only once the SDK has attributed spend to customers.
  const customers = useApiData((api) => api.getCustomers({ from: 'now-90d', limit: 1 }), 'customers');
  const hasCustomers = (customers.data?.length ?? 0) > 0;
  const main = useRef<HTMLElement>(null);
  const firstRender = useRef(true);
  useEffect(() => {
    // Moving focus to the new page tells keyboard and screen-reader users that it changed.
    if (firstRender.current) firstRender.current = false;
    else main.current?.focus();
  }, [page]);

  const pages = PAGES.filter((p) => p.id !== 'customers' || hasCustomers);
  const popover = isPopover(window.location.search);
  const shown: PageId = popover || (page === 'customers' && !hasCustomers) ? 'overview' : page;
  const demo = overview.data?.demo === true;

  return (
    <ThemeProvider preference={settings.data?.ui.theme ?? 'system'}>
      <button type="button" className="skip-link" onClick={() => main.current?.focus()}>
        Skip to content
      </button>
      <header className="app-header">
        <div className="app-header__brand">
          <span className="brand">LLMeter</span>
          {demo ? (
            <span className="demo-badge" title="Generated history served by `llmeter demo`; not your spend">
              Demo data
            </span>
          ) : null}
        </div>
        {popover ? null : (
          <nav aria-label="Main">
            <ul className="nav">
              {pages.map((p) => (
                <li key={p.id}>
                  <a href={`#/${p.id}`} aria-current={p.id === shown ? 'page' : undefined}>
                    {p.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        )}
        {overview.data ? <HeaderFreshness overview={overview.data} /> : null}
      </header>
      {demo ? (
        <p className="demo-banner" role="note">
          Demo data: a generated history, not your real spend. Connect a provider in the desktop app or with <code>npx llmeter serve</code> to see yours.
        </p>
      ) : null}
      <main id="main" ref={main} tabIndex={-1} className={popover ? 'compact' : undefined}>
        {shown === 'overview' ? (
          <DataState loaded={overview} what="the overview">
            {(data) => <Overview overview={data} />}
          </DataState>
        ) : shown === 'spend' ? (
          <Spend />
        ) : shown === 'providers' ? (
          <Providers />
        ) : shown === 'budgets' ? (
          <Budgets />
        ) : shown === 'export' ? (
          <Export />
        ) : (
          <Customers />
        )}
      </main>
    </ThemeProvider>
  );
}

function HeaderFreshness({ overview }: { overview: OverviewData }) {
  const connected = overview.providers.filter((p) => p.configured);
  if (connected.length === 0) return null;
  const asOf = newestDataAsOf(connected);
  let lastPoll: string | null = null;
  for (const p of connected) if (p.lastPollAt && (!lastPoll || p.lastPollAt > lastPoll)) lastPoll = p.lastPollAt;
  const failing = connected.filter((p) => p.lastError).length;
  return (
    <p className="app-header__freshness">
      Billing data as of {asOf ? <time dateTime={asOf}>{formatDateTime(asOf)}</time> : 'none yet'}, last poll{' '}
      {lastPoll ? <time dateTime={lastPoll}>{formatRelative(lastPoll)}</time> : 'not yet'}
      {failing > 0 ? (
        <>
          {' · '}
          <a href="#/providers" className="app-header__problem">
            {failing} provider{failing > 1 ? 's' : ''} failing
          </a>
        </>
      ) : null}
    </p>
  );
}
