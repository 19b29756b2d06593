/**
 * Issue 8: where the export goes. A file appears whole or not at all (disk full, a folder in the
 * way, an interrupt); a closed pipe (`| head`) ends the CLI quietly; the CLI reports progress on a
 * terminal only, and every failure in one line that says which file, what failed and what to do.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerExportCommand, type ExportTerminal } from '../../core/cli/commands/export.js';
import type { CliContext } from '../../core/cli/context.js';
import { resolveConfig } from '../../core/config.js';
import { exportUsage } from '../../core/export/export.js';
import { ExportFileError, writeFileAtomically, type WriteStreamFs } from '../../core/export/file.js';
import { resolveExportQuery, type ExportQuery } from '../../core/export/query.js';
import { silentLogger } from '../../core/log.js';
import { openDatabase, type Db } from '../../core/store/db.js';
import { prepareUpsert } from '../../core/store/usage-repo.js';
import { csvObjects } from '../support/csv.js';
import { record } from '../support/records.js';

const START = Date.UTC(2026, 0, 1) / 1000;
const NOW_MS = Date.UTC(2026, 6, 1);
let dataDir: string;
let outDir: string;
let db: Db;

/** `hours` hourly rows of usage, one per hour from 2026-01-01. */
function seed(hours: number): void {
  const upsert = prepareUpsert(db);
  db.transaction(() => {
    for (let h = 0; h < hours; h++) upsert(record({ provider: 'openai', source: 'usage', bucketStart: START + h * 3600, model: 'gpt-4o', inputTokens: h, costNano: 1_000_000n * BigInt(h) }), START);
  })();
}

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'llmeter-export-data-'));
  outDir = mkdtempSync(path.join(tmpdir(), 'llmeter-export-out-'));
  db = openDatabase(dataDir);
});
afterEach(() => {
  db.close();
  process.exitCode = undefined;
  for (const dir of [dataDir, outDir]) rmSync(dir, { recursive: true, force: true });
});

const HOURLY_CSV: ExportQuery = resolveExportQuery({ granularity: 'hour' }, NOW_MS);

/** The folder's entries: nothing but what the test expects may be left there. */
const entries = (): string[] => readdirSync(outDir).sort();

/** node:fs whose writes fail with `code` once `allowBytes` have been written: a disk filling up. */
function failingFs(code: string, allowBytes: number): WriteStreamFs {
  let written = 0;
  const fail = (): NodeJS.ErrnoException => Object.assign(new Error(`${code}: simulated, write`), { code, syscall: 'write', errno: -28 });
  return {
    ...fs,
    write: (fd: number, buffer: Buffer, offset: number, length: number, position: number | null, done: (err: Error | null, n?: number) => void) => {
      if (written + length > allowBytes) return process.nextTick(done, fail());
      written += length;
      fs.write(fd, buffer, offset, length, position, done);
    },
    writev: (fd: number, buffers: Buffer[], position: number | null, done: (err: Error | null, n?: number) => void) => {
      const length = buffers.reduce((n, b) => n + b.length, 0);
      if (written + length > allowBytes) return process.nextTick(done, fail());
      written += length;
      fs.writev(fd, buffers, position, done);
    },
  };
}

describe('writing a file atomically', () => {
  it('writes the whole export under the final name and leaves nothing else', async () => {
    seed(500);
    const file = path.join(outDir, 'usage.csv');
    const { rows } = await writeFileAtomically(file, (sink) => exportUsage(db, HOURLY_CSV, sink));
    expect(rows).toBe(500);
    expect(csvObjects(readFileSync(file, 'utf8'))).toHaveLength(500);
    expect(entries()).toEqual(['usage.csv']);
  });

  it('on a full disk: no file under the final name, no partial file, one clear message', async () => {
    seed(5000);
    const file = path.join(outDir, 'usage.csv');
    const error = await writeFileAtomically(file, (sink) => exportUsage(db, HOURLY_CSV, sink), { fs: failingFs('ENOSPC', 64 * 1024) }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ExportFileError);
    expect((error as Error).message).toBe(
      `Could not write ${file}: the disk is full (ENOSPC); free some space or write to another disk. The partial export was removed and no file was left under that name.`,
    );
    expect(entries()).toEqual([]);
    // The database iterator was released: the connection takes writes again.
    seed(1);
  });

  it('on a failure, an older file of that name stays as it was', async () => {
    seed(5000);
    const file = path.join(outDir, 'usage.csv');
    writeFileSync(file, 'last month’s export\n');
    const error = await writeFileAtomically(file, (sink) => exportUsage(db, HOURLY_CSV, sink), { fs: failingFs('EIO', 10_000) }).catch((err: unknown) => err);
    expect((error as Error).message).toMatch(/an input\/output error .*\(EIO\).*was left as it was\.$/);
    expect(readFileSync(file, 'utf8')).toBe('last month’s export\n');
    expect(entries()).toEqual(['usage.csv']);
  });

  it('when a folder is in the way of the final name, the partial file is removed', async () => {
    seed(10);
    const file = path.join(outDir, 'taken');
    mkdirSync(file);
    const error = await writeFileAtomically(file, (sink) => exportUsage(db, HOURLY_CSV, sink)).catch((err: unknown) => err);
    expect((error as Error).message).toMatch(/^Could not write .*taken: it is a folder \(EISDIR\); give a file name, not a folder\./);
    expect(entries()).toEqual(['taken']);
  });

  it('into a folder that does not exist: says so', async () => {
    const file = path.join(outDir, 'missing', 'usage.csv');
    const error = await writeFileAtomically(file, (sink) => exportUsage(db, HOURLY_CSV, sink)).catch((err: unknown) => err);
    expect((error as Error).message).toMatch(/the folder does not exist \(ENOENT\); create it or choose another folder/);
  });

  it('an abort removes the partial file and rethrows the abort', async () => {
    seed(20_000);
    const file = path.join(outDir, 'usage.csv');
    const abort = new AbortController();
    const error = await writeFileAtomically(file, (sink) => exportUsage(db, HOURLY_CSV, sink, { signal: abort.signal, onRow: (n) => n === 1000 && abort.abort() })).catch((err: unknown) => err);
    expect((error as Error).name).toBe('AbortError');
    expect(entries()).toEqual([]);
  });
});

describe('a closed pipe', () => {
  /** A real pipe to `head -c 200`, which exits after 200 bytes: later writes fail with EPIPE. */
  function pipeToHead(): { stdin: Writable; received: Promise<string> } {
    const head = spawn('head', ['-c', '200'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    head.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    return { stdin: head.stdin, received: new Promise((resolve) => head.on('close', () => resolve(out))) };
  }

  it('makes exportUsage reject with EPIPE and release the database', async () => {
    seed(20_000);
    const head = pipeToHead();
    const error = (await exportUsage(db, HOURLY_CSV, head.stdin).catch((err: unknown) => err)) as NodeJS.ErrnoException;
    expect(error.code).toBe('EPIPE');
    expect(await head.received).toHaveLength(200);
    seed(1);
  });

  it('ends `llmeter export | head` quietly with exit code 0', async () => {
    seed(20_000);
    const head = pipeToHead();
    const cli = await runCli(['export', '--granularity', 'hour'], { stdout: head.stdin });
    expect(cli.stderr).toBe('');
    expect(process.exitCode ?? 0).toBe(0);
    expect((await head.received).startsWith('period_start,period_end,provider')).toBe(true);
  });
});

interface CliResult {
  stderr: string;
  stdout: string;
}

/** Runs `llmeter <args>` in-process against the test's data folder, with the given terminal. */
async function runCli(args: string[], terminal: Partial<ExportTerminal> = {}): Promise<CliResult> {
  let stderr = '';
  let stdout = '';
  const ctx: CliContext = {
    env: { LLMETER_DATA_DIR: dataDir },
    config: () => resolveConfig({ LLMETER_DATA_DIR: dataDir }),
    secretStore: () => {
      throw new Error('export needs no keychain');
    },
    logger: () => silentLogger,
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
  };
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      stdout += chunk.toString('utf8');
      done();
    },
  });
  const program = new Command('llmeter').exitOverride().configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr });
  registerExportCommand(program, ctx, { stdout: capture, stderrIsTTY: false, onInterrupt: () => () => undefined, now: () => NOW_MS, ...terminal });
  try {
    await program.parseAsync(['node', 'llmeter', ...args]);
  } catch (err) {
    if (!(err instanceof Error && 'exitCode' in err)) throw err;
    process.exitCode = (err as { exitCode: number }).exitCode;
  }
  return { stderr, stdout };
}

describe('llmeter export', () => {
  beforeEach(() => seed(48));

  it('prints CSV on stdout by default, JSON Lines with --format json', async () => {
    const csv = await runCli(['export', '--granularity', 'day']);
    expect(csvObjects(csv.stdout).map((r) => [r.period_start, r.cost_usd])).toEqual([
      ['2026-01-01T00:00:00Z', '0.276'],
      ['2026-01-02T00:00:00Z', '0.852'],
    ]);
    const json = await runCli(['export', '--format', 'json', '--granularity', 'month', '--provider', 'openai', '--model', 'gpt-4o']);
    expect(json.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { cost_usd: string; input_tokens: number })).toMatchObject([{ cost_usd: '1.128', input_tokens: 1128 }]);
    expect(json.stderr).toBe('');
  });

  it('writes cost_usd exactly past 2^53 nano-dollars, for credits, and for sums ending in zeros', async () => {
    const upsert = prepareUpsert(db);
    const day = START + 10 * 86_400;
    const costs = [2n ** 53n + 1n, -1n, -1_500_000_000n, 7_000_000_000n];
    costs.forEach((costNano, i) => upsert(record({ provider: 'anthropic', source: 'cost', bucketStart: day + i * 86_400, model: 'claude', costNano, costKind: 'billed' }), START));
    const out = await runCli(['export', '--provider', 'anthropic']);
    expect(csvObjects(out.stdout).map((r) => r.cost_usd)).toEqual(['9007199.254740993', '-0.000000001', '-1.5', '7']);
  });

  it('filters by window as the metrics do', async () => {
    const out = await runCli(['export', '--from', '2026-01-02', '--to', '2026-01-02T06:00:00Z', '--granularity', 'hour']);
    expect(csvObjects(out.stdout).map((r) => r.period_start)).toEqual(['00', '01', '02', '03', '04', '05'].map((h) => `2026-01-02T${h}:00:00Z`));
  });

  it('--out writes the file; a terminal gets a last line, a script gets silence', async () => {
    const file = path.join(outDir, 'jan.csv');
    const quiet = await runCli(['export', '--out', file]);
    expect(quiet).toEqual({ stderr: '', stdout: '' });
    expect(csvObjects(readFileSync(file, 'utf8'))).toHaveLength(2);
    const shown = await runCli(['export', '--out', file, '--granularity', 'hour'], { stderrIsTTY: true });
    expect(shown.stderr).toMatch(new RegExp(`^Wrote 48 rows to ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} in \\d+\\.\\d s\\.\\n$`));
    expect(csvObjects(readFileSync(file, 'utf8'))).toHaveLength(48);
  });

  it('shows throttled progress on a terminal while rows flow, and clears it', async () => {
    seed(6000); // the export writes rows in batches of about a thousand: six slow writes
    let slowWrites = 0;
    const slowSink = () =>
      new Writable({
        highWaterMark: 1,
        write(_chunk, _encoding, done) {
          slowWrites++;
          setTimeout(done, 150);
        },
      });
    const started = Date.now();
    const out = await runCli(['export', '--granularity', 'hour'], { stdout: slowSink(), stderrIsTTY: true });
    const elapsedMs = Date.now() - started;
    expect(slowWrites).toBeGreaterThanOrEqual(6);
    const frames = out.stderr.split('\r\x1b[2K').filter((frame) => frame !== '');
    expect(frames.length).toBeGreaterThanOrEqual(2);
    // Throttled: at most one frame per 250 ms, not one per row.
    expect(frames.length).toBeLessThanOrEqual(Math.ceil(elapsedMs / 250) + 1);
    for (const frame of frames) expect(frame).toMatch(/^Exporting: [\d,]+ rows, \d+\.\d s$/);
    expect(out.stderr.endsWith('\r\x1b[2K')).toBe(true);
    // Not on a terminal: no progress at all.
    const piped = await runCli(['export', '--granularity', 'hour'], { stdout: slowSink(), stderrIsTTY: false });
    expect(piped.stderr).toBe('');
  });

  it('a bad argument: one line naming it, exit code 1, no output', async () => {
    const out = await runCli(['export', '--provider', 'openai,azure']);
    expect(out).toEqual({ stdout: '', stderr: 'llmeter export: provider "azure" is not known; use openai, anthropic, openrouter\n' });
    expect(process.exitCode).toBe(1);
    process.exitCode = undefined;
    const bad = await runCli(['export', '--format', 'xlsx']);
    expect(bad.stderr).toMatch(/argument 'xlsx' is invalid\. Allowed choices are csv, json, jsonl/);
    expect(process.exitCode).toBe(1);
  });

  it('a write failure: one line with the file, the reason and what to do; exit code 1', async () => {
    const file = path.join(outDir, 'no-such-folder', 'jan.csv');
    const out = await runCli(['export', '--out', file]);
    expect(out.stderr).toBe(`llmeter export: Could not write ${file}: the folder does not exist (ENOENT); create it or choose another folder. The partial export was removed and no file was left under that name.\n`);
    expect(process.exitCode).toBe(1);
    expect(existsSync(file)).toBe(false);
  });

  it('Ctrl-C: stops, removes the partial file, exit code 130', async () => {
    seed(20_000);
    const file = path.join(outDir, 'usage.csv');
    let interrupt = (): void => undefined;
    const onInterrupt = (handler: () => void) => {
      interrupt = handler;
      return () => undefined;
    };
    const slow = setTimeout(() => interrupt(), 1);
    const out = await runCli(['export', '--granularity', 'hour', '--out', file], { onInterrupt });
    clearTimeout(slow);
    expect(out.stderr).toBe(`llmeter export: interrupted; ${file} was not written.\n`);
    expect(process.exitCode).toBe(130);
    expect(entries()).toEqual([]);
  });
});
