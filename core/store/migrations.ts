/**
 * Part of migration 4 (shipped: never edit): the statements of a rollup trigger that add (`+`) or
 * take away (`-`) one usage row's contribution (`NEW` or `OLD`) to its day, month and all time.
 */
function rollupChange(row: 'NEW' | 'OLD', sign: '+' | '-'): string {
  const counted = `NOT (${row}.source = 'sdk' AND ${row}.superseded = 1)`;
  const ifCounted = (value: string): string => `${sign}(CASE WHEN ${counted} THEN ${value} ELSE 0 END)`;
  const values = [
    ifCounted('1'),
    `${sign}1`,
    `${sign}(CASE WHEN ${row}.superseded = 0 THEN ${row}.cost_nano ELSE 0 END)`,
    `${sign}(CASE WHEN ${row}.superseded = 0 AND ${row}.cost_kind = 'estimated' THEN ${row}.cost_nano ELSE 0 END)`,
    ifCounted(`${row}.requests IS NOT NULL`),
    ifCounted(`COALESCE(${row}.requests, 0)`),
    ifCounted(`${row}.input_tokens`),
    ifCounted(`${row}.cached_input_tokens`),
    ifCounted(`${row}.cache_write_tokens`),
    ifCounted(`${row}.output_tokens`),
  ].join(', ');
  const add = ['rows', 'present', 'cost_nano', 'estimated_nano', 'request_rows', 'requests', 'input_tokens', 'cached_input_tokens', 'cache_write_tokens', 'output_tokens']
    .map((column) => `${column} = ${column} + excluded.${column}`)
    .join(', ');
  return `
    INSERT INTO usage_daily VALUES (${row}.bucket_start - ${row}.bucket_start % 86400, ${row}.provider, ${row}.model, ${row}.project, ${values})
      ON CONFLICT DO UPDATE SET ${add};
    INSERT INTO usage_monthly VALUES (CAST(strftime('%s', ${row}.bucket_start, 'unixepoch', 'start of month') AS INTEGER), ${row}.provider, ${row}.model, ${row}.project, ${values})
      ON CONFLICT DO UPDATE SET ${add};
    INSERT INTO usage_totals VALUES (${row}.provider, ${row}.model, ${values})
      ON CONFLICT DO UPDATE SET ${add};`;
}

/**
 * Part of migration 4 (shipped: never edit): the statements of an SDK customer rollup trigger that
 * add (`+`) or take away (`-`) one `sdk_usage_hourly` row (`NEW` or `OLD`) from its day, month and all time.
 */
function customerRollupChange(row: 'NEW' | 'OLD', sign: '+' | '-'): string {
  const values = [`${sign}1`, ...['cost_nano', 'requests', 'input_tokens', 'output_tokens'].map((column) => `${sign}${row}.${column}`)].join(', ');
  const add = ['rows', 'cost_nano', 'requests', 'input_tokens', 'output_tokens'].map((column) => `${column} = ${column} + excluded.${column}`).join(', ');
  const key = `${row}.provider, ${row}.model, ${row}.customer_id`;
  return `
    INSERT INTO sdk_customers_daily VALUES (${row}.hour - ${row}.hour % 86400, ${key}, ${values}) ON CONFLICT DO UPDATE SET ${add};
    INSERT INTO sdk_customers_monthly VALUES (CAST(strftime('%s', ${row}.hour, 'unixepoch', 'start of month') AS INTEGER), ${key}, ${values}) ON CONFLICT DO UPDATE SET ${add};
    INSERT INTO sdk_customers_totals VALUES (${key}, ${values}) ON CONFLICT DO UPDATE SET ${add};`;
}

/** Part of migration 4 (shipped: never edit): an update of `sdk_usage_hourly` changed what the customer rollups hold. */
const CUSTOMER_INPUTS_CHANGED = `(${['hour', 'provider', 'model', 'customer_id', 'cost_nano', 'requests', 'input_tokens', 'output_tokens'].map((column) => `OLD.${column} IS NOT NEW.${column}`).join(' OR ')})`;

/** Part of migration 4 (shipped: never edit): an update changed something the rollups sum or group by. */
const ROLLUP_INPUTS_CHANGED = `(${['provider', 'source', 'bucket_start', 'model', 'project', 'requests', 'input_tokens', 'cached_input_tokens', 'cache_write_tokens', 'output_tokens', 'cost_nano', 'cost_kind', 'superseded']
  .map((column) => `OLD.${column} IS NOT NEW.${column}`)
  .join(' OR ')})`;

/** Part of migration 6 (shipped: never edit): an update changed something the hourly rollup sums or groups by. */
const HOURLY_INPUTS_CHANGED = `(${['bucket_start', 'provider', 'model', 'project', 'cost_nano', 'cost_kind', 'superseded'].map((column) => `OLD.${column} IS NOT NEW.${column}`).join(' OR ')})`;

/**
 * Part of migration 6 (shipped: never edit): the statements of an hourly rollup trigger that add
 * (`+`) or take away (`-`) one usage row whose cost counts (`NEW` or `OLD`, superseded = 0) from its
 * hour. An hour left with no such row is deleted: estimates superseded by billing leave the table,
 * so it stays the size of the counted spend rather than of every hour ever estimated.
 */
function hourlyRollupChange(row: 'NEW' | 'OLD', sign: '+' | '-'): string {
  const key = [`${row}.bucket_start - ${row}.bucket_start % 3600`, `${row}.provider`, `${row}.model`, `${row}.project`];
  const upsert = `
    INSERT INTO usage_hourly VALUES (${key.join(', ')}, ${sign}1, ${sign}${row}.cost_nano, ${sign}(CASE WHEN ${row}.cost_kind = 'estimated' THEN ${row}.cost_nano ELSE 0 END))
      ON CONFLICT DO UPDATE SET rows = rows + excluded.rows, cost_nano = cost_nano + excluded.cost_nano, estimated_nano = estimated_nano + excluded.estimated_nano;`;
  if (sign === '+') return upsert;
  return `${upsert}
    DELETE FROM usage_hourly WHERE hour = ${key[0]} AND provider = ${key[1]} AND model = ${key[2]} AND project = ${key[3]} AND rows = 0;`;
}

/**
 * Part of migration 7: the statements of a usage rollup trigger that add (`+`) or take away (`-`)
 * one usage row's contribution (`NEW` or `OLD`) to its day, month and all time: migration 4's, and,
 * by day and month, how many rows whose cost counts (superseded = 0) there are. Columns are named,
 * so that a column added later does not break the trigger.
 */
function usageRollupChange(row: 'NEW' | 'OLD', sign: '+' | '-'): string {
  const counted = `NOT (${row}.source = 'sdk' AND ${row}.superseded = 1)`;
  const ifCounted = (value: string): string => `${sign}(CASE WHEN ${counted} THEN ${value} ELSE 0 END)`;
  const sums: Array<[column: string, value: string]> = [
    ['rows', ifCounted('1')],
    ['present', `${sign}1`],
    ['cost_nano', `${sign}(CASE WHEN ${row}.superseded = 0 THEN ${row}.cost_nano ELSE 0 END)`],
    ['estimated_nano', `${sign}(CASE WHEN ${row}.superseded = 0 AND ${row}.cost_kind = 'estimated' THEN ${row}.cost_nano ELSE 0 END)`],
    ['request_rows', ifCounted(`${row}.requests IS NOT NULL`)],
    ['requests', ifCounted(`COALESCE(${row}.requests, 0)`)],
    ['input_tokens', ifCounted(`${row}.input_tokens`)],
    ['cached_input_tokens', ifCounted(`${row}.cached_input_tokens`)],
    ['cache_write_tokens', ifCounted(`${row}.cache_write_tokens`)],
    ['output_tokens', ifCounted(`${row}.output_tokens`)],
  ];
  const upsert = (table: string, key: Array<[string, string]>, columns: Array<[string, string]>): string =>
    `INSERT INTO ${table} (${[...key, ...columns].map(([column]) => column).join(', ')}) VALUES (${[...key, ...columns].map(([, value]) => value).join(', ')})
      ON CONFLICT DO UPDATE SET ${columns.map(([column]) => `${column} = ${column} + excluded.${column}`).join(', ')};`;
  const group: Array<[string, string]> = [['provider', `${row}.provider`], ['model', `${row}.model`], ['project', `${row}.project`]];
  const withSpendRows: Array<[string, string]> = [...sums, ['spend_rows', `${sign}(${row}.superseded = 0)`]];
  return `
    ${upsert('usage_daily', [['day', `${row}.bucket_start - ${row}.bucket_start % 86400`], ...group], withSpendRows)}
    ${upsert('usage_monthly', [['month', `CAST(strftime('%s', ${row}.bucket_start, 'unixepoch', 'start of month') AS INTEGER)`], ...group], withSpendRows)}
    ${upsert('usage_totals', group.slice(0, 2), sums)}`;
}

/**
 * Part of migration 7: the statements of a counted-spend trigger that add (`+`) or take away (`-`)
 * one usage row whose cost counts (`NEW` or `OLD`, superseded = 0) from its hour (migration 6) and
 * from its provider's hour and day.
 */
function spendRollupChange(row: 'NEW' | 'OLD', sign: '+' | '-'): string {
  const values = `${sign}1, ${sign}${row}.cost_nano, ${sign}(CASE WHEN ${row}.cost_kind = 'estimated' THEN ${row}.cost_nano ELSE 0 END)`;
  const add = 'ON CONFLICT DO UPDATE SET rows = rows + excluded.rows, cost_nano = cost_nano + excluded.cost_nano, estimated_nano = estimated_nano + excluded.estimated_nano;';
  return `${hourlyRollupChange(row, sign)}
    INSERT INTO usage_spend_hour_totals VALUES (${row}.bucket_start - ${row}.bucket_start % 3600, ${row}.provider, ${values}) ${add}
    INSERT INTO usage_spend_day_totals VALUES (${row}.bucket_start - ${row}.bucket_start % 86400, ${row}.provider, ${values}) ${add}`;
}

/** Part of migration 5 (shipped: never edit): the customer rollups' summed columns besides `rows`. */
/**
 * The four triggers that keep a rollup of `usage` equal to the sums of its rows: an insert adds the
 * row, a delete takes it away, and an update that changes `changed` does both (two triggers, so each
 * half sees one row). `counted`, when given, limits them to rows it holds for (e.g. not superseded).
 */
function usageRollupTriggers(name: string, change: (row: 'NEW' | 'OLD', sign: '+' | '-') => string, changed: string, counted?: (row: 'NEW' | 'OLD') => string): string {
  const when = (row: 'NEW' | 'OLD', ...more: string[]): string => {
    const conditions = [...(counted ? [counted(row)] : []), ...more];
    return conditions.length > 0 ? ` WHEN ${conditions.join(' AND ')}` : '';
  };
  return `
  CREATE TRIGGER ${name}_insert AFTER INSERT ON usage${when('NEW')}
  BEGIN ${change('NEW', '+')} END;
  CREATE TRIGGER ${name}_delete AFTER DELETE ON usage${when('OLD')}
  BEGIN ${change('OLD', '-')} END;
  CREATE TRIGGER ${name}_update_old AFTER UPDATE ON usage${when('OLD', changed)}
  BEGIN ${change('OLD', '-')} END;
  CREATE TRIGGER ${name}_update_new AFTER UPDATE ON usage${when('NEW', changed)}
  BEGIN ${change('NEW', '+')} END;`;
}

/** Rows whose cost counts: the hourly and spend rollups hold only these. */
const notSuperseded = (row: 'NEW' | 'OLD'): string => `${row}.superseded = 0`;

const CUSTOMER_SUMS = ['cost_nano', 'requests', 'input_tokens', 'output_tokens'];

/** Appends to `sdk_customers_pending` a change of one customer rollup group (pendingChangeIn). */
type PendingChange = (row: 'NEW' | 'OLD', rows: string, value: (column: string) => string) => string;

/**
 * Part of migrations 5 and 9 (shipped: never edit): appends to `sdk_customers_pending` a change of
 * the customer rollups in the (day, `groupColumns`) group of hourly row `row`: `rows` hourly rows
 * more or fewer, and `value(column)` for each summed column.
 */
function pendingChangeIn(groupColumns: readonly string[]): PendingChange {
  return (row, rows, value) =>
    `INSERT INTO sdk_customers_pending VALUES (${row}.hour - ${row}.hour % 86400, ${groupColumns.map((column) => `${row}.${column}`).join(', ')}, ${rows}, ${CUSTOMER_SUMS.map(value).join(', ')});`;
}

/** Part of migration 5 (shipped: never edit): a change of the (day, provider, model, customer) group. */
const pendingCustomerChange = pendingChangeIn(['provider', 'model', 'customer_id']);

/**
 * Part of migrations 5 and 9 (shipped: never edit): the triggers that log every change of the SDK
 * hourly rows in `table` to the customer rollups' pending log, `change` appending one entry:
 * an insert, a delete, an update within a rollup group (`sameGroup`) of what they sum
 * (`inputsChanged`), and an update that moves a row to another group.
 */
function pendingLogTriggers(table: string, change: PendingChange, sameGroup: string, inputsChanged: string): string {
  return `CREATE TRIGGER sdk_customers_pending_insert AFTER INSERT ON ${table}
  BEGIN ${change('NEW', '1', (column) => `NEW.${column}`)} END;
  CREATE TRIGGER sdk_customers_pending_delete AFTER DELETE ON ${table}
  BEGIN ${change('OLD', '-1', (column) => `-OLD.${column}`)} END;
  CREATE TRIGGER sdk_customers_pending_update AFTER UPDATE ON ${table} WHEN ${sameGroup} AND ${inputsChanged}
  BEGIN ${change('NEW', '0', (column) => `NEW.${column} - OLD.${column}`)} END;
  CREATE TRIGGER sdk_customers_pending_move AFTER UPDATE ON ${table} WHEN NOT ${sameGroup}
  BEGIN
    ${change('OLD', '-1', (column) => `-OLD.${column}`)}
    ${change('NEW', '1', (column) => `NEW.${column}`)}
  END;`;
}

/** Part of migration 5 (shipped: never edit): an update of `sdk_usage_hourly` kept the row in its customer rollup group. */
const SAME_CUSTOMER_GROUP = `(OLD.hour - OLD.hour % 86400 = NEW.hour - NEW.hour % 86400 AND OLD.provider = NEW.provider AND OLD.model = NEW.model AND OLD.customer_id = NEW.customer_id)`;

/** Part of migration 9 (shipped: never edit): the id of the (provider, model, customer) of view row `row` (NEW or OLD). */
const customerKeyOf = (row: 'NEW' | 'OLD'): string => `(SELECT id FROM sdk_customer_keys WHERE provider = ${row}.provider AND model = ${row}.model AND customer_id = ${row}.customer_id)`;

/** Part of migration 9 (shipped: never edit): the id of the feature of view row `row` (NEW or OLD). */
const featureKeyOf = (row: 'NEW' | 'OLD'): string => `(SELECT id FROM sdk_features WHERE feature = ${row}.feature)`;

/** Part of migration 9 (shipped: never edit): an SDK hourly row's numbers, as both of its tables name them. */
const SDK_HOURLY_NUMBERS = ['requests', 'failed_requests', 'input_tokens', 'cached_input_tokens', 'cache_write_tokens', 'output_tokens', 'cost_nano', 'unpriced_requests', 'latency_ms_total', 'updated_at'];

/** Part of migration 9 (shipped: never edit): adds view row `row`'s (provider, model, customer) and feature to the key tables if they are new. */
const addSdkKeys = (row: 'NEW' | 'OLD'): string => `
    INSERT INTO sdk_customer_keys (provider, model, customer_id) VALUES (${row}.provider, ${row}.model, ${row}.customer_id) ON CONFLICT DO NOTHING;
    INSERT INTO sdk_features (feature) VALUES (${row}.feature) ON CONFLICT DO NOTHING;`;

/** Part of migration 9 (shipped: never edit): the keyed hourly row of view row OLD. */
const KEYED_ROW_OF_OLD = `hour = OLD.hour AND customer_key = ${customerKeyOf('OLD')} AND feature_key = ${featureKeyOf('OLD')}`;

/**
 * Part of migration 10 (shipped: never edit): appends to `sdk_customers_pending` view row `row`
 * (NEW or OLD of `sdk_usage_hourly`) added (`sign` 1) or taken away (-1), when `when` holds.
 */
const viewRowChange = (row: 'NEW' | 'OLD', sign: '1' | '-1', when = 'true'): string =>
  `INSERT INTO sdk_customers_pending SELECT ${row}.hour - ${row}.hour % 86400, ${customerKeyOf(row)}, ${sign}, ${CUSTOMER_SUMS.map((column) => `${sign} * ${row}.${column}`).join(', ')} WHERE ${when};`;

/** Refuses a change by hand of the SDK hourly rows while SDK writes wait to be folded into them (migration 11). */
const REFUSE_WHILE_PENDING = `SELECT RAISE(ABORT, 'SDK usage received in the last seconds is not in sdk_usage_hourly yet; LLMeter adds it within 5 seconds while it runs, and when it starts. Retry then.') WHERE EXISTS (SELECT 1 FROM sdk_hourly_pending);`;

/**
 * Part of migrations 10 and 11 (shipped: never edit): the `sdk_usage_hourly` view's update and
 * delete triggers, each starting with `guard` (migration 11's REFUSE_WHILE_PENDING). A change of
 * what the rollups hold is logged as the old row taken away and the new one added.
 */
const loggedViewChangeTriggers = (guard: string): string => `
  CREATE TRIGGER sdk_usage_hourly_update INSTEAD OF UPDATE ON sdk_usage_hourly
  BEGIN
    ${guard}
    ${addSdkKeys('NEW')}
    ${viewRowChange('OLD', '-1', CUSTOMER_INPUTS_CHANGED)}
    UPDATE sdk_usage_hourly_keyed SET hour = NEW.hour, customer_key = ${customerKeyOf('NEW')}, feature_key = ${featureKeyOf('NEW')},
      ${SDK_HOURLY_NUMBERS.map((column) => `${column} = NEW.${column}`).join(', ')}
    WHERE ${KEYED_ROW_OF_OLD};
    ${viewRowChange('NEW', '1', CUSTOMER_INPUTS_CHANGED)}
  END;
  CREATE TRIGGER sdk_usage_hourly_delete INSTEAD OF DELETE ON sdk_usage_hourly
  BEGIN
    ${guard}
    ${viewRowChange('OLD', '-1')}
    DELETE FROM sdk_usage_hourly_keyed WHERE ${KEYED_ROW_OF_OLD};
  END;`;

/** Part of migration 9 (shipped: never edit): a change of the (day, customer key) group of a keyed hourly row. */
const pendingCustomerKeyChange = pendingChangeIn(['customer_key']);

/** Part of migration 9 (shipped: never edit): an update of a keyed hourly row kept it in its customer rollup group. */
const SAME_CUSTOMER_KEY_GROUP = '(OLD.hour - OLD.hour % 86400 = NEW.hour - NEW.hour % 86400 AND OLD.customer_key = NEW.customer_key)';

/** Part of migration 9 (shipped: never edit): an update of a keyed hourly row changed what the customer rollups hold. */
const CUSTOMER_KEY_INPUTS_CHANGED = `(${['hour', 'customer_key', ...CUSTOMER_SUMS].map((column) => `OLD.${column} IS NOT NEW.${column}`).join(' OR ')})`;

/**
 * Versioned schema. Each entry moves the database from version index to index + 1 and runs
 * inside one transaction; `PRAGMA user_version` records where a database stands.
 * Append only: never edit a migration that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: usage, sync state
  `
  CREATE TABLE usage (
    provider TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('usage', 'cost', 'sdk')),
    bucket_start INTEGER NOT NULL,
    bucket_end INTEGER NOT NULL,
    bucket_width TEXT NOT NULL CHECK (bucket_width IN ('1h', '1d')),
    model TEXT NOT NULL,
    project TEXT NOT NULL DEFAULT '',
    api_key_id TEXT NOT NULL DEFAULT '',
    line_item TEXT NOT NULL DEFAULT '',
    requests INTEGER,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    cached_input_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    -- nano-dollars (1e-9 USD), exact
    cost_nano INTEGER NOT NULL DEFAULT 0,
    cost_kind TEXT NOT NULL CHECK (cost_kind IN ('billed', 'estimated')),
    -- 1 when the provider's billed cost for this day replaced this row's estimate
    superseded INTEGER NOT NULL DEFAULT 0,
    -- 1 when tokens were seen but no price is known for the model
    unpriced INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (provider, source, bucket_start, model, project, api_key_id, line_item)
  ) WITHOUT ROWID;
  CREATE INDEX usage_by_time ON usage (bucket_start);

  CREATE TABLE sync_state (
    provider TEXT PRIMARY KEY,
    watermark INTEGER,
    last_attempt_at INTEGER,
    last_success_at INTEGER,
    last_error TEXT,
    last_error_kind TEXT,
    last_duration_ms INTEGER,
    error_count INTEGER NOT NULL DEFAULT 0,
    latest_bucket_end INTEGER,
    balance_credits_nano INTEGER,
    balance_used_nano INTEGER
  );
  `,
  // 2: budgets and fired alerts
  `
  CREATE TABLE budgets (
    -- AUTOINCREMENT: a deleted budget's id is never reused, so its alert history and a late
    -- notification click can never point at another budget.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('all', 'provider', 'model', 'project')),
    -- NULL = any provider / not part of the scope
    provider TEXT,
    model TEXT,
    project TEXT,
    period TEXT NOT NULL CHECK (period IN ('day', 'week', 'month')),
    -- nano-dollars (1e-9 USD), exact
    amount_nano INTEGER NOT NULL CHECK (amount_nano > 0),
    -- JSON array of percentages, ascending
    thresholds TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  -- One row per fired alert; kept when its budget is deleted (history names the budget as it was).
  CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    budget_id INTEGER NOT NULL,
    budget_name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('threshold', 'forecast')),
    threshold REAL NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('ok', 'warn', 'over')),
    period_start INTEGER NOT NULL,
    fired_at INTEGER NOT NULL,
    spent_nano INTEGER NOT NULL,
    amount_nano INTEGER NOT NULL,
    forecast_nano INTEGER NOT NULL,
    estimated_nano INTEGER NOT NULL,
    delivery TEXT NOT NULL DEFAULT 'pending' CHECK (delivery IN ('pending', 'sent', 'muted', 'failed')),
    delivery_error TEXT,
    delivered_at INTEGER,
    -- set when an edit of the budget made this crossing no longer true, so it may fire again
    rearmed_at INTEGER
  );
  -- Each (budget, threshold, period, kind) fires exactly once: inserts go through INSERT OR IGNORE.
  -- Partial so that a re-armed crossing keeps its history row next to the one that fires again.
  CREATE UNIQUE INDEX alerts_fire_once ON alerts (budget_id, threshold, period_start, kind) WHERE rearmed_at IS NULL;
  CREATE INDEX alerts_by_time ON alerts (fired_at);

  -- Covers the budgets' spend sums (a WITHOUT ROWID index also carries the primary key, so
  -- provider, model and project are in it): evaluating a budget reads this index alone instead of
  -- looking each row up, about 3x faster at 100k rows, and budgets are evaluated after every poll,
  -- ingest batch and scrape.
  CREATE INDEX usage_spend_by_time ON usage (bucket_start, superseded, cost_kind, cost_nano);
  `,
  // 3: SDK per-request events and their hourly rollup per customer and feature
  `
  -- One row per model request reported by the SDK; the id is client-generated, so a retried batch
  -- (INSERT OR IGNORE) stores and counts nothing twice. Never read by scrapes or the dashboard.
  CREATE TABLE sdk_events (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    -- Unix seconds, when the request started
    occurred_at INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    -- HTTP status of the provider's answer; 0 when there was none
    status INTEGER NOT NULL,
    -- '' when the request named no customer / feature
    customer_id TEXT NOT NULL,
    feature TEXT NOT NULL,
    -- estimated from the price table at occurred_at, nano-dollars
    cost_nano INTEGER NOT NULL,
    unpriced INTEGER NOT NULL,
    received_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  -- The events summed per hour, written in the same transaction as each newly stored event. What
  -- the customer families and the dashboard's customer view aggregate. The per-(provider, model)
  -- hour also goes to usage (source 'sdk', estimated), where it counts as spend only where billing
  -- does not: it is kept superseded for a provider with a billing key, and, once a key is removed,
  -- for the hours its stored billing data covers (core/ingest/store.ts).
  CREATE TABLE sdk_usage_hourly (
    hour INTEGER NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    feature TEXT NOT NULL,
    requests INTEGER NOT NULL,
    -- requests whose status was not 2xx
    failed_requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_nano INTEGER NOT NULL,
    -- requests of a model the price table does not know (counted at $0)
    unpriced_requests INTEGER NOT NULL,
    latency_ms_total INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (hour, provider, model, customer_id, feature)
  ) WITHOUT ROWID;
  `,
  // 4: rollups of counted usage and of SDK customers per day, per month and all time, built here
  // from the rows already stored and kept current by triggers on every change (core/store/rollups.ts)
  `
  -- Each rollup row sums the usage rows of one group: how many count (COUNTED_ROWS_SQL; a group
  -- with none is not in the metrics) and how many there are at all (spend views list a group with
  -- rows that count for nothing, at 0), spend as SPEND_NANO_SQL and ESTIMATED_NANO_SQL count it,
  -- and of the counted rows: how many report requests (none: requests are "not reported", not 0),
  -- their sum, and tokens.
  CREATE TABLE usage_daily (
    day INTEGER NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    project TEXT NOT NULL,
    rows INTEGER NOT NULL,
    present INTEGER NOT NULL,
    cost_nano INTEGER NOT NULL,
    estimated_nano INTEGER NOT NULL,
    request_rows INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    PRIMARY KEY (day, provider, model, project)
  ) WITHOUT ROWID;

  -- The same per UTC calendar month.
  CREATE TABLE usage_monthly (
    month INTEGER NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    project TEXT NOT NULL,
    rows INTEGER NOT NULL,
    present INTEGER NOT NULL,
    cost_nano INTEGER NOT NULL,
    estimated_nano INTEGER NOT NULL,
    request_rows INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    PRIMARY KEY (month, provider, model, project)
  ) WITHOUT ROWID;

  -- All time per (provider, model): what a scrape without from/to reports.
  CREATE TABLE usage_totals (
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    rows INTEGER NOT NULL,
    present INTEGER NOT NULL,
    cost_nano INTEGER NOT NULL,
    estimated_nano INTEGER NOT NULL,
    request_rows INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    PRIMARY KEY (provider, model)
  ) WITHOUT ROWID;

  INSERT INTO usage_daily
  SELECT bucket_start - bucket_start % 86400, provider, model, project,
    SUM(NOT (source = 'sdk' AND superseded = 1)), COUNT(*),
    SUM(CASE WHEN superseded = 0 THEN cost_nano ELSE 0 END),
    SUM(CASE WHEN superseded = 0 AND cost_kind = 'estimated' THEN cost_nano ELSE 0 END),
    SUM(CASE WHEN NOT (source = 'sdk' AND superseded = 1) THEN requests IS NOT NULL ELSE 0 END),
    SUM(CASE WHEN NOT (source = 'sdk' AND superseded = 1) THEN COALESCE(requests, 0) ELSE 0 END),
    SUM(CASE WHEN NOT (source = 'sdk' AND superseded = 1) THEN input_tokens ELSE 0 END),
    SUM(CASE WHEN NOT (source = 'sdk' AND superseded = 1) THEN cached_input_tokens ELSE 0 END),
    SUM(CASE WHEN NOT (source = 'sdk' AND superseded = 1) THEN cache_write_tokens ELSE 0 END),
    SUM(CASE WHEN NOT (source = 'sdk' AND superseded = 1) THEN output_tokens ELSE 0 END)
  FROM usage GROUP BY 1, 2, 3, 4;

  INSERT INTO usage_monthly
  SELECT CAST(strftime('%s', day, 'unixepoch', 'start of month') AS INTEGER), provider, model, project, SUM(rows), SUM(present), SUM(cost_nano),
    SUM(estimated_nano), SUM(request_rows), SUM(requests), SUM(input_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens)
  FROM usage_daily GROUP BY 1, 2, 3, 4;

  INSERT INTO usage_totals
  SELECT provider, model, SUM(rows), SUM(present), SUM(cost_nano), SUM(estimated_nano), SUM(request_rows), SUM(requests), SUM(input_tokens),
    SUM(cached_input_tokens), SUM(cache_write_tokens), SUM(output_tokens)
  FROM usage_monthly GROUP BY 1, 2;

  -- Every change of a usage row adds its contribution to its day, month and all-time rollups and
  -- takes the old one away: whoever writes (a poll, an SDK batch, a billing key changing what is
  -- superseded, a repair by hand), the rollups stay exactly the sums of the rows.
  ${usageRollupTriggers('usage_rollups', rollupChange, ROLLUP_INPUTS_CHANGED)}

  -- The SDK's hourly rollup summed per (provider, model, customer) and UTC day, month and all
  -- time (features folded): what the per-customer families rank and sum over a window. "rows"
  -- counts the hourly rows summed (a group with none left is not reported).
  CREATE TABLE sdk_customers_daily (
    day INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, customer_id TEXT NOT NULL,
    rows INTEGER NOT NULL, cost_nano INTEGER NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    PRIMARY KEY (day, provider, model, customer_id)
  ) WITHOUT ROWID;
  CREATE TABLE sdk_customers_monthly (
    month INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, customer_id TEXT NOT NULL,
    rows INTEGER NOT NULL, cost_nano INTEGER NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    PRIMARY KEY (month, provider, model, customer_id)
  ) WITHOUT ROWID;
  CREATE TABLE sdk_customers_totals (
    provider TEXT NOT NULL, model TEXT NOT NULL, customer_id TEXT NOT NULL,
    rows INTEGER NOT NULL, cost_nano INTEGER NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    PRIMARY KEY (provider, model, customer_id)
  ) WITHOUT ROWID;
  INSERT INTO sdk_customers_daily
  SELECT hour - hour % 86400, provider, model, customer_id, COUNT(*), SUM(cost_nano), SUM(requests), SUM(input_tokens), SUM(output_tokens)
  FROM sdk_usage_hourly GROUP BY 1, 2, 3, 4;
  INSERT INTO sdk_customers_monthly
  SELECT CAST(strftime('%s', day, 'unixepoch', 'start of month') AS INTEGER), provider, model, customer_id, SUM(rows), SUM(cost_nano), SUM(requests), SUM(input_tokens), SUM(output_tokens)
  FROM sdk_customers_daily GROUP BY 1, 2, 3, 4;
  INSERT INTO sdk_customers_totals
  SELECT provider, model, customer_id, SUM(rows), SUM(cost_nano), SUM(requests), SUM(input_tokens), SUM(output_tokens)
  FROM sdk_customers_monthly GROUP BY 1, 2, 3;
  CREATE TRIGGER sdk_customers_insert AFTER INSERT ON sdk_usage_hourly
  BEGIN ${customerRollupChange('NEW', '+')} END;
  CREATE TRIGGER sdk_customers_delete AFTER DELETE ON sdk_usage_hourly
  BEGIN ${customerRollupChange('OLD', '-')} END;
  CREATE TRIGGER sdk_customers_update_old AFTER UPDATE ON sdk_usage_hourly WHEN ${CUSTOMER_INPUTS_CHANGED}
  BEGIN ${customerRollupChange('OLD', '-')} END;
  CREATE TRIGGER sdk_customers_update_new AFTER UPDATE ON sdk_usage_hourly WHEN ${CUSTOMER_INPUTS_CHANGED}
  BEGIN ${customerRollupChange('NEW', '+')} END;

  -- The spend that counts, by time: the hourly dashboard series reads this (a partial index holds
  -- only the rows whose cost counts: billed rows and estimates not superseded yet) instead of every row.
  CREATE INDEX usage_counted_spend_by_time ON usage (bucket_start, provider, model, project, cost_kind, cost_nano) WHERE superseded = 0;
  `,
  // 5: SDK ingest at volume: a compact idempotence record kept for a retention period, and the
  // customer rollups changed through a pending log folded in sets (core/ingest/customers.ts)
  `
  -- What de-duplicates SDK events: the id of each event received in the last
  -- EVENT_ID_RETENTION_DAYS (core/ingest/store.ts), as its 16 bytes, and when it was received
  -- (Unix seconds), by which it is pruned. Nothing else of an event was ever read back: its
  -- counts are in sdk_usage_hourly and usage.
  CREATE TABLE sdk_event_ids (
    id BLOB PRIMARY KEY,
    received_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX sdk_event_ids_by_receipt ON sdk_event_ids (received_at);
  INSERT INTO sdk_event_ids SELECT unhex(replace(id, '-', '')), received_at FROM sdk_events;
  DROP TABLE sdk_events;
  -- The stored ids as the SDK sent them (lowercase UUID text), for people and scripts looking.
  CREATE VIEW sdk_events (id, received_at) AS
  SELECT lower(substr(hex(id), 1, 8) || '-' || substr(hex(id), 9, 4) || '-' || substr(hex(id), 13, 4) || '-' || substr(hex(id), 17, 4) || '-' || substr(hex(id), 21)), received_at
  FROM sdk_event_ids;

  -- Changes of the customer rollups (sdk_customers_daily, _monthly, _totals) not folded into
  -- them yet, one row per changed hourly row: appending here is a write at the end of one table,
  -- where updating the three rollups was three updates at random places of three tables per row.
  -- Readers add these rows to the rollups'; a fold (foldCustomerRollups) sums them into the
  -- rollups in one set-based statement per table and empties this table.
  CREATE TABLE sdk_customers_pending (
    day INTEGER NOT NULL, provider TEXT NOT NULL, model TEXT NOT NULL, customer_id TEXT NOT NULL,
    rows INTEGER NOT NULL, cost_nano INTEGER NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL
  );
  DROP TRIGGER sdk_customers_insert;
  DROP TRIGGER sdk_customers_delete;
  DROP TRIGGER sdk_customers_update_old;
  DROP TRIGGER sdk_customers_update_new;
  -- Every change of an hourly row, whoever writes, still reaches the rollups: through this log.
  ${pendingLogTriggers('sdk_usage_hourly', pendingCustomerChange, SAME_CUSTOMER_GROUP, CUSTOMER_INPUTS_CHANGED)}
  `,
  // 6: counted spend per hour, for the dashboard's hourly series (core/store/rollups.ts)
  `
  -- The usage rows whose cost counts (superseded = 0: billed rows and estimates not superseded
  -- yet) summed per (UTC hour, provider, model, project): how many, their spend and its estimated
  -- part. Hours without such a row are absent. 90 days of hourly series read ~26 000 of these
  -- instead of ~100 000 index entries of raw rows at 1M usage rows.
  CREATE TABLE usage_hourly (
    hour INTEGER NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    project TEXT NOT NULL,
    rows INTEGER NOT NULL,
    cost_nano INTEGER NOT NULL,
    estimated_nano INTEGER NOT NULL,
    PRIMARY KEY (hour, provider, model, project)
  ) WITHOUT ROWID;

  INSERT INTO usage_hourly
  SELECT bucket_start - bucket_start % 3600, provider, model, project, COUNT(*), SUM(cost_nano), SUM(CASE WHEN cost_kind = 'estimated' THEN cost_nano ELSE 0 END)
  FROM usage WHERE superseded = 0 GROUP BY 1, 2, 3, 4;

  -- Kept exact by triggers, like the rollups of migration 4, whoever writes. A row stored already
  -- superseded (an estimate of a day billing has covered) fires nothing.
  ${usageRollupTriggers('usage_hourly', hourlyRollupChange, HOURLY_INPUTS_CHANGED, notSuperseded)}
  `,
  // 7: how many rows whose cost counts per day and month, counted spend per provider and hour or
  // day, and the hourly and daily rollups ordered by model: the dashboard's series folded to their
  // top groups (core/api/spend-queries.ts)
  `
  -- How many of a group's rows count for their cost (superseded = 0): the hourly series list a group
  -- by these, as usage_hourly holds them, so ranking a window's groups for them can read months and
  -- days too. usage_hourly already sums them per hour.
  ALTER TABLE usage_daily ADD COLUMN spend_rows INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE usage_monthly ADD COLUMN spend_rows INTEGER NOT NULL DEFAULT 0;
  UPDATE usage_daily SET spend_rows = counted.rows
  FROM (SELECT hour - hour % 86400 AS day, provider, model, project, SUM(rows) AS rows FROM usage_hourly GROUP BY 1, 2, 3, 4) AS counted
  WHERE usage_daily.day = counted.day AND usage_daily.provider = counted.provider AND usage_daily.model = counted.model AND usage_daily.project = counted.project;
  UPDATE usage_monthly SET spend_rows = counted.rows
  FROM (SELECT CAST(strftime('%s', day, 'unixepoch', 'start of month') AS INTEGER) AS month, provider, model, project, SUM(spend_rows) AS rows FROM usage_daily GROUP BY 1, 2, 3, 4) AS counted
  WHERE usage_monthly.month = counted.month AND usage_monthly.provider = counted.provider AND usage_monthly.model = counted.model AND usage_monthly.project = counted.project;

  -- The spend that counts summed over every model and project, per provider and UTC hour or day:
  -- the spend of all groups per bucket, of which "other" is what the kept groups leave.
  CREATE TABLE usage_spend_hour_totals (
    hour INTEGER NOT NULL,
    provider TEXT NOT NULL,
    rows INTEGER NOT NULL,
    cost_nano INTEGER NOT NULL,
    estimated_nano INTEGER NOT NULL,
    PRIMARY KEY (hour, provider)
  ) WITHOUT ROWID;
  CREATE TABLE usage_spend_day_totals (
    day INTEGER NOT NULL,
    provider TEXT NOT NULL,
    rows INTEGER NOT NULL,
    cost_nano INTEGER NOT NULL,
    estimated_nano INTEGER NOT NULL,
    PRIMARY KEY (day, provider)
  ) WITHOUT ROWID;
  INSERT INTO usage_spend_hour_totals SELECT hour, provider, SUM(rows), SUM(cost_nano), SUM(estimated_nano) FROM usage_hourly GROUP BY 1, 2;
  INSERT INTO usage_spend_day_totals SELECT hour - hour % 86400, provider, SUM(rows), SUM(cost_nano), SUM(estimated_nano) FROM usage_hourly GROUP BY 1, 2;

  -- One group's cells over a window, in order. The hourly one covers what it reads (a key lookup
  -- per row made the ten kept models of a 90-day hourly chart 4x slower at 1M rows); the daily one
  -- does not, so that it changes only when a group's day first appears, not on every write.
  CREATE INDEX usage_hourly_by_model ON usage_hourly (provider, model, hour, rows, cost_nano, estimated_nano);
  CREATE INDEX usage_daily_by_model ON usage_daily (provider, model, day);

  -- Migration 4's and 6's triggers on usage, now keeping these too.
  DROP TRIGGER usage_rollups_insert;
  DROP TRIGGER usage_rollups_delete;
  DROP TRIGGER usage_rollups_update_old;
  DROP TRIGGER usage_rollups_update_new;
  ${usageRollupTriggers('usage_rollups', usageRollupChange, ROLLUP_INPUTS_CHANGED)}
  DROP TRIGGER usage_hourly_insert;
  DROP TRIGGER usage_hourly_delete;
  DROP TRIGGER usage_hourly_update_old;
  DROP TRIGGER usage_hourly_update_new;
  ${usageRollupTriggers('usage_spend', spendRollupChange, HOURLY_INPUTS_CHANGED, notSuperseded)}
  `,
  // 8: a count of the customer rollups' changes, by which a scrape knows the customer families are
  // unchanged (core/ingest/customers.ts customerDataKey)
  `
  -- How many changes sdk_customers_pending has taken and a fold has emptied out of it since this
  -- migration. Every change of an SDK hourly row that the customer families report appends one row
  -- there (migration 5's triggers, whoever writes), numbered from 1 since the last fold, so this
  -- count plus the log's largest rowid grows with every such change and stays put across a fold.
  CREATE TABLE sdk_customers_folded (changes INTEGER NOT NULL);
  INSERT INTO sdk_customers_folded VALUES (0);
  `,
  // 9: SDK tables keyed by integer ids of (provider, model, customer) and of feature: an SDK batch
  // writes smaller rows and keys (core/ingest/store.ts, core/ingest/sdk-keys.ts)
  `
  -- Every (provider, model, customer) and every feature the SDK tables hold, numbered once. The
  -- hourly rows, the customer rollups and their pending changes refer to them by these ids: keys of
  -- two or three integers instead of four or five texts, which measured 25-40 % less writing per SDK
  -- batch of 500 events (bench/README.md, round 8). Ids are never reused nor deleted.
  CREATE TABLE sdk_customer_keys (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    -- '' when the request named no customer
    customer_id TEXT NOT NULL,
    UNIQUE (provider, model, customer_id)
  );
  CREATE TABLE sdk_features (
    id INTEGER PRIMARY KEY,
    -- '' when the request named no feature
    feature TEXT NOT NULL UNIQUE
  );
  INSERT INTO sdk_customer_keys (provider, model, customer_id)
  SELECT DISTINCT provider, model, customer_id FROM sdk_usage_hourly ORDER BY 1, 2, 3;
  INSERT INTO sdk_features (feature) SELECT DISTINCT feature FROM sdk_usage_hourly ORDER BY 1;

  -- Migration 3's hourly rows (their numbers as it defines them), by key.
  CREATE TABLE sdk_usage_hourly_keyed (
    hour INTEGER NOT NULL,
    customer_key INTEGER NOT NULL,
    feature_key INTEGER NOT NULL,
    ${SDK_HOURLY_NUMBERS.map((column) => `${column} INTEGER NOT NULL`).join(', ')},
    PRIMARY KEY (hour, customer_key, feature_key)
  ) WITHOUT ROWID;
  INSERT INTO sdk_usage_hourly_keyed
  SELECT h.hour, k.id, f.id, ${SDK_HOURLY_NUMBERS.map((column) => `h.${column}`).join(', ')}
  FROM sdk_usage_hourly AS h
  JOIN sdk_customer_keys AS k ON k.provider = h.provider AND k.model = h.model AND k.customer_id = h.customer_id
  JOIN sdk_features AS f ON f.feature = h.feature;

  -- The customer rollups and their pending log, by key, summed again from the hourly rows (which
  -- folds the pending changes: customerDataKey keeps its value, the log restarting at 1).
  UPDATE sdk_customers_folded SET changes = changes + COALESCE((SELECT MAX(rowid) FROM sdk_customers_pending), 0);
  DROP TABLE sdk_customers_pending;
  DROP TABLE sdk_customers_daily;
  DROP TABLE sdk_customers_monthly;
  DROP TABLE sdk_customers_totals;
  DROP TABLE sdk_usage_hourly;
  CREATE TABLE sdk_customers_daily (
    day INTEGER NOT NULL, customer_key INTEGER NOT NULL,
    rows INTEGER NOT NULL, cost_nano INTEGER NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    PRIMARY KEY (day, customer_key)
  ) WITHOUT ROWID;
  CREATE TABLE sdk_customers_monthly (
    month INTEGER NOT NULL, customer_key INTEGER NOT NULL,
    rows INTEGER NOT NULL, cost_nano INTEGER NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    PRIMARY KEY (month, customer_key)
  ) WITHOUT ROWID;
  CREATE TABLE sdk_customers_totals (
    customer_key INTEGER PRIMARY KEY,
    rows INTEGER NOT NULL, cost_nano INTEGER NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL
  );
  CREATE TABLE sdk_customers_pending (
    day INTEGER NOT NULL, customer_key INTEGER NOT NULL,
    rows INTEGER NOT NULL, cost_nano INTEGER NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL
  );
  INSERT INTO sdk_customers_daily
  SELECT hour - hour % 86400, customer_key, COUNT(*), SUM(cost_nano), SUM(requests), SUM(input_tokens), SUM(output_tokens)
  FROM sdk_usage_hourly_keyed GROUP BY 1, 2;
  INSERT INTO sdk_customers_monthly
  SELECT CAST(strftime('%s', day, 'unixepoch', 'start of month') AS INTEGER), customer_key, SUM(rows), SUM(cost_nano), SUM(requests), SUM(input_tokens), SUM(output_tokens)
  FROM sdk_customers_daily GROUP BY 1, 2;
  INSERT INTO sdk_customers_totals
  SELECT customer_key, SUM(rows), SUM(cost_nano), SUM(requests), SUM(input_tokens), SUM(output_tokens)
  FROM sdk_customers_monthly GROUP BY 1;
  -- Migration 5's log of every change, whoever writes.
  ${pendingLogTriggers('sdk_usage_hourly_keyed', pendingCustomerKeyChange, SAME_CUSTOMER_KEY_GROUP, CUSTOMER_KEY_INPUTS_CHANGED)}

  -- The hourly rows as migration 3 named them, for people and scripts looking, and writable: a
  -- change by hand goes to the keyed rows (and from there to the rollups), new names numbered.
  CREATE VIEW sdk_usage_hourly (hour, provider, model, customer_id, feature, ${SDK_HOURLY_NUMBERS.join(', ')}) AS
  SELECT h.hour, k.provider, k.model, k.customer_id, f.feature, ${SDK_HOURLY_NUMBERS.map((column) => `h.${column}`).join(', ')}
  FROM sdk_usage_hourly_keyed AS h
  JOIN sdk_customer_keys AS k ON k.id = h.customer_key
  JOIN sdk_features AS f ON f.id = h.feature_key;
  CREATE TRIGGER sdk_usage_hourly_insert INSTEAD OF INSERT ON sdk_usage_hourly
  BEGIN
    ${addSdkKeys('NEW')}
    INSERT INTO sdk_usage_hourly_keyed VALUES (NEW.hour, ${customerKeyOf('NEW')}, ${featureKeyOf('NEW')}, ${SDK_HOURLY_NUMBERS.map((column) => `NEW.${column}`).join(', ')});
  END;
  CREATE TRIGGER sdk_usage_hourly_update INSTEAD OF UPDATE ON sdk_usage_hourly
  BEGIN
    ${addSdkKeys('NEW')}
    UPDATE sdk_usage_hourly_keyed SET hour = NEW.hour, customer_key = ${customerKeyOf('NEW')}, feature_key = ${featureKeyOf('NEW')},
      ${SDK_HOURLY_NUMBERS.map((column) => `${column} = NEW.${column}`).join(', ')}
    WHERE ${KEYED_ROW_OF_OLD};
  END;
  CREATE TRIGGER sdk_usage_hourly_delete INSTEAD OF DELETE ON sdk_usage_hourly
  BEGIN DELETE FROM sdk_usage_hourly_keyed WHERE ${KEYED_ROW_OF_OLD}; END;
  `,
  // 10: the SDK writer sums its own changes of the customer rollups in memory between folds
  // instead of logging one per hourly row (until migration 11)
  `
  -- The days whose customer rollup changes an app holds in memory, not logged yet, by app (owner, a
  -- random id per connection). Written in the transaction of the hourly rows they change, deleted
  -- in the fold that adds them to the rollups. Rows left by an app that stopped without folding
  -- are summed again from the hourly rows (by migration 11, which replaced this table).
  CREATE TABLE sdk_customers_unlogged (
    owner TEXT NOT NULL,
    day INTEGER NOT NULL,
    PRIMARY KEY (owner, day)
  ) WITHOUT ROWID;
  -- The keyed hourly rows are written by the app's SDK writer, which accounts for its changes
  -- itself, and through the sdk_usage_hourly view, whose triggers now log theirs. Triggers on the
  -- keyed rows cost the writer ~1 ms of each batch of 500 events even when they log nothing
  -- (bench/README.md, round 10).
  DROP TRIGGER sdk_customers_pending_insert;
  DROP TRIGGER sdk_customers_pending_update;
  DROP TRIGGER sdk_customers_pending_move;
  DROP TRIGGER sdk_customers_pending_delete;
  DROP TRIGGER sdk_usage_hourly_insert;
  DROP TRIGGER sdk_usage_hourly_update;
  DROP TRIGGER sdk_usage_hourly_delete;
  CREATE TRIGGER sdk_usage_hourly_insert INSTEAD OF INSERT ON sdk_usage_hourly
  BEGIN
    ${addSdkKeys('NEW')}
    INSERT INTO sdk_usage_hourly_keyed VALUES (NEW.hour, ${customerKeyOf('NEW')}, ${featureKeyOf('NEW')}, ${SDK_HOURLY_NUMBERS.map((column) => `NEW.${column}`).join(', ')});
    ${viewRowChange('NEW', '1')}
  END;
  ${loggedViewChangeTriggers('')}
  `,
  // 11: the SDK writer stores each write's customer hours as one pending row, folded into the
  // hourly rows and the customer rollups later (core/ingest/pending-hours.ts)
  `
  -- Days an app of migration 10 held changes of and did not fold (it stopped first): their
  -- customer rollup changes, summed again from the hourly rows less the rollups and the log.
  INSERT INTO sdk_customers_pending (day, customer_key, rows, cost_nano, requests, input_tokens, output_tokens)
  SELECT day, customer_key, SUM(rows), SUM(cost_nano), SUM(requests), SUM(input_tokens), SUM(output_tokens) FROM (
    SELECT h.hour - h.hour % 86400 AS day, h.customer_key, 1 AS rows, h.cost_nano, h.requests, h.input_tokens, h.output_tokens
      FROM (SELECT DISTINCT day FROM sdk_customers_unlogged) AS u JOIN sdk_usage_hourly_keyed AS h ON h.hour >= u.day AND h.hour < u.day + 86400
    UNION ALL SELECT day, customer_key, -rows, -cost_nano, -requests, -input_tokens, -output_tokens
      FROM sdk_customers_daily WHERE day IN (SELECT day FROM sdk_customers_unlogged)
    UNION ALL SELECT day, customer_key, -rows, -cost_nano, -requests, -input_tokens, -output_tokens
      FROM sdk_customers_pending WHERE day IN (SELECT day FROM sdk_customers_unlogged)
  ) GROUP BY day, customer_key
  HAVING SUM(rows) <> 0 OR SUM(cost_nano) <> 0 OR SUM(requests) <> 0 OR SUM(input_tokens) <> 0 OR SUM(output_tokens) <> 0;
  DROP TABLE sdk_customers_unlogged;
  -- SDK writes not folded into sdk_usage_hourly_keyed yet, one row each: when it was written (Unix
  -- seconds) and its customer hours packed, 12 numbers of 8 bytes each (the hour, the customer and
  -- feature keys, then the numbers the hourly row adds, the cost an int64, the rest doubles; see
  -- core/ingest/pending-hours.ts). Deleted by the fold that adds them, which every reader of the
  -- hourly rows or the customer rollups runs first. Their usage rows (per model) are not pending.
  CREATE TABLE sdk_hourly_pending (
    id INTEGER PRIMARY KEY,
    written_at INTEGER NOT NULL,
    hours BLOB NOT NULL
  );
  -- A row changed or deleted by hand while SDK writes are pending would get them added back by
  -- their fold (received before the change, they belong to what it changed): refused until then.
  -- An insert only adds, as the fold does, and is let through.
  DROP TRIGGER sdk_usage_hourly_update;
  DROP TRIGGER sdk_usage_hourly_delete;
  ${loggedViewChangeTriggers(REFUSE_WHILE_PENDING)}
  `,
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
