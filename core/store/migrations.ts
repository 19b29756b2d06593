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
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
