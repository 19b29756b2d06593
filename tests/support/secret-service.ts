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
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

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

/** Starts the bus and the keyring daemon, and waits until the Secret Service answers. */
export async function startPrivateSecretService(): Promise<PrivateSecretService> {
  const home = mkdtempSync(path.join(tmpdir(), 'llmeter-keyring-'));
  const bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let address = '';
  for await (const chunk of bus.stdout!) {
    address += String(chunk);
    if (address.includes('\n')) break;
  }
  const env = { DBUS_SESSION_BUS_ADDRESS: address.trim(), XDG_RUNTIME_DIR: home, XDG_DATA_HOME: path.join(home, 'data') };
  const childEnv = { ...process.env, ...env, HOME: home };
  // Claimed before anything asks for org.freedesktop.secrets, so D-Bus never activates a locked daemon of its own.
  const keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], { env: childEnv, stdio: ['pipe', 'ignore', 'ignore'] });
  keyring.stdin!.end('llmeter-test');
  const stop = async (): Promise<void> => {
    await stopProcess(keyring);
    await stopProcess(bus);
    rmSync(home, { recursive: true, force: true });
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!secretsNameOwned(childEnv)) {
    if (Date.now() > deadline || keyring.exitCode !== null) {
      await stop();
      throw new Error('gnome-keyring-daemon did not come up on the private D-Bus session');
    }
    await sleep(50);
  }
  return {
    env,
    lookup(service, account) {
      const found = spawnSync('secret-tool', ['lookup', 'service', service, 'username', account], { env: childEnv, encoding: 'utf8' });
      return found.status === 0 ? found.stdout : null;
    },
    stop,
  };
}
