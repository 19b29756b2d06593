import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { processContext, type CliContext } from './context.js';

type Register = (program: Command, ctx: CliContext) => void;

/**
 * Each command's module, loaded only when it is needed: `llmeter export` need not load the server,
 * the metrics, the settings validator and the price table that `serve` uses (tens of MB resident).
 * In the order `llmeter --help` lists them.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./commands/serve.js')).registerServeCommand,
  poll: async () => (await import('./commands/poll.js')).registerPollCommand,
  token: async () => (await import('./commands/token.js')).registerTokenCommand,
  keys: async () => (await import('./commands/keys.js')).registerKeysCommand,
  demo: async () => (await import('./commands/demo.js')).registerDemoCommand,
  budget: async () => (await import('./commands/budget.js')).registerBudgetCommand,
  alerts: async () => (await import('./commands/alerts.js')).registerAlertsCommand,
  export: async () => (await import('./commands/export.js')).registerExportCommand,
};

/**
 * The command that `argv` (as process.argv: node, script, arguments) runs, when its first argument
 * names one; otherwise (no command, `--help`, `help`, a typo) null, and every command is loaded
 * so that help and "unknown command" answers list them all.
 */
function commandOf(argv: readonly string[]): string | null {
  const first = argv[2];
  return first !== undefined && Object.hasOwn(COMMANDS, first) ? first : null;
}

/** Builds the `llmeter` command-line program: only `command` when given, else every command. */
export async function buildProgram(ctx: CliContext, command: string | null = null): Promise<Command> {
  const program = new Command('llmeter')
    .description('LLMeter Desktop: what your LLM APIs cost, from the providers’ own billing APIs, on localhost.')
    .version(VERSION)
    .showHelpAfterError()
    .configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr });
  const names = command === null ? Object.keys(COMMANDS) : [command];
  const registers = await Promise.all(names.map((name) => COMMANDS[name]!()));
  for (const register of registers) register(program, ctx);
  return program;
}

/** Runs the CLI; errors become one readable line and a non-zero exit code. */
export async function runCli(argv: string[], ctx: CliContext = processContext()): Promise<void> {
  try {
    const program = (await buildProgram(ctx, commandOf(argv))).exitOverride();
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode !== 0) process.exitCode = err.exitCode;
      return;
    }
    ctx.stderr(`llmeter: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
