import type { CastingContext, Options } from 'csv-stringify';
import { stringify } from 'csv-stringify/sync';
import type { ExportCells } from './query.js';

/** One column of the export: its name (CSV header, JSON key) and what it holds, for the README. */
export interface ExportColumn {
  name: string;
  meaning: string;
}

/** The export's columns in order. CSV and JSON Lines carry the same ones under the same names. */
export const EXPORT_COLUMNS = [
  { name: 'period_start', meaning: 'Start of the period, ISO 8601 UTC. Daily cost buckets keep their whole day under hour granularity.' },
  { name: 'period_end', meaning: 'End of the period (exclusive), ISO 8601 UTC.' },
  { name: 'provider', meaning: 'openai, anthropic or openrouter.' },
  { name: 'model', meaning: 'Model as the provider names it; "(no model)" for charges of no model (web search, storage, …).' },
  { name: 'project', meaning: 'OpenAI project or Anthropic/OpenRouter workspace id; empty when the provider gives none.' },
  { name: 'line_item', meaning: 'The provider’s cost line item (e.g. "gpt-4o-2024-08-06, input"); empty on token rows.' },
  { name: 'requests', meaning: 'Model requests; empty where the source does not report them (Anthropic, cost rows).' },
  { name: 'input_tokens', meaning: 'All input tokens, cache reads and cache writes included.' },
  { name: 'cached_input_tokens', meaning: 'Input tokens read from the prompt cache.' },
  { name: 'cache_write_tokens', meaning: 'Input tokens written to the prompt cache.' },
  { name: 'output_tokens', meaning: 'Output tokens.' },
  { name: 'cost_usd', meaning: 'Exact decimal US dollars, "." as decimal point, no rounding; empty when cost_kind is superseded or unpriced.' },
  {
    name: 'cost_kind',
    meaning:
      'billed (the provider’s bill), estimated (tokens × list price, for days not billed yet), superseded (tokens of a day billed since: its cost is in the cost rows) or unpriced (tokens of a model with no known price).',
  },
  { name: 'source', meaning: 'Where the row comes from: usage (provider usage API), cost (provider cost API) or sdk (LLMeter SDK events).' },
] as const satisfies readonly ExportColumn[];

type ColumnName = (typeof EXPORT_COLUMNS)[number]['name'];

const COLUMN_NAMES: readonly ColumnName[] = EXPORT_COLUMNS.map((column) => column.name);
const COST_COLUMN = COLUMN_NAMES.indexOf('cost_usd');

/** One JSON Lines record: the columns as keys, numbers as numbers, cost_usd as an exact decimal string. */
export function jsonLine(cells: ExportCells): string {
  const record: Record<string, ExportCells[number]> = {};
  COLUMN_NAMES.forEach((name, index) => (record[name] = cells[index]!));
  return `${JSON.stringify(record)}\n`;
}

// OWASP "CSV injection": cells a spreadsheet would read as a formula, plus the full-width forms
// that some spreadsheets normalise to them.
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;

/**
 * A text cell made safe to open in a spreadsheet, the OWASP way: a cell starting with = + - @ tab
 * or carriage return gets a leading single quote and is always quoted. Other cells pass unchanged.
 */
export function neutralizeFormula(value: string): string | { value: string; quoted: true } {
  return FORMULA_START.test(value) ? { value: `'${value}`, quoted: true } : value;
}

const CSV_OPTIONS: Options = {
  columns: [...COLUMN_NAMES],
  record_delimiter: 'windows',
  // A lone \n or \r inside a name must be quoted too, not only the CRLF we write between records.
  quote_record_delimiter: true,
  cast: {
    string: (value: string, context: CastingContext) => (context.header || context.column === COST_COLUMN ? value : neutralizeFormula(value)),
  },
};

/**
 * Rows as CSV text, written by csv-stringify: RFC 4180 (CRLF after every record, quotes doubled,
 * fields with a delimiter, quote or line break quoted), the header row first when `header`. Text
 * cells are neutralized; numbers and the cost (a decimal, so a credit stays a negative number)
 * are not.
 */
export function csvText(rows: ExportCells[], header: boolean): string {
  return stringify(rows, { ...CSV_OPTIONS, header });
}

/**
 * The cost as exactDollarsSql (core/export/query.ts) writes it: digits, a sign, a decimal point.
 * Such a cell, like a number's digits, holds no delimiter, quote or line break, so csv-stringify
 * writes it as it is.
 */
const PLAIN_DECIMAL = /^-?\d+(?:\.\d+)?$/;

/**
 * Characters of text cells (as read and as encoded) an export remembers at most; past it the memo
 * starts over, so that memory stays bounded whatever the names. A year of hourly rows for hundreds
 * of models needs about a tenth of it.
 */
const MAX_MEMO_CHARS = 4 * 1024 * 1024;

/**
 * csv-stringify's encoding of one text cell (the same options, cast and formula neutralization as
 * csvText), remembered: an export has hundreds of models and projects and one period per hour,
 * not a million distinct texts, so each is encoded once.
 */
export function createCellEncoder(): (value: string) => string {
  const encoded = new Map<string, string>();
  let memoChars = 0;
  return (value) => {
    let text = encoded.get(value);
    if (text === undefined) {
      // One record of one field, in column 0 (a text column: the cast neutralizes it), minus its CRLF.
      text = stringify([[value]], { ...CSV_OPTIONS, header: false }).slice(0, -2);
      memoChars += value.length + text.length;
      if (memoChars > MAX_MEMO_CHARS) {
        encoded.clear();
        memoChars = value.length + text.length;
      }
      encoded.set(value, text);
    }
    return text;
  };
}

/**
 * A CSV writer for one export, writing exactly what csvText writes for the same rows, faster:
 * csv-stringify encodes each distinct text cell once (createCellEncoder), and each record joins
 * the encoded cells with the delimiter and CRLF. Numbers, empty cells and the exact decimal cost
 * are written as csv-stringify writes them, which is unchanged (`'' + value`, nothing for null):
 * they can hold no character that needs quoting. A row whose cost is anything else goes through
 * csvText whole.
 */
export function createCsvWriter(cell: (value: string) => string = createCellEncoder()): (rows: ExportCells[], header: boolean) => string {
  let periodStart: string | null = null;
  let periodEnd: string | null = null;
  let periodCells = '';
  return (rows, header) => {
    let text = header ? csvText([], true) : '';
    for (const row of rows) {
      const [start, end, provider, model, project, lineItem, requests, input, cachedInput, cacheWrite, output, cost, costKind, source] = row;
      if (cost !== null && !PLAIN_DECIMAL.test(cost)) {
        text += csvText([row], false);
        continue;
      }
      // Rows of one period follow each other: its two cells are looked up once per period.
      if (start !== periodStart || end !== periodEnd) {
        periodStart = start;
        periodEnd = end;
        periodCells = `${cell(start)},${cell(end)}`;
      }
      text += `${periodCells},${cell(provider)},${cell(model)},${cell(project)},${cell(lineItem)},${requests ?? ''},${input},${cachedInput},${cacheWrite},${output},${cost ?? ''},${cell(costKind)},${cell(source)}\r\n`;
    }
    return text;
  };
}
