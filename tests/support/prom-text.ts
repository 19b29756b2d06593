/** One sample of Prometheus text exposition: name, labels, value as printed. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: string;
}

// `s`: a label value may hold a raw carriage return (only \\, " and line feed are escaped).
const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/s;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the samples of a 0.0.4 / OpenMetrics text body (comments skipped, label values unescaped). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = raw!.replace(/\\(n|\\|")/g, (_m, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: match[1]!, labels, value: match[3]! });
  }
  return samples;
}

/** The value of the sample with this name and exactly these labels, or undefined. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string>): string | undefined {
  return samples.find((s) => s.name === name && Object.keys(labels).length === Object.keys(s.labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
