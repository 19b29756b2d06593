/**
 * The checkpoint thread of SDK bursts (core/store/checkpointer.ts, core/store/checkpoint-worker.ts).
 * The thread runs the compiled build (dist/, which `npm test` builds before the suite): the
 * TypeScript sources have no compiled worker to start, which is the fallback this file checks too.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import type * as CheckpointerModule from '../../core/store/checkpointer.js';
import { createBurstCheckpointer as fromSources } from '../../core/store/checkpointer.js';
import type { Logger } from '../../core/log.js';
import { DB_FILE, openDatabase, type Db } from '../../core/store/db.js';
import { tempDir } from '../support/temp.js';
import { pause, until } from '../support/wait.js';

const COMPILED = path.resolve('dist/core/store/checkpointer.js');
let compiled: typeof CheckpointerModule;
beforeAll(async () => {
  if (!existsSync(COMPILED)) throw new Error(`${COMPILED} is missing: run npm run build (npm test does) before this suite`);
  compiled = (await import(pathToFileURL(COMPILED).href)) as typeof CheckpointerModule;
});

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (message) => void warnings.push(message), error: (message) => void warnings.push(message) };
}


/**
 * The rows of table `t` in the database file alone, as checkpoints left it (a copy without its WAL),
 * or null when the copy was torn: taken while the thread was writing pages into the file.
 */
function rowsInDatabaseFile(dir: string): number | null {
  const copy = path.join(tempDir('llmeter-checkpoint-copy-'), DB_FILE);
  copyFileSync(path.join(dir, DB_FILE), copy);
  const db = new Database(copy, { readonly: false });
  try {
    return db.prepare('SELECT COUNT(*) FROM t').pluck().get() as number;
  } catch (err) {
    if (['SQLITE_CORRUPT', 'SQLITE_NOTADB'].includes((err as { code?: string }).code ?? '')) return null;
    throw err;
  } finally {
    db.close();
  }
}

/** A database with table `t` in its file, whose connection leaves checkpoints to the test. */
function databaseWithTable(): { dir: string; db: Db; add(rows: number): void } {
  const dir = tempDir('llmeter-checkpointer-');
  const db = openDatabase(dir);
  db.exec('CREATE TABLE t (x INTEGER)');
  db.pragma('wal_checkpoint(TRUNCATE)');
  // The thread's work alone: the connection's own auto-checkpoint stays out of these tests.
  db.pragma('wal_autocheckpoint = 0');
  const insert = db.prepare('INSERT INTO t VALUES (?)');
  return { dir, db, add: (rows) => db.transaction(() => { for (let i = 0; i < rows; i++) insert.run(i); })() };
}

describe('the checkpoint thread of SDK bursts', () => {
  it('copies what the app commits into the database file while batches come, and stops after they stop', async () => {
    const { dir, db, add } = databaseWithTable();
    const log = recordingLogger();
    const checkpointer = compiled.createBurstCheckpointer(db, log, { intervalMs: 50, idleMs: 500 });
    expect(checkpointer.running()).toBe(false);
    checkpointer.busy();
    await until(() => checkpointer.running(), 5_000);
    for (let batch = 1; batch <= 3; batch++) {
      add(1_000);
      checkpointer.busy();
      await until(() => rowsInDatabaseFile(dir) === batch * 1_000, 5_000);
    }
    // No batch for the idle time: the thread is gone, and commits stay in the WAL.
    await until(() => !checkpointer.running(), 5_000);
    add(10);
    await pause(200);
    expect(rowsInDatabaseFile(dir)).toBe(3_000);
    // The next batch starts it again.
    checkpointer.busy();
    await until(() => rowsInDatabaseFile(dir) === 3_010, 5_000);
    await checkpointer.close();
    expect(checkpointer.running()).toBe(false);
    // Closed for good: a batch after close starts nothing.
    add(5);
    checkpointer.busy();
    await pause(200);
    expect(rowsInDatabaseFile(dir)).toBe(3_010);
    expect(log.warnings).toEqual([]);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('where no compiled thread exists (the TypeScript sources), leaves checkpoints to the app, quietly', async () => {
    const { dir, db, add } = databaseWithTable();
    const log = recordingLogger();
    const checkpointer = fromSources(db, log, { intervalMs: 20, idleMs: 500 });
    checkpointer.busy();
    add(100);
    checkpointer.busy();
    await pause(300);
    expect(checkpointer.running()).toBe(false);
    expect(rowsInDatabaseFile(dir)).toBe(0);
    expect(log.warnings).toEqual([]);
    await checkpointer.close();
    db.close();
  });

  it('reports a thread that fails after starting, once, and starts it again with the next batch', async () => {
    const { dir, db } = databaseWithTable();
    // A stand-in thread: ready at once, then failing as the real one does when a checkpoint throws.
    const failing = path.join(dir, 'failing-worker.mjs');
    writeFileSync(failing, `
      import { parentPort } from 'node:worker_threads';
      parentPort.postMessage('ready');
      setTimeout(() => { parentPort.postMessage({ error: 'disk I/O error' }); parentPort.close(); }, 100);`);
    const log = recordingLogger();
    const checkpointer = compiled.createBurstCheckpointer(db, log, { intervalMs: 50, idleMs: 5_000 }, pathToFileURL(failing));
    checkpointer.busy();
    await until(() => checkpointer.running(), 5_000);
    await until(() => !checkpointer.running(), 5_000);
    expect(log.warnings).toEqual([expect.stringContaining('checkpoint thread stopped')]);
    checkpointer.busy();
    await until(() => checkpointer.running(), 5_000);
    await until(() => log.warnings.length === 2, 5_000);
    await checkpointer.close();
    db.close();
  });

  it('holds nothing up when the thread exits on its own', () => {
    const { dir, db } = databaseWithTable();
    db.close();
    const exiting = path.join(dir, 'exiting-worker.mjs');
    writeFileSync(exiting, `
      import { parentPort } from 'node:worker_threads';
      parentPort.postMessage('ready');
      setTimeout(() => process.exit(3), 50);`);
    // The process has 300 ms of its own work after the thread is ready; it must end then, not wait on the thread's stop timeout (2 s).
    const script = `
      const { openDatabase } = await import(${JSON.stringify(pathToFileURL(path.resolve('dist/core/store/db.js')).href)});
      const { createBurstCheckpointer } = await import(${JSON.stringify(pathToFileURL(COMPILED).href)});
      const db = openDatabase(${JSON.stringify(dir)});
      const checkpointer = createBurstCheckpointer(db, { debug() {}, info() {}, warn() {}, error: console.error }, { intervalMs: 50, idleMs: 60_000 }, new URL(${JSON.stringify(pathToFileURL(exiting).href)}));
      checkpointer.busy();
      while (!checkpointer.running()) await new Promise((resolve) => setTimeout(resolve, 10));
      const ready = performance.now();
      setTimeout(() => {}, 300);
      process.on('exit', () => console.log(Math.round(performance.now() - ready)));`;
    const file = path.join(dir, 'exits.mjs');
    writeFileSync(file, script);
    const child = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
    expect(child.stderr).toBe('');
    expect(Number(child.stdout.trim())).toBeLessThan(1_500);
  });

  it('keeps the process alive until the thread has stopped, so what follows close still runs', () => {
    const { dir, db } = databaseWithTable();
    db.close();
    // Nothing else holds the event loop in this process: an unheld thread would let it end inside close().
    const script = `
      const { openDatabase } = await import(${JSON.stringify(pathToFileURL(path.resolve('dist/core/store/db.js')).href)});
      const { createBurstCheckpointer } = await import(${JSON.stringify(pathToFileURL(COMPILED).href)});
      const db = openDatabase(${JSON.stringify(dir)});
      const checkpointer = createBurstCheckpointer(db, { debug() {}, info() {}, warn: console.error, error: console.error });
      checkpointer.busy();
      while (!checkpointer.running()) await new Promise((resolve) => setTimeout(resolve, 10));
      await checkpointer.close();
      db.close();
      console.log('closed');`;
    // A file, not --eval: a thread inherits the process's flags, and --input-type is refused for a file.
    const file = path.join(dir, 'close.mjs');
    writeFileSync(file, script);
    const child = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('closed');
  });
});
