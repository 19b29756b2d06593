import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import type { SyncState } from '../store/sync-state.js';

/** What the freshness and health families report about one provider. Times are Unix seconds. */
export interface ProviderSync {
  provider: ProviderId;
  /** Whether the last poll succeeded; false for a configured provider not polled successfully yet. */
  up: boolean;
  lastSuccessAt: number | null;
  /** End of the newest bucket that held data (how far the provider's billing has caught up). */
  latestBucketEnd: number | null;
  /** Failed polls, ever; never decreases. */
  errorCount: number;
  lastDurationMs: number | null;
  /** Credits left, where the provider reports a balance (OpenRouter). */
  balanceNano: bigint | null;
}

/**
 * The providers the metrics report on: the configured ones (a provider whose key was removed is no
 * longer polled, so it must not look stale forever), or, with `configured` null (demo data, which
 * no key polls), every provider the database has a sync state for.
 */
export function providerSync(states: readonly SyncState[], configured: readonly ProviderId[] | null): ProviderSync[] {
  const byProvider = new Map(states.map((state) => [state.provider, state]));
  return PROVIDER_IDS.filter((id) => (configured === null ? byProvider.has(id) : configured.includes(id))).map((provider) => {
    const state = byProvider.get(provider);
    const balanceNano = state?.balanceCreditsNano != null && state.balanceUsedNano != null ? state.balanceCreditsNano - state.balanceUsedNano : null;
    return {
      provider,
      up: state !== undefined && state.lastSuccessAt !== null && state.lastError === null,
      lastSuccessAt: state?.lastSuccessAt ?? null,
      // 0 is what a poll that saw no data at all records.
      latestBucketEnd: state?.latestBucketEnd ? state.latestBucketEnd : null,
      errorCount: state?.errorCount ?? 0,
      lastDurationMs: state?.lastDurationMs ?? null,
      balanceNano,
    };
  });
}
