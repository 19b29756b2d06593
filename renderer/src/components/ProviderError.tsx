import type { ProviderStatus } from '../../../shared/api.js';
import { Notice } from './Status.js';

const TITLES: Record<string, string> = {
  auth: 'Key rejected',
  permission: 'Permission missing',
  unreachable: 'Provider unreachable',
  timeout: 'Provider did not answer in time',
  rate_limited: 'Rate-limited by the provider',
  server: 'Provider error',
  malformed: 'Unexpected answer from the provider',
  too_large: 'Answer too large',
  bad_request: 'Request refused',
};

/** What a provider's last error means, titled by its kind, with the app's own sentence on what to do. */
export function ProviderError({ status }: { status: Pick<ProviderStatus, 'lastError' | 'lastErrorKind' | 'displayName'> }) {
  if (!status.lastError) return null;
  const title = TITLES[status.lastErrorKind ?? ''] ?? 'Last poll failed';
  return (
    <Notice kind="error">
      <strong>
        {status.displayName}: {title}.
      </strong>{' '}
      {status.lastError}
    </Notice>
  );
}
