import { useId, useState, type FormEvent } from 'react';
import { BUDGET_PERIODS, DEFAULT_THRESHOLDS, type AlertRecord, type BudgetInput, type BudgetPeriod, type BudgetScope, type BudgetStatus } from '../../../shared/budgets.js';
import { usdInputToNano } from '../../../shared/money.js';
import { PROVIDER_IDS, PROVIDERS, isProviderId, type ProviderId } from '../../../shared/providers.js';
import { useApi, useApiData, useRefresh } from '../api/context.js';
import { BudgetStanding } from '../components/BudgetBar.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { Money } from '../components/Money.js';
import { DataState, Empty, Notice } from '../components/Status.js';
import { NumberHeader } from '../components/Table.js';
import { formatDateTime, formatUtcDate } from '../format.js';

const PERIOD_WORDS: Record<BudgetPeriod, string> = { day: 'Daily (UTC day)', week: 'Weekly (ISO week, Monday)', month: 'Monthly (calendar month)' };

/** A budget's scope in words. */
export function describeScope(scope: BudgetScope): string {
  const on = (provider?: ProviderId) => (provider ? ` on ${PROVIDERS[provider].displayName}` : '');
  switch (scope.kind) {
    case 'all':
      return 'All providers';
    case 'provider':
      return PROVIDERS[scope.provider].displayName;
    case 'model':
      return `Model ${scope.model}${on(scope.provider)}`;
    case 'project':
      return `Project ${scope.project}${on(scope.provider)}`;
  }
}

/** What the budget form holds while it is edited: text as typed. */
interface Draft {
  name: string;
  kind: BudgetScope['kind'];
  provider: ProviderId | '';
  model: string;
  project: string;
  period: BudgetPeriod;
  amount: string;
  thresholds: string;
}

function draftOf(budget?: BudgetStatus): Draft {
  if (!budget) return { name: '', kind: 'all', provider: '', model: '', project: '', period: 'month', amount: '', thresholds: DEFAULT_THRESHOLDS.join(', ') };
  const scope = budget.scope;
  return {
    name: budget.name,
    kind: scope.kind,
    provider: scope.kind === 'all' ? '' : (scope.provider ?? ''),
    model: scope.kind === 'model' ? scope.model : '',
    project: scope.kind === 'project' ? scope.project : '',
    period: budget.period,
    amount: budget.amountUsd,
    thresholds: budget.thresholds.join(', '),
  };
}

/** Turns the form into a BudgetInput, or says in words what is wrong. */
export function parseDraft(draft: Draft): { input: BudgetInput } | { error: string } {
  const amount = draft.amount.trim().replace(/^\$/, '');
  const nano = usdInputToNano(amount);
  if (nano === null || nano === 0n) return { error: 'Enter the amount in dollars, for example 50 or 12.50.' };
  const parts = draft.thresholds.split(/[,\s]+/).filter(Boolean);
  const thresholds = parts.map(Number);
  if (parts.length === 0 || thresholds.some((t) => !Number.isFinite(t) || t <= 0 || t > 1000)) {
    return { error: 'Thresholds are percentages of the amount between 1 and 1000, separated by commas, for example 50, 80, 100.' };
  }
  const provider = isProviderId(draft.provider) ? draft.provider : undefined;
  let scope: BudgetScope;
  if (draft.kind === 'all') scope = { kind: 'all' };
  else if (draft.kind === 'provider') {
    if (!provider) return { error: 'Choose the provider this budget counts.' };
    scope = { kind: 'provider', provider };
  } else if (draft.kind === 'model') {
    if (!draft.model.trim()) return { error: 'Enter the model name as the provider reports it, for example gpt-4o-2024-08-06.' };
    scope = { kind: 'model', model: draft.model.trim(), ...(provider ? { provider } : {}) };
  } else {
    if (!draft.project.trim()) return { error: 'Enter the project or workspace id, for example proj_abc123.' };
    scope = { kind: 'project', project: draft.project.trim(), ...(provider ? { provider } : {}) };
  }
  const name = draft.name.trim();
  return { input: { ...(name ? { name } : {}), scope, period: draft.period, amountUsd: amount, thresholds: [...new Set(thresholds)].sort((a, b) => a - b) } };
}

/** Budgets: where each stands, create/edit/delete, and the history of alerts. */
export function Budgets() {
  const budgets = useApiData((api) => api.listBudgets(), 'budgets');
  const alerts = useApiData((api) => api.listAlerts({ limit: 200 }), 'alerts');
  const [editing, setEditing] = useState<BudgetStatus | 'new' | null>(null);
  return (
    <section aria-labelledby="budgets-title">
      <header className="page-header page-header--actions">
        <h1 id="budgets-title">Budgets</h1>
        {editing === null ? (
          <button type="button" className="button button--primary" onClick={() => setEditing('new')}>
            New budget
          </button>
        ) : null}
      </header>
      {editing !== null ? <BudgetForm key={editing === 'new' ? 'new' : editing.id} budget={editing === 'new' ? undefined : editing} onDone={() => setEditing(null)} /> : null}
      <DataState loaded={budgets} what="budgets">
        {(list) =>
          list.length === 0 ? (
            <Empty title="No budget yet.">A budget alerts you (desktop notification, webhook) when spend crosses its thresholds in a day, week or month.</Empty>
          ) : (
            <ul className="budget-list">
              {list.map((budget) => (
                <BudgetItem key={budget.id} budget={budget} onEdit={() => setEditing(budget)} />
              ))}
            </ul>
          )
        }
      </DataState>
      <h2>Alert history</h2>
      <DataState loaded={alerts} what="alerts">
        {(list) => (list.length === 0 ? <Empty title="No alert has fired yet." /> : <AlertTable alerts={list} />)}
      </DataState>
    </section>
  );
}

function BudgetItem({ budget, onEdit }: { budget: BudgetStatus; onEdit: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const [failure, setFailure] = useState<string | null>(null);
  const remove = async () => {
    try {
      await api.deleteBudget({ id: budget.id });
      refresh();
    } catch (err) {
      setFailure(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <li className="budget-row">
      <BudgetStanding budget={budget} />
      <p className="budget-row__foot">
        {describeScope(budget.scope)} · {PERIOD_WORDS[budget.period]} from {formatUtcDate(budget.periodStart)} · thresholds {budget.thresholds.join(' %, ')} % · forecast{' '}
        <Money usd={budget.forecastUsd} />
        {budget.estimatedUsd !== '0' ? (
          <>
            {' '}
            · spent includes <Money usd={budget.estimatedUsd} /> estimated
          </>
        ) : (
          ' · spent is billed'
        )}
      </p>
      <div className="actions">
        <button type="button" className="button" onClick={onEdit}>
          Edit <span className="visually-hidden">{budget.name}</span>
        </button>
        <ConfirmButton
          question={<>Delete “{budget.name}” and its alert history?</>}
          groupLabel={`Delete budget ${budget.name}?`}
          confirmLabel="Delete"
          onConfirm={() => void remove()}
        >
          Delete <span className="visually-hidden">{budget.name}</span>
        </ConfirmButton>
      </div>
      {failure ? <Notice kind="error">{failure}</Notice> : null}
    </li>
  );
}

function BudgetForm({ budget, onDone }: { budget?: BudgetStatus; onDone: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const id = useId();
  const [draft, setDraft] = useState<Draft>(() => draftOf(budget));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof Draft>(field: K, value: Draft[K]) => setDraft((d) => ({ ...d, [field]: value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseDraft(draft);
    if ('error' in parsed) {
      setError(parsed.error);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (budget) await api.updateBudget({ id: budget.id, input: parsed.input });
      else await api.createBudget(parsed.input);
      refresh();
      onDone();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card budget-form" onSubmit={(event) => void submit(event)} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="card__title">
        {budget ? `Edit “${budget.name}”` : 'New budget'}
      </h2>
      <div className="form-grid">
        <label htmlFor={`${id}-name`}>Name</label>
        <input id={`${id}-name`} value={draft.name} onChange={(e) => set('name', e.target.value)} placeholder="e.g. Monthly total" />

        <label htmlFor={`${id}-kind`}>Counts</label>
        <select id={`${id}-kind`} value={draft.kind} onChange={(e) => set('kind', e.target.value as BudgetScope['kind'])}>
          <option value="all">All spend</option>
          <option value="provider">One provider</option>
          <option value="model">One model</option>
          <option value="project">One project or workspace</option>
        </select>

        {draft.kind !== 'all' ? (
          <>
            <label htmlFor={`${id}-provider`}>Provider{draft.kind === 'provider' ? '' : ' (optional)'}</label>
            <select id={`${id}-provider`} value={draft.provider} onChange={(e) => set('provider', e.target.value as ProviderId | '')}>
              {draft.kind === 'provider' ? <option value="">Choose…</option> : <option value="">Any provider</option>}
              {PROVIDER_IDS.map((p) => (
                <option key={p} value={p}>
                  {PROVIDERS[p].displayName}
                </option>
              ))}
            </select>
          </>
        ) : null}
        {draft.kind === 'model' ? (
          <>
            <label htmlFor={`${id}-model`}>Model</label>
            <input id={`${id}-model`} value={draft.model} onChange={(e) => set('model', e.target.value)} placeholder="gpt-4o-2024-08-06" />
          </>
        ) : null}
        {draft.kind === 'project' ? (
          <>
            <label htmlFor={`${id}-project`}>Project / workspace id</label>
            <input id={`${id}-project`} value={draft.project} onChange={(e) => set('project', e.target.value)} placeholder="proj_abc123" />
          </>
        ) : null}

        <label htmlFor={`${id}-period`}>Period</label>
        <select id={`${id}-period`} value={draft.period} onChange={(e) => set('period', e.target.value as BudgetPeriod)}>
          {BUDGET_PERIODS.map((p) => (
            <option key={p} value={p}>
              {PERIOD_WORDS[p]}
            </option>
          ))}
        </select>

        <label htmlFor={`${id}-amount`}>Amount (USD)</label>
        <input id={`${id}-amount`} inputMode="decimal" value={draft.amount} onChange={(e) => set('amount', e.target.value)} placeholder="50" required />

        <label htmlFor={`${id}-thresholds`}>Alert at (% of amount)</label>
        <input id={`${id}-thresholds`} value={draft.thresholds} onChange={(e) => set('thresholds', e.target.value)} aria-describedby={`${id}-thresholds-help`} />
        <p id={`${id}-thresholds-help`} className="hint form-grid__wide">
          Comma-separated; the highest below 100 is the warning level, 100 and above is over budget.
        </p>
      </div>
      {error ? <Notice kind="error">{error}</Notice> : null}
      <div className="actions">
        <button type="submit" className="button button--primary" disabled={busy}>
          {busy ? 'Saving…' : budget ? 'Save budget' : 'Create budget'}
        </button>
        <button type="button" className="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function AlertTable({ alerts }: { alerts: AlertRecord[] }) {
  return (
    <div className="table-scroll">
      <table className="data-table">
        <caption className="visually-hidden">Alerts, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Fired</th>
            <th scope="col">Budget</th>
            <th scope="col">Alert</th>
            <NumberHeader>Spent then</NumberHeader>
            <NumberHeader>Amount</NumberHeader>
            <NumberHeader>Forecast</NumberHeader>
          </tr>
        </thead>
        <tbody>
          {alerts.map((alert) => (
            <tr key={alert.id}>
              <td>
                <time dateTime={alert.firedAt}>{formatDateTime(alert.firedAt)}</time>
              </td>
              <th scope="row">{alert.budgetName}</th>
              <td>{alert.kind === 'forecast' ? 'Forecast to exceed' : `Crossed ${alert.threshold} %`} (period from {formatUtcDate(alert.periodStart)})</td>
              <td className="num">
                <Money usd={alert.spentUsd} />
                {alert.estimatedUsd !== '0' ? (
                  <span className="hint">
                    {' '}
                    (<Money usd={alert.estimatedUsd} /> estimated)
                  </span>
                ) : (
                  <span className="hint"> (billed)</span>
                )}
              </td>
              <td className="num">
                <Money usd={alert.amountUsd} />
              </td>
              <td className="num">
                <Money usd={alert.forecastUsd} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
