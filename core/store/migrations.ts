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
];

/** The schema version this build writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
