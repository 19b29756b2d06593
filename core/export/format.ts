import { formatNanoAsDecimal } from '../../shared/money.js';
import type { ExportCostKind, ExportRow } from './query.js';

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
export type Cell = string | number | null;

const COLUMN_NAMES: readonly ColumnName[] = EXPORT_COLUMNS.map((column) => column.name);
const COST_COLUMN = COLUMN_NAMES.indexOf('cost_usd');
const KINDS_WITHOUT_COST: ReadonlySet<ExportCostKind> = new Set(['superseded', 'unpriced']);

/** ISO 8601 seconds, remembering the last answers: rows come ordered by period, so most repeat. */
const isoSeconds = ((): ((sec: number) => string) => {
  const recent = new Map<number, string>();
  return (sec) => {
    let text = recent.get(sec);
    if (text === undefined) {
      if (recent.size >= 64) recent.clear();
      recent.set(sec, (text = new Date(sec * 1000).toISOString().replace('.000Z', 'Z')));
    }
    return text;
  };
})();

/** A row's cells in column order. Money is printed from the exact nano-dollar sum, never a float. */
export function exportCells(row: ExportRow): Cell[] {
  const costUsd = KINDS_WITHOUT_COST.has(row.costKind) && row.costNano === 0n ? null : formatNanoAsDecimal(row.costNano);
  return [
    isoSeconds(row.periodStart),
    isoSeconds(row.periodEnd),
    row.provider,
    row.model,
    row.project,
    row.lineItem,
    row.requests,
    row.inputTokens,
    row.cachedInputTokens,
    row.cacheWriteTokens,
    row.outputTokens,
    costUsd,
    row.costKind,
    row.source,
  ];
}

/** One JSON Lines record: the columns as keys, numbers as numbers, cost_usd as an exact decimal string. */
export function jsonLine(row: ExportRow): string {
  const cells = exportCells(row);
  const record: Record<string, Cell> = {};
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

/** The CSV header row: the column names, then CRLF. */
export const CSV_HEADER = `${COLUMN_NAMES.join(',')}\r\n`;

const NEEDS_QUOTES = /[",\r\n]/;

function quoted(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}

/**
 * One exportCells record as a CSV line, RFC 4180: CRLF at the end, a field with a comma, a quote or
 * a line break (a lone \n or \r too) quoted with its quotes doubled, null as an empty field. Text
 * cells are neutralized (always quoted then); numbers and the cost (a decimal, so a credit stays
 * a negative number) are not. Written by hand rather than through a generic CSV library, which
 * cost several microseconds per row: exports run to millions of rows.
 */
export function csvLine(cells: readonly Cell[]): string {
  let line = '';
  for (let column = 0; column < cells.length; column++) {
    const cell = cells[column]!;
    if (column > 0) line += ',';
    if (cell === null || cell === '') continue;
    if (typeof cell === 'number') {
      line += String(cell);
      continue;
    }
    const safe = column === COST_COLUMN ? cell : neutralizeFormula(cell);
    if (typeof safe !== 'string') line += quoted(safe.value);
    else line += NEEDS_QUOTES.test(safe) ? quoted(safe) : safe;
  }
  return `${line}\r\n`;
}
