import { afterAll, beforeEach, expect } from 'vitest';
import { ProviderError } from '../../core/providers/errors.js';
import type { HttpClient, HttpClientOptions } from '../../core/providers/http.js';
import { createHttpClient } from '../../core/providers/http.js';
import type { ProviderContext } from '../../core/providers/types.js';
import type { ProviderId } from '../../shared/providers.js';
import type { FakeTruth, ProviderFake } from '../fakes/providers.js';
import { FAKE_KEYS, startProviderFake } from '../fakes/providers.js';

/** The provider fake one test file talks to, and clients that record their backoff instead of waiting. */
export interface ProviderFakeSession {
  fake: ProviderFake;
  /** The waits that clients from `http()` were asked for in the current test; they return at once. */
  sleeps: number[];
  /** An HTTP client that records its waits in `sleeps` instead of sleeping. */
  http(options?: HttpClientOptions): HttpClient;
  /** Contexts pointing `provider`'s adapter at the fake, each with a fresh `http()` client; the key defaults to the fake's admin key. */
  contextFor(provider: ProviderId): (key?: string) => ProviderContext;
}

/**
 * Starts the provider fake for the whole test file (call it at the top level; it is closed after
 * the file) and, before each test, forgets its faults and requests, serves a fresh `truth()`, sets
 * its clock back to `now` and empties `sleeps`: every test starts from the same fake.
 */
export async function startProviderFakeForFile(options: { truth: () => FakeTruth; now: number; credits?: number }): Promise<ProviderFakeSession> {
  const fake = await startProviderFake({ ...options, truth: options.truth() });
  const sleeps: number[] = [];
  beforeEach(() => {
    fake.reset();
    fake.truth = options.truth();
    fake.now = options.now;
    sleeps.length = 0;
  });
  afterAll(() => fake.close());

  const http = (clientOptions: HttpClientOptions = {}) => createHttpClient({ sleep: async (ms) => void sleeps.push(ms), ...clientOptions });
  return {
    fake,
    sleeps,
    http,
    contextFor: (provider) => (key = FAKE_KEYS[provider].admin) => ({ baseUrl: fake.baseUrl(provider), key, http: http() }),
  };
}

/** The ProviderError `promise` rejects with; the test fails if it resolves or rejects with anything else. */
export async function expectProviderError(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}
