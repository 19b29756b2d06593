import type { ProviderId } from '../../shared/providers.js';
import type { UsageRecord, UsageSource } from '../../shared/usage.js';
import type { HttpClient } from './http.js';

/** What an adapter needs to talk to its provider. */
export interface ProviderContext {
  /** Origin plus optional path prefix; documented paths (e.g. `/v1/organization/costs`) are appended. */
  baseUrl: string;
  /** The admin / management key. Adapters put it in a header and nowhere else. */
  key: string;
  http: HttpClient;
  /** Told the share of the fetch done so far (0..1) after each page, for a backfill's progress bar. */
  onProgress?: (fraction: number) => void;
}

/** A half-open time range [start, end) in Unix seconds, UTC, day-aligned. */
export interface FetchWindow {
  start: number;
  end: number;
}

/** A (source, range) whose rows this fetch returned completely: stored rows there that are missing now are stale. */
export interface Coverage {
  source: UsageSource;
  start: number;
  end: number;
}

/** What one poll of one provider returned. */
export interface ProviderFetchResult {
  records: UsageRecord[];
  coverage: Coverage[];
  /** Prepaid balance where the provider reports one (OpenRouter credits). */
  balance?: { creditsNano: bigint; usedNano: bigint };
}

/** One provider's billing API behind one small interface: the next provider is one file. */
export interface ProviderAdapter {
  id: ProviderId;
  /** Fetches usage and billed cost for the window, following every page. Throws ProviderError. */
  fetch(ctx: ProviderContext, window: FetchWindow): Promise<ProviderFetchResult>;
  /** One cheap call that proves the key works and has the billing permission. Throws ProviderError. */
  validateKey(ctx: ProviderContext): Promise<void>;
}
