import type { Command } from 'commander';
import { startCore } from '../../app.js';
import { ensureDataFolder } from '../../store/db.js';
import type { CliContext } from '../context.js';
import { parseWholeNumber } from '../options.js';

/** `llmeter serve`: the headless mode. Polls on schedule, serves the API and dashboard, stops on SIGINT/SIGTERM. */
export function registerServeCommand(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('headless mode: poll on schedule, serve /api/v1/metrics and the dashboard')
    .option('--host <host>', 'address to bind (LLMETER_HOST)')
    .option('--port <port>', 'port to listen on (LLMETER_PORT)')
    .option('--interval-minutes <n>', 'minutes between polls (default: the settings, 15)')
    .option('--backfill-days <n>', "days to fetch on a provider's first poll (default: the settings, 30)")
    .action(async (options: { host?: string; port?: string; intervalMinutes?: string; backfillDays?: string }) => {
      const log = ctx.logger('info');
      // Loaded here, not at the top: conf and its JSON-schema validator add ~0.2 s to every other command's start.
      const { openSettingsStore } = await import('../../settings/store.js');
      // Before the settings file is written: a read-only folder is then named as such.
      ensureDataFolder(ctx.config().dataDir);
      const settingsStore = openSettingsStore(ctx.config().dataDir, log);
      const settings = settingsStore.get();
      // Flags win, then LLMETER_PORT, then the settings file.
      const port = options.port ?? (ctx.env.LLMETER_PORT ? undefined : settings.port);
      const config = ctx.config({ ...(options.host ? { host: options.host } : {}), ...(port !== undefined ? { port } : {}) });
      const core = await startCore({
        config,
        env: ctx.env,
        log,
        secretStore: ctx.secretStore(),
        poll: {
          intervalMs: (options.intervalMinutes ? parseWholeNumber(options.intervalMinutes, '--interval-minutes', 1, 1440) : settings.pollIntervalMinutes) * 60_000,
          backfillDays: options.backfillDays ? parseWholeNumber(options.backfillDays, '--backfill-days', 1, 3660) : settings.backfillDays,
        },
        alerts: { settings: () => settingsStore.get().alerts },
      });
      const providers = core.credentials().map((c) => c.provider);
      ctx.stdout(`LLMeter is serving on ${core.server.url}\n`);
      ctx.stdout(`Dashboard: ${core.dashboardUrl}\n`);
      // Without a keychain the tokens live for this run only and `llmeter token` cannot show them.
      const bearer = core.tokensPersistent.metrics ? '<token from `npx llmeter token`>' : core.tokens.metrics;
      ctx.stdout(`Metrics:   ${core.server.url}/api/v1/metrics (Authorization: Bearer ${bearer})\n`);
      if (!core.tokensPersistent.ingest) ctx.stdout(`SDK ingest token for this run: ${core.tokens.ingest}\n`);
      if (providers.length === 0) ctx.stdout('No provider is configured yet: open the dashboard, or run `npx llmeter keys set openai`.\n');
      log.info('serving', { url: core.server.url, dataDir: config.dataDir, providers });
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          log.info('stopping', { signal });
          void core.close().then(resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
