import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { nativeBindingFile, type Db } from './db.js';

/** What the checkpoint thread (core/store/checkpoint-worker.ts) is started with. */
export interface CheckpointerData {
  file: string;
  nativeBinding: string | undefined;
  intervalMs: number;
}

/** Messages between the app and its checkpoint thread. */
export type CheckpointerMessage = 'ready' | 'stop' | { error: string };

/** How often the thread checkpoints while it runs. */
export const CHECKPOINT_INTERVAL_MS = 250;

/** How long the thread runs on after the last write that needed it. */
export const CHECKPOINTER_IDLE_MS = 10_000;

/** The longest a stopping thread is waited for before it is terminated. */
const STOP_TIMEOUT_MS = 2_000;

/** Checkpoints on a thread of its own during bursts of writes (see createBurstCheckpointer). */
export interface BurstCheckpointer {
  /** Says the app wrote (an SDK batch): starts the thread if it is not running, and keeps it for CHECKPOINTER_IDLE_MS more. */
  busy(): void;
  /** Whether the thread is checkpointing now. */
  running(): boolean;
  /** Stops the thread for good. */
  close(): Promise<void>;
}

/**
 * While SDK batches keep coming, a thread with its own connection checkpoints the database every
 * CHECKPOINT_INTERVAL_MS, on the machine's other core: it copies the WAL's pages into the database
 * file, which the app's connection otherwise does in the commit that fills AUTOCHECKPOINT_PAGES
 * (~56 ms per ~5 200 pages, ~0.85 ms of each batch of 500 events; bench/README.md round 9). A
 * PASSIVE checkpoint neither waits for nor blocks the app's writes. The app's own auto-checkpoint
 * stays on: it then finds nearly every page copied already, and it is what starts the WAL from its
 * beginning again (SQLite does that only for a transaction that began with every page copied, which
 * a checkpoint running beside the writer almost never lets happen: the WAL grew to 470 MB over 600
 * batches without it). The thread starts with the first batch and stops CHECKPOINTER_IDLE_MS after
 * the last, so an idle app has no extra thread or memory; one that cannot start (no compiled worker
 * file, as when tests run the TypeScript) is not tried again, and the app checkpoints as before.
 */
export function createBurstCheckpointer(
  db: Db,
  log: Logger,
  timing = { intervalMs: CHECKPOINT_INTERVAL_MS, idleMs: CHECKPOINTER_IDLE_MS },
  // The thread's module; tests give one that fails on cue.
  workerFile: URL = new URL('./checkpoint-worker.js', import.meta.url),
): BurstCheckpointer {
  let worker: Worker | null = null;
  let ready = false;
  let idle: NodeJS.Timeout | null = null;
  let closed = false;
  let unavailable = db.memory;

  /** Forgets the thread: the app checkpoints alone until the next batch starts one. */
  const release = (): void => {
    if (idle) clearTimeout(idle);
    idle = null;
    worker = null;
    ready = false;
  };
  const stop = async (): Promise<void> => {
    const stopping = worker;
    release();
    if (!stopping) return;
    await new Promise<void>((resolve) => {
      // A timer that holds the process: awaiting the unref'd thread alone would let it end before what follows close (the app closes the database).
      const timer = setTimeout(() => void stopping.terminate(), STOP_TIMEOUT_MS);
      stopping.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      stopping.postMessage('stop' satisfies CheckpointerMessage);
    });
  };
  const failed = (started: Worker, cause: string): void => {
    if (started !== worker) return;
    if (ready) log.warn('The database checkpoint thread stopped; the app checkpoints in its own writes, as it does when idle, and tries the thread again with the next SDK batches', { cause });
    // A thread that never became ready is not tried again: it fails the same way each time.
    else unavailable = true;
    // It is exiting (or gone) on its own: asking it to stop would wait for an exit that may have been.
    release();
  };
  const start = (): void => {
    const data: CheckpointerData = { file: db.name, nativeBinding: nativeBindingFile(), intervalMs: timing.intervalMs };
    let started: Worker;
    try {
      started = new Worker(workerFile, { workerData: data });
    } catch {
      unavailable = true;
      return;
    }
    // It never keeps a process alive: the app's connection checkpoints without it.
    started.unref();
    worker = started;
    started.on('message', (message: CheckpointerMessage) => {
      if (started !== worker) return;
      if (message === 'ready') ready = true;
      else if (typeof message === 'object') failed(started, message.error);
    });
    started.on('error', (err) => failed(started, err.message));
    started.on('exit', (code) => failed(started, `exit code ${code}`));
  };

  return {
    busy() {
      if (closed || unavailable) return;
      if (!worker) start();
      if (idle) idle.refresh();
      else if (worker) idle = setTimeout(() => void stop(), timing.idleMs).unref();
    },
    running: () => ready,
    close() {
      closed = true;
      return stop();
    },
  };
}
