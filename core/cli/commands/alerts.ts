import type { Command } from 'commander';
import { formatUsd } from '../../../shared/budget-alerts.js';
import { listAlerts } from '../../budgets/budgets.js';
import type { CliContext } from '../context.js';
import { parseWholeNumber } from '../options.js';
import { table } from '../table.js';
import { shortUtc, withDatabase } from './budget.js';

/** `llmeter alerts [--json] [--limit N]`: fired budget alerts, newest first, with how their notification went. */
export function registerAlertsCommand(program: Command, ctx: CliContext): void {
  program
    .command('alerts')
    .description('list fired budget alerts, newest first (the same list as GET /api/v1/alerts)')
    .option('--json', 'print a JSON array (exact decimal dollar strings)')
    .option('--limit <n>', 'how many (1 to 1000)', (value) => parseWholeNumber(value, '--limit', 1, 1000), 100)
    .action(async (options: { json?: boolean; limit: number }) => {
      const alerts = await withDatabase(ctx, (db) => listAlerts(db, { limit: options.limit }));
      if (options.json) return ctx.stdout(`${JSON.stringify(alerts, null, 2)}\n`);
      if (alerts.length === 0) return ctx.stdout('No alert has fired. `npx llmeter budget list` shows where each budget stands.\n');
      const rows = alerts.map((a) => [
        shortUtc(a.firedAt),
        a.budgetName,
        a.kind === 'forecast' ? 'forecast > 100 %' : `${a.threshold} %`,
        a.level,
        formatUsd(a.spentUsd),
        formatUsd(a.estimatedUsd),
        formatUsd(a.amountUsd),
        formatUsd(a.forecastUsd),
        `${a.delivery}${a.rearmedAt ? ' (re-armed by an edit)' : ''}`,
      ]);
      ctx.stdout(table([['FIRED', 'BUDGET', 'ALERT', 'LEVEL', 'SPENT', 'OF WHICH ESTIMATED', 'AMOUNT', 'FORECAST', 'NOTIFICATION'], ...rows]));
      for (const a of alerts) if (a.deliveryError) ctx.stdout(`Alert ${a.id} (${shortUtc(a.firedAt)}) was not delivered: ${a.deliveryError}\n`);
    });
}
