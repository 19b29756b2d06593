import type { Writable } from 'node:stream';
import { Option, type Command } from 'commander';
import { exportUsage, openExportConnection } from '../../export/export.js';
import { ExportFileError, writeFileAtomically } from '../../export/file.js';
import { ExportQueryError, resolveExportQuery, type ExportQuery } from '../../export/query.js';
import { openDatabase } from '../../store/db.js';
import type { CliContext } from '../context.js';

/** The terminal the export command writes to; tests give their own. */
export interface ExportTerminal {
  stdout: Writable & { isTTY?: boolean };
  stderrIsTTY: boolean;
  /** Calls `handler` on Ctrl-C until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
  now(): number;
}

function processTerminal(): ExportTerminal {
  return {
    stdout: process.stdout,
    stderrIsTTY: process.stderr.isTTY === true,
    onInterrupt(handler) {
      process.once('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
    now: Date.now,
  };
}

interface ExportOptions {
  format: string;
  from?: string;
  to?: string;
  granularity: string;
  provider: string[];
  model: string[];
  out?: string;
}

const PROGRESS_INTERVAL_MS = 250;

/** A throttled "rows written / elapsed" line on stderr, redrawn in place; silent when disabled. */
function progressLine(write: (text: string) => void, enabled: boolean, now: () => number) {
  const started = now();
  let rows = 0;
  let drawn = false;
  const draw = (): void => {
    write(`\r\x1b[2KExporting: ${rows.toLocaleString('en-US')} rows, ${((now() - started) / 1000).toFixed(1)} s`);
    drawn = true;
  };
  const timer = enabled ? setInterval(draw, PROGRESS_INTERVAL_MS) : undefined;
  timer?.unref();
  return {
    update: (count: number) => void (rows = count),
    seconds: () => (now() - started) / 1000,
    stop(): void {
      clearInterval(timer);
      if (drawn) write('\r\x1b[2K');
      drawn = false;
    },
  };
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const HELP_AFTER = `
Formats: csv (RFC 4180, UTF-8, header row) or JSON Lines (one JSON object per line; --format json
and --format jsonl both mean JSON Lines). One row per period, provider, model, project, line item,
source and cost kind; cost_usd is exact decimal dollars. CSV text cells that start with = + - @,
tab or carriage return get a leading ' so that spreadsheets do not run them as formulas.
--from/--to: ISO 8601 date or date-time, or now, now-1h, now-7d, now/d, now/M; from inclusive,
to exclusive, a bare date as --to includes that day. Default: all time.

Exit codes: 0 done (also when a reader such as \`head\` closed the pipe early), 1 failed,
130 interrupted. With --out the file appears only when complete.`;

/** `llmeter export`: the usage and cost history as CSV or JSON Lines, to stdout or a file. */
export function registerExportCommand(program: Command, ctx: CliContext, terminal: ExportTerminal = processTerminal()): void {
  program
    .command('export')
    .description('export usage and cost history as CSV or JSON Lines (stdout unless --out)')
    .addOption(new Option('--format <format>', 'csv, or json / jsonl (both JSON Lines)').choices(['csv', 'json', 'jsonl']).default('csv'))
    .option('--from <when>', 'start of the window (inclusive), e.g. 2026-01-01 or now/M')
    .option('--to <when>', 'end of the window (exclusive; a bare date includes that day)')
    .addOption(new Option('--granularity <period>', 'one row per hour, day or month (UTC)').choices(['hour', 'day', 'month']).default('day'))
    .addOption(new Option('--provider <id>', 'only this provider (openai, anthropic, openrouter); repeat or separate with commas').argParser(collect).default([], 'all'))
    .addOption(new Option('--model <name>', 'only this model; repeat for several').argParser(collect).default([], 'all'))
    .option('--out <file>', 'write to this file (replaced only when the export is complete)')
    .addHelpText('after', HELP_AFTER)
    .action(async (options: ExportOptions) => {
      let query: ExportQuery;
      try {
        query = resolveExportQuery(
          {
            format: options.format,
            granularity: options.granularity,
            from: options.from ?? null,
            to: options.to ?? null,
            providers: options.provider.flatMap((p) => p.split(',')).map((p) => p.trim()).filter((p) => p !== ''),
            models: options.model,
          },
          terminal.now(),
        );
      } catch (err) {
        if (!(err instanceof ExportQueryError)) throw err;
        ctx.stderr(`llmeter export: ${err.message}\n`);
        process.exitCode = 1;
        return;
      }
      await runExport(ctx, terminal, query, options.out);
    });
}

async function runExport(ctx: CliContext, terminal: ExportTerminal, query: ExportQuery, out: string | undefined): Promise<void> {
  const db = openDatabase(ctx.config().dataDir);
  const reader = openExportConnection(db);
  // Progress only where a person watches and it does not mix with the export itself.
  const progress = progressLine(ctx.stderr, terminal.stderrIsTTY && (out !== undefined || terminal.stdout.isTTY !== true), terminal.now);
  const abort = new AbortController();
  const stopListening = terminal.onInterrupt(() => abort.abort());
  const run = { signal: abort.signal, onRow: progress.update };
  try {
    if (out === undefined) {
      // The export reports a failing stdout itself; this keeps a late repeat (EPIPE after EPIPE) from crashing the process.
      terminal.stdout.on('error', () => undefined);
      await exportUsage(reader, query, terminal.stdout, run);
    } else {
      const { rows } = await writeFileAtomically(out, (sink) => exportUsage(reader, query, sink, run));
      progress.stop();
      if (terminal.stderrIsTTY) ctx.stderr(`Wrote ${rows.toLocaleString('en-US')} rows to ${out} in ${progress.seconds().toFixed(1)} s.\n`);
    }
  } catch (err) {
    progress.stop();
    const error = err as NodeJS.ErrnoException;
    if (out === undefined && error.code === 'EPIPE') return; // the reader (e.g. `head`) has all it wanted
    if (error.name === 'AbortError') {
      ctx.stderr(`llmeter export: interrupted${out === undefined ? '' : `; ${out} was not written`}.\n`);
      process.exitCode = 130;
    } else if (err instanceof ExportFileError) {
      ctx.stderr(`llmeter export: ${err.message}\n`);
      process.exitCode = 1;
    } else if (out === undefined && typeof error.code === 'string' && typeof error.syscall === 'string') {
      ctx.stderr(`llmeter export: could not write to standard output: ${error.message}; the export is incomplete.\n`);
      process.exitCode = 1;
    } else {
      throw err;
    }
  } finally {
    progress.stop();
    stopListening();
    if (reader !== db) reader.close();
    db.close();
  }
}
