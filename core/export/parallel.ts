import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { connectionOptions, nativeBindingFile, type Db } from '../store/db.js';
import { CHUNKS_PER_BLOCK, exportChunks, type CsvPart, type ExportQuery } from './query.js';

/** Slots of the Int32Array an export shares with its writer threads. */
export const SLOT = {
  /** The next block to write, taken by either thread with Atomics.add. */
  nextBlock: 0,
  /** The first block the export has not sent on yet: a writer waits rather than run further ahead. */
  outputBlock: 1,
  phase: 2,
  /** Writers that have started reading in the export's snapshot. */
  begun: 3,
  /** Messages the writers have posted so far. */
  posted: 4,
  /** The first of OWNER_RING slots: block b's writer (its index + 1) at ownerOf(b), 0 until it is taken. */
  owners: 5,
} as const;

/** Blocks whose writer is remembered at once: more than any thread can take ahead of the export (MAX_BLOCKS_AHEAD plus one per writer). */
const OWNER_RING = 64;

/** The slot naming block `block`'s writer. */
export function ownerOf(block: number): number {
  return SLOT.owners + (block % OWNER_RING);
}

/** Where the export stands (SLOT.phase). */
export const PHASE = { starting: 0, begin: 1, stop: 2 } as const;

/**
 * How many blocks a writer may write ahead of the one the export sends on: one, so that each writer
 * has a block to write while the other's is sent on (a block is a week of records, ~2.5 MB at a year
 * of 1M rows). Two were no faster and kept twice as many parts waiting in the ports, which grow the
 * writers' malloc arenas (peak RSS: bench/README.md, round 5).
 */
export const MAX_BLOCKS_AHEAD = 1;

/** What the export hands each writer thread. */
export interface WriterData {
  file: string;
  nativeBinding: string | undefined;
  query: ExportQuery;
  state: SharedArrayBuffer;
  port: MessagePort;
  /** What the writer stores at ownerOf(block) for the blocks it takes: 1 for the first writer, 2 for the second. */
  writer: number;
}

/** What a writer posts on its own port: the blocks it counted in the shared snapshot; each part of a block it writes, then the block's end; or why it stopped. */
export type WriterMessage = { blocks: number } | { rows: number; text: string } | { end: true } | { error: string };

/** An export of fewer blocks than this is written by its own thread: a writer thread costs ~0.1 s to start. */
const MIN_SHARED_BLOCKS = 8;

/** How many threads write a shared export: this machine's cores, two at most (each costs ~15–25 MB of RSS; the export stays under ~150 MB). */
const MAX_WRITERS = 2;

/**
 * A writer's young generation, in MB. Its strings are posted and dropped at once, so a small one
 * costs no measurable time; the default (16 MB semi-spaces) added ~10 MB of peak RSS per thread
 * to a 1M-row export.
 */
const WRITER_YOUNG_GENERATION_MB = 2;

/**
 * How long the export waits for the write lock that lines up the writers' snapshots, blocking its
 * thread (the app's, for a download), before writing alone: a poll or an SDK batch holds it for
 * milliseconds.
 */
const LOCK_WAIT_MS = 250;

/** How long the export waits for its writers to start, then to share the snapshot, before writing alone. */
const START_TIMEOUT_MS = 10_000;
const BEGIN_TIMEOUT_MS = 2_000;

/** How long the export waits for the next part of a block before giving up. */
const PART_TIMEOUT_MS = 60_000;

/** Writer threads sharing out a CSV export (startCsvWriters). */
export interface CsvWriters {
  /** How many threads write. */
  count: number;
  /**
   * Starts every writer's read transaction in one snapshot; true when they share it. When false,
   * the writers have stopped and the export is written on the calling thread.
   */
  begin(): boolean;
  /** The export's CSV parts (no header), in order, each block written by one of the writers. */
  parts(): Generator<CsvPart, void, undefined>;
  /** Stops the writers (at the end of an export, or when it is abandoned). */
  stop(): Promise<void>;
}

/**
 * Starts writer threads for a CSV export of `db`'s file (core/export/csv-worker.ts), when the
 * export is big enough and the machine has a second core: SQLite's work is most of an export's
 * time, and connections reading one snapshot split it; the calling thread only sends their parts
 * on. Resolves with null (write on the calling thread) otherwise, or when a thread cannot start
 * (e.g. no compiled worker file next to this module); never throws.
 */
export async function startCsvWriters(db: Db, query: ExportQuery): Promise<CsvWriters | null> {
  const count = Math.min(MAX_WRITERS, availableParallelism());
  // Inside a caller's transaction the export reads that transaction's snapshot, which no other connection can share.
  if (db.memory || db.inTransaction || count < 2 || !enoughBlocks(db, query)) return null;
  const state = new SharedArrayBuffer((SLOT.owners + OWNER_RING) * Int32Array.BYTES_PER_ELEMENT);
  const view = new Int32Array(state);
  const ports: MessagePort[] = [];
  const workers: Worker[] = [];
  let stopped = false;
  let escaped: Error | undefined;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    Atomics.store(view, SLOT.phase, PHASE.stop);
    Atomics.notify(view, SLOT.phase);
    Atomics.notify(view, SLOT.outputBlock);
    for (const port of ports) port.close();
    await Promise.all(workers.map((worker) => worker.terminate()));
  };
  try {
    for (let i = 0; i < count; i++) {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      const data: WriterData = { file: db.name, nativeBinding: nativeBindingFile(), query, state, port: port2, writer: i + 1 };
      const worker = new Worker(new URL('./csv-worker.js', import.meta.url), { workerData: data, transferList: [port2], resourceLimits: { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB } });
      // A writer posts its own errors; what escapes it (it cannot start, it runs out of memory) is kept for the export to report, not thrown at the app.
      worker.on('error', (err) => (escaped ??= err));
      workers.push(worker);
    }
  } catch {
    await stop();
    return null;
  }
  const started = await Promise.all(
    workers.map(
      (worker) =>
        new Promise<boolean>((resolve) => {
          // A failure to start ('error', e.g. no compiled csv-worker.js: tests run the TypeScript) means writing alone.
          const timer = setTimeout(resolve, START_TIMEOUT_MS, false).unref();
          const settle = (ready: boolean) => (): void => {
            clearTimeout(timer);
            worker.off('message', onReady).off('error', onFailure).off('exit', onFailure);
            resolve(ready);
          };
          const onReady = settle(true);
          const onFailure = settle(false);
          worker.once('message', onReady).once('error', onFailure).once('exit', onFailure);
        }),
    ),
  );
  if (started.includes(false)) {
    await stop();
    return null;
  }
  /** The next message of writer `writer` (0-based), waiting for it up to PART_TIMEOUT_MS; throws when none came or it failed. */
  const receive = (writer: number): Exclude<WriterMessage, { error: string }> => {
    for (const deadline = performance.now() + PART_TIMEOUT_MS; ; ) {
      const seen = Atomics.load(view, SLOT.posted);
      const received = receiveMessageOnPort(ports[writer]!);
      if (!received && escaped) throw new Error(`An export thread failed: ${escaped.message}`);
      if (received) {
        const message = received.message as WriterMessage;
        if ('error' in message) throw new Error(`An export thread failed: ${message.error}`);
        return message;
      }
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`An export thread sent nothing for ${PART_TIMEOUT_MS / 1000} s`);
      Atomics.wait(view, SLOT.posted, seen, left);
    }
  };
  return {
    count,
    begin() {
      let shared = false;
      try {
        // A write lock while the writers start reading: no commit can land between their snapshots.
        const lock = new Database(db.name, connectionOptions({ fileMustExist: true, timeout: LOCK_WAIT_MS }));
        try {
          lock.exec('BEGIN IMMEDIATE');
          try {
            Atomics.store(view, SLOT.phase, PHASE.begin);
            Atomics.notify(view, SLOT.phase);
            const deadline = performance.now() + BEGIN_TIMEOUT_MS;
            for (let begun = Atomics.load(view, SLOT.begun); begun < count && performance.now() < deadline; begun = Atomics.load(view, SLOT.begun)) {
              Atomics.wait(view, SLOT.begun, begun, Math.max(0, deadline - performance.now()));
            }
            shared = Atomics.load(view, SLOT.begun) === count;
          } finally {
            lock.exec('ROLLBACK');
          }
        } finally {
          lock.close();
        }
      } catch {
        // No write lock (a read-only file, a writer holding it past LOCK_WAIT_MS): the export is written alone.
      }
      if (!shared) void stop();
      return shared;
    },
    *parts() {
      let blocks: number | undefined;
      for (let writer = 0; writer < count; writer++) {
        const message = receive(writer);
        if (!('blocks' in message)) throw new Error('An export thread did not count the blocks first');
        // The writers read one snapshot, so they count the same blocks.
        if (blocks !== undefined && message.blocks !== blocks) throw new Error(`The export's threads saw different data (${blocks} and ${message.blocks} blocks); export again`);
        blocks = message.blocks;
      }
      for (let next = 0; next < blocks!; next++) {
        // Only the port of the block's writer is read: parts of later blocks wait in the other's, not in memory here.
        const slot = ownerOf(next);
        for (const deadline = performance.now() + PART_TIMEOUT_MS; Atomics.load(view, slot) === 0; ) {
          const left = deadline - performance.now();
          if (left <= 0) throw new Error(`No export thread took part ${next + 1} of ${blocks} within ${PART_TIMEOUT_MS / 1000} s`);
          Atomics.wait(view, slot, 0, left);
        }
        const writer = Atomics.load(view, slot) - 1;
        for (let message = receive(writer); !('end' in message); message = receive(writer)) {
          if ('rows' in message) yield message;
        }
        Atomics.store(view, slot, 0);
        Atomics.store(view, SLOT.outputBlock, next + 1);
        Atomics.notify(view, SLOT.outputBlock);
      }
    },
    stop,
  };
}

/** Whether the export has at least MIN_SHARED_BLOCKS blocks (seeks on the time index, outside any snapshot: an estimate). */
function enoughBlocks(db: Db, query: ExportQuery): boolean {
  let chunks = 0;
  const all = exportChunks(db, query);
  while (!all.next().done) {
    if (++chunks >= MIN_SHARED_BLOCKS * CHUNKS_PER_BLOCK) {
      all.return(undefined);
      return true;
    }
  }
  return false;
}
