/**
 * A strict RFC 4180 reader for tests: records end with CRLF, fields are bare or wrapped in double
 * quotes with quotes doubled inside. Written independently of csv-stringify so that tests check
 * the exporter's output against the RFC, not against the library's own idea of it. Throws on
 * anything the RFC does not allow (a stray quote, a bare CR or LF outside quotes, a missing final CRLF).
 */
export function parseRfc4180(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`not RFC 4180 at offset ${i}: ${what} (${JSON.stringify(text.slice(Math.max(0, i - 20), i + 20))})`);
  };
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) fail('unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
        if (text[i] === '"') fail('quote inside a bare field');
        field += text[i++];
      }
    }
    record.push(field);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '\r' && text[i + 1] === '\n') {
      i += 2;
      records.push(record);
      record = [];
      continue;
    }
    fail(i >= text.length ? 'missing CRLF after the last record' : 'expected a comma or CRLF after a field');
  }
  return records;
}

/** Records as objects keyed by the header row. */
export function csvObjects(text: string): Array<Record<string, string>> {
  const [header, ...rows] = parseRfc4180(text);
  if (!header) throw new Error('no header row');
  return rows.map((row) => {
    if (row.length !== header.length) throw new Error(`record has ${row.length} fields, header has ${header.length}`);
    return Object.fromEntries(header.map((name, index) => [name, row[index]!]));
  });
}
