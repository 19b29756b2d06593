import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { PROVIDER_IDS, PROVIDERS } from '../../../shared/providers.js';
import { startCore } from '../../app.js';
import { generateDemoHistory } from '../../demo/generate.js';
import { DB_FILE, openDatabase } from '../../store/db.js';
import type { CliContext } from '../context.js';
import { parseWholeNumber } from '../options.js';

/** Folder of the demo database, inside the data folder but never the real database. */
export const DEMO_FOLDER = 'demo';

/**
 * `llmeter demo`: serves a generated, realistic history from its own data folder so a newcomer
 * without admin keys sees the product. No provider is polled and no key is read.
 */
export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('serve a generated demo history (its own data folder; no keys needed, nothing polled)')
    .option('--host <host>', 'address to bind (LLMETER_HOST)')
    .option('--port <port>', 'port to listen on (LLMETER_PORT)')
    .option('--days <n>', 'days of history to generate', '90')
    .action(async (options: { host?: string; port?: string; days: string }) => {
      const days = parseWholeNumber(options.days, '--days', 1, 730);
      const base = ctx.config({ ...(options.host ? { host: options.host } : {}), ...(options.port ? { port: options.port } : {}) });
      const config = { ...base, dataDir: path.join(base.dataDir, DEMO_FOLDER) };
      // A fresh history every start, so "today" is always today.
      for (const suffix of ['', '-wal', '-shm']) rmSync(path.join(config.dataDir, DB_FILE + suffix), { force: true });
      const db = openDatabase(config.dataDir);
      const { rows } = generateDemoHistory(db, { days });
      db.close();

      const env = { ...ctx.env };
      for (const id of PROVIDER_IDS) delete env[PROVIDERS[id].keyEnv];
      const log = ctx.logger('warn');
      const core = await startCore({ config, env, log, secretStore: null, demo: true });
      ctx.stdout(`LLMeter DEMO (generated data: ${rows} rows, ${days} days; nothing is polled) on ${core.server.url}\n`);
      ctx.stdout(`Dashboard: ${core.dashboardUrl}\n`);
      ctx.stdout(`Metrics:   curl -H "Authorization: Bearer ${core.tokens.metrics}" ${core.server.url}/api/v1/metrics\n`);
      ctx.stdout(`Demo data folder: ${config.dataDir}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => void core.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
