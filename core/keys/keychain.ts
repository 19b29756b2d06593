import { AsyncEntry, findCredentialsAsync } from '@napi-rs/keyring';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
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

/**
 * The keychain is there but locked: reading or writing would need an unlock prompt, which on a
 * headless machine or a locked screen no one answers. The message says how to unlock it.
 */
export class KeychainLockedError extends KeychainUnavailableError {
  constructor(
    message: string,
    /** True when a call waited in vain for its unlock prompt, rather than the keychain saying it is locked. */
    readonly promptUnanswered = false,
  ) {
    super(message);
  }
}

/**
 * How long a keychain call may take. A locked keychain answers a search in well under a second
 * (measured 0.2–0.4 s); a call that waits for an unlock prompt nobody sees never answers at all.
 */
const READ_DEADLINE_MS = 5_000;
/** A write may show an unlock prompt to a person at the desktop: time to type a password, not to wait forever. */
const WRITE_DEADLINE_MS = 10_000;
/** After a write waited in vain for its prompt, further writes fail at once for this long (a start stores two tokens). */
const UNANSWERED_PROMPT_MEMORY_MS = 60_000;

/** A keychain call that did not answer in time (it waits for an unlock prompt). */
class KeychainDeadlineError extends Error {
  constructor(readonly deadlineMs: number) {
    super(`no answer within ${deadlineMs / 1000} s: it is waiting for an unlock prompt that no one has answered`);
  }
}

const KEY_ENV_NAMES = PROVIDER_IDS.map((id) => PROVIDERS[id].keyEnv).join(', ');
const ENV_ALTERNATIVE = `or give keys through environment variables (${KEY_ENV_NAMES}), which are never written anywhere.`;

// Secret Service: org.freedesktop.Secret.Error.IsLocked, "unlock prompt was dismissed"; macOS: "User interaction is not allowed".
const LOCKED_PATTERN = /locked|unlock prompt|interaction is not allowed/i;

function lockedError(detail: string, promptUnanswered = false): KeychainLockedError {
  const hint =
    process.platform === 'linux'
      ? `Unlock it: log in to the desktop session, or without one run \`gnome-keyring-daemon --replace --unlock\` and type the keyring password on its standard input; ${ENV_ALTERNATIVE}`
      : `Unlock it (log in to the desktop session; on macOS \`security unlock-keychain\`), ${ENV_ALTERNATIVE}`;
  return new KeychainLockedError(`The OS keychain is locked (${detail}). ${hint}`, promptUnanswered);
}

function explain(err: unknown): KeychainUnavailableError {
  if (err instanceof KeychainUnavailableError) return err;
  if (err instanceof KeychainDeadlineError) return lockedError(err.message, true);
  // The native error carries a Rust backtrace; its first line is the useful part.
  const detail = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
  if (LOCKED_PATTERN.test(detail)) return lockedError(detail);
  const hint =
    process.platform === 'linux'
      ? `On Linux LLMeter needs a Secret Service (GNOME Keyring or KWallet) on the session D-Bus: install gnome-keyring (Debian/Ubuntu: apt-get install gnome-keyring dbus) and unlock it, or give keys through environment variables (${KEY_ENV_NAMES}), which are never written anywhere.`
      : `Unlock the system keychain, or give keys through environment variables (${KEY_ENV_NAMES}), which are never written anywhere.`;
  return new KeychainUnavailableError(`The OS keychain is not available (${detail}). ${hint}`);
}

/**
 * `operation`, or KeychainDeadlineError after `deadlineMs`. The native call itself cannot be
 * cancelled: use this only where it cannot wait for a prompt, or the process stays alive with it.
 */
async function withDeadline<T>(operation: Promise<T>, deadlineMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KeychainDeadlineError(deadlineMs)), deadlineMs);
  });
  try {
    return await Promise.race([operation, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Proves that a Secret Service answers and that LLMeter's entries are unlocked, without ever
 * prompting: the search reports IsLocked for a locked entry where a read would ask for an unlock
 * prompt and, on a locked screen, wait for it forever (or, with no display, report "no entry").
 * Also needed because without a D-Bus session the native reads report "no entry" instead of
 * failing. The search is limited to our own service, so no other app's item is ever touched.
 */
async function probeSecretService(service: string): Promise<void> {
  try {
    await withDeadline(findCredentialsAsync(service), READ_DEADLINE_MS);
  } catch (err) {
    throw explain(err);
  }
}

// With RUST_BACKTRACE set in the user's environment (common among Rust developers), the keyring
// library captures and symbolizes a backtrace for every error it returns, and a machine without a
// Secret Service answers every read with one. Symbolizing maps the debug information of every
// loaded library, which stays resident for the life of the process (`llmeter serve` on 1M rows:
// idle RSS ~119 MB instead of ~75 MB) and takes ~0.25 s, for a message of which we show the first
// line. Panics keep their backtraces (RUST_BACKTRACE); a RUST_LIB_BACKTRACE the user set wins. Set in
// the real environment, which the native code reads, when this module loads: before any call, in
// the CLI and in Electron alike.
process.env.RUST_LIB_BACKTRACE ??= '0';

const KEYRING_MODULE = createRequire(import.meta.url).resolve('@napi-rs/keyring');
// The secret arrives on stdin, never in the arguments, which other users can read in `ps`.
const WRITE_SCRIPT = `let s='';process.stdin.setEncoding('utf8').on('data',(c)=>{s+=c}).on('end',()=>{const {AsyncEntry}=require(process.argv[1]);new AsyncEntry(process.argv[2],process.argv[3]).setPassword(s).then(()=>process.exit(0),(e)=>{process.stderr.write(String(e&&e.message||e));process.exit(1)})})`;

/**
 * Stores a secret from a short-lived child process. A write into a locked Secret Service
 * collection that holds none of our entries yet asks for an unlock prompt (the search before it
 * cannot see the lock), and a native call waiting for an unanswered prompt can be neither
 * cancelled nor left behind: it would keep this process from ever exiting. A child can be killed.
 */
function setInChildProcess(service: string, account: string, secret: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // ELECTRON_RUN_AS_NODE: in the desktop app process.execPath is Electron, which then runs as plain Node.
    const child = spawn(process.execPath, ['-e', WRITE_SCRIPT, KEYRING_MODULE, service, account], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: WRITE_DEADLINE_MS,
      killSignal: 'SIGKILL',
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(signal ? new KeychainDeadlineError(WRITE_DEADLINE_MS) : new Error(stderr.trim() || `the keychain writer exited with code ${code}`));
    });
    child.stdin.end(secret);
  });
}

/**
 * The OS keychain through `@napi-rs/keyring` (macOS Keychain, Windows Credential Manager,
 * Secret Service on Linux). Reads only entries under LLMeter's own service name, so the user is
 * never prompted about other apps' items. There is deliberately no plaintext fallback: when the
 * keychain cannot be reached every operation throws KeychainUnavailableError.
 */
export function osKeychain(service = keychainServiceName()): SecretStore {
  const secretService = process.platform === 'linux';
  let unansweredPrompt: { at: number; error: KeychainLockedError } | null = null;
  const attempt = async <T>(operation: () => Promise<T>, deadlineMs = READ_DEADLINE_MS): Promise<T> => {
    // Before every call, not once: a keychain that answered a minute ago may be locked now (screen lock).
    if (secretService) await probeSecretService(service);
    try {
      return await withDeadline(operation(), deadlineMs);
    } catch (err) {
      throw explain(err);
    }
  };
  return {
    get: (account) => attempt(async () => (await new AsyncEntry(service, account).getPassword()) ?? null),
    set: async (account, secret) => {
      if (unansweredPrompt && Date.now() - unansweredPrompt.at < UNANSWERED_PROMPT_MEMORY_MS) throw unansweredPrompt.error;
      try {
        await attempt(() => (secretService ? setInChildProcess(service, account, secret) : new AsyncEntry(service, account).setPassword(secret)), WRITE_DEADLINE_MS);
        unansweredPrompt = null;
      } catch (err) {
        if (err instanceof KeychainLockedError && err.promptUnanswered) unansweredPrompt = { at: Date.now(), error: err };
        throw err;
      }
    },
    delete: (account) => attempt(() => new AsyncEntry(service, account).deleteCredential()),
  };
}
