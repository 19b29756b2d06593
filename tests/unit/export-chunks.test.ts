/**
 * Issue 10, item 4: the export reads a day's rows in one call when the day is small, and row by row
 * when it is busy (more rows than it holds in memory at once). Both give the same rows, in order.
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { exportUsage } from '../../core/export/export.js';
import { resolveExportQuery } from '../../core/export/query.js';
import { openDatabase, type Db } from '../../core/store/db.js';
import { prepareUpsert } from '../../core/store/usage-repo.js';
import { csvObjects } from '../support/csv.js';
import { record } from '../support/records.js';
import { tempDir } from '../support/temp.js';

const BUSY_DAY = Date.UTC(2026, 2, 3) / 1000;
const QUIET_DAY = BUSY_DAY + 86_400;
/** 400 models × 24 hours: more rows in one day than the export reads at once (8 192). */
const BUSY_MODELS = 400;
const QUIET_MODELS = 3;

let db: Db;
beforeEach(() => {
  db = openDatabase(tempDir());
});
afterEach(() => db.close());

/** One hourly row per model and hour, with tokens that say which row it is. */
function seed(day: number, models: number): void {
  const upsert = prepareUpsert(db);
  db.transaction(() => {
    for (let hour = 0; hour < 24; hour++) {
      for (let m = 0; m < models; m++) {
        upsert(record({ provider: 'openai', source: 'usage', bucketStart: day + hour * 3600, model: `model-${String(m).padStart(3, '0')}`, inputTokens: day + hour * 1000 + m, costNano: BigInt(m) }), day);
      }
    }
  })();
}

async function exportText(format: 'csv' | 'jsonl'): Promise<string> {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  await exportUsage(db, resolveExportQuery({ format, granularity: 'hour' }, QUIET_DAY * 1000 + 86_400_000), sink);
  return text;
}

it('a busy day read row by row and a quiet day read at once give every row, ordered by hour and model', async () => {
  seed(BUSY_DAY, BUSY_MODELS);
  seed(QUIET_DAY, QUIET_MODELS);
  const expected = [BUSY_DAY, QUIET_DAY].flatMap((day) =>
    Array.from({ length: 24 }, (_, hour) => Array.from({ length: day === BUSY_DAY ? BUSY_MODELS : QUIET_MODELS }, (_, m) => ({ hour: day + hour * 3600, m }))).flat(),
  );
  const lines = (await exportText('jsonl')).trimEnd().split('\n').map((line) => JSON.parse(line) as { period_start: string; model: string; input_tokens: number; cost_usd: string });
  expect(lines).toHaveLength(expected.length);
  lines.forEach((line, index) => {
    const { hour, m } = expected[index]!;
    expect(line).toMatchObject({ period_start: new Date(hour * 1000).toISOString().replace('.000Z', 'Z'), model: `model-${String(m).padStart(3, '0')}`, input_tokens: hour - (hour % 86_400) + ((hour % 86_400) / 3600) * 1000 + m });
  });
  const csv = csvObjects(await exportText('csv'));
  expect(csv.map((row) => [row.period_start, row.model, Number(row.input_tokens), row.cost_usd])).toEqual(lines.map((line) => [line.period_start, line.model, line.input_tokens, line.cost_usd]));
});
