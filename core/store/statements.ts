import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

const caches = new WeakMap<Db, Map<string, Statement>>();

/**
 * The prepared statement for `sql` on this connection, prepared on first use and reused after:
 * preparing costs more than running most of the indexed reads a scrape makes. Callers set the
 * statement's modes (`safeIntegers`, `raw`, `pluck`) on every use, since the statement is shared.
 */
export function cachedStatement(db: Db, sql: string): Statement {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  let statement = cache.get(sql);
  if (!statement) cache.set(sql, (statement = db.prepare(sql)));
  return statement;
}
