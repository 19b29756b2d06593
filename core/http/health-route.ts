import { PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import type { Db } from '../store/db.js';
import { listSyncStates } from '../store/sync-state.js';
import { sendJson, type Route } from './server.js';

/** Health of one provider as /api/v1/health reports it. */
export interface ProviderHealth {
  provider: ProviderId;
  configured: boolean;
  lastSuccessAt: string | null;
  lastError: string | null;
}

/** Builds the health document: `status` is "ok", or "degraded" when a configured provider's last poll failed. */
export function healthDocument(db: Db, configured: readonly ProviderId[], version: string): { status: 'ok' | 'degraded'; version: string; providers: ProviderHealth[] } {
  const states = new Map(listSyncStates(db).map((state) => [state.provider, state]));
  const providers = PROVIDER_IDS.filter((id) => configured.includes(id) || states.has(id)).map((provider) => {
    const state = states.get(provider);
    return {
      provider,
      configured: configured.includes(provider),
      lastSuccessAt: state?.lastSuccessAt ? new Date(state.lastSuccessAt * 1000).toISOString() : null,
      lastError: state?.lastError ?? null,
    };
  });
  const degraded = providers.some((p) => p.configured && p.lastError !== null);
  return { status: degraded ? 'degraded' : 'ok', version, providers };
}

/** `GET /api/v1/health`: public, so that probes need no token; it never holds a key. */
export function healthRoute(db: Db, configured: () => readonly ProviderId[], version: string): Route {
  return { method: 'GET', path: '/api/v1/health', auth: 'public', handle: ({ res }) => sendJson(res, 200, healthDocument(db, configured(), version)) };
}
