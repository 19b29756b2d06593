/**
 * Issue 10, item 4: SQLite builds the CSV export's records (core/export/query.ts, queryExportCsv)
 * from texts csv-stringify encoded once each. Whatever the stored names, keys and buckets, and for
 * every granularity and filter, the file must be byte for byte what csv-stringify writes for the
 * export's rows as whole records (csvText over queryExportBatches' cells).
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { stringify } from 'csv-stringify/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportUsage } from '../../core/export/export.js';
import { csvText } from '../../core/export/format.js';
import { exactDollarsSql, queryExportBatches, resolveExportQuery, type ExportInput } from '../../core/export/query.js';
import { openDatabase, type Db } from '../../core/store/db.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import { tempDir } from '../support/temp.js';

const DAY = 86_400;
const HOUR = 3_600;
const START = Date.UTC(2026, 0, 1) / 1000;
const NOW_MS = (START + 40 * DAY) * 1000;

/** Names a provider API could send: formula triggers, CSV syntax, full-width forms, unicode; no line breaks. */
const HOSTILE = ['gpt-4o', 'a,b', 'say "hi"', '"', '=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '＝1', '＠x', 'é🙂', "'", ' =space', '0', '-0.5', ''];
/** Names with line breaks, which records cannot be told apart by: the export is then written from cells. */
const LINE_BREAKS = ['line\nbreak', 'cr\rlf\r\n', '\r=1'];

interface StoredRow {
  provider: string;
  source: 'usage' | 'cost' | 'sdk';
  bucketStart: number;
  width: '1h' | '1d';
  model: string;
  project: string;
  apiKeyId: string;
  lineItem: string;
  requests: number | null;
  tokens: number;
  costNano: bigint;
  costKind: 'billed' | 'estimated';
  superseded: 0 | 1;
  unpriced: 0 | 1;
}

let db: Db;
beforeAll(() => {
  db = openDatabase(tempDir('llmeter-export-sql-', 'suite'));
});
afterAll(() => db.close());

function store(rows: readonly StoredRow[]): void {
  const insert = db.prepare(`INSERT OR REPLACE INTO usage (provider, source, bucket_start, bucket_end, bucket_width, model, project, api_key_id, line_item, requests,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, cost_nano, cost_kind, superseded, unpriced, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`);
  db.transaction(() => {
    db.exec('DELETE FROM usage');
    for (const r of rows) {
      const end = r.bucketStart + (r.width === '1h' ? HOUR : DAY);
      insert.run(r.provider, r.source, r.bucketStart, end, r.width, r.model, r.project, r.apiKeyId, r.lineItem, r.requests, r.tokens, r.tokens >> 1, r.tokens >> 2, r.tokens * 3, r.costNano, r.costKind, r.superseded, r.unpriced);
    }
  })();
}

async function exportCsv(input: ExportInput): Promise<string> {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  await exportUsage(db, resolveExportQuery({ ...input, format: 'csv' }, NOW_MS), sink);
  return text;
}

/** What csv-stringify writes for the export's rows as whole records. */
function wholeRecords(input: ExportInput): string {
  const rows = [...queryExportBatches(db, resolveExportQuery({ ...input, format: 'csv' }, NOW_MS))].flat();
  return csvText(rows, true);
}

const base: StoredRow = { provider: 'openai', source: 'usage', bucketStart: START, width: '1h', model: 'gpt-4o', project: '', apiKeyId: '', lineItem: '', requests: 1, tokens: 10, costNano: 1_500_000_000n, costKind: 'estimated', superseded: 0, unpriced: 0 };

/** Hours of two days for each hostile name, in every column, with daily cost rows and superseded, unpriced and SDK rows. */
function hostileRows(names: readonly string[]): StoredRow[] {
  return names.flatMap((name, i): StoredRow[] => [
    { ...base, model: name, bucketStart: START + (i % 30) * HOUR, tokens: i },
    { ...base, provider: 'anthropic', project: name, bucketStart: START + DAY + (i % 24) * HOUR, requests: null, superseded: 1 },
    { ...base, source: 'sdk', model: name, bucketStart: START + (i % 24) * HOUR, unpriced: 1, costNano: 0n },
    { ...base, source: 'cost', width: '1d', bucketStart: START + (i % 2) * DAY, model: 'gpt-4o', lineItem: name, requests: null, costNano: -BigInt(i) * 7n, costKind: 'billed' },
  ]);
}

const INPUTS: ExportInput[] = [
  { granularity: 'hour' },
  { granularity: 'day' },
  { granularity: 'month' },
  { granularity: 'hour', from: '2026-01-01T05:30:00Z', to: '2026-01-02T03:00:00Z' },
  { granularity: 'hour', providers: ['anthropic'] },
  { granularity: 'hour', models: ['a,b', '=1+1', 'gpt-4o'] },
  { granularity: 'day', providers: ['openai'], models: ['gpt-4o'] },
];

describe('the CSV export built by SQLite', () => {
  it('ISO 8601 periods, counts and exact decimal costs are cells csv-stringify writes unchanged', () => {
    const cells = ['2026-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '9999-12-31T23:00:00Z', '9007199254740993', '-12', '0', '-0.000000001', '123456789012.5'];
    expect(stringify([cells], { record_delimiter: 'windows' })).toBe(`${cells.join(',')}\r\n`);
  });

  it.each(INPUTS)('writes hostile names as csv-stringify does, every granularity and filter: %o', async (input) => {
    store(hostileRows(HOSTILE));
    const text = await exportCsv(input);
    expect(text.split('\r\n').length).toBeGreaterThan(2);
    expect(text).toBe(wholeRecords(input));
  });

  it('writes nano-dollars as decimal dollars exactly as formatNanoAsDecimal does, over the whole 64-bit range but its least value', () => {
    const dollars = db.prepare(`SELECT ${exactDollarsSql('@nano')}`).pluck().safeIntegers(true);
    const edges = [0n, 1n, -1n, 999_999_999n, 1_000_000_000n, -1_000_000_000n, 1_000_000_001n, -1_500_000_001n, 10n ** 18n, 2n ** 63n - 1n, -(2n ** 63n) + 1n, 120_000_000_000n];
    for (const nano of edges) expect(dollars.get({ nano })).toBe(formatNanoAsDecimal(nano));
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: -(2n ** 63n) + 1n, max: 2n ** 63n - 1n }), fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }).map((n) => n * 1000n)), (nano) => {
        expect(dollars.get({ nano })).toBe(formatNanoAsDecimal(nano));
      }),
      { numRuns: 2000 },
    );
  });

  it('names with line breaks and rows sharing a group (several API keys, buckets off the hour) are written as csv-stringify does', async () => {
    const rows = [
      ...hostileRows([...HOSTILE, ...LINE_BREAKS]),
      { ...base, apiKeyId: 'key-2', tokens: 5 },
      { ...base, bucketStart: START + 1800, tokens: 7 },
    ];
    store(rows);
    for (const input of INPUTS) expect(await exportCsv(input)).toBe(wholeRecords(input));
    // Without the line breaks, still grouped: the SQL path sums the shared groups.
    store(rows.filter((r) => ![r.model, r.project, r.lineItem].some((text) => LINE_BREAKS.includes(text))));
    const hourly = await exportCsv({ granularity: 'hour' });
    expect(hourly).toBe(wholeRecords({ granularity: 'hour' }));
    expect(hourly).toContain('2026-01-01T00:00:00Z,2026-01-01T01:00:00Z,openai,gpt-4o,,,3,12,5,2,36,4.5,estimated,usage\r\n');
  });

  it('merges the sources of one hour and provider in the export order (model, project, line item, source)', async () => {
    const hour = START + 5 * HOUR;
    store([
      { ...base, bucketStart: hour, model: 'b', project: 'a' },
      { ...base, bucketStart: hour, model: 'a', project: 'b', source: 'sdk' },
      { ...base, bucketStart: hour, model: 'a', project: 'a', source: 'sdk' },
      { ...base, bucketStart: hour, model: 'a', project: 'b' },
      { ...base, bucketStart: hour, model: 'a', project: 'b', lineItem: 'x', source: 'sdk' },
      { ...base, bucketStart: hour, model: 'a', project: 'c', provider: 'anthropic' },
    ]);
    const text = await exportCsv({ granularity: 'hour' });
    expect(text).toBe(wholeRecords({ granularity: 'hour' }));
    const keys = text.trimEnd().split('\r\n').slice(1).map((line) => line.split(',').slice(2, 6).concat(line.split(',')[13]!).join(' '));
    expect(keys).toEqual(['anthropic a c  usage', 'openai a a  sdk', 'openai a b  sdk', 'openai a b  usage', 'openai a b x sdk', 'openai b a  usage']);
  });

  it('matches whole-record csv-stringify on random stores, granularities and filters', async () => {
    const name = fc.oneof(fc.constantFrom(...HOSTILE, ...LINE_BREAKS), fc.string({ unit: fc.constantFrom('=', '+', '-', '@', '\t', ',', '"', "'", ' ', 'a', 'Z', '9', '.', 'é', '🙂'), maxLength: 4 }));
    const row: fc.Arbitrary<StoredRow> = fc.record({
      provider: fc.constantFrom('openai', 'anthropic', 'openrouter'),
      source: fc.constantFrom('usage', 'cost', 'sdk'),
      bucketStart: fc.integer({ min: 0, max: 30 }).chain((hour) => fc.constantFrom(START + hour * HOUR, START + hour * HOUR + 900)),
      width: fc.constantFrom('1h', '1d'),
      model: name,
      project: name,
      apiKeyId: fc.constantFrom('', '', '', 'key-2'),
      lineItem: name,
      requests: fc.option(fc.nat({ max: 1000 }), { nil: null }),
      tokens: fc.nat({ max: 1_000_000 }),
      costNano: fc.bigInt({ min: -(10n ** 12n), max: 10n ** 15n }),
      costKind: fc.constantFrom('billed', 'estimated'),
      superseded: fc.constantFrom(0, 1),
      unpriced: fc.constantFrom(0, 1),
    }) as fc.Arbitrary<StoredRow>;
    // Mostly stores the fast paths take (one key, whole hours), sometimes ones they must leave to grouping.
    const aligned = row.map((r): StoredRow => ({ ...r, apiKeyId: '', bucketStart: r.width === '1d' ? r.bucketStart - (r.bucketStart % DAY) : r.bucketStart - (r.bucketStart % HOUR) }));
    const input = fc.record({
      granularity: fc.constantFrom('hour', 'hour', 'day', 'month'),
      from: fc.constantFrom(undefined, '2026-01-01T07:00:00Z', '2026-01-02'),
      to: fc.constantFrom(undefined, '2026-01-03T05:00:00Z'),
      providers: fc.constantFrom([], ['openai'], ['anthropic', 'openrouter']),
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.array(aligned, { maxLength: 30 }), fc.array(row, { maxLength: 30 })), input, async (rows, exportInput) => {
        store(rows);
        const clean = Object.fromEntries(Object.entries(exportInput).filter(([, value]) => value !== undefined)) as ExportInput;
        expect(await exportCsv(clean)).toBe(wholeRecords(clean));
      }),
      { numRuns: 150 },
    );
  });
});
