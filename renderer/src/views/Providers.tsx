import { useState } from 'react';
import type { KeyCheckResult, PollSummary, ProviderStatus } from '../../../shared/api.js';
import { PROVIDERS } from '../../../shared/providers.js';
import { useApi, useApiData, useRefresh } from '../api/context.js';
import { ConfirmButton } from '../components/ConfirmButton.js';
import { Freshness } from '../components/Freshness.js';
import { KeyForm } from '../components/KeyForm.js';
import { ProviderError } from '../components/ProviderError.js';
import { ProviderFigures } from '../components/ProviderFigures.js';
import { DataState, Notice } from '../components/Status.js';
import { formatDateTime, formatPercent } from '../format.js';

/** Runs one action at a time and keeps its outcome or failure for display. */
function useAction<T>() {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<T | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const run = async (action: () => Promise<T>): Promise<void> => {
    setBusy(true);
    setFailure(null);
    setOutcome(null);
    try {
      setOutcome(await action());
    } catch (err) {
      setFailure(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, outcome, failure, run };
}

/** Providers: connect, test, replace and remove keys; poll now; history fetching and the last error. */
export function Providers() {
  const providers = useApiData((api) => api.listProviders(), 'providers');
  const api = useApi();
  const refresh = useRefresh();
  const poll = useAction<PollSummary>();
  return (
    <section aria-labelledby="providers-title">
      <header className="page-header page-header--actions">
        <h1 id="providers-title">Providers</h1>
        <button
          type="button"
          className="button"
          disabled={poll.busy}
          onClick={() =>
            void poll.run(async () => {
              const summary = await api.pollNow();
              refresh();
              return summary;
            })
          }
        >
          {poll.busy ? 'Polling…' : 'Poll now'}
        </button>
      </header>
      {poll.outcome ? (
        poll.outcome.outcomes.length === 0 ? (
          <Notice kind="info">No provider is connected, so there was nothing to poll.</Notice>
        ) : (
          <Notice kind={poll.outcome.outcomes.every((o) => o.ok) ? 'success' : 'error'}>
            <ul className="plain-list">
              {poll.outcome.outcomes.map((o) => (
                <li key={o.provider}>
                  {PROVIDERS[o.provider].displayName}: {o.message}
                </li>
              ))}
            </ul>
          </Notice>
        )
      ) : null}
      {poll.failure ? <Notice kind="error">{poll.failure}</Notice> : null}
      <DataState loaded={providers} what="providers">
        {(list) => (
          <div className="provider-list">
            {list.map((status) => (
              <ProviderPanel key={status.provider} status={status} />
            ))}
          </div>
        )}
      </DataState>
    </section>
  );
}

function keyDescription(status: ProviderStatus): string {
  const ending = status.keyFingerprint ? `, ending in …${status.keyFingerprint}` : '';
  if (status.keySource === 'env') return `Connected with the key in ${PROVIDERS[status.provider].keyEnv}${ending}`;
  return `Connected with the key in the OS keychain${ending}`;
}

function ProviderPanel({ status }: { status: ProviderStatus }) {
  const api = useApi();
  const refresh = useRefresh();
  const test = useAction<KeyCheckResult>();
  const remove = useAction<{ deleted: boolean }>();
  const [replacing, setReplacing] = useState(false);
  const headingId = `provider-${status.provider}`;
  return (
    <article className="card provider-panel" aria-labelledby={headingId}>
      <h2 id={headingId} className="card__title">
        {status.displayName}
      </h2>
      {status.configured ? (
        <>
          <p>
            {keyDescription(status)}
            {status.validatedAt ? `; checked ${formatDateTime(status.validatedAt)}` : ''}.
          </p>
          <ProviderFigures status={status} />
          <Freshness status={status} />
          {status.backfillProgress !== null ? (
            <div className="backfill">
              <label htmlFor={`${headingId}-backfill`}>Fetching history{status.backfillProgress > 0 ? ` (${formatPercent(status.backfillProgress)})` : '…'}</label>
              {/* No value while the share is unknown: an indeterminate bar. */}
              <progress id={`${headingId}-backfill`} max={1} {...(status.backfillProgress > 0 ? { value: status.backfillProgress } : {})} />
            </div>
          ) : null}
          <ProviderError status={status} />
          <div className="actions">
            <button type="button" className="button" disabled={test.busy} onClick={() => void test.run(() => api.testProviderKey({ provider: status.provider }))}>
              {test.busy ? 'Testing…' : 'Test key'}
            </button>
            {status.keySource === 'keychain' ? (
              <>
                <button type="button" className="button" aria-expanded={replacing} onClick={() => setReplacing((r) => !r)}>
                  Replace key
                </button>
                <ConfirmButton
                  question={<>Remove the {status.displayName} key? Data already fetched stays.</>}
                  groupLabel={`Remove the ${status.displayName} key?`}
                  confirmLabel="Remove"
                  busy={remove.busy}
                  onConfirm={(close) =>
                    void remove.run(async () => {
                      const result = await api.deleteProviderKey({ provider: status.provider });
                      close();
                      refresh();
                      return result;
                    })
                  }
                >
                  Remove key
                </ConfirmButton>
              </>
            ) : (
              <span className="hint">To change this key, change or unset {PROVIDERS[status.provider].keyEnv} and restart LLMeter.</span>
            )}
          </div>
          {test.outcome ? <Notice kind={test.outcome.ok ? 'success' : 'error'}>{test.outcome.message}</Notice> : null}
          {test.failure ? <Notice kind="error">{test.failure}</Notice> : null}
          {remove.failure ? <Notice kind="error">{remove.failure}</Notice> : null}
          {replacing ? <KeyForm provider={status.provider} replacing onConnected={() => setReplacing(false)} /> : null}
        </>
      ) : (
        <>
          {remove.outcome?.deleted ? <Notice kind="success">The {status.displayName} key was removed from the keychain.</Notice> : null}
          <p>Not connected.</p>
          <KeyForm provider={status.provider} />
        </>
      )}
    </article>
  );
}
