import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import { connectionOptions, type Db } from '../store/db.js';
import { createCellEncoder, createCsvWriter, csvText, jsonLine } from './format.js';
import { startCsvWriters, type CsvWriters } from './parallel.js';
import { queryExportBatches, queryExportCsv, type ExportQuery } from './query.js';

/** Options of one export run. */
export interface ExportRunOptions {
  /** Aborting stops the export; the sink is destroyed and the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** Called after each row is read, with the count so far (for progress displays). */
  onRow?: (rows: number) => void;
  /** 1: write the export on this thread only. By default a big CSV export is written by two threads (startCsvWriters). */
  threads?: 1;
}

/** Media type of each format, for HTTP answers. */
export const EXPORT_CONTENT_TYPES = { csv: 'text/csv; charset=utf-8; header=present', jsonl: 'application/x-ndjson; charset=utf-8' } as const;

/**
 * The export's text in parts (the CSV header first), reporting each row to `onRow`; `writers`, when
 * they share a snapshot, write a CSV export's records, and their number goes to `onThreads`.
 */
function* texts(db: Db, query: ExportQuery, onRow: (rows: number) => void, writers: CsvWriters | null, onThreads: (threads: number) => void): Generator<string, void, undefined> {
  let count = 0;
  const encode = createCellEncoder();
  const writeCells = createCsvWriter(encode);
  // A monthly export has a few rows per thousand stored: reading them as cells costs less than
  // the pass over every row that lets SQLite write the records.
  if (query.format === 'csv' && query.granularity !== 'month') {
    yield csvText([], true);
    const shared = writers?.begin() ?? false;
    if (shared) onThreads(writers!.count);
    const parts = shared ? writers!.parts() : queryExportCsv(db, query, encode, (rows) => writeCells(rows, false));
    for (const part of parts) {
      for (let i = 0; i < part.rows; i++) onRow(++count);
      yield part.text;
    }
    return;
  }
  let first = true;
  for (const rows of queryExportBatches(db, query)) {
    for (let i = 0; i < rows.length; i++) onRow(++count);
    yield query.format === 'csv' ? writeCells(rows, first) : rows.map(jsonLine).join('');
    first = false;
  }
  if (first && query.format === 'csv') yield writeCells([], true);
}

/**
 * Writes the usage history that `query` selects to `sink` as CSV or JSON Lines, streaming: CSV
 * comes from SQLite as text in parts of about 256 records (queryExportCsv: SQLite joins the cells
 * that csv-stringify encoded, byte for byte what createCsvWriter writes), written by two threads
 * in one snapshot when the export is big (startCsvWriters), JSON Lines as batches of rows
 * (queryExportBatches), and the strings flow to the sink with backpressure, so memory stays flat
 * for any number of rows. Resolves with the row count and the number of threads that wrote once
 * the sink has taken everything; rejects (and stops reading) when the sink fails, e.g. with EPIPE
 * or ENOSPC. The sink is ended, except process.stdout/stderr.
 *
 * `db` stays busy until the export ends: pass a connection nothing else uses meanwhile
 * (openExportConnection), or await the export before touching `db` again.
 */
export async function exportUsage(db: Db, query: ExportQuery, sink: Writable, options: ExportRunOptions = {}): Promise<{ rows: number; threads: number }> {
  let rows = 0;
  let threads = 1;
  const onRow = (count: number): void => {
    rows = count;
    options.onRow?.(count);
  };
  // A monthly export reads rows as cells (see texts): only CSV records are shared out between threads.
  const writers = query.format === 'csv' && query.granularity !== 'month' && options.threads !== 1 ? await startCsvWriters(db, query) : null;
  const parts = texts(db, query, onRow, writers, (count) => (threads = count));
  const streamOptions = options.signal ? { signal: options.signal } : {};
  try {
    // One part in the stream's buffer at a time, not 16: parts waiting there outlived young-generation GCs, which
    // then grew the heap (a 1M-row export peaked at 147–170 MB RSS in some runs, now ~125 MB, at the same speed).
    await pipeline(Readable.from(parts, { highWaterMark: 1 }), sink, streamOptions);
  } finally {
    // Whatever stopped the stream, the SQLite snapshot is released here, where the generator is
    // certainly not running (a destroy from inside onRow could not close it).
    parts.return();
    await writers?.stop();
  }
  return { rows, threads };
}

/**
 * SQLite page cache of an export's own connection, in KiB (the default is 16 MiB): an export reads
 * each page once, so a bigger cache only holds memory. It also bounds SQLite's in-memory sort,
 * which needs far less for a day's rows.
 */
const EXPORT_CACHE_KIB = 4096;

/**
 * A read-only connection of its own to the same database file, for an export that runs while the
 * app keeps polling and serving: the export reads one consistent snapshot (WAL), and the app's
 * connection is never left busy by the export's iterator. Close it when the export ends.
 * An in-memory database has no file to share, so it is returned as it is.
 */
export function openExportConnection(db: Db): Db {
  return db.memory ? db : openExportReader(db.name);
}

/** A read-only connection to the database file `file`, its cache sized for an export (EXPORT_CACHE_KIB). */
export function openExportReader(file: string): Db {
  const reader = new Database(file, connectionOptions({ readonly: true, fileMustExist: true, timeout: 5000 }));
  reader.pragma(`cache_size = -${EXPORT_CACHE_KIB}`);
  return reader;
}

/** A file name for an export, e.g. `llmeter-usage-day-2026-01-01-to-2026-01-31.csv` (first and last day included). */
export function exportFileName(query: ExportQuery, nowMs: number): string {
  const day = (sec: number): string => new Date(sec * 1000).toISOString().slice(0, 10);
  const from = query.window.fromSec === null ? 'start' : day(query.window.fromSec);
  // `to` is exclusive: name the last day the export includes.
  const to = query.window.toSec === null ? day(Math.floor(nowMs / 1000)) : day(query.window.toSec - 1);
  return `llmeter-usage-${query.granularity}-${from}-to-${to}.${query.format}`;
}
