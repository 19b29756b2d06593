import { useId, useState, type FormEvent } from 'react';
import type { KeyCheckResult } from '../../../shared/api.js';
import { PROVIDERS, type ProviderId } from '../../../shared/providers.js';
import { useApi, useRefresh } from '../api/context.js';
import { Notice } from './Status.js';

/**
 * Takes a provider key once: it is checked with one call to the provider, stored by the app (OS
 * keychain) and never comes back to the page. The field is cleared as soon as the key is accepted.
 */
export function KeyForm({ provider, replacing = false, onConnected }: { provider: ProviderId; replacing?: boolean; onConnected?: (result: KeyCheckResult) => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const info = PROVIDERS[provider];
  const id = useId();
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<KeyCheckResult | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const trimmed = key.trim();
  const looksWrong = trimmed.length > 0 && !trimmed.startsWith(info.keyPrefix);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!trimmed || busy) return;
    setBusy(true);
    setFailure(null);
    setResult(null);
    try {
      const outcome = await api.setProviderKey({ provider, key: trimmed });
      setResult(outcome);
      if (outcome.ok) {
        setKey('');
        onConnected?.(outcome);
        refresh();
      }
    } catch (err) {
      setFailure(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="key-form" onSubmit={(event) => void submit(event)} aria-label={`${info.displayName} key`}>
      <label htmlFor={`${id}-key`}>
        {info.displayName} {info.keyName}
      </label>
      <div className="key-form__row">
        <input
          id={`${id}-key`}
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(event) => setKey(event.target.value)}
          placeholder={`${info.keyPrefix}…`}
          aria-describedby={`${id}-help`}
          disabled={busy}
        />
        <button type="submit" className="button button--primary" disabled={!trimmed || busy}>
          {busy ? 'Checking…' : replacing ? 'Replace key' : 'Connect'}
        </button>
      </div>
      <p id={`${id}-help`} className="hint">
        Create one at{' '}
        <a href={info.keyUrl} target="_blank" rel="noreferrer">
          {info.keyUrl.replace(/^https:\/\//, '')}
        </a>
        . LLMeter checks it with one call to {info.displayName}, keeps it in the OS keychain and never shows it again.
      </p>
      {looksWrong ? (
        <Notice kind="warning">
          This does not look like an {info.displayName} {info.keyName}: those start with <code>{info.keyPrefix}</code>.
        </Notice>
      ) : null}
      {result ? <Notice kind={result.ok ? 'success' : 'error'}>{result.message}</Notice> : null}
      {failure ? <Notice kind="error">{failure}</Notice> : null}
    </form>
  );
}
