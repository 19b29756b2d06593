import { PROVIDER_IDS, PROVIDERS, type ProviderId } from '../../shared/providers.js';
import { generateToken } from '../http/auth.js';
import { registerSecret, type Logger } from '../log.js';
import { KeychainUnavailableError, type SecretStore } from './keychain.js';

/** Where a key came from; environment keys are never persisted. */
export type KeySource = 'env' | 'keychain';

/** A provider key ready for polling. */
export interface ProviderCredential {
  provider: ProviderId;
  key: string;
  source: KeySource;
}

/** Keychain account of a provider's key. */
export const providerAccount = (provider: ProviderId): string => `provider:${provider}`;

/** The bearer tokens the server requires. */
export type ServiceTokenName = 'metrics' | 'ingest';
const TOKEN_ENV: Record<ServiceTokenName, string> = { metrics: 'LLMETER_METRICS_TOKEN', ingest: 'LLMETER_INGEST_TOKEN' };
export const tokenAccount = (name: ServiceTokenName): string => `token:${name}`;

/**
 * The key LLMeter uses for one provider: the environment first (LLMETER_OPENAI_ADMIN_KEY, …), then
 * the keychain; null when neither has one. Throws KeychainUnavailableError when the keychain must be
 * read and cannot be.
 */
export async function resolveProviderKey(provider: ProviderId, env: NodeJS.ProcessEnv, store: SecretStore | null): Promise<ProviderCredential | null> {
  const fromEnv = env[PROVIDERS[provider].keyEnv]?.trim();
  if (fromEnv) {
    registerSecret(fromEnv);
    return { provider, key: fromEnv, source: 'env' };
  }
  const stored = store ? await store.get(providerAccount(provider)) : null;
  if (!stored) return null;
  registerSecret(stored);
  return { provider, key: stored, source: 'keychain' };
}

// Loggers already given the long "keychain unavailable" explanation: one start says it once.
const explained = new WeakSet<Logger>();

/** Warns that the keychain is unavailable: the full explanation the first time, then only the consequence. */
function warnKeychainUnavailable(log: Logger, err: KeychainUnavailableError, consequence: string): void {
  log.warn(explained.has(log) ? consequence : `${err.message}${consequence ? ` ${consequence}` : ''}`);
  explained.add(log);
}

/**
 * The key of every configured provider (see resolveProviderKey). A keychain that cannot be read
 * leaves those providers unconfigured, with one warning that says how to fix it; it never falls
 * back to plaintext.
 */
export async function resolveProviderCredentials(env: NodeJS.ProcessEnv, store: SecretStore | null, log: Logger): Promise<ProviderCredential[]> {
  const credentials: ProviderCredential[] = [];
  for (const provider of PROVIDER_IDS) {
    try {
      const credential = await resolveProviderKey(provider, env, store);
      if (credential) credentials.push(credential);
    } catch (err) {
      if (!(err instanceof KeychainUnavailableError)) throw err;
      // Every provider fails the same way: one warning is enough.
      if (!explained.has(log)) warnKeychainUnavailable(log, err, '');
    }
  }
  return credentials;
}

/**
 * A service token: from the environment, else from the keychain, else generated and stored there
 * on first run. Without a keychain the token lives for this run only, and a warning says how to
 * make it stable.
 */
export async function resolveServiceToken(name: ServiceTokenName, env: NodeJS.ProcessEnv, store: SecretStore | null, log: Logger): Promise<{ token: string; persistent: boolean }> {
  const fromEnv = env[TOKEN_ENV[name]]?.trim();
  if (fromEnv) {
    registerSecret(fromEnv);
    return { token: fromEnv, persistent: true };
  }
  if (store) {
    try {
      const stored = await store.get(tokenAccount(name));
      if (stored) {
        registerSecret(stored);
        return { token: stored, persistent: true };
      }
      const token = generateToken();
      await store.set(tokenAccount(name), token);
      registerSecret(token);
      return { token, persistent: true };
    } catch (err) {
      if (!(err instanceof KeychainUnavailableError)) throw err;
      warnKeychainUnavailable(log, err, `The ${name} token is generated for this run only; set ${TOKEN_ENV[name]} to keep it stable.`);
    }
  }
  const token = generateToken();
  registerSecret(token);
  return { token, persistent: false };
}
