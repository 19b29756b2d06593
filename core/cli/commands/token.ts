import type { Command } from 'commander';
import { resolveServiceToken } from '../../keys/credentials.js';
import type { CliContext } from '../context.js';

/** `llmeter token`: prints the metrics and ingest bearer tokens (creating them on first use). */
export function registerTokenCommand(program: Command, ctx: CliContext): void {
  program
    .command('token')
    .description('show the bearer tokens for /api/v1/metrics and /api/v1/ingest')
    .option('--metrics', 'print only the metrics token (for scripts)')
    .option('--ingest', 'print only the ingest token (for scripts)')
    .action(async (options: { metrics?: boolean; ingest?: boolean }) => {
      const log = ctx.logger('warn');
      const store = ctx.secretStore();
      const metrics = await resolveServiceToken('metrics', ctx.env, store, log);
      const ingest = await resolveServiceToken('ingest', ctx.env, store, log);
      if (options.metrics) return ctx.stdout(`${metrics.token}\n`);
      if (options.ingest) return ctx.stdout(`${ingest.token}\n`);
      ctx.stdout(`metrics token (LLMETER_METRICS_TOKEN): ${metrics.token}\n`);
      ctx.stdout(`ingest token  (LLMETER_INGEST_TOKEN):  ${ingest.token}\n`);
      if (!metrics.persistent || !ingest.persistent) ctx.stderr('These tokens were not saved (no keychain); set the environment variables to keep them stable.\n');
    });
}
