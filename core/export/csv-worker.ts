/**
 * A writer thread of a shared CSV export (core/export/parallel.ts): it opens its own read-only
 * connection, starts reading in the export's snapshot when told to (while the export holds the
 * write lock), then writes the blocks it takes (SLOT.nextBlock, naming itself at ownerOf(block))
 * with the block writer of a single-threaded export and posts their parts, never more than
 * MAX_BLOCKS_AHEAD blocks ahead of what the export has sent on.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { useNativeBinding } from '../store/db.js';
import { openExportReader } from './export.js';
import { createCellEncoder, createCsvWriter } from './format.js';
import { MAX_BLOCKS_AHEAD, ownerOf, PHASE, SLOT, type WriterData, type WriterMessage } from './parallel.js';
import { createCsvBlockWriter, exportBlocks, exportProviders, joinedParts } from './query.js';

const { file, nativeBinding, query, state, port, writer: self } = workerData as WriterData;
const view = new Int32Array(state);
const post = (message: WriterMessage): void => {
  port.postMessage(message);
  Atomics.add(view, SLOT.posted, 1);
  Atomics.notify(view, SLOT.posted);
};
const stopping = (): boolean => Atomics.load(view, SLOT.phase) === PHASE.stop;

if (nativeBinding) useNativeBinding(nativeBinding);
const db = openExportReader(file);
try {
  parentPort!.postMessage('ready');
  while (Atomics.load(view, SLOT.phase) === PHASE.starting) Atomics.wait(view, SLOT.phase, PHASE.starting, 1_000);
  if (!stopping()) {
    // In WAL a snapshot is taken at the first read; the export's write lock keeps commits out until every writer has read.
    db.exec('BEGIN');
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    Atomics.add(view, SLOT.begun, 1);
    Atomics.notify(view, SLOT.begun);
    writeBlocks();
  }
} catch (err) {
  if (!stopping()) post({ error: err instanceof Error ? err.message : String(err) });
} finally {
  db.close();
  port.close();
}

function writeBlocks(): void {
  const encode = createCellEncoder();
  const writeCells = createCsvWriter(encode);
  const providers = exportProviders(db, query);
  const blocks = providers.length > 0 ? [...exportBlocks(db, query)] : [];
  post({ blocks: blocks.length });
  const writer = createCsvBlockWriter(db, query, providers, encode, (rows) => writeCells(rows, false));
  try {
    for (let index = Atomics.add(view, SLOT.nextBlock, 1); index < blocks.length; index = Atomics.add(view, SLOT.nextBlock, 1)) {
      Atomics.store(view, ownerOf(index), self);
      Atomics.notify(view, ownerOf(index));
      for (let output = Atomics.load(view, SLOT.outputBlock); index - output > MAX_BLOCKS_AHEAD && !stopping(); output = Atomics.load(view, SLOT.outputBlock)) {
        Atomics.wait(view, SLOT.outputBlock, output, 1_000);
      }
      if (stopping()) return;
      for (const part of joinedParts(writer.write(blocks[index]!))) post(part);
      post({ end: true });
    }
  } finally {
    writer.close();
  }
}
