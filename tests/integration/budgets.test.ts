/**
 * Budgets and threshold alerts on a real SQLite file: what counts, what fires, and that each
 * crossing fires once — across re-polls, restarts, provider revisions, edits and periods.
 */
import { describe, expect, it } from 'vitest';
import { createBudget, deleteBudget, listAlerts, listBudgets, updateBudget } from '../../core/budgets/budgets.js';
import { evaluateBudgets } from '../../core/budgets/evaluate.js';
import type { Notifier } from '../../core/budgets/notifiers.js';
import { runCli } from '../../core/cli/main.js';
import type { CliContext } from '../../core/cli/context.js';
import { resolveConfig } from '../../core/config.js';
import { silentLogger } from '../../core/log.js';
import { openDatabase, type Db } from '../../core/store/db.js';
import { writeProviderFetch } from '../../core/store/usage-repo.js';
import { alertMessage, type AlertNotice } from '../../shared/budget-alerts.js';
import type { BudgetInput, BudgetStatus } from '../../shared/budgets.js';
import { parseAmountToNano } from '../../shared/money.js';
import type { UsageRecord } from '../../shared/usage.js';
import { record } from '../support/records.js';
import { tempDir } from '../support/temp.js';

// Wednesday 2026-11-18 12:00 UTC: 17.5 of November's 30 days have passed.
const NOW = Date.parse('2026-11-18T12:00:00Z');
const sec = (iso: string): number => Date.parse(iso) / 1000;

/** Billed cost of one day (a cost-endpoint row), upserted on its natural key like a poll does. */
function billed(db: Db, day: string, dollars: string, fields: Partial<UsageRecord> = {}): void {
  const row = record({ provider: 'openai', source: 'cost', bucketStart: sec(`${day}T00:00:00Z`), costNano: parseAmountToNano(dollars)!, lineItem: 'gpt-4o, input', ...fields });
  writeProviderFetch(db, row.provider, [], [row], NOW / 1000);
}

/** An estimated hour of usage (a usage-endpoint row priced by LLMeter). */
function estimated(db: Db, hour: string, dollars: string, fields: Partial<UsageRecord> = {}): void {
  const row = record({ provider: 'openai', source: 'usage', bucketStart: sec(hour), costNano: parseAmountToNano(dollars)!, ...fields });
  writeProviderFetch(db, row.provider, [], [row], NOW / 1000);
}

/** A notifier that keeps what it was asked to deliver. */
function collector(): Notifier & { notices: AlertNotice[] } {
  const notices: AlertNotice[] = [];
  return {
    channel: 'test',
    notices,
    notify: async (notice) => {
      notices.push(notice);
    },
  };
}

const monthly = (amountUsd: string, over: Partial<BudgetInput> = {}): BudgetInput => ({ name: 'Team', scope: { kind: 'all' }, period: 'month', amountUsd, thresholds: [50, 80, 100], ...over });
const fired = (evaluation: ReturnType<typeof evaluateBudgets>): string[] => evaluation.fired.map((a) => (a.kind === 'forecast' ? 'forecast' : `${a.threshold}`));

describe('budget evaluation', () => {
  it('fires every threshold one poll crosses, as one notification led by the highest', async () => {
    const db = openDatabase(tempDir());
    createBudget(db, monthly('100'), NOW);
    billed(db, '2026-11-03', '85');
    const notifier = collector();
    const evaluation = evaluateBudgets(db, NOW, notifier);
    await evaluation.delivered;

    // No October data: the forecast is the plain run-rate, 85 / (17.5 / 30).
    expect(evaluation.budgets[0]).toMatchObject({ spentUsd: '85', forecastUsd: '145.714285714', level: 'warn', forecastToExceed: true });
    expect(fired(evaluation)).toEqual(['80', '50', 'forecast']);
    expect(notifier.notices).toHaveLength(1);
    const [notice] = notifier.notices;
    expect(notice).toMatchObject({ kind: 'threshold', threshold: 80, level: 'warn', budgetId: evaluation.budgets[0]!.id, periodStart: '2026-11-01T00:00:00.000Z' });
    expect(notice!.grouped.map((a) => a.kind === 'forecast' ? 'forecast' : a.threshold)).toEqual([50, 'forecast']);
    expect(alertMessage(notice!)).toEqual({
      title: 'Team: 85 % of budget used',
      body: '$85.00 of $100.00 spent this month (all billed). Forecast for the month: $145.71. Also passed 50 %. On pace to exceed the budget.',
    });
    // Newest first; within one evaluation the highest threshold on top.
    expect(listAlerts(db).map((a) => [a.threshold, a.kind, a.delivery])).toEqual([
      [80, 'threshold', 'sent'],
      [50, 'threshold', 'sent'],
      [100, 'forecast', 'sent'],
    ]);
    db.close();
  });

  it('never fires a crossing twice, also after closing and reopening the database', async () => {
    const dir = tempDir();
    let db = openDatabase(dir);
    createBudget(db, monthly('100'), NOW);
    billed(db, '2026-11-03', '120');
    const notifier = collector();
    expect(fired(evaluateBudgets(db, NOW, notifier))).toEqual(['100', '80', '50']);
    expect(fired(evaluateBudgets(db, NOW + 60_000, notifier))).toEqual([]);
    db.close();

    db = openDatabase(dir);
    const again = evaluateBudgets(db, NOW + 3_600_000, notifier);
    await again.delivered;
    expect(fired(again)).toEqual([]);
    expect(notifier.notices).toHaveLength(1);
    expect(listAlerts(db)).toHaveLength(3);
    db.close();
  });

  it('ignores a provider revising spend down and up again, firing only what is newly crossed', () => {
    const db = openDatabase(tempDir());
    createBudget(db, monthly('100'), NOW);
    const notifier = collector();
    billed(db, '2026-11-03', '55');
    expect(fired(evaluateBudgets(db, NOW, notifier))).toEqual(['50']);
    billed(db, '2026-11-03', '30');
    const lowered = evaluateBudgets(db, NOW, notifier);
    expect(lowered.budgets[0]).toMatchObject({ spentUsd: '30', level: 'ok' });
    expect(fired(lowered)).toEqual([]);
    billed(db, '2026-11-03', '56');
    expect(fired(evaluateBudgets(db, NOW, notifier))).toEqual([]);
    billed(db, '2026-11-03', '81');
    expect(fired(evaluateBudgets(db, NOW, notifier))).toEqual(['80', 'forecast']);
    expect(listAlerts(db).filter((a) => a.threshold === 50)).toHaveLength(1);
    db.close();
  });

  it('re-arms, on an edit mid-period, exactly the crossings the new definition makes untrue', () => {
    const db = openDatabase(tempDir());
    const budget = createBudget(db, monthly('50'), NOW);
    const notifier = collector();
    billed(db, '2026-11-03', '45');
    expect(fired(evaluateBudgets(db, NOW, notifier))).toEqual(['80', '50', 'forecast']);

    // Raising the amount to $100: 45 % crosses nothing and forecasts $77, so all three re-arm.
    updateBudget(db, { id: budget.id, input: monthly('100') }, NOW);
    expect(listAlerts(db).map((a) => a.rearmedAt !== null)).toEqual([true, true, true]);
    expect(fired(evaluateBudgets(db, NOW, notifier))).toEqual([]);

    billed(db, '2026-11-04', '10');
    expect(fired(evaluateBudgets(db, NOW, notifier))).toEqual(['50']);

    // Renaming keeps every crossing true: nothing is re-armed, nothing sent again.
    const renamed = updateBudget(db, { id: budget.id, input: monthly('100', { name: 'Platform' }) }, NOW);
    expect(renamed.name).toBe('Platform');
    expect(fired(evaluateBudgets(db, NOW, notifier))).toEqual([]);

    // Lowering it to $60: 55 is 91 %, so 80 % fires again, and so does the forecast warning.
    updateBudget(db, { id: budget.id, input: monthly('60', { name: 'Platform' }) }, NOW);
    expect(fired(evaluateBudgets(db, NOW, notifier))).toEqual(['80', 'forecast']);
    const history = listAlerts(db);
    expect(history.filter((a) => a.threshold === 50 && a.kind === 'threshold').map((a) => a.rearmedAt === null)).toEqual([true, false]);
    expect(history[0]!.budgetName).toBe('Platform');
    db.close();
  });

  it('starts each period fresh, December firing again what November fired', () => {
    const db = openDatabase(tempDir());
    createBudget(db, monthly('100'), NOW);
    const notifier = collector();
    billed(db, '2026-11-03', '60');
    expect(fired(evaluateBudgets(db, NOW, notifier))).toEqual(['50', 'forecast']);

    const december = Date.parse('2026-12-01T12:00:00Z');
    const empty = evaluateBudgets(db, december, notifier);
    expect(empty.budgets[0]).toMatchObject({ periodStart: '2026-12-01T00:00:00.000Z', periodEnd: '2027-01-01T00:00:00.000Z', spentUsd: '0', level: 'ok' });
    expect(fired(empty)).toEqual([]);
    billed(db, '2026-12-01', '55');
    // Half a day into December with no complete November behind it: no run-rate warning yet.
    const crossed = evaluateBudgets(db, december, notifier);
    expect(fired(crossed)).toEqual(['50']);
    expect(crossed.fired[0]!.periodStart).toBe('2026-12-01T00:00:00.000Z');
    db.close();
  });

  it('counts a week from Monday 00:00 UTC', () => {
    const db = openDatabase(tempDir());
    createBudget(db, { name: 'Week', scope: { kind: 'all' }, period: 'week', amountUsd: '10', thresholds: [50, 100] }, NOW);
    estimated(db, '2026-11-22T23:00:00Z', '6'); // Sunday
    estimated(db, '2026-11-23T00:00:00Z', '7'); // Monday
    const notifier = collector();
    const sunday = evaluateBudgets(db, Date.parse('2026-11-22T23:30:00Z'), notifier);
    expect(sunday.budgets[0]).toMatchObject({ periodStart: '2026-11-16T00:00:00.000Z', spentUsd: '6' });
    expect(fired(sunday)).toEqual(['50']);
    const monday = evaluateBudgets(db, Date.parse('2026-11-23T12:00:00Z'), notifier);
    expect(monday.budgets[0]).toMatchObject({ periodStart: '2026-11-23T00:00:00.000Z', periodEnd: '2026-11-30T00:00:00.000Z', spentUsd: '7' });
    // Half a day into a week with no earlier week on record: too early for a run-rate warning.
    expect(fired(monday)).toEqual(['50']);
    db.close();
  });

  it('counts estimates not yet billed, reports their share, and drops estimates superseded by billed cost', async () => {
    const db = openDatabase(tempDir());
    createBudget(db, monthly('40'), NOW);
    billed(db, '2026-11-02', '20');
    estimated(db, '2026-11-02T10:00:00Z', '5'); // superseded: Nov 2 is billed
    estimated(db, '2026-11-18T10:00:00Z', '4.123456789');
    const notifier = collector();
    const evaluation = evaluateBudgets(db, NOW, notifier);
    await evaluation.delivered;
    expect(evaluation.budgets[0]).toMatchObject({ spentUsd: '24.123456789', estimatedUsd: '4.123456789' });
    expect(notifier.notices[0]).toMatchObject({ threshold: 50, spentUsd: '24.123456789', estimatedUsd: '4.123456789' });
    expect(alertMessage(notifier.notices[0]!).body).toContain('$24.12 of $40.00 spent this month (includes $4.12 estimated, not billed yet)');
    expect(listAlerts(db)[0]!.estimatedUsd).toBe('4.123456789');
    db.close();
  });

  it('counts only the provider, model or project a budget is scoped to', () => {
    const db = openDatabase(tempDir());
    billed(db, '2026-11-02', '10', { model: 'gpt-4o', project: 'proj_a' });
    billed(db, '2026-11-02', '3', { model: 'gpt-4o-mini', project: 'proj_b', lineItem: 'gpt-4o-mini, input' });
    billed(db, '2026-11-02', '100', { provider: 'anthropic', model: 'claude-x', project: 'proj_a', lineItem: 'Claude X' });
    const scopes: Array<[BudgetInput['scope'], string]> = [
      [{ kind: 'all' }, '113'],
      [{ kind: 'provider', provider: 'openai' }, '13'],
      [{ kind: 'model', model: 'gpt-4o-mini' }, '3'],
      [{ kind: 'project', project: 'proj_a' }, '110'],
      [{ kind: 'project', project: 'proj_a', provider: 'openai' }, '10'],
    ];
    for (const [scope] of scopes) createBudget(db, { scope, period: 'month', amountUsd: '1000', thresholds: [50] }, NOW);
    expect(listBudgets(db, NOW).map((b) => [b.scope, b.spentUsd])).toEqual(scopes);
    expect(listBudgets(db, NOW).map((b) => b.name)).toEqual(['All spend, monthly', 'OpenAI, monthly', 'gpt-4o-mini, monthly', 'project proj_a, monthly', 'project proj_a on OpenAI, monthly']);
    db.close();
  });

  it('warns once when the forecast passes the amount before spend does', () => {
    const db = openDatabase(tempDir());
    createBudget(db, monthly('100'), NOW);
    billed(db, '2026-10-01', '200'); // a whole October on record: the forecast is smoothed by it
    billed(db, '2026-11-03', '48');
    const notifier = collector();
    const first = evaluateBudgets(db, NOW, notifier);
    // 48 + (12.5/30)·48 + (12.5/30)²·200
    expect(first.budgets[0]).toMatchObject({ forecastUsd: '102.722222222', forecastToExceed: true, level: 'warn' });
    expect(fired(first)).toEqual(['forecast']);
    expect(first.notices[0]).toMatchObject({ kind: 'forecast', level: 'warn', grouped: [] });
    expect(fired(evaluateBudgets(db, NOW + 3_600_000, notifier))).toEqual([]);
    billed(db, '2026-11-04', '12');
    expect(fired(evaluateBudgets(db, NOW + 7_200_000, notifier))).toEqual(['50']);
    db.close();
  });

  it('records alerts while muted without delivering them', async () => {
    const db = openDatabase(tempDir());
    createBudget(db, monthly('10'), NOW);
    billed(db, '2026-11-03', '11');
    const notifier = collector();
    const lines: string[] = [];
    const log = { ...silentLogger, info: (message: string) => void lines.push(message) };
    const evaluation = evaluateBudgets(db, NOW, notifier, { muted: true, log });
    await evaluation.delivered;
    expect(fired(evaluation)).toEqual(['100', '80', '50']);
    expect(notifier.notices).toEqual([]);
    expect(listAlerts(db).map((a) => a.delivery)).toEqual(['muted', 'muted', 'muted']);
    expect(lines).toEqual(['budget alert recorded; notifications are muted, so it was not delivered']);
    db.close();
  });

  it('keeps the alert history of a deleted budget and never reuses its id', () => {
    const db = openDatabase(tempDir());
    const first = createBudget(db, monthly('10'), NOW);
    billed(db, '2026-11-03', '5');
    evaluateBudgets(db, NOW, collector());
    expect(deleteBudget(db, { id: first.id })).toEqual({ deleted: true });
    expect(deleteBudget(db, { id: first.id })).toEqual({ deleted: false });
    const second = createBudget(db, monthly('10'), NOW);
    expect(second.id).toBeGreaterThan(first.id);
    expect(fired(evaluateBudgets(db, NOW, collector()))).toEqual(['50']);
    expect(listAlerts(db).map((a) => a.budgetId)).toEqual([second.id, first.id]);
    expect(() => createBudget(db, monthly('5'), NOW)).toThrow(/A budget named "Team" already exists/);
    db.close();
  });
});

describe('llmeter budget and alerts (CLI)', () => {
  function cli(dataDir: string) {
    const out: string[] = [];
    const err: string[] = [];
    const env = { LLMETER_DATA_DIR: dataDir };
    const ctx: CliContext = {
      env,
      config: () => resolveConfig(env),
      secretStore: () => {
        throw new Error('budget commands never touch the keychain');
      },
      logger: () => silentLogger,
      stdout: (text) => void out.push(text),
      stderr: (text) => void err.push(text),
    };
    return async (...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> => {
      out.length = 0;
      err.length = 0;
      process.exitCode = undefined;
      await runCli(['node', 'llmeter', ...args], ctx);
      const exitCode = Number(process.exitCode ?? 0);
      process.exitCode = undefined;
      return { stdout: out.join(''), stderr: err.join(''), exitCode };
    };
  }

  it('adds, lists, edits and removes budgets, and lists alerts, as text and JSON', async () => {
    const dataDir = tempDir();
    const llmeter = cli(dataDir);
    const today = new Date().toISOString().slice(0, 10);
    const db = openDatabase(dataDir);
    billed(db, today, '30', { provider: 'anthropic', model: 'claude-x', lineItem: 'Claude X' });
    db.close();

    const added = await llmeter('budget', 'add', '--amount', '$5000', '--period', 'month', '--provider', 'anthropic', '--thresholds', '80,50,100', '--json');
    expect(added.exitCode).toBe(0);
    const status = JSON.parse(added.stdout) as BudgetStatus;
    expect(status).toMatchObject({ name: 'Anthropic, monthly', scope: { kind: 'provider', provider: 'anthropic' }, period: 'month', amountUsd: '5000', thresholds: [50, 80, 100], spentUsd: '30', estimatedUsd: '0' });

    const second = await llmeter('budget', 'add', '--amount', '5', '--period', 'day', '--model', 'claude-x', '--name', 'Claude today');
    expect(second.stdout).toMatch(/^Added\. Budget \d+ "Claude today": \$5\.00 a day for claude-x, alerts at 50 %, 80 %, 100 %\.\nToday so far: \$30\.00 spent \(all billed\), forecast \$/);

    const listed = await llmeter('budget', 'list', '--json');
    expect((JSON.parse(listed.stdout) as BudgetStatus[]).map((b) => [b.name, b.spentUsd, b.level])).toEqual([
      ['Anthropic, monthly', '30', 'ok'],
      ['Claude today', '30', 'over'],
    ]);
    const table = (await llmeter('budget', 'list')).stdout;
    expect(table).toMatch(/^ID +NAME +SCOPE +PERIOD +AMOUNT +SPENT +OF WHICH ESTIMATED +FORECAST +STATE\n/);
    expect(table).toContain('model:claude-x');
    expect(table).toContain('No provider has been polled yet');

    const edited = await llmeter('budget', 'edit', String(status.id), '--amount', '10000', '--json');
    expect(JSON.parse(edited.stdout)).toMatchObject({ id: status.id, amountUsd: '10000', name: 'Anthropic, monthly' });

    // The CLI never notifies (the running app does); alerts appear once something evaluates.
    expect((await llmeter('alerts')).stdout).toContain('No alert has fired');
    const evalDb = openDatabase(dataDir);
    evaluateBudgets(evalDb, Date.now(), collector());
    evalDb.close();
    const alerts = JSON.parse((await llmeter('alerts', '--json')).stdout) as Array<{ budgetName: string; threshold: number; delivery: string }>;
    expect(alerts.filter((a) => a.budgetName === 'Claude today').map((a) => a.threshold).sort((a, b) => a - b)).toEqual([50, 80, 100]);
    expect((await llmeter('alerts', '--limit', '1', '--json')).stdout).toMatch(/^\[\n {2}\{/);
    expect((await llmeter('alerts')).stdout).toMatch(/^FIRED +BUDGET +ALERT +LEVEL +SPENT/);

    expect(await llmeter('budget', 'remove', String(status.id))).toMatchObject({ exitCode: 0, stdout: `Budget ${status.id} removed.\n` });
    const missing = await llmeter('budget', 'remove', String(status.id));
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain(`There is no budget ${status.id}`);
    expect((JSON.parse((await llmeter('budget', 'list', '--json')).stdout) as BudgetStatus[]).map((b) => b.name)).toEqual(['Claude today']);
  });

  it('explains bad input in one line and exits non-zero', async () => {
    const llmeter = cli(tempDir());
    const noAmount = await llmeter('budget', 'add', '--period', 'month');
    expect(noAmount).toMatchObject({ exitCode: 1, stderr: 'llmeter: --amount is required, e.g. --amount 50\n' });
    const badPeriod = await llmeter('budget', 'add', '--amount', '5', '--period', 'year');
    expect(badPeriod.exitCode).not.toBe(0);
    expect(badPeriod.stderr).toContain('--period must be one of day, week, month, not "year"');
    const badAmount = await llmeter('budget', 'add', '--amount', 'lots', '--period', 'month');
    expect(badAmount.stderr).toContain('Amount must be a positive number of dollars');
    const badThresholds = await llmeter('budget', 'add', '--amount', '5', '--period', 'month', '--thresholds', '50,,100');
    expect(badThresholds.stderr).toContain('--thresholds must be percentages separated by commas');
    const both = await llmeter('budget', 'add', '--amount', '5', '--period', 'month', '--model', 'm', '--project', 'p');
    expect(both.stderr).toContain('one model or one project, not both');
  });
});
