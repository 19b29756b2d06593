/**
 * Loading our keychain module sets RUST_LIB_BACKTRACE=0 before anything reaches the keychain: with RUST_BACKTRACE=1 in
 * a user's environment (common among Rust developers) and no Secret Service, the keychain library
 * otherwise captured and symbolized a backtrace for its first error, which left ~45 MB resident in
 * `llmeter serve` for good (idle RSS ~119 MB instead of ~75 MB at 1M rows) and took ~0.25 s.
 * Runs in its own process (vitest forks), so this file's first keychain error is the process's first.
 */
import { findCredentialsAsync } from '@napi-rs/keyring';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const MB = 1024 * 1024;

describe.runIf(process.platform === 'linux')('native keychain errors under RUST_BACKTRACE=1', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'llmeter-backtrace-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('carry no backtrace once our keychain module is loaded, and leave the process as small as it was', async () => {
    process.env.RUST_BACKTRACE = '1';
    delete process.env.RUST_LIB_BACKTRACE;
    // No session bus: every Secret Service call fails.
    process.env.DBUS_SESSION_BUS_ADDRESS = `unix:path=${path.join(home, 'no-bus-here')}`;
    process.env.XDG_RUNTIME_DIR = home;
    // Loaded after the environment above is set, as a user's environment is set before `llmeter` starts.
    await import('../../core/keys/keychain.js');
    expect(process.env.RUST_LIB_BACKTRACE).toBe('0');

    const rssBefore = process.memoryUsage().rss;
    const failure = await findCredentialsAsync(`llmeter-backtrace-test-${process.pid}`).then(
      () => null,
      (err: unknown) => err as Error,
    );
    const grewBy = process.memoryUsage().rss - rssBefore;
    expect(failure).toBeInstanceOf(Error);
    expect(failure!.message).not.toContain('backtrace');
    expect(failure!.message.trim().split('\n')).toHaveLength(1);
    // With a backtrace it grows by ~45 MB (the debug information of every loaded library).
    expect(grewBy).toBeLessThan(15 * MB);
  });
});
