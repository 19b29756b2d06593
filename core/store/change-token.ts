import type { Db } from './db.js';
import { cachedStatement } from './statements.js';

/**
 * A value that differs whenever the database's content may have changed: `PRAGMA data_version`
 * moves on commits by other connections (another `llmeter` process on the same folder), and
 * `total_changes()` counts the rows this connection wrote, triggers included (data_version does
 * not see a connection's own commits). A rolled-back write changes it too, which only costs a
 * cache miss. Two index-free reads: a few microseconds.
 */
export function dataChangeToken(db: Db): string {
  const version = cachedStatement(db, 'PRAGMA data_version').pluck(true).get() as number;
  const changes = cachedStatement(db, 'SELECT total_changes()').pluck(true).get() as number;
  return `${version}:${changes}`;
}
