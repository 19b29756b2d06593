import { AsyncEntry, findCredentialsAsync } from '@napi-rs/keyring';
import { PROVIDER_IDS, PROVIDERS } from '../../shared/providers.js';

/** The one keychain service name under which LLMeter keeps its entries. */
export const KEYCHAIN_SERVICE = 'llmeter-desktop';

/**
 * The service name in use: `LLMETER_KEYCHAIN_SERVICE` when set (tests isolate themselves from a
 * person's real entries with it), else KEYCHAIN_SERVICE.
 */
export function keychainServiceName(env: NodeJS.ProcessEnv = process.env): string {
  return env.LLMETER_KEYCHAIN_SERVICE?.trim() || KEYCHAIN_SERVICE;
}

/** A place for secrets. The OS keychain in the product; tests use the real one too. */
export interface SecretStore {
  /** The secret stored under `account`, or null when there is none. */
  get(account: string): Promise<string | null>;
  set(account: string, secret: string): Promise<void>;
  /** Removes the entry; true when there was one. */
  delete(account: string): Promise<boolean>;
}

/** The OS keychain could not be reached; the message says what to install or to use env vars. */
export class KeychainUnavailableError extends Error {}

const KEY_ENV_NAMES = PROVIDER_IDS.map((id) => PROVIDERS[id].keyEnv).join(', ');

function explain(err: unknown): KeychainUnavailableError {
  // The native error carries a Rust backtrace; its first line is the useful part.
  const detail = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
  const hint =
    process.platform === 'linux'
      ? `On Linux LLMeter needs a Secret Service (GNOME Keyring or KWallet) on the session D-Bus: install gnome-keyring (Debian/Ubuntu: apt-get install gnome-keyring dbus) and unlock it, or give keys through environment variables (${KEY_ENV_NAMES}), which are never written anywhere.`
      : `Unlock the system keychain, or give keys through environment variables (${KEY_ENV_NAMES}), which are never written anywhere.`;
  return new KeychainUnavailableError(`The OS keychain is not available (${detail}). ${hint}`);
}

/**
 * Proves that a Secret Service answers. Needed on Linux because without a D-Bus session the
 * native reads report "no entry" instead of failing, which would look like a keychain without keys.
 * The search is limited to our own service, so no other app's item is ever touched.
 */
async function probeSecretService(service: string): Promise<void> {
  try {
    await findCredentialsAsync(service);
  } catch (err) {
    throw explain(err);
  }
}

/**
 * The OS keychain through `@napi-rs/keyring` (macOS Keychain, Windows Credential Manager,
 * Secret Service on Linux). Reads only entries under LLMeter's own service name, so the user is
 * never prompted about other apps' items. There is deliberately no plaintext fallback: when the
 * keychain cannot be reached every operation throws KeychainUnavailableError.
 */
export function osKeychain(service = keychainServiceName()): SecretStore {
  // Only success is remembered: a keyring daemon started later is picked up by the next call.
  let reachable = process.platform !== 'linux';
  const ensureReachable = async (): Promise<void> => {
    if (reachable) return;
    await probeSecretService(service);
    reachable = true;
  };
  const attempt = async <T>(operation: () => Promise<T>): Promise<T> => {
    await ensureReachable();
    try {
      return await operation();
    } catch (err) {
      throw explain(err);
    }
  };
  return {
    get: (account) => attempt(async () => (await new AsyncEntry(service, account).getPassword()) ?? null),
    set: (account, secret) => attempt(() => new AsyncEntry(service, account).setPassword(secret)),
    delete: (account) => attempt(() => new AsyncEntry(service, account).deleteCredential()),
  };
}
