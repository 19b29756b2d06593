/**
 * The checkpoint thread of core/store/checkpointer.ts: on its own connection to the database it
 * copies the WAL's committed pages into the database file every `intervalMs` (a PASSIVE
 * checkpoint, which never waits for nor blocks the app's writes), until told to stop or it fails.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { connectionOptions, useNativeBinding } from './db.js';
import type { CheckpointerData, CheckpointerMessage } from './checkpointer.js';

const { file, nativeBinding, intervalMs } = workerData as CheckpointerData;
const post = (message: CheckpointerMessage): void => parentPort!.postMessage(message);

if (nativeBinding) useNativeBinding(nativeBinding);
const db = new Database(file, connectionOptions({ fileMustExist: true }));
// As the app's connection does: a checkpoint syncs the WAL before copying and the database after.
db.pragma('synchronous = NORMAL');
const checkpoint = (): void => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    post({ error: err instanceof Error ? err.message : String(err) });
    stop();
  }
};
const timer = setInterval(checkpoint, intervalMs);
function stop(): void {
  clearInterval(timer);
  if (db.open) db.close();
  parentPort!.close();
}
parentPort!.on('message', (message: CheckpointerMessage) => {
  if (message === 'stop') stop();
});
post('ready');
