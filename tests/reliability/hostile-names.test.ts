/**
 * Model, project and customer names that are formulas, quotes, backslashes, newlines, markup, very
 * long or not valid UTF-8 (a lone surrogate), arriving the way they would: from a provider's billing
 * API through `llmeter poll`, and from the SDK through the ingest route. Then, from a real
 * `llmeter serve`: the metrics (0.0.4 and OpenMetrics) pass `promtool check metrics` and give the
 * names back exactly; `llmeter export --format csv` neutralizes the formulas; the JSON API hands
 * them out as JSON strings (the dashboard renders them as text, never markup).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDERS } from '../../shared/providers.js';
import { generateTruth, startProviderFake, type FakeTruth, type ProviderFake } from '../fakes/providers.js';
import { runLlmeter, startLlmeter, type ServeProcess } from '../support/cli.js';
import { csvObjects } from '../support/csv.js';
import { parseSamples } from '../support/prom-text.js';
import { tempDir } from '../support/temp.js';
import { TOOLS, toolAvailable } from '../support/tools.js';
import { expectStoredEqualsTruth, llmeterEnv, METRICS_TOKEN, openRaw, postIngest, sdkEvents, UI_TOKEN, withoutLogLines } from './support.js';

const NOW = Math.floor(Date.now() / 1000);

/** Names from a provider: anything a JSON string can carry (commas aside: OpenAI's line items are "<model>, input"). */
const PROVIDER_NAMES = [
  // The four models:
  '=HYPERLINK("http://evil.example";"click")',
  'new\nline\r\nand\ttab',
  `long-${'x'.repeat(5000)}`,
  'lone\uD800surrogate',
  // The projects:
  'quote"back\\slash\\"end',
  '+cmd|" /C calc"!A0',
  '@SUM(A1:A9)',
  '<img src=x onerror=alert(1)>',
];
/** Names from the SDK: its own limits apply (no control characters, at most 200 / 256 characters). */
const SDK_MODELS = ['=1+1', 'sdk"quote\\back', '<script>alert(1)</script>', `m${'y'.repeat(199)}`, 'sdk\uDC00lone'];
const SDK_CUSTOMERS = ['-2+3', 'cust"\\omer', '<b>bold</b>', 'ü'.repeat(256), 'c\uD800'];

/** What a name looks like once stored: a lone surrogate is not text, and becomes U+FFFD. */
const asStored = (name: string): string => Buffer.from(name, 'utf8').toString('utf8');

/** OpenAI's truth with its models (usage and cost lines) and projects renamed to hostile names. */
function hostileTruth(): FakeTruth {
  const truth = generateTruth({ days: 5, models: 4, seed: 41, now: NOW });
  const models = new Map<string, string>();
  const rename = (model: string): string => {
    if (!models.has(model)) models.set(model, PROVIDER_NAMES[models.size % PROVIDER_NAMES.length]!);
    return models.get(model)!;
  };
  for (const day of truth.openai) {
    for (const usage of day.usage) {
      usage.model = rename(usage.model);
      if (usage.project) usage.project = PROVIDER_NAMES[(PROVIDER_NAMES.indexOf(usage.model) + 4) % PROVIDER_NAMES.length]!;
    }
    for (const cost of day.costs) {
      if (cost.model === null) continue;
      const model = rename(cost.model);
      cost.lineItem = cost.lineItem.replace(cost.model, model);
      cost.model = model;
    }
  }
  return truth;
}

let fake: ProviderFake;
let serve: ServeProcess;
const dataDir = tempDir('llmeter-names-', 'suite');

beforeAll(async () => {
  fake = await startProviderFake({ truth: hostileTruth(), now: NOW });
  const env = llmeterEnv(dataDir, null, { [PROVIDERS.openai.keyEnv]: 'sk-admin-FAKEopenaiADMINkey0000000001', [PROVIDERS.openai.baseUrlEnv]: fake.baseUrl('openai') });
  const poll = await runLlmeter(['poll'], { env });
  expect(withoutLogLines(poll.stderr)).toEqual([]);
  expect(poll.status).toBe(0);
  serve = await startLlmeter(['serve', '--port', '0'], env);
  // Anthropic has no billing key here, so its SDK events count in every view.
  const events = SDK_MODELS.flatMap((model, i) => sdkEvents(3, { startSec: NOW - 7200, provider: 'anthropic', model, customerId: SDK_CUSTOMERS[i] }));
  const ingest = await postIngest(serve.url, events);
  expect(ingest.status, ingest.text).toBe(200);
});
afterAll(async () => {
  await serve?.stop();
  await fake?.close();
});

async function scrape(accept?: string): Promise<string> {
  const res = await fetch(`${serve.url}/api/v1/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}`, ...(accept ? { Accept: accept } : {}) } });
  expect(res.status).toBe(200);
  return res.text();
}

describe('hostile names end to end', () => {
  it('are stored exactly as the provider sent them (a lone surrogate as U+FFFD), and total exactly', () => {
    const db = openRaw(dataDir);
    try {
      const models = db.prepare("SELECT DISTINCT model FROM usage WHERE provider = 'openai' AND source = 'usage'").pluck().all() as string[];
      expect(models.sort()).toEqual(PROVIDER_NAMES.slice(0, 4).map(asStored).sort());
      expectStoredEqualsTruth(db, JSON.parse(JSON.stringify(fake.truth).replace(/\\ud800/gi, '\uFFFD')) as FakeTruth, ['openai']);
    } finally {
      db.close();
    }
  });

  it.runIf(toolAvailable(TOOLS.promtool))('the metrics pass `promtool check metrics` (it reads the 0.0.4 text format)', async () => {
    const check = spawnSync('promtool', ['check', 'metrics'], { input: await scrape(), encoding: 'utf8' });
    expect({ status: check.status, out: check.stdout + check.stderr }).toEqual({ status: 0, out: '' });
  });

  it('metrics labels give every name back exactly, one sample line per series, in both formats', async () => {
    const openMetrics = await scrape('application/openmetrics-text; version=1.0.0');
    expect(openMetrics.endsWith('# EOF\n')).toBe(true);
    expect(parseSamples(openMetrics.replace(/# EOF\n$/, '')).length).toBeGreaterThan(20);
    const text = await scrape();
    // An unescaped newline or quote would break a sample over two lines or end a label early.
    for (const line of text.split('\n')) expect(line === '' || line.startsWith('#') || /^[a-z_:]+(\{[^\n]*\})? \S+$/.test(line), line.slice(0, 200)).toBe(true);
    const samples = parseSamples(text);
    const labelled = (name: string, label: string) => new Set(samples.filter((s) => s.name === name).map((s) => s.labels[label]));
    for (const name of [...PROVIDER_NAMES.slice(0, 4), ...SDK_MODELS]) expect(labelled('llmeter_input_tokens_total', 'model').has(asStored(name)), name.slice(0, 40)).toBe(true);
    const customers = new Set(samples.filter((s) => s.labels['customer_id'] !== undefined).map((s) => s.labels['customer_id']));
    for (const customer of SDK_CUSTOMERS) expect(customers.has(asStored(customer)), customer.slice(0, 40)).toBe(true);
  });

  it('the CSV export neutralizes every formula-like text cell and keeps the others exact', async () => {
    const result = await runLlmeter(['export', '--format', 'csv', '--provider', 'openai'], { env: llmeterEnv(dataDir, null) });
    expect(result.status, result.stderr).toBe(0);
    const rows = csvObjects(result.stdout);
    expect(rows.length).toBeGreaterThan(20);
    for (const row of rows) {
      for (const column of ['model', 'project', 'line_item'] as const) {
        const cell = row[column]!;
        expect(/^[=+\-@\t\r]/.test(cell), `${column}: ${cell.slice(0, 60)}`).toBe(false);
      }
    }
    const models = new Set(rows.map((r) => r['model']));
    expect(models.has(`'${PROVIDER_NAMES[0]}`)).toBe(true);
    for (const name of PROVIDER_NAMES.slice(1, 4)) expect(models.has(asStored(name)), name.slice(0, 40)).toBe(true);
    const projects = new Set(rows.map((r) => r['project']));
    expect(projects.has(PROVIDER_NAMES[4])).toBe(true);
    expect(projects.has(`'${PROVIDER_NAMES[5]}`)).toBe(true);
    expect(projects.has(`'${PROVIDER_NAMES[6]}`)).toBe(true);
    expect(projects.has(PROVIDER_NAMES[7])).toBe(true);
  });

  it('the dashboard’s JSON API returns the names as JSON strings, never as markup', async () => {
    const res = await fetch(`${serve.url}/api/v1/ui/getTopModels`, { method: 'POST', headers: { Authorization: `Bearer ${UI_TOKEN}`, 'Content-Type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const models = ((await res.json()) as Array<{ model: string }>).map((m) => m.model);
    for (const name of [...PROVIDER_NAMES.slice(0, 4), ...SDK_MODELS]) expect(models, name.slice(0, 40)).toContain(asStored(name));
  });
});
