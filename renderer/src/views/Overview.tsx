import type { Overview as OverviewData, ProviderStatus, SpendAmount } from '../../../shared/api.js';
import { BudgetStanding } from '../components/BudgetBar.js';
import { Freshness } from '../components/Freshness.js';
import { Money, SpendFigure } from '../components/Money.js';
import { ProviderFigures } from '../components/ProviderFigures.js';
import { ProviderError } from '../components/ProviderError.js';
import { Empty } from '../components/Status.js';
import { formatDateTime, formatUtcDate } from '../format.js';
import { FirstRun } from './FirstRun.js';

/** Today, this week, this month, budgets and providers at a glance; the first-run guide when nothing is connected. */
export function Overview({ overview }: { overview: OverviewData }) {
  const connected = overview.providers.filter((p) => p.configured);
  if (connected.length === 0 && !overview.demo) return <FirstRun />;
  return (
    <section aria-labelledby="overview-title">
      <header className="page-header">
        <h1 id="overview-title">Overview</h1>
        <p className="page-header__meta">
          Updated <time dateTime={overview.generatedAt}>{formatDateTime(overview.generatedAt)}</time> · periods are UTC
        </p>
      </header>
      <div className="cards cards--three">
        <PeriodCard title="Today" amount={overview.today} />
        <PeriodCard title="This week" amount={overview.week} />
        <PeriodCard title="This month" amount={overview.month} />
      </div>

      <h2>Budgets</h2>
      {overview.budgets.length === 0 ? (
        <Empty title="No budget yet.">
          <a href="#/budgets">Create a budget</a> to be alerted before a month’s spend gets away.
        </Empty>
      ) : (
        <ul className="budget-list">
          {overview.budgets.map((budget) => (
            <li key={budget.id} className="budget-row">
              <BudgetStanding budget={budget} />
              <p className="budget-row__foot">
                {budget.period === 'day' ? 'Today' : budget.period === 'week' ? 'This week' : 'This month'} from {formatUtcDate(budget.periodStart)} · forecast{' '}
                <Money usd={budget.forecastUsd} /> {budget.estimatedUsd !== '0' ? <>· includes <Money usd={budget.estimatedUsd} /> estimated</> : null}
              </p>
            </li>
          ))}
        </ul>
      )}

      <h2>Providers</h2>
      <div className="cards">
        {overview.providers.map((status) => (
          <ProviderCard key={status.provider} status={status} />
        ))}
      </div>
    </section>
  );
}

function PeriodCard({ title, amount }: { title: string; amount: SpendAmount }) {
  return (
    <article className="card period-card">
      <h2 className="card__title">{title}</h2>
      <SpendFigure amount={amount} size="large" />
    </article>
  );
}

function ProviderCard({ status }: { status: ProviderStatus }) {
  return (
    <article className="card provider-card" aria-label={status.displayName}>
      <h3 className="card__title">{status.displayName}</h3>
      {status.configured ? (
        <>
          <ProviderFigures status={status} />
          <Freshness status={status} />
          {status.backfillProgress !== null ? <p className="hint">Fetching history…</p> : null}
          <ProviderError status={status} />
        </>
      ) : (
        <p className="hint">
          Not connected. <a href="#/providers">Add an {status.keyName}</a>
        </p>
      )}
    </article>
  );
}
