/**
 * The packaged app loads better-sqlite3's addon compiled for Electron (resources/native/) while
 * node_modules keeps the Node build: every connection the core opens, the export's own read
 * connection included, must load the addon named by useNativeBinding.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openExportConnection } from '../../core/export/export.js';
import { openDatabase, useNativeBinding } from '../../core/store/db.js';
import { tempDir } from '../support/temp.js';

describe('useNativeBinding', () => {
  it('makes the database and the export connection load the named addon', () => {
    // node_modules' own addon, named explicitly, stands in for the Electron build (same file format).
    useNativeBinding(path.resolve('node_modules/better-sqlite3/build/Release/better_sqlite3.node'));
    const db = openDatabase(tempDir());
    const reader = openExportConnection(db);
    expect(reader.prepare('SELECT count(*) AS n FROM usage').get()).toEqual({ n: 0 });
    reader.close();

    const missing = path.join(tempDir(), 'electron-build', 'better_sqlite3.node');
    useNativeBinding(missing);
    expect(() => openExportConnection(db)).toThrow(missing);
    expect(() => openDatabase(tempDir())).toThrow(missing);
    db.close();
  });
});
