import type { BudgetPeriod, BudgetScope } from '../../shared/budgets.js';
import { BudgetInputError, defaultBudgetName, type PeriodBounds, type ValidBudgetInput } from '../../shared/budget-math.js';
import type { ProviderId } from '../../shared/providers.js';
import type { UsageSource } from '../../shared/usage.js';
import type { Db } from '../store/db.js';
import { querySpendByProvider, type ProviderSpendRow, type UsageFilter } from '../store/rollups.js';
import { cachedStatement } from '../store/statements.js';

const USAGE_SOURCES: readonly UsageSource[] = ['usage', 'cost', 'sdk'];

/** A budget as stored. */
export interface StoredBudget {
  id: number;
  name: string;
  scope: BudgetScope;
  period: BudgetPeriod;
  amountNano: bigint;
  thresholds: number[];
}

interface BudgetRow {
  id: bigint;
  name: string;
  scope_kind: BudgetScope['kind'];
  provider: string | null;
  model: string | null;
  project: string | null;
  period: BudgetPeriod;
  amount_nano: bigint;
  thresholds: string;
}

function fromRow(row: BudgetRow): StoredBudget {
  const provider = row.provider === null ? {} : { provider: row.provider as ProviderId };
  const scope: BudgetScope =
    row.scope_kind === 'all'
      ? { kind: 'all' }
      : row.scope_kind === 'provider'
        ? { kind: 'provider', provider: row.provider as ProviderId }
        : row.scope_kind === 'model'
          ? { kind: 'model', model: row.model!, ...provider }
          : { kind: 'project', project: row.project!, ...provider };
  return { id: Number(row.id), name: row.name, scope, period: row.period, amountNano: row.amount_nano, thresholds: JSON.parse(row.thresholds) as number[] };
}

function scopeColumns(scope: BudgetScope): { scopeKind: string; provider: string | null; model: string | null; project: string | null } {
  return {
    scopeKind: scope.kind,
    provider: 'provider' in scope ? (scope.provider ?? null) : null,
    model: scope.kind === 'model' ? scope.model : null,
    project: scope.kind === 'project' ? scope.project : null,
  };
}

/** Every budget, oldest first. */
export function listStoredBudgets(db: Db): StoredBudget[] {
  return (db.prepare('SELECT * FROM budgets ORDER BY id').safeIntegers(true).all() as BudgetRow[]).map(fromRow);
}

/** One budget, or null. */
export function getStoredBudget(db: Db, id: number): StoredBudget | null {
  const row = db.prepare('SELECT * FROM budgets WHERE id = ?').safeIntegers(true).get(id) as BudgetRow | undefined;
  return row ? fromRow(row) : null;
}

/**
 * The name to store: the person's, which must be free, or the default name of the scope and
 * period, numbered ("OpenAI, monthly 2") when another budget has it.
 */
function chooseName(db: Db, input: ValidBudgetInput, exceptId: number | null): string {
  const taken = (name: string): boolean => db.prepare('SELECT 1 FROM budgets WHERE name = ? AND id IS NOT ?').get(name, exceptId) !== undefined;
  if (input.name !== null) {
    if (taken(input.name)) throw new BudgetInputError(`A budget named "${input.name}" already exists; choose another name`);
    return input.name;
  }
  const base = defaultBudgetName(input.scope, input.period);
  let name = base;
  for (let n = 2; taken(name); n++) name = `${base} ${n}`;
  return name;
}

/** Stores a new budget; returns its id. Throws BudgetInputError when the name is taken. */
export function insertBudget(db: Db, input: ValidBudgetInput, nowSec: number): number {
  return db.transaction(() => {
    const result = db
      .prepare(
        `INSERT INTO budgets (name, scope_kind, provider, model, project, period, amount_nano, thresholds, created_at, updated_at)
         VALUES (@name, @scopeKind, @provider, @model, @project, @period, @amountNano, @thresholds, @now, @now)`,
      )
      .run({ name: chooseName(db, input, null), ...scopeColumns(input.scope), period: input.period, amountNano: input.amountNano, thresholds: JSON.stringify(input.thresholds), now: nowSec });
    return Number(result.lastInsertRowid);
  }).immediate();
}

/**
 * Replaces a budget's definition. A budget edited without a name keeps its current one.
 * Returns false when there is no such budget.
 */
export function replaceBudget(db: Db, id: number, input: ValidBudgetInput, nowSec: number): boolean {
  const current = getStoredBudget(db, id);
  if (!current) return false;
  const name = input.name === null ? current.name : chooseName(db, input, id);
  db.prepare(
    `UPDATE budgets SET name = @name, scope_kind = @scopeKind, provider = @provider, model = @model, project = @project,
       period = @period, amount_nano = @amountNano, thresholds = @thresholds, updated_at = @now WHERE id = @id`,
  ).run({ id, name, ...scopeColumns(input.scope), period: input.period, amountNano: input.amountNano, thresholds: JSON.stringify(input.thresholds), now: nowSec });
  return true;
}

/** Deletes a budget (its alert history stays). Returns false when there was none. */
export function deleteStoredBudget(db: Db, id: number): boolean {
  return db.prepare('DELETE FROM budgets WHERE id = ?').run(id).changes > 0;
}

/** Spend of one scope in the current period and, where the data reaches back that far, the previous one. */
export interface ScopeSpend {
  spentNano: bigint;
  estimatedNano: bigint;
  /** Null when no usage of the scope's provider(s) starts at or before the previous period's start. */
  previousNano: bigint | null;
}

/**
 * Spend over budget periods, each read from the rollups once: what the budgets and the period spend
 * of one moment share. A provider's spend is its row of the read of all providers when that read
 * was made already (the period spend reads the current day, week and month of all providers), and a
 * read of its own rows otherwise, which is cheaper (the previous week of one provider: 1.5 ms at 1M
 * rows, of all: 2.3 ms; summing every group to share reads measured several times slower). Valid
 * while nothing is written: make one per reading, and read the period spend first.
 */
export interface PeriodSpendReader {
  /** As querySpendByProvider answers: per provider with rows in [start, end) that the filter selects, ordered by provider. */
  byProvider(bounds: PeriodBounds, filter?: UsageFilter): ProviderSpendRow[];
  /** Whether the stored usage (of one provider, or of any) starts at or before `sec`. */
  reachesBack(provider: string | null, sec: number): boolean;
}

/** A PeriodSpendReader over `db` as it is now. */
export function createPeriodSpendReader(db: Db): PeriodSpendReader {
  const reads = new Map<string, ProviderSpendRow[]>();
  const earliest = new Map<string | null, number | null>();
  const key = (bounds: PeriodBounds, filter: UsageFilter): string => JSON.stringify([bounds.startMs, bounds.endMs, filter.provider ?? null, filter.model ?? null, filter.project ?? null]);
  return {
    byProvider(bounds, filter = {}) {
      if (filter.provider != null && filter.model == null && filter.project == null) {
        const all = reads.get(key(bounds, {}));
        if (all) return all.filter((row) => row.provider === filter.provider);
      }
      const readKey = key(bounds, filter);
      let rows = reads.get(readKey);
      if (!rows) reads.set(readKey, (rows = querySpendByProvider(db, bounds.startMs / 1000, bounds.endMs / 1000, filter)));
      return rows;
    },
    reachesBack(provider, sec) {
      if (!earliest.has(provider)) earliest.set(provider, earliestUsage(db, provider));
      const first = earliest.get(provider)!;
      return first !== null && first <= sec;
    },
  };
}

/**
 * Sums a scope's spend over the previous and current period from the rollups (the periods are
 * whole UTC days), counting spend exactly as the metrics do (SPEND_NANO_SQL: billed cost plus
 * estimates not yet superseded). Pass one `reader` to the budgets of one moment so they share reads.
 */
export function queryScopeSpend(db: Db, scope: BudgetScope, current: PeriodBounds, previous: PeriodBounds, reader: PeriodSpendReader = createPeriodSpendReader(db)): ScopeSpend {
  const columns = scopeColumns(scope);
  const filter = { provider: columns.provider, model: columns.model, project: columns.project };
  const spend = (bounds: PeriodBounds): { cost: bigint; estimated: bigint } =>
    reader.byProvider(bounds, filter).reduce((sum, row) => ({ cost: sum.cost + row.cost_nano, estimated: sum.estimated + row.estimated_nano }), { cost: 0n, estimated: 0n });
  const thisPeriod = spend(current);
  return {
    spentNano: thisPeriod.cost,
    estimatedNano: thisPeriod.estimated,
    previousNano: reader.reachesBack(columns.provider, previous.startMs / 1000) ? spend(previous).cost : null,
  };
}

/**
 * When the stored usage (of one provider, or of any) starts, or null when there is none. One index
 * seek per source: MIN over the primary key's (provider, source, bucket_start) prefix.
 */
function earliestUsage(db: Db, provider: string | null): number | null {
  return (
    provider === null
      ? cachedStatement(db, 'SELECT MIN(bucket_start) FROM usage').pluck().get()
      : cachedStatement(db, `SELECT MIN(first) FROM (${USAGE_SOURCES.map((source) => `SELECT MIN(bucket_start) AS first FROM usage WHERE provider = @provider AND source = '${source}'`).join(' UNION ALL ')})`)
          .pluck()
          .get({ provider })
  ) as number | null;
}
