/**
 * A private, real Secret Service for keychain tests: its own D-Bus session bus and an unlocked
 * gnome-keyring-daemon whose keyring lives in a temporary folder. Tests never touch a developer's
 * real keyring, work with or without an outer `dbus-run-session`, and clean up after themselves.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PrivateSecretService {
  /** Environment variables that point a process (LLMeter, secret-tool) at this Secret Service. */
  env: { DBUS_SESSION_BUS_ADDRESS: string; XDG_RUNTIME_DIR: string; XDG_DATA_HOME: string };
  /** `secret-tool lookup service <service> username <account>`: the stored secret, or null. */
  lookup(service: string, account: string): string | null;
  /** Locks the default collection (D-Bus Service.Lock; gnome-keyring locks without a prompt). */
  lock(): void;
  /** Whether the default collection is locked now (its Locked property). */
  isLocked(): boolean;
  /** Unlocks the default collection as a person would without a desktop: `gnome-keyring-daemon --replace --unlock`. */
  unlock(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * What happens to an unlock prompt. 'dismissed': there is no display, so the prompter fails at once
 * (a headless server). 'unanswered': the prompter shows its dialog on a private Xvfb display where
 * no one will ever answer (a screen-locked desktop, an SSH session into one): calls that prompt
 * wait forever. Without this option the daemons inherit the caller's display, as before.
 */
export type UnlockPrompts = 'dismissed' | 'unanswered';

const READY_TIMEOUT_MS = 10_000;
const KEYRING_PASSWORD = 'llmeter-test';
const SECRETS = ['--dest=org.freedesktop.secrets'];

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

function secretsNameOwned(env: NodeJS.ProcessEnv): boolean {
  const reply = spawnSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', 'string:org.freedesktop.secrets'], { env, encoding: 'utf8' });
  return reply.status === 0 && /boolean true/.test(reply.stdout);
}

function dbusCall(env: NodeJS.ProcessEnv, objectPath: string, method: string, ...args: string[]): string {
  const reply = spawnSync('dbus-send', ['--session', '--print-reply', ...SECRETS, objectPath, method, ...args], { env, encoding: 'utf8', timeout: READY_TIMEOUT_MS });
  if (reply.status !== 0) throw new Error(`dbus-send ${method} failed: ${reply.stderr.trim()}`);
  return reply.stdout;
}

function defaultCollection(env: NodeJS.ProcessEnv): string {
  const path = /object path "([^"]+)"/.exec(dbusCall(env, '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.ReadAlias', 'string:default'))?.[1];
  if (!path || path === '/') throw new Error('the private Secret Service has no default collection');
  return path;
}

/** A virtual X display nobody looks at, for prompts that must stay unanswered. */
async function startHiddenDisplay(): Promise<{ display: string; process: ChildProcess }> {
  // -displayfd: Xvfb picks a free display number and writes it to stdout when ready.
  const xvfb = spawn('Xvfb', ['-displayfd', '1', '-nolisten', 'tcp'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let number = '';
  for await (const chunk of xvfb.stdout!) {
    number += String(chunk);
    if (number.includes('\n')) break;
  }
  if (!/^\d+\n/.test(number)) throw new Error('Xvfb did not start');
  return { display: `:${number.trim()}`, process: xvfb };
}

/** Starts the bus and the keyring daemon, and waits until the Secret Service answers. */
export async function startPrivateSecretService(options: { unlockPrompts?: UnlockPrompts } = {}): Promise<PrivateSecretService> {
  const home = mkdtempSync(path.join(tmpdir(), 'llmeter-keyring-'));
  const hidden = options.unlockPrompts === 'unanswered' ? await startHiddenDisplay() : null;
  // D-Bus starts the prompter (gcr-prompter) with the bus's own environment: its display decides what a prompt does.
  const { DISPLAY: _display, WAYLAND_DISPLAY: _wayland, ...withoutDisplay } = process.env;
  const busEnv = options.unlockPrompts ? { ...withoutDisplay, ...(hidden ? { DISPLAY: hidden.display } : {}) } : process.env;
  const bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { env: busEnv, stdio: ['ignore', 'pipe', 'ignore'] });
  let address = '';
  for await (const chunk of bus.stdout!) {
    address += String(chunk);
    if (address.includes('\n')) break;
  }
  const env = { DBUS_SESSION_BUS_ADDRESS: address.trim(), XDG_RUNTIME_DIR: home, XDG_DATA_HOME: path.join(home, 'data') };
  const childEnv = { ...busEnv, ...env, HOME: home };
  // Claimed before anything asks for org.freedesktop.secrets, so D-Bus never activates a locked daemon of its own.
  // With --unlock the daemon reads the password from stdin: it creates the login keyring, or unlocks the one in XDG_DATA_HOME.
  const startKeyring = (extraArgs: string[] = []): ChildProcess => {
    const daemon = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets', ...extraArgs], { env: childEnv, stdio: ['pipe', 'ignore', 'ignore'] });
    daemon.stdin!.end(KEYRING_PASSWORD);
    return daemon;
  };
  let keyring = startKeyring();
  const stop = async (): Promise<void> => {
    await stopProcess(keyring);
    await stopProcess(bus);
    if (hidden) await stopProcess(hidden.process);
    rmSync(home, { recursive: true, force: true });
  };
  const untilReady = async (ready: () => boolean): Promise<void> => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!ready()) {
      if (Date.now() > deadline || keyring.exitCode !== null) {
        await stop();
        throw new Error('gnome-keyring-daemon did not come up on the private D-Bus session');
      }
      await sleep(50);
    }
  };
  await untilReady(() => secretsNameOwned(childEnv));
  const isLocked = (): boolean => /boolean true/.test(dbusCall(childEnv, defaultCollection(childEnv), 'org.freedesktop.DBus.Properties.Get', 'string:org.freedesktop.Secret.Collection', 'string:Locked'));
  return {
    env,
    lookup(service, account) {
      const found = spawnSync('secret-tool', ['lookup', 'service', service, 'username', account], { env: childEnv, encoding: 'utf8' });
      return found.status === 0 ? found.stdout : null;
    },
    lock() {
      // Not `secret-tool lock`: libsecret-tools 0.20 crashes on it (SIGSEGV) even though the collection gets locked.
      dbusCall(childEnv, '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.Lock', `array:objpath:${defaultCollection(childEnv)}`);
      if (!isLocked()) throw new Error('the private keyring did not lock');
    },
    isLocked,
    async unlock() {
      const previous = keyring;
      keyring = startKeyring(['--replace']);
      await untilReady(() => previous.exitCode !== null || previous.signalCode !== null);
      await untilReady(() => secretsNameOwned(childEnv) && !isLocked());
    },
    stop,
  };
}
