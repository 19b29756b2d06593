/**
 * The export's hand-written CSV lines against csv-stringify, the library they replaced for speed,
 * configured as the export used it: the same bytes for every kind of cell, hostile text included.
 */
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { CSV_HEADER, csvLine, EXPORT_COLUMNS, neutralizeFormula, type Cell } from '../../core/export/format.js';
import { seededRandom } from '../../shared/random.js';

const NAMES = EXPORT_COLUMNS.map((column) => column.name);
const COST_COLUMN = NAMES.indexOf('cost_usd');

function library(records: Cell[][]): string {
  return stringify(records, {
    header: true,
    columns: NAMES,
    record_delimiter: 'windows',
    quote_record_delimiter: true,
    cast: { string: (value, context) => (context.header || context.column === COST_COLUMN ? value : neutralizeFormula(value)) },
  });
}

const PIECES = ['a', 'gpt-4o', ' ', ',', '"', '""', '\n', '\r', '\r\n', '=', '+', '-', '@', '\t', '\uFF1D', "'", 'é', '😀', '\uD800', '0', '-1.5', ';'];

describe('the export CSV line', () => {
  it('is byte for byte what csv-stringify wrote, for text, numbers, empty and missing cells', () => {
    const random = seededRandom(4180);
    const text = (): string => Array.from({ length: Math.floor(random() * 5) }, () => PIECES[Math.floor(random() * PIECES.length)]).join('');
    const records: Cell[][] = [];
    for (let i = 0; i < 2_000; i++) {
      records.push(
        NAMES.map((_, column): Cell => {
          const pick = random();
          if (pick < 0.15) return null;
          if (pick < 0.35) return Math.floor((random() - 0.3) * 1e6);
          if (column === COST_COLUMN) return random() < 0.5 ? `-${Math.floor(random() * 100)}.5` : text();
          return text();
        }),
      );
    }
    expect(CSV_HEADER + records.map(csvLine).join('')).toBe(library(records));
  });
});
