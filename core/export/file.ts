import { close, createWriteStream, existsSync, fsync, open } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';

const openFile = promisify(open);
const syncFile = promisify(fsync);
const closeFile = promisify(close);

/** The write calls a write stream makes (node:fs by default). */
export type WriteStreamFs = Exclude<Parameters<typeof createWriteStream>[1], string | undefined>['fs'];

/** Writing an export file failed; the message says which file, what failed and what to do. */
export class ExportFileError extends Error {
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

const REASONS: Record<string, [reason: string, advice: string]> = {
  ENOSPC: ['the disk is full', 'free some space or write to another disk'],
  EDQUOT: ['the disk quota is used up', 'free some space or write to another disk'],
  EFBIG: ['the file is larger than this file system allows', 'export a shorter range or use another disk'],
  EACCES: ['permission denied', 'choose a folder you can write to'],
  EPERM: ['permission denied', 'choose a folder you can write to'],
  EROFS: ['the file system is read-only', 'choose a folder you can write to'],
  ENOENT: ['the folder does not exist', 'create it or choose another folder'],
  ENOTDIR: ['a part of the path is not a folder', 'check the path'],
  EISDIR: ['it is a folder', 'give a file name, not a folder'],
  EIO: ['an input/output error (a failing disk or a removed drive?)', 'check the disk and try again'],
};

function describe(target: string, temp: string, err: NodeJS.ErrnoException): string {
  const code = err.code ?? 'error';
  const [reason, advice] = code === 'EEXIST' ? [`a temporary file ${temp} is in the way`, 'delete it and try again'] : (REASONS[code] ?? [err.message, 'try again or choose another file']);
  const left = existsSync(target) ? `${target} was left as it was` : 'no file was left under that name';
  return `Could not write ${target}: ${reason} (${code}); ${advice}. The partial export was removed and ${left}.`;
}

function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * Writes a file so that it appears whole or not at all: `produce` writes to `<file>.partial-<pid>`
 * in the same folder, which is flushed to disk (fsync) and then renamed over `file`. On any
 * failure the partial file is removed and whatever was at `file` stays untouched; a file-system
 * failure becomes an ExportFileError with a message for people, other errors (an abort, a
 * database error) are rethrown as they are. `fs` replaces the stream's write calls (tests).
 */
export async function writeFileAtomically<T>(file: string, produce: (sink: Writable) => Promise<T>, options: { fs?: WriteStreamFs } = {}): Promise<T> {
  const target = path.resolve(file);
  const temp = `${target}.partial-${process.pid}`;
  let fd: number;
  try {
    fd = await openFile(temp, 'wx');
  } catch (err) {
    throw isSystemError(err) ? new ExportFileError(target, err.code, describe(target, temp, err)) : err;
  }
  let closed = false;
  try {
    const sink = createWriteStream(temp, { fd, autoClose: false, ...(options.fs ? { fs: options.fs } : {}) });
    const result = await produce(sink);
    await syncFile(fd);
    closed = true;
    await closeFile(fd);
    await rename(temp, target);
    await syncFolder(path.dirname(target));
    return result;
  } catch (err) {
    if (!closed) await closeFile(fd).catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw isSystemError(err) ? new ExportFileError(target, err.code, describe(target, temp, err)) : err;
  }
}

/**
 * Makes the rename durable too. Best effort: Windows cannot open a folder for fsync and some file
 * systems refuse it, and by now the file is complete under its final name anyway.
 */
async function syncFolder(folder: string): Promise<void> {
  if (process.platform === 'win32') return;
  try {
    const fd = await openFile(folder, 'r');
    try {
      await syncFile(fd);
    } finally {
      await closeFile(fd);
    }
  } catch {
    // The export is written; only the folder entry's durability is left to the OS.
  }
}
