import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerAlertsCommand } from './commands/alerts.js';
import { registerBudgetCommand } from './commands/budget.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerExportCommand } from './commands/export.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerPollCommand } from './commands/poll.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTokenCommand } from './commands/token.js';
import { processContext, type CliContext } from './context.js';

/** Builds the `llmeter` command-line program. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('llmeter')
    .description('LLMeter Desktop: what your LLM APIs cost, from the providers’ own billing APIs, on localhost.')
    .version(VERSION)
    .showHelpAfterError()
    .configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr });
  registerServeCommand(program, ctx);
  registerPollCommand(program, ctx);
  registerTokenCommand(program, ctx);
  registerKeysCommand(program, ctx);
  registerDemoCommand(program, ctx);
  registerBudgetCommand(program, ctx);
  registerAlertsCommand(program, ctx);
  registerExportCommand(program, ctx);
  return program;
}

/** Runs the CLI; errors become one readable line and a non-zero exit code. */
export async function runCli(argv: string[], ctx: CliContext = processContext()): Promise<void> {
  const program = buildProgram(ctx).exitOverride();
  try {
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
