/**
 * Issue 10, item 4: the export's CSV writer encodes each distinct text cell once with csv-stringify
 * and joins the cells itself. Its output must be byte for byte what csv-stringify writes for the
 * same rows as whole records (csvText), whatever the names hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCsvWriter, csvText } from '../../core/export/format.js';
import type { ExportCells } from '../../core/export/query.js';

/** Text a remote API could send: formula triggers, CSV syntax, line breaks, full-width forms, any unicode. */
const hostileText = fc.oneof(
  fc.constantFrom('', '=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1', '＝1', '＋1', '－1', '＠1', 'a,b', 'say "hi"', '"', 'line\nbreak', 'cr\rlf\r\n', ' =space', "'", '0', '-0.5', '1e+21'),
  fc.string({ unit: fc.constantFrom('=', '+', '-', '@', '\t', '\r', '\n', ',', '"', "'", ' ', 'a', 'Z', '9', '.', '＝', '＠', 'é', '🙂', '\uD800') }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
);

/** A period cell: usually an ISO timestamp, sometimes a year past 9999 (a leading +) or hostile text. */
const periodText = fc.oneof(
  fc.integer({ min: -62_135_596_800, max: 253_402_300_799 }).map((sec) => new Date(sec * 1000).toISOString().replace('.000Z', 'Z')),
  fc.integer({ min: 253_402_300_800, max: 8_000_000_000_000 }).map((sec) => new Date(sec * 1000).toISOString()),
  hostileText,
);

const count = fc.oneof(fc.nat(), fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), fc.constantFrom(0, -0, 1e21, 2 ** 53 + 2, 0.5, -1.25));

/** What exactDollarsSql writes, and text it never writes (which must still come out as csv-stringify writes it). */
const cost = fc.oneof(
  fc.constant(null),
  fc.tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 30n })).map(([negative, nano]) => `${negative ? '-' : ''}${nano / 1_000_000_000n}${nano % 1_000_000_000n === 0n ? '' : `.${(nano % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '')}`}`),
  hostileText,
);

const row: fc.Arbitrary<ExportCells> = fc.tuple(
  periodText,
  periodText,
  fc.oneof(fc.constantFrom('openai', 'anthropic', 'openrouter'), hostileText),
  hostileText,
  hostileText,
  hostileText,
  fc.option(count, { nil: null }),
  count,
  count,
  count,
  count,
  cost,
  fc.oneof(fc.constantFrom('billed', 'estimated', 'superseded', 'unpriced'), hostileText),
  fc.oneof(fc.constantFrom('usage', 'cost', 'sdk'), hostileText),
) as fc.Arbitrary<ExportCells>;

/** Rows that repeat their names, as an export's do, so that the writer's memo is hit as well as filled. */
const rows: fc.Arbitrary<ExportCells[]> = fc.array(row, { minLength: 1, maxLength: 12 }).chain((distinct) =>
  fc.array(fc.tuple(fc.constantFrom(...distinct), row).map(([a, b]) => mix(a, b)), { maxLength: 40 }),
);

/** `a` with some cells of `b`: the same texts meet other numbers and other neighbours. */
function mix(a: ExportCells, b: ExportCells): ExportCells {
  return a.map((cell, index) => (index % 3 === 0 ? b[index] : cell)) as ExportCells;
}

describe('the export CSV writer', () => {
  it('writes exactly what csv-stringify writes for the same rows, batch after batch', () => {
    fc.assert(
      fc.property(fc.array(rows, { minLength: 1, maxLength: 4 }), (batches) => {
        const write = createCsvWriter();
        batches.forEach((batch, index) => expect(write(batch, index === 0)).toBe(csvText(batch, index === 0)));
      }),
      { numRuns: 400 },
    );
  });

  it('quotes and neutralizes a cell the same way wherever it appears, first seen or remembered', () => {
    const write = createCsvWriter();
    // Kinds and sources are typed, but as text from the database they are encoded like any name.
    const cells = ['=2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z', 'openai', '=cmd|"x"', 'a,b', 'line\r\nbreak', null, 1, 2, 3, -4, '-0.5', '+billed', '@sdk'] as unknown as ExportCells;
    const expected = `"'=2026-01-01T00:00:00Z",2026-01-01T01:00:00Z,openai,"'=cmd|""x""","a,b","line\r\nbreak",,1,2,3,-4,-0.5,"'+billed","'@sdk"\r\n`;
    expect(write([cells], false)).toBe(expected);
    expect(write([cells, cells], false)).toBe(expected + expected);
    expect(csvText([cells], false)).toBe(expected);
  });

  it('writes a cost it cannot prove plain as csv-stringify does (quoted, not neutralized)', () => {
    const cells: ExportCells = ['2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z', 'openai', 'm', '', '', 7, 1, 2, 3, 4, '1,5', 'billed', 'usage'];
    expect(createCsvWriter()([cells], true)).toBe(csvText([cells], true));
    expect(createCsvWriter()([cells], false)).toContain(',"1,5",');
  });

  it('still writes what csv-stringify writes once names too long to remember make its memo start over', () => {
    const names = ['=a', 'b,', 'c"'].map((start) => start + 'x'.repeat(1_500_000));
    const rows = [0, 1, 2, 0, 2, 1, 0].map((n, i): ExportCells => ['2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z', 'openai', names[n]!, names[(n + 1) % 3]!, '', i, 1, 2, 3, 4, '0.5', 'billed', 'usage']);
    const write = createCsvWriter();
    expect(write(rows.slice(0, 4), true) + write(rows.slice(4), false)).toBe(csvText(rows, true));
  });

  it('writes the header alone for no rows', () => {
    expect(createCsvWriter()([], true)).toBe(csvText([], true));
    expect(createCsvWriter()([], true)).toMatch(/^period_start,period_end,provider,.*,source\r\n$/);
  });
});
