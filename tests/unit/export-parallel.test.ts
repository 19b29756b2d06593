/**
 * Issue 10, item 4: a big CSV export is written by two threads that read one snapshot
 * (core/export/parallel.ts, core/export/csv-worker.ts). Its bytes must be the single-threaded
 * export's, whatever the names, keys and buckets of each block, and another process committing
 * meanwhile must never be half in it. The threads run the compiled build (dist/, which `npm test`
 * builds before the suite): the TypeScript sources have no compiled worker to start, so this file
 * imports the export from there.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as ExportModule from '../../core/export/export.js';
import { resolveExportQuery, type ExportInput } from '../../core/export/query.js';
import { openDatabase, type Db } from '../../core/store/db.js';
import { tempDir } from '../support/temp.js';

const DAY = 86_400;
const HOUR = 3_600;
const START = Date.UTC(2026, 0, 1) / 1000;
/** Ten weeks: ten blocks of seven days, enough for the export to share them out. */
const DAYS = 70;
const NOW_MS = (START + DAYS * DAY) * 1000;

const COMPILED_EXPORT = path.resolve('dist/core/export/export.js');
let compiled: typeof ExportModule;
let db: Db;
beforeAll(async () => {
  if (!existsSync(COMPILED_EXPORT)) throw new Error(`${COMPILED_EXPORT} is missing: run npm run build (npm test does) before this suite`);
  compiled = (await import(pathToFileURL(COMPILED_EXPORT).href)) as typeof ExportModule;
  db = openDatabase(tempDir('llmeter-export-parallel-', 'suite'));
  seed();
});
afterAll(() => db.close());

const INSERT_SQL = `INSERT INTO usage (provider, source, bucket_start, bucket_end, bucket_width, model, project, api_key_id, line_item, requests,
  input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, cost_nano, cost_kind, superseded, unpriced, updated_at)
  VALUES (@provider, @source, @start, @start + @width, CASE @width WHEN ${HOUR} THEN '1h' ELSE '1d' END, @model, @project, @key, @lineItem, @requests,
  @tokens, @tokens / 2, @tokens / 4, @tokens * 3, @cost, @kind, @superseded, 0, 0)`;

/**
 * Ten weeks of hourly usage and daily cost rows, each week its own kind of block: plain names; a
 * model whose name needs quoting; one with a line break (that block is written from cells); rows of
 * several API keys and buckets off the hour (that block is grouped in SQL); superseded estimates.
 */
function seed(): void {
  const insert = db.prepare(INSERT_SQL);
  db.transaction(() => {
    for (let day = 0; day < DAYS; day++) {
      const week = Math.floor(day / 7);
      const models = ['gpt-4o', 'gpt-4o-mini', week === 1 ? 'a,"b"' : week === 3 ? '=1+1' : 'o3', week === 5 ? 'line\nbreak' : 'o4-mini'];
      for (let hour = 0; hour < 24; hour += 3) {
        models.forEach((model, m) => {
          const start = START + day * DAY + hour * HOUR + (week === 7 && m === 0 ? 600 : 0);
          const row = { provider: m < 2 ? 'openai' : 'anthropic', source: 'usage', start, width: HOUR, model, project: week === 2 ? 'proj,1' : '', key: '', lineItem: '', requests: hour + m, tokens: day * 1000 + hour * 10 + m, cost: BigInt(day * 7 + hour * 3 + m) * 1_000_001n, kind: 'estimated', superseded: week === 8 ? 1 : 0 };
          insert.run(row);
          if (week === 7 && m === 1) insert.run({ ...row, key: 'key-2', tokens: row.tokens + 1 });
        });
      }
      insert.run({ provider: 'openai', source: 'cost', start: START + day * DAY, width: DAY, model: 'gpt-4o', project: '', key: '', lineItem: 'gpt-4o, input', requests: null, tokens: 0, cost: BigInt(day) * 123_456_789n - 5n, kind: 'billed', superseded: 0 });
    }
  })();
}

/** The export's text and how many threads wrote it. */
async function exportCsv(input: ExportInput, threads?: 1): Promise<{ text: string; threads: number }> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  const result = await compiled.exportUsage(db, resolveExportQuery({ ...input, format: 'csv' }, NOW_MS), sink, threads ? { threads } : {});
  return { text: Buffer.concat(chunks).toString('utf8'), threads: result.threads };
}

describe('a CSV export written by two threads', () => {
  it.each<ExportInput>([
    { granularity: 'hour' },
    { granularity: 'day' },
    { granularity: 'hour', from: '2026-01-03T05:00:00Z', to: '2026-03-01T00:00:00Z' },
    { granularity: 'hour', models: ['gpt-4o', 'a,"b"', 'line\nbreak'] },
    { granularity: 'day', providers: ['anthropic'] },
  ])('is byte for byte the single-threaded export: %o', async (input) => {
    const single = await exportCsv(input, 1);
    const shared = await exportCsv(input);
    expect(single.threads).toBe(1);
    expect(shared.threads).toBe(2);
    expect(shared.text.length).toBeGreaterThan(10_000);
    expect(shared.text).toBe(single.text);
  });

  it('is written by one thread, the same bytes, when another connection holds the write lock', async () => {
    const shared = await exportCsv({ granularity: 'hour' });
    const writer = openDatabase(path.dirname(db.name));
    writer.exec('BEGIN IMMEDIATE');
    try {
      const alone = await exportCsv({ granularity: 'hour' });
      expect(alone.threads).toBe(1);
      expect(alone.text).toBe(shared.text);
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });

  it('stays on one thread for a small export', async () => {
    const small = await exportCsv({ granularity: 'hour', from: '2026-01-01', to: '2026-01-15' });
    expect(small.threads).toBe(1);
    expect(small.text).toContain('2026-01-14T21:00:00Z');
  });

  it('reads one snapshot while another process commits pairs of rows a block apart', async () => {
    // Each commit adds two rows, on the first and the eighth day: blocks 0 and 1, which the two threads take.
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const Database = require('better-sqlite3');
         const db = new Database(process.argv[1], { timeout: 5000 });
         const insert = db.prepare(process.argv[2]);
         const pair = db.transaction((n) => {
           for (const day of [0, 7]) insert.run({ provider: 'openrouter', source: 'usage', start: ${START} + day * ${DAY} + (n % 24) * ${HOUR}, width: ${HOUR}, model: 'pair-' + n, project: '', key: '', lineItem: '', requests: 1, tokens: n, cost: 1n, kind: 'estimated', superseded: 0 });
         });
         console.log('writing');
         // A pair every ~0.3 ms: often enough to land between two threads' first reads, without taking a core from the suites beside it.
         const pause = new Int32Array(new SharedArrayBuffer(4));
         for (let n = 0; ; n++) {
           pair(n);
           Atomics.wait(pause, 0, 0, 0.3);
         }`,
        db.name,
        INSERT_SQL,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((resolve) => writer.stdout!.once('data', resolve));
      for (let run = 0; run < 6; run++) {
        const { text, threads } = await exportCsv({ granularity: 'hour' });
        expect(threads).toBe(2);
        const days = new Map<string, number>();
        for (const match of text.matchAll(/^(\d{4}-\d\d-\d\d)T[^,]*,[^,]*,openrouter,(pair-\d+),/gm)) days.set(match[2]!, (days.get(match[2]!) ?? 0) + 1);
        expect(days.size).toBeGreaterThan(0);
        const halves = [...days].filter(([, count]) => count !== 2);
        expect(halves).toEqual([]);
      }
    } finally {
      writer.kill();
    }
  }, 60_000);
});
