import type { ProviderStatus } from '../../../shared/api.js';
import { formatDateTime, formatRelative } from '../format.js';

/** "billing data as of …, last poll …" for one provider. */
export function Freshness({ status }: { status: Pick<ProviderStatus, 'dataAsOf' | 'lastPollAt' | 'lastSuccessAt'> }) {
  return (
    <p className="freshness">
      Billing data as of{' '}
      {status.dataAsOf ? <time dateTime={status.dataAsOf} title={formatDateTime(status.dataAsOf)}>{formatDateTime(status.dataAsOf)}</time> : 'no data yet'}
      {', last poll '}
      {status.lastPollAt ? <time dateTime={status.lastPollAt} title={formatDateTime(status.lastPollAt)}>{formatRelative(status.lastPollAt)}</time> : 'not yet'}
      {status.lastPollAt && status.lastSuccessAt !== status.lastPollAt ? (
        <>
          {', last success '}
          {status.lastSuccessAt ? <time dateTime={status.lastSuccessAt}>{formatRelative(status.lastSuccessAt)}</time> : 'never'}
        </>
      ) : null}
    </p>
  );
}

/** The newest "data as of" of all providers, for page headers. */
export function newestDataAsOf(providers: readonly ProviderStatus[]): string | null {
  let newest: string | null = null;
  for (const p of providers) if (p.dataAsOf && (!newest || p.dataAsOf > newest)) newest = p.dataAsOf;
  return newest;
}
