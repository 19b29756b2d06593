/**
 * Export in the desktop app: the API's exportData and the tray's "Export CSV…" both ask where to
 * save with the OS save dialog, then stream the core export into that file (whole or not at all).
 */
import path from 'node:path';
import { dialog, type BaseWindow, type FileFilter, type SaveDialogOptions } from 'electron';
import { exportFileName, exportUsage, openExportConnection } from '../../core/export/export.js';
import { writeFileAtomically } from '../../core/export/file.js';
import { resolveExportQuery } from '../../core/export/query.js';
import type { Db } from '../../core/store/db.js';
import type { ExportRequest, ExportResult } from '../../shared/api.js';

export interface ExportDialogDeps {
  db: Db;
  /** Folder the dialog opens in (the user's Downloads folder). */
  defaultFolder: string;
  /** The window the dialog belongs to; null for the tray, which has none. */
  parent: BaseWindow | null;
  now?: () => number;
}

const FILTERS: Record<ExportRequest['format'], FileFilter> = { csv: { name: 'CSV (spreadsheets)', extensions: ['csv'] }, jsonl: { name: 'JSON Lines', extensions: ['jsonl'] } };

/**
 * Asks for a file and writes the export there. Resolves `{saved: false}` when the user cancels;
 * rejects with the core's message for people when the request or the write fails.
 */
export async function exportWithSaveDialog(request: ExportRequest, deps: ExportDialogDeps): Promise<ExportResult> {
  const nowMs = (deps.now ?? Date.now)();
  const query = resolveExportQuery(request, nowMs);
  const options: SaveDialogOptions = {
    title: 'Export LLM usage and cost',
    defaultPath: path.join(deps.defaultFolder, exportFileName(query, nowMs)),
    filters: [FILTERS[query.format]],
  };
  const choice = deps.parent ? await dialog.showSaveDialog(deps.parent, options) : await dialog.showSaveDialog(options);
  if (choice.canceled || !choice.filePath) return { saved: false };
  // A connection of its own, so that polling and the dashboard go on while the export streams.
  const reader = openExportConnection(deps.db);
  try {
    const { rows } = await writeFileAtomically(choice.filePath, (sink) => exportUsage(reader, query, sink));
    return { saved: true, path: choice.filePath, rows };
  } finally {
    if (reader !== deps.db) reader.close();
  }
}
