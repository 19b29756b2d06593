import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export type Db = Database.Database;

/** Thrown when the database cannot be used as it is; the message says what to do. */
export class StoreError extends Error {}

/** File name of the database inside the data folder. */
export const DB_FILE = 'llmeter.sqlite';

/**
 * Opens (creating if needed) the database in `dataDir`, in WAL mode, and brings its schema up
 * to date. Refuses a database written by a newer LLMeter rather than downgrading it.
 */
export function openDatabase(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, DB_FILE);
  let db: Db;
  try {
    db = new Database(file, { timeout: 5000 });
  } catch (err) {
    throw new StoreError(`Cannot open the database ${file}: ${(err as Error).message}. Check that the data folder is writable (LLMETER_DATA_DIR).`);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError(`Cannot prepare the database ${file}: ${(err as Error).message}.`);
  }
  return db;
}

/** An in-memory database with the current schema, for tests and benchmarks' baselines. */
export function openMemoryDatabase(): Db {
  const db = new Database(':memory:');
  migrate(db, ':memory:');
  return db;
}

function migrate(db: Db, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new StoreError(
      `The database ${file} was written by a newer LLMeter (schema ${current}, this version knows ${SCHEMA_VERSION}). ` +
        'Upgrade LLMeter, or point LLMETER_DATA_DIR at another folder; it was left untouched.',
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
