/**
 * Item 3: SDK ingest over HTTP on loopback. autocannon posts a bounded number of batches of 500
 * distinct events (so every one is stored, none a duplicate) to a `llmeter serve` process holding
 * a year of usage, then the benchmark checks that every event was stored and that the scrape's
 * per-customer families grew by exactly the ingested requests (the rollups are current).
 */
import autocannon from 'autocannon';
import { newEventId } from '../../sdk/event-id.js';
import { INGEST_PATH } from '../../sdk/wire.js';
import { ensureDataset, workCopy } from '../datasets.js';
import { httpOk, startServe, TOKENS } from '../server.js';
import { currentLoad, round } from '../stats.js';

export interface IngestResult {
  dataset: string;
  rows: number;
  batchSize: number;
  batches: number;
  connections: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  /** Per batch, as autocannon saw it. */
  latencyMs: { p50: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  /** The scrape's llmeter_customer_requests_total grew by exactly the events sent. */
  rollupCurrent: boolean;
  load: number;
}

const MODELS = [
  { provider: 'openai', model: 'gpt-4o-mini' },
  { provider: 'openai', model: 'gpt-4o' },
  { provider: 'anthropic', model: 'claude-sonnet-4-20250514' },
  { provider: 'anthropic', model: 'claude-3-5-haiku-20241022' },
  { provider: 'openrouter', model: 'openai/gpt-4.1' },
  { provider: 'openrouter', model: 'anthropic/claude-sonnet-4' },
];
const FEATURES = ['chat', 'search', 'summarize', 'classify'];

/** One batch body: `size` SDK events of the last hour, as the SDK sends them. */
export function batchBody(size: number, nowMs: number): Buffer {
  const events = [];
  for (let i = 0; i < size; i++) {
    const target = MODELS[Math.floor(Math.random() * MODELS.length)]!;
    const inputTokens = 50 + Math.floor(Math.random() * 20_000);
    events.push({
      id: newEventId(),
      provider: target.provider,
      model: target.model,
      inputTokens,
      cachedInputTokens: Math.floor(inputTokens * Math.random() * 0.5),
      outputTokens: Math.floor(Math.random() * 2_000),
      latencyMs: 200 + Math.floor(Math.random() * 5_000),
      status: Math.random() < 0.02 ? 429 : 200,
      customerId: `customer-${Math.floor(Math.random() * Math.random() * 2_000)}`,
      feature: FEATURES[i % FEATURES.length],
      timestamp: new Date(nowMs - Math.floor(Math.random() * 3_600_000)).toISOString(),
    });
  }
  return Buffer.from(JSON.stringify({ events }));
}

/** Sum of a family's samples in exposition text. */
function familySum(text: string, family: string): number {
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${family}\\{[^}]*\\} (\\S+)$`, 'gm'))) sum += Number(match[1]);
  return sum;
}

export async function benchIngest(size: string, options: { batches: number; batchSize: number; connections: number; log: (line: string) => void }): Promise<IngestResult> {
  const { dir, info } = ensureDataset(size, options.log);
  const server = await startServe(workCopy(dir, `ingest-${size}`));
  try {
    const metricsUrl = `${server.url}/api/v1/metrics`;
    const before = familySum(await httpOk(metricsUrl, { token: TOKENS.metrics }), 'llmeter_customer_requests_total');
    const nowMs = Date.now();
    const bodies = Array.from({ length: options.batches }, () => batchBody(options.batchSize, nowMs));
    let next = 0;
    const load = currentLoad();
    const run = autocannon({
      url: server.url,
      connections: options.connections,
      amount: options.batches,
      timeout: 60,
      requests: [
        {
          method: 'POST',
          path: INGEST_PATH,
          headers: { authorization: `Bearer ${TOKENS.ingest}`, 'content-type': 'application/json' },
          setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length]! }),
        },
      ],
    });
    // Timed to the last answer: autocannon's own duration runs on to its next one-second sample
    // (a run of 9.2 s read as 10 s), which understated the rate by up to a second's worth.
    const startedAt = performance.now();
    let lastAnswerAt = startedAt;
    run.on('response', () => {
      lastAnswerAt = performance.now();
    });
    const result = await run;
    const events = result['2xx'] * options.batchSize;
    const after = familySum(await httpOk(metricsUrl, { token: TOKENS.metrics }), 'llmeter_customer_requests_total');
    const seconds = (lastAnswerAt - startedAt) / 1000;
    const entry: IngestResult = {
      dataset: size,
      rows: info.rows,
      batchSize: options.batchSize,
      batches: options.batches,
      connections: options.connections,
      events,
      seconds: round(seconds, 2),
      eventsPerSecond: Math.round(events / seconds),
      latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      rollupCurrent: after - before === events,
      load,
    };
    options.log(`  ingest into ${size}: ${entry.eventsPerSecond.toLocaleString('en-US')} events/s (${events} events in ${entry.seconds} s), batch p50 ${entry.latencyMs.p50} ms, p99 ${entry.latencyMs.p99} ms; non-2xx ${entry.non2xx}; rollup current: ${entry.rollupCurrent}`);
    return entry;
  } finally {
    await server.stop();
  }
}
