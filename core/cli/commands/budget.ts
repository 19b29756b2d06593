import { InvalidArgumentError, type Command } from 'commander';
import { formatUsd } from '../../../shared/budget-alerts.js';
import { describeScope, scopeLabel } from '../../../shared/budget-math.js';
import { BUDGET_PERIODS, DEFAULT_THRESHOLDS, type BudgetInput, type BudgetPeriod, type BudgetScope, type BudgetStatus } from '../../../shared/budgets.js';
import type { ProviderId } from '../../../shared/providers.js';
import { BudgetNotFoundError, createBudget, deleteBudget, listBudgets, updateBudget } from '../../budgets/budgets.js';
import { openDatabase, type Db } from '../../store/db.js';
import { listSyncStates } from '../../store/sync-state.js';
import type { CliContext } from '../context.js';
import { parseWholeNumber } from '../options.js';
import { table } from '../table.js';

interface DefinitionOptions {
  amount?: string;
  period?: BudgetPeriod;
  provider?: string;
  model?: string;
  project?: string;
  allSpend?: boolean;
  thresholds?: number[];
  name?: string;
  json?: boolean;
}

const LEVEL_WORDS: Record<BudgetStatus['level'], string> = { ok: 'on track', warn: 'warning', over: 'over budget' };
const PERIOD_NOUN: Record<BudgetPeriod, string> = { day: 'Today', week: 'This week', month: 'This month' };

/** Opens the database of the data folder for one command and closes it afterwards. */
export async function withDatabase<T>(ctx: CliContext, run: (db: Db) => T | Promise<T>): Promise<T> {
  const db = openDatabase(ctx.config().dataDir);
  try {
    return await run(db);
  } finally {
    db.close();
  }
}

/** "2026-11-27T09:00:00.000Z" → "2026-11-27 09:00 UTC". */
export function shortUtc(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

const parseId = (value: string): number => parseWholeNumber(value, 'Budget id', 1, Number.MAX_SAFE_INTEGER);

function parsePeriod(value: string): BudgetPeriod {
  if (!(BUDGET_PERIODS as readonly string[]).includes(value)) throw new InvalidArgumentError(`--period must be one of ${BUDGET_PERIODS.join(', ')}, not "${value}"`);
  return value as BudgetPeriod;
}

function parseThresholds(value: string): number[] {
  const parts = value.split(',').map((part) => part.trim().replace(/%$/, ''));
  if (parts.some((part) => part === '' || !Number.isFinite(Number(part)))) throw new InvalidArgumentError(`--thresholds must be percentages separated by commas, such as 50,80,100, not "${value}"`);
  return parts.map(Number);
}

/** The scope the options name, or null when they name none. */
function scopeFrom(options: DefinitionOptions): BudgetScope | null {
  if (options.model !== undefined && options.project !== undefined) throw new Error('A budget covers one model or one project, not both: give --model or --project');
  if (options.allSpend && (options.provider ?? options.model ?? options.project) !== undefined) throw new Error('--all-spend cannot be combined with --provider, --model or --project');
  const provider = options.provider === undefined ? {} : { provider: options.provider as ProviderId };
  if (options.model !== undefined) return { kind: 'model', model: options.model, ...provider };
  if (options.project !== undefined) return { kind: 'project', project: options.project, ...provider };
  if (options.provider !== undefined) return { kind: 'provider', provider: options.provider as ProviderId };
  return options.allSpend ? { kind: 'all' } : null;
}

function amountFrom(value: string): string {
  return value.trim().replace(/^\$/, '');
}

/** Two lines about one budget, for `add` and `edit`. */
function summary(status: BudgetStatus): string {
  const estimated = status.estimatedUsd === '0' ? 'all billed' : `includes ${formatUsd(status.estimatedUsd)} estimated`;
  const pace = status.forecastToExceed ? ', forecast to exceed' : '';
  return (
    `Budget ${status.id} "${status.name}": ${formatUsd(status.amountUsd)} a ${status.period} for ${status.scope.kind === 'all' ? 'all spend' : describeScope(status.scope)}, alerts at ${status.thresholds.map((t) => `${t} %`).join(', ')}.\n` +
    `${PERIOD_NOUN[status.period]} so far: ${formatUsd(status.spentUsd)} spent (${estimated}), forecast ${formatUsd(status.forecastUsd)}, ${LEVEL_WORDS[status.level]}${pace}.\n`
  );
}

/** How fresh the spend behind budgets is: every figure says so. */
function freshnessLine(db: Db): string {
  const polled = listSyncStates(db).flatMap((state) => (state.lastSuccessAt === null ? [] : [state.lastSuccessAt]));
  if (polled.length === 0) return 'No provider has been polled yet, so spend is zero until `npx llmeter poll` (or the app) fetches it.\n';
  return `Spend is billed cost plus estimates for what is not billed yet; last successful poll ${shortUtc(new Date(Math.max(...polled) * 1000).toISOString())}.\n`;
}

function definitionOptions(command: Command, forEdit: boolean): Command {
  return command
    .option('--amount <usd>', 'amount in US dollars, e.g. 50 or 12.5')
    .option('--period <period>', 'day, week (Monday to Sunday, UTC) or month (UTC)', parsePeriod)
    .option('--provider <provider>', 'count only this provider: openai, anthropic or openrouter')
    .option('--model <model>', 'count only this model (with --provider: of that provider)')
    .option('--project <project>', 'count only this project / workspace id (with --provider: of that provider)')
    .option('--thresholds <percents>', `alert thresholds in percent${forEdit ? '' : ` (default from settings, initially ${DEFAULT_THRESHOLDS.join(',')})`}`, parseThresholds)
    .option('--name <name>', forEdit ? 'new name' : 'name shown in alerts (default: scope and period, e.g. "OpenAI, monthly")')
    .option('--json', 'print the budget as JSON');
}

/** The thresholds a new budget gets: the settings' `budgets.defaultThresholds`, loaded only when needed (conf is slow to import). */
async function defaultThresholds(ctx: CliContext): Promise<number[]> {
  const { openSettingsStore } = await import('../../settings/store.js');
  return [...openSettingsStore(ctx.config().dataDir, ctx.logger('warn')).get().budgets.defaultThresholds];
}

/** `llmeter budget add|list|edit|remove`: spend budgets with threshold alerts, in the same database the app evaluates. */
export function registerBudgetCommand(program: Command, ctx: CliContext): void {
  const budget = program.command('budget').description('spend budgets: alerts at thresholds (50/80/100 % by default) and when the forecast exceeds the amount');

  definitionOptions(budget.command('add').description('add a budget (all spend unless --provider, --model or --project)'), false)
    .action(async (options: DefinitionOptions) => {
      if (options.amount === undefined) throw new Error('--amount is required, e.g. --amount 50');
      if (options.period === undefined) throw new Error('--period is required: day, week or month');
      const input: BudgetInput = {
        scope: scopeFrom(options) ?? { kind: 'all' },
        period: options.period,
        amountUsd: amountFrom(options.amount),
        thresholds: options.thresholds ?? (await defaultThresholds(ctx)),
        ...(options.name === undefined ? {} : { name: options.name }),
      };
      const status = await withDatabase(ctx, (db) => createBudget(db, input, Date.now()));
      ctx.stdout(options.json ? `${JSON.stringify(status, null, 2)}\n` : `Added. ${summary(status)}`);
    });

  budget
    .command('list')
    .description('list budgets with spend, estimated part and forecast of the current period')
    .option('--json', 'print a JSON array (exact decimal dollar strings)')
    .action(async (options: { json?: boolean }) => {
      await withDatabase(ctx, (db) => {
        const budgets = listBudgets(db, Date.now());
        if (options.json) return ctx.stdout(`${JSON.stringify(budgets, null, 2)}\n`);
        if (budgets.length === 0) return ctx.stdout('No budgets yet. Add one: npx llmeter budget add --amount 50 --period month\n');
        const rows = budgets.map((b) => [
          String(b.id),
          b.name,
          scopeLabel(b.scope),
          b.period,
          formatUsd(b.amountUsd),
          formatUsd(b.spentUsd),
          formatUsd(b.estimatedUsd),
          formatUsd(b.forecastUsd),
          `${LEVEL_WORDS[b.level]}${b.forecastToExceed ? ', forecast to exceed' : ''}`,
        ]);
        ctx.stdout(table([['ID', 'NAME', 'SCOPE', 'PERIOD', 'AMOUNT', 'SPENT', 'OF WHICH ESTIMATED', 'FORECAST', 'STATE'], ...rows]) + freshnessLine(db));
      });
    });

  definitionOptions(budget.command('edit').description('change a budget; alerts no longer true under the new definition may fire again').argument('<id>', 'budget id (see budget list)', parseId), true)
    .option('--all-spend', 'count all spend again (drops a provider, model or project scope)')
    .action(async (id: number, options: DefinitionOptions) => {
      const status = await withDatabase(ctx, (db) => {
        const current = listBudgets(db, Date.now()).find((b) => b.id === id);
        if (!current) throw new BudgetNotFoundError(id);
        const input: BudgetInput = {
          scope: scopeFrom(options) ?? current.scope,
          period: options.period ?? current.period,
          amountUsd: options.amount === undefined ? current.amountUsd : amountFrom(options.amount),
          thresholds: options.thresholds ?? current.thresholds,
          ...(options.name === undefined ? {} : { name: options.name }),
        };
        return updateBudget(db, { id, input }, Date.now());
      });
      ctx.stdout(options.json ? `${JSON.stringify(status, null, 2)}\n` : `Changed. ${summary(status)}`);
    });

  budget
    .command('remove')
    .description('remove a budget (its past alerts stay listed by `llmeter alerts`)')
    .argument('<id>', 'budget id (see budget list)', parseId)
    .action(async (id: number) => {
      const { deleted } = await withDatabase(ctx, (db) => deleteBudget(db, { id }));
      if (!deleted) throw new BudgetNotFoundError(id);
      ctx.stdout(`Budget ${id} removed.\n`);
    });
}
