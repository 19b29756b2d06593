import { useId, useState } from 'react';
import { PROVIDER_IDS, PROVIDERS, type ProviderId } from '../../../shared/providers.js';
import { KeyForm } from '../components/KeyForm.js';

/** First run: no provider yet. A short guide to creating and pasting one admin key. */
export function FirstRun() {
  const [provider, setProvider] = useState<ProviderId>('openai');
  const id = useId();
  const info = PROVIDERS[provider];
  return (
    <section className="first-run" aria-labelledby={`${id}-title`}>
      <h1 id={`${id}-title`}>Connect your first provider</h1>
      <p className="lead">
        LLMeter reads what you spend from each provider’s own billing API, on this computer. It needs one admin key per provider: read-only use, kept in
        your OS keychain, never shown again.
      </p>
      <ol className="steps">
        <li>
          <fieldset className="provider-choice">
            <legend>Choose a provider</legend>
            {PROVIDER_IDS.map((candidate) => (
              <label key={candidate} className={candidate === provider ? 'provider-choice__option provider-choice__option--selected' : 'provider-choice__option'}>
                <input type="radio" name={`${id}-provider`} value={candidate} checked={candidate === provider} onChange={() => setProvider(candidate)} />
                {PROVIDERS[candidate].displayName}
              </label>
            ))}
          </fieldset>
        </li>
        <li>
          <p>
            Create an <strong>{info.keyName}</strong> in the {info.displayName} console:{' '}
            <a href={info.keyUrl} target="_blank" rel="noreferrer">
              {info.keyUrl.replace(/^https:\/\//, '')}
            </a>
            .
          </p>
        </li>
        <li>
          <p>Paste it here:</p>
          <KeyForm key={provider} provider={provider} />
        </li>
      </ol>
      <p className="hint">
        Just looking? <code>npx llmeter demo</code> serves a generated history so you can see the product without a key.
      </p>
    </section>
  );
}
