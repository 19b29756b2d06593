import { accessSync, constants as fsConstants, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export type Db = Database.Database;

/**
 * The WAL pages after which a connection's commit copies them into the database (SQLite's
 * auto-checkpoint): ~40 MB rather than SQLite's default ~4 MB. An SDK ingest burst rewrites the
 * same hot pages (the hour's rows, the id index) in every commit, and a checkpoint copies each page
 * once however often it changed (measured: +17% events/s at 1M rows). During SDK bursts a thread
 * copies most pages beforehand (core/store/checkpointer.ts).
 */
const AUTOCHECKPOINT_PAGES = 10_000;

/** Thrown when the database cannot be used as it is; the message says what to do. */
export class StoreError extends Error {}

/** File name of the database inside the data folder. */
export const DB_FILE = 'llmeter.sqlite';

// The better-sqlite3 addon file connections load instead of node_modules' own. The desktop app
// sets it (a copy compiled for Electron's ABI); tests and the CLI keep node_modules' Node build.
let nativeBinding: string | undefined;

/** Makes every connection opened from now on load better-sqlite3's addon from `file`. */
export function useNativeBinding(file: string): void {
  nativeBinding = file;
}

/** The addon file set by useNativeBinding, if any: a worker thread sets it again in its own copy of this module. */
export function nativeBindingFile(): string | undefined {
  return nativeBinding;
}

/** better-sqlite3 options plus the addon set by useNativeBinding, for every connection to open. */
export function connectionOptions(options: Database.Options): Database.Options {
  return nativeBinding ? { ...options, nativeBinding } : options;
}

/**
 * Creates the data folder if needed and checks that it can be written; throws a StoreError that
 * names the folder and what to do otherwise. WAL keeps two files next to the database, so even
 * reading it needs a writable folder; the settings live there too.
 */
export function ensureDataFolder(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, fsConstants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new StoreError(`The data folder ${dataDir} cannot be created or written (${code}); LLMeter keeps its database there. Make it writable, or point LLMETER_DATA_DIR at a folder that is. Nothing was changed.`);
  }
}

/** How long a connection waits for another connection's write lock before giving up. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating if needed) the database in `dataDir`, in WAL mode, and brings its schema up
 * to date. Refuses a database written by a newer LLMeter rather than downgrading it. Several
 * processes may open one folder at once (the desktop app and `llmeter serve`, a `llmeter poll`
 * beside them): WAL lets them read while one writes, and every write waits BUSY_TIMEOUT_MS for the lock.
 */
export function openDatabase(dataDir: string): Db {
  ensureDataFolder(dataDir);
  const file = path.join(dataDir, DB_FILE);
  let db: Db;
  try {
    db = new Database(file, connectionOptions({ timeout: BUSY_TIMEOUT_MS }));
  } catch (err) {
    throw new StoreError(`Cannot open the database ${file}: ${(err as Error).message}. Check that the data folder is writable (LLMETER_DATA_DIR).`);
  }
  try {
    useWal(db);
    db.pragma('synchronous = NORMAL');
    db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    db.pragma('foreign_keys = ON');
    migrate(db, file);
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError(`Cannot prepare the database ${file}: ${storageFault(err)?.message ?? (err as Error).message}`);
  }
  return db;
}

/** What useWal sleeps on between tries (Atomics.wait: a pause that keeps openDatabase synchronous). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/**
 * Puts the database in WAL mode. Switching a new database file (rollback mode) to WAL takes it
 * alone for a moment, and when several processes open one new folder together SQLite may answer
 * one of them SQLITE_BUSY at once, without waiting out the busy timeout (two connections that each
 * read the file and both want it alone would otherwise wait for each other). So this tries again,
 * after pauses of 1, 2, 4 … 50 ms, for up to BUSY_TIMEOUT_MS; once the other process has switched
 * the file, the pragma finds it in WAL mode and returns at once.
 */
function useWal(db: Db): void {
  const deadline = performance.now() + BUSY_TIMEOUT_MS;
  for (let pauseMs = 1; ; pauseMs = Math.min(pauseMs * 2, 50)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY') || performance.now() + pauseMs > deadline) throw err;
    }
    Atomics.wait(PAUSE, 0, 0, pauseMs);
  }
}

/** A database operation that failed because of the machine, not of LLMeter: another process's lock, a full disk, a read-only folder. */
export interface StorageFault {
  kind: 'busy' | 'full' | 'read_only' | 'io';
  /** One line for people: what happened, that nothing was half-written, what to do. */
  message: string;
}

/**
 * Recognises the SQLite errors that the machine causes and explains them; null for anything else.
 * SQLite rolls the failed transaction back in each case, so what was stored before is intact.
 */
export function storageFault(err: unknown): StorageFault | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return { kind: 'busy', message: `The database is locked by another process (held for more than ${BUSY_TIMEOUT_MS / 1000} s); nothing was written. Retry; if this persists, close the program that holds ${DB_FILE} open.` };
  }
  // SHMSIZE: the shared-memory file beside the database could not be grown, as on a full disk.
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_SHMSIZE') {
    return { kind: 'full', message: `The disk holding the data folder is full; nothing was written and what was stored before is intact. Free some space, or move LLMETER_DATA_DIR to a larger disk.` };
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN')) {
    return { kind: 'read_only', message: `The database cannot be written (${code}); nothing was written. Make the data folder writable, or point LLMETER_DATA_DIR at a folder that is.` };
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return { kind: 'io', message: `The disk failed while writing the database (${code}); nothing was written. Check the disk holding the data folder.` };
  }
  return null;
}

/** An in-memory database with the current schema, for tests and benchmarks' baselines. */
export function openMemoryDatabase(): Db {
  const db = new Database(':memory:');
  migrate(db, ':memory:');
  return db;
}

function migrate(db: Db, file: string): void {
  const version = (): number => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new StoreError(
        `The database ${file} was written by a newer LLMeter (schema ${current}, this version knows ${SCHEMA_VERSION}). ` +
          'Upgrade LLMeter, or point LLMETER_DATA_DIR at another folder; it was left untouched.',
      );
    }
    return current;
  };
  if (version() === SCHEMA_VERSION) return;
  // Each step reads the version again under the write lock: another process opening the same new
  // folder at the same moment (the desktop app and `llmeter serve` at login) may have migrated it meanwhile.
  const step = db.transaction((): boolean => {
    const current = version();
    if (current === SCHEMA_VERSION) return false;
    db.exec(MIGRATIONS[current]!);
    db.pragma(`user_version = ${current + 1}`);
    return true;
  });
  while (step.immediate());
}
