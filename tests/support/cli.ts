import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/llmeter.js');

function ensureBuilt(): void {
  if (!existsSync(path.join(ROOT, 'dist/core/cli/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) before the CLI tests');
}

/** What a finished `llmeter` run printed and how it exited. */
export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `llmeter <args>` as a user would (node bin/llmeter.js over dist/), to completion, with exactly
 * `env` (plus PATH) so nothing leaks in from the developer's environment. Asynchronous on purpose:
 * fakes served from the test process must keep answering while it runs.
 */
export async function runLlmeter(args: string[], options: { env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): Promise<CliRun> {
  ensureBuilt();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env },
    timeout: options.timeoutMs ?? 120_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.input ?? '');
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stdout, stderr };
}

/** A running `llmeter serve`/`demo`, with the URL it printed. */
export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts a long-running command (`serve --port 0`, `demo`) and waits for the URL it prints. */
export async function startLlmeter(args: string[], env: NodeJS.ProcessEnv): Promise<ServeProcess> {
  ensureBuilt();
  const child = spawn(process.execPath, [BIN, ...args], { env });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 20 s:\n${out}`)), 20_000);
    const check = (): void => {
      const match = /(?:serving on|on) (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before serving:\n${out}`));
    });
  });
  return {
    child,
    url,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

/** Whether a command exists on this machine. */
export function haveCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}
