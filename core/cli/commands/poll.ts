import type { Command } from 'commander';
import { PROVIDERS } from '../../../shared/providers.js';
import { pollAllProviders } from '../../app.js';
import { resolveProviderCredentials } from '../../keys/credentials.js';
import { silentLogger } from '../../log.js';
import { openDatabase } from '../../store/db.js';
import type { CliContext } from '../context.js';
import { parseWholeNumber } from '../options.js';

/** `llmeter poll`: polls every configured provider once, then exits non-zero if any failed. */
export function registerPollCommand(program: Command, ctx: CliContext): void {
  program
    .command('poll')
    .description('poll every configured provider once (backfilling on first poll), then exit')
    .option('--backfill-days <n>', "days to fetch on a provider's first poll", '30')
    .action(async (options: { backfillDays: string }) => {
      const backfillDays = parseWholeNumber(options.backfillDays, '--backfill-days', 1, 3660);
      const config = ctx.config();
      const log = ctx.logger('warn');
      const credentials = await resolveProviderCredentials(ctx.env, ctx.secretStore(), log);
      if (credentials.length === 0) {
        ctx.stderr('No provider is configured. Add a key with `npx llmeter keys set openai` (or anthropic, openrouter), or set LLMETER_OPENAI_ADMIN_KEY, LLMETER_ANTHROPIC_ADMIN_KEY or LLMETER_OPENROUTER_MANAGEMENT_KEY.\n');
        process.exitCode = 2;
        return;
      }
      const db = openDatabase(config.dataDir);
      try {
        // The lines printed below say everything about each provider; the structured log would repeat it.
        const outcomes = await pollAllProviders(db, credentials, { config, env: ctx.env, log: silentLogger, secretStore: null, poll: { backfillDays } });
        for (const outcome of outcomes) {
          const name = PROVIDERS[outcome.provider].displayName;
          if (outcome.ok) {
            const unpriced = outcome.unpricedModels.length ? `; no price known for ${outcome.unpricedModels.join(', ')} (tokens kept, cost shown when billed)` : '';
            ctx.stdout(`${name}: ok, ${outcome.records} rows from ${outcome.requests} requests in ${(outcome.durationMs / 1000).toFixed(1)} s${unpriced}\n`);
          } else {
            ctx.stderr(`${outcome.error}\n`);
          }
        }
        if (outcomes.some((o) => !o.ok)) process.exitCode = 1;
      } finally {
        db.close();
      }
    });
}
