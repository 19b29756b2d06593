import { useId, useState, type FormEvent } from 'react';
import type { ExportRequest, ExportResult, Granularity } from '../../../shared/api.js';
import { PROVIDER_IDS, PROVIDERS, type ProviderId } from '../../../shared/providers.js';
import { useApi } from '../api/context.js';
import { Choice, RangePicker } from '../components/RangePicker.js';
import { Notice } from '../components/Status.js';
import { formatCount } from '../format.js';
import { defaultRange, rangeQuery, type RangeChoice } from '../range.js';

const GRANULARITIES: ReadonlyArray<{ id: Granularity; label: string }> = [
  { id: 'hour', label: 'Hour' },
  { id: 'day', label: 'Day' },
  { id: 'month', label: 'Month' },
];
const FORMATS: ReadonlyArray<{ id: ExportRequest['format']; label: string }> = [
  { id: 'csv', label: 'CSV (spreadsheets)' },
  { id: 'jsonl', label: 'JSON Lines (scripts)' },
];

/** Starts a same-origin download in the browser; the server answers with an attachment. */
function startDownload(url: string): void {
  const link = document.createElement('a');
  link.href = url;
  link.download = '';
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
}

/** Export: range, providers, granularity and format to a file (save dialog in the app, a download in a browser). */
export function Export() {
  const api = useApi();
  const id = useId();
  const [range, setRange] = useState<RangeChoice>(() => defaultRange());
  const [providers, setProviders] = useState<ProviderId[]>([...PROVIDER_IDS]);
  const [granularity, setGranularity] = useState<Granularity>('day');
  const [format, setFormat] = useState<ExportRequest['format']>('csv');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ExportResult | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  const toggle = (provider: ProviderId, on: boolean) => setProviders((list) => (on ? PROVIDER_IDS.filter((p) => p === provider || list.includes(p)) : list.filter((p) => p !== provider)));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (providers.length === 0) {
      setFailure('Choose at least one provider.');
      return;
    }
    setBusy(true);
    setFailure(null);
    setResult(null);
    try {
      const request: ExportRequest = { ...rangeQuery(range), granularity, format, ...(providers.length < PROVIDER_IDS.length ? { providers } : {}) };
      const outcome = await api.exportData(request);
      if (outcome.downloadUrl) startDownload(outcome.downloadUrl);
      setResult(outcome);
    } catch (err) {
      setFailure(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="export-title">
      <header className="page-header">
        <h1 id="export-title">Export</h1>
        <p className="page-header__meta">One row per bucket, provider, model and project, with tokens and cost; each row says whether its cost is billed or estimated.</p>
      </header>
      <form className="card export-form" onSubmit={(event) => void submit(event)}>
        <RangePicker value={range} onChange={setRange} />
        <fieldset className="choice">
          <legend>Providers</legend>
          {PROVIDER_IDS.map((provider) => (
            <label key={provider} className="choice__option">
              <input type="checkbox" name={`${id}-providers`} checked={providers.includes(provider)} onChange={(event) => toggle(provider, event.target.checked)} />
              {PROVIDERS[provider].displayName}
            </label>
          ))}
        </fieldset>
        <Choice legend="Granularity" options={GRANULARITIES} value={granularity} onChange={setGranularity} />
        <Choice legend="Format" options={FORMATS} value={format} onChange={setFormat} />
        <div className="actions">
          <button type="submit" className="button button--primary" disabled={busy}>
            {busy ? 'Exporting…' : 'Export'}
          </button>
        </div>
      </form>
      {failure ? <Notice kind="error">{failure}</Notice> : null}
      {result ? <ExportOutcome result={result} /> : null}
    </section>
  );
}

function ExportOutcome({ result }: { result: ExportResult }) {
  if (result.downloadUrl) {
    return (
      <Notice kind="success">
        The download has started. If it did not, <a href={result.downloadUrl}>download the file</a>.
      </Notice>
    );
  }
  if (!result.saved) return <Notice kind="info">Export cancelled; nothing was written.</Notice>;
  return (
    <Notice kind="success">
      Saved {result.rows === undefined ? '' : `${formatCount(result.rows)} rows `}to <code>{result.path}</code>.
    </Notice>
  );
}
