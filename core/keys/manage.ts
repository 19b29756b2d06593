/**
 * Adding, checking, listing and removing provider keys: the operations behind `llmeter keys …`,
 * the desktop app's main-process handlers and the HTTP UI API. A key goes in and never comes back
 * out: results carry only a fingerprint (the last 4 characters at most) and words for people.
 */
import type { KeyCheckResult } from '../../shared/api.js';
import { PROVIDERS, PROVIDER_IDS, type ProviderId } from '../../shared/providers.js';
import type { CoreConfig } from '../config.js';
import { registerSecret } from '../log.js';
import { ProviderError } from '../providers/errors.js';
import { createHttpClient, type HttpClient } from '../providers/http.js';
import { ADAPTERS } from '../providers/registry.js';
import { providerAccount, resolveProviderKey, type KeySource, type ProviderCredential } from './credentials.js';
import { keyFingerprint, readKeyStatuses, writeKeyStatus } from './key-status.js';
import { KeychainLockedError, KeychainUnavailableError, type SecretStore } from './keychain.js';

/** What key management needs from its host. */
export interface KeyManagementDeps {
  env: NodeJS.ProcessEnv;
  /** Provider base URLs, and the data folder where key status is recorded. */
  config: Pick<CoreConfig, 'baseUrls' | 'dataDir'>;
  /** Defaults to a client that tries once with a 20 s timeout: a check, not a poll. */
  http?: HttpClient;
  now?: () => number;
}

/** What `keys list` and the providers page show about one provider's key. Never the key. */
export interface ProviderKeyInfo {
  provider: ProviderId;
  configured: boolean;
  source: KeySource | null;
  /** The key's last characters (at most 4), or null without a key. */
  fingerprint: string | null;
  /** ISO 8601 time the provider last accepted this key; null when never checked (always for environment keys, of which nothing is recorded). */
  validatedAt: string | null;
  /** Why the keychain could not be read (with what to do), or null. */
  problem: string | null;
  /** Whether that problem is a keychain that is there but locked, rather than one that cannot be reached. */
  keychainLocked: boolean;
}

const VALIDATION_TIMEOUT_MS = 20_000;
// Longer than any provider's key by far; a longer paste is a mistake, not a key.
const MAX_KEY_LENGTH = 1024;

const validationClient = (): HttpClient => createHttpClient({ maxRetries: 0, timeoutMs: VALIDATION_TIMEOUT_MS });

/**
 * Why the keychain cannot be used right now (the message names what to install and the environment
 * variables that work instead), or null when it answers.
 */
export async function keychainProblem(store: SecretStore, provider: ProviderId): Promise<string | null> {
  try {
    await store.get(providerAccount(provider));
    return null;
  } catch (err) {
    if (err instanceof KeychainUnavailableError) return err.message;
    throw err;
  }
}

function result(provider: ProviderId, errorKind: string | null, message: string): KeyCheckResult {
  return { ok: errorKind === null, provider, errorKind, message };
}

/** What is wrong with the text itself before any provider sees it, or null. */
function keyFormatProblem(provider: ProviderId, key: string): string | null {
  const { displayName, keyName } = PROVIDERS[provider];
  if (key === '') return `No ${displayName} ${keyName} was given.`;
  if (key.length > MAX_KEY_LENGTH) return `That is too long for a ${displayName} ${keyName} (${key.length} characters); paste the key alone.`;
  // A key is visible ASCII; anything else would also break the Authorization header.
  if (!/^[\x21-\x7e]+$/.test(key)) return `That is not a ${displayName} ${keyName}: it contains spaces, line breaks or other characters keys never have. Paste the key alone.`;
  return null;
}

/**
 * Checks a key with one cheap call to its provider and tells apart a wrong key ('auth'), a key
 * without the billing permission ('permission') and a provider that could not be reached
 * ('unreachable', 'timeout', …). Never throws for a provider's answer.
 */
async function checkKey(provider: ProviderId, key: string, deps: KeyManagementDeps): Promise<KeyCheckResult> {
  const info = PROVIDERS[provider];
  try {
    await ADAPTERS[provider].validateKey({ baseUrl: deps.config.baseUrls[provider], key, http: deps.http ?? validationClient() });
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    const wrongKind = (err.kind === 'auth' || err.kind === 'permission') && !key.startsWith(info.keyPrefix);
    const hint = wrongKind ? ` This key does not start with "${info.keyPrefix}", so it is probably not an ${info.keyName}.` : '';
    return result(provider, err.kind, `${err.message}${hint}`);
  }
  return result(provider, null, `${info.displayName} accepted the key ending in …${keyFingerprint(key)}.`);
}

const nowIso = (deps: KeyManagementDeps): string => new Date(deps.now ? deps.now() : Date.now()).toISOString();

/**
 * Validates `key` with one call to the provider and, only when the provider accepts it, stores it
 * in the keychain and records its fingerprint and validation time. A key the provider refuses, or
 * that could not be checked, is not stored. The key itself never appears in the result.
 */
export async function setProviderKey(store: SecretStore, provider: ProviderId, key: string, deps: KeyManagementDeps): Promise<KeyCheckResult> {
  const candidate = key.trim();
  registerSecret(candidate);
  const formatProblem = keyFormatProblem(provider, candidate);
  if (formatProblem) return result(provider, 'format', `${formatProblem} Nothing was stored.`);
  // Checked first so that the provider is not called for a key that could not be kept anyway.
  const unavailable = await keychainProblem(store, provider);
  if (unavailable) return result(provider, 'keychain_unavailable', `${unavailable} Nothing was stored.`);

  const check = await checkKey(provider, candidate, deps);
  if (!check.ok) return { ...check, message: `${check.message} The key was not stored.` };
  try {
    await store.set(providerAccount(provider), candidate);
  } catch (err) {
    if (err instanceof KeychainUnavailableError) return result(provider, 'keychain_unavailable', `${err.message} The key is valid but was not stored.`);
    throw err;
  }
  writeKeyStatus(deps.config.dataDir, provider, { fingerprint: keyFingerprint(candidate), validatedAt: nowIso(deps) });

  const { keyEnv } = PROVIDERS[provider];
  const shadowed = deps.env[keyEnv]?.trim() ? ` Note: ${keyEnv} is set in this environment and is used instead while it is set.` : '';
  return result(provider, null, `${check.message} It is stored in the OS keychain.${shadowed}`);
}

/**
 * Checks the key LLMeter would use for `provider` now (environment first, then keychain; `store`
 * null where the host has no keychain) with one call to the provider. A keychain key's validation
 * time is recorded on success and forgotten when the provider refuses it; nothing is recorded
 * about an environment key.
 */
export async function testProviderKey(store: SecretStore | null, provider: ProviderId, deps: KeyManagementDeps): Promise<KeyCheckResult> {
  const info = PROVIDERS[provider];
  let credential: ProviderCredential | null;
  try {
    credential = await resolveProviderKey(provider, deps.env, store);
  } catch (err) {
    if (err instanceof KeychainUnavailableError) return result(provider, 'keychain_unavailable', err.message);
    throw err;
  }
  if (!credential) return result(provider, 'not_configured', `No ${info.displayName} ${info.keyName} is configured: run \`npx llmeter keys set ${provider}\` or set ${info.keyEnv}.`);

  const check = await checkKey(provider, credential.key, deps);
  const from = credential.source === 'env' ? `(from ${info.keyEnv}) ` : '(from the OS keychain) ';
  if (credential.source === 'keychain') {
    if (check.ok) writeKeyStatus(deps.config.dataDir, provider, { fingerprint: keyFingerprint(credential.key), validatedAt: nowIso(deps) });
    else if (check.errorKind === 'auth' || check.errorKind === 'permission') writeKeyStatus(deps.config.dataDir, provider, null);
  }
  return { ...check, message: `${from}${check.message}` };
}

/**
 * Removes the provider's key from the keychain and forgets its status. A key given through the
 * environment is not affected (the caller may say so). Throws KeychainUnavailableError when the
 * keychain cannot be reached.
 */
export async function deleteProviderKey(store: SecretStore, provider: ProviderId, deps: KeyManagementDeps): Promise<{ deleted: boolean }> {
  const deleted = await store.delete(providerAccount(provider));
  writeKeyStatus(deps.config.dataDir, provider, null);
  return { deleted };
}

/**
 * Every provider's key as a person may see it: where it comes from, its fingerprint, when it was
 * validated. `store` is null where the host has no keychain (only environment keys then).
 */
export async function listProviderKeys(store: SecretStore | null, deps: KeyManagementDeps): Promise<ProviderKeyInfo[]> {
  const statuses = readKeyStatuses(deps.config.dataDir);
  const infos: ProviderKeyInfo[] = [];
  for (const provider of PROVIDER_IDS) {
    const none = { provider, configured: false, source: null, fingerprint: null, validatedAt: null, problem: null, keychainLocked: false };
    let credential: ProviderCredential | null;
    try {
      credential = await resolveProviderKey(provider, deps.env, store);
    } catch (err) {
      if (!(err instanceof KeychainUnavailableError)) throw err;
      infos.push({ ...none, problem: err.message, keychainLocked: err instanceof KeychainLockedError });
      continue;
    }
    if (!credential) {
      infos.push(none);
      continue;
    }
    const fingerprint = keyFingerprint(credential.key);
    const status = statuses[provider];
    // A status is about the key stored now only if the fingerprints agree (the entry may have been replaced outside LLMeter).
    const validatedAt = credential.source === 'keychain' && status?.fingerprint === fingerprint ? status.validatedAt : null;
    infos.push({ provider, configured: true, source: credential.source, fingerprint, validatedAt, problem: null, keychainLocked: false });
  }
  return infos;
}
