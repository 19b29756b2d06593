/**
 * Issue 9 as a user lives it: the real `openai` and `@anthropic-ai/sdk` clients, pointed at a
 * loopback fake of the model APIs, wrapped by the SDK and called plain and streaming with a
 * customer id; a real startCore receives the events; the metrics show the attribution. The provider
 * never sees LLMeter's fields, the caller gets exactly what the unwrapped client gives (errors
 * included), a retried batch counts once, and with the app down the calls succeed as fast as ever.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCore, type CoreApp } from '../../core/app.js';
import { resolveConfig } from '../../core/config.js';
import { silentLogger } from '../../core/log.js';
import { estimateCostNano, type TokenCounts } from '../../core/pricing/estimate.js';
import { formatNanoAsDecimal, parseAmountToNano } from '../../shared/money.js';
import { attribution, LLMeter, wrapAnthropic, wrapOpenAI, type WireEvent } from '../../sdk/index.js';
import { FAKE_USAGE, startLlmApiFake, type LlmApiFake } from '../fakes/llm-apis.js';
import { folded } from '../support/customer-rollups.js';
import { parseSamples, sampleValue, type Sample } from '../support/prom-text.js';
import { tempDir } from '../support/temp.js';

const INGEST_TOKEN = 'test-ingest-token-0123456789';
const METRICS_TOKEN = 'test-metrics-token-0123456789';
const PROMPT = 'Say hello to the meter';
const messages = [{ role: 'user' as const, content: PROMPT }];

// What the fake answers, in LLMeter's terms (input includes cache reads and writes).
const CHAT: TokenCounts = { inputTokens: FAKE_USAGE.chat.prompt, cachedInputTokens: FAKE_USAGE.chat.cached, cacheWriteTokens: 0, outputTokens: FAKE_USAGE.chat.completion };
const RESPONSES: TokenCounts = { inputTokens: FAKE_USAGE.responses.input, cachedInputTokens: FAKE_USAGE.responses.cached, cacheWriteTokens: 0, outputTokens: FAKE_USAGE.responses.output };
const u = FAKE_USAGE.messages;
const MESSAGES: TokenCounts = { inputTokens: u.input + u.cacheRead + u.cacheWrite, cachedInputTokens: u.cacheRead, cacheWriteTokens: u.cacheWrite, outputTokens: u.output };
const OPENAI_MODEL = 'gpt-4o-mini-2024-07-18';
const ANTHROPIC_MODEL = 'claude-sonnet-4-5';

let fake: LlmApiFake;
let core: CoreApp;
let env: NodeJS.ProcessEnv;
const dataDir = tempDir('llmeter-sdk-', 'suite');

const openaiClient = (): OpenAI => new OpenAI({ apiKey: 'sk-test-not-a-real-key', baseURL: `${fake.origin}/v1`, maxRetries: 0 });
const anthropicClient = (): Anthropic => new Anthropic({ apiKey: 'sk-ant-test-not-a-real-key', baseURL: fake.origin, maxRetries: 0 });
const meter = (options: ConstructorParameters<typeof LLMeter>[0] = {}): LLMeter =>
  new LLMeter({ apiKey: INGEST_TOKEN, baseUrl: `http://127.0.0.1:${(recorder.address() as AddressInfo).port}/api/v1/ingest`, flushInterval: 0, silent: true, ...options });

/**
 * Every event the app accepted (answered 200), as the SDK sent it. The app keeps hourly sums per
 * customer and feature, not events, so what each wrapped call reported is checked on the way in.
 */
const accepted: WireEvent[] = [];
let recorder: Server;

/** A loopback proxy in front of the app that records the events of each accepted batch. */
function startRecorder(): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = new URL(core.server.url);
      const forward = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } }, (upstream) => {
        const reply: Buffer[] = [];
        upstream.on('data', (c: Buffer) => reply.push(c));
        upstream.on('end', () => {
          if (upstream.statusCode === 200) accepted.push(...(JSON.parse(body.toString('utf8')) as { events: WireEvent[] }).events);
          res.writeHead(upstream.statusCode ?? 502, upstream.headers).end(Buffer.concat(reply));
        });
      });
      forward.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Every chunk a stream yields, as JSON text, so that wrapped and unwrapped runs compare exactly. */
async function drain(stream: AsyncIterable<unknown>): Promise<string[]> {
  const seen: string[] = [];
  for await (const event of stream) seen.push(JSON.stringify(event));
  return seen;
}

async function scrape(query = ''): Promise<Sample[]> {
  const res = await fetch(`${core.server.url}/api/v1/metrics${query}`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  return parseSamples(await res.text());
}

const nano = (samples: Sample[], name: string, labels: Record<string, string>): bigint | undefined => {
  const value = sampleValue(samples, name, labels);
  return value === undefined ? undefined : parseAmountToNano(value)!;
};
const price = (provider: 'openai' | 'anthropic', model: string, tokens: TokenCounts, times = 1): bigint => estimateCostNano(provider, model, tokens, new Date())! * BigInt(times);
const eventsOf = (customer: string): Array<{ status: number; input_tokens: number; output_tokens: number; model: string; feature: string }> =>
  accepted
    .filter((e) => e.customerId === customer)
    .map((e) => ({ status: e.status, input_tokens: e.inputTokens, output_tokens: e.outputTokens, model: e.model, feature: e.feature ?? '' }))
    .sort((a, b) => b.status - a.status);
/** Requests of a customer as the app stored them. */
const storedRequests = (customer: string): number => folded(core.db).prepare('SELECT COALESCE(SUM(requests), 0) FROM sdk_usage_hourly WHERE customer_id = ?').pluck().get(customer) as number;

beforeAll(async () => {
  fake = await startLlmApiFake();
  env = {
    LLMETER_INGEST_TOKEN: INGEST_TOKEN,
    LLMETER_METRICS_TOKEN: METRICS_TOKEN,
    LLMETER_UI_TOKEN: 'test-ui-token-0123456789',
    // Nothing listens there: a key configured later is polled by nobody that answers.
    LLMETER_ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
  };
  core = await startCore({ config: resolveConfig(env, { dataDir, port: 0 }), env, log: silentLogger, secretStore: null });
  recorder = await startRecorder();
});

afterAll(async () => {
  await new Promise<void>((resolve) => (recorder ? recorder.close(() => resolve()) : resolve()));
  await core?.close();
  await fake?.close();
});

describe('SDK tracking into the local app', () => {
  it('plain and streaming calls of both clients reach the app with their customer, and the provider never sees LLMeter fields', async () => {
    const llmeter = meter();
    const openai = wrapOpenAI(openaiClient(), llmeter);
    const anthropic = wrapAnthropic(anthropicClient(), llmeter);

    const completion = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, ...attribution({ customerId: 'acme', feature: 'chat' }) });
    expect(completion.choices[0]!.message.content).toBe('Hello there');
    await drain(await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, { ...attribution({ customerId: 'acme', feature: 'chat' }) }));
    const response = await openai.responses.create({ model: 'gpt-4o-mini', input: PROMPT, ...attribution({ customerId: 'globex' }) });
    expect(response.output_text).toBe('Hello there');
    await drain(await openai.responses.create({ model: 'gpt-4o-mini', input: PROMPT, stream: true }, attribution({ customerId: 'globex' })));
    const message = await anthropic.messages.create({ model: ANTHROPIC_MODEL, max_tokens: 64, messages, ...attribution({ customerId: 'globex', feature: 'summary' }) });
    expect(message.content[0]).toEqual({ type: 'text', text: 'Hello there' });
    await drain(await anthropic.messages.create({ model: ANTHROPIC_MODEL, max_tokens: 64, messages, stream: true }, attribution({ customerId: 'initech' })));
    const final = await anthropic.messages.stream({ model: ANTHROPIC_MODEL, max_tokens: 64, messages, ...attribution({ customerId: 'initech' }) }).finalMessage();
    expect(final.usage.output_tokens).toBe(u.output);
    await llmeter.shutdown();
    expect(llmeter.stats()).toEqual({ queued: 0, sent: 7, dropped: 0, rejected: 0, invalid: 0 });

    expect(fake.requests).toHaveLength(7);
    for (const request of fake.requests) {
      expect(request.rawBody).not.toMatch(/llmeter/i);
      expect(JSON.stringify(request.headers)).not.toMatch(/llmeter/i);
    }
    expect(eventsOf('acme').map((e) => e.feature)).toEqual(['chat', 'chat']);

    const samples = await scrape();
    const acme = { provider: 'openai', model: OPENAI_MODEL, customer_id: 'acme' };
    expect(sampleValue(samples, 'llmeter_customer_requests_total', acme)).toBe('2');
    expect(sampleValue(samples, 'llmeter_customer_input_tokens_total', acme)).toBe(String(2 * CHAT.inputTokens));
    expect(sampleValue(samples, 'llmeter_customer_output_tokens_total', acme)).toBe(String(2 * CHAT.outputTokens));
    expect(nano(samples, 'llmeter_customer_cost_usd', acme)).toBe(price('openai', OPENAI_MODEL, CHAT, 2));
    const globexOpenAI = { provider: 'openai', model: OPENAI_MODEL, customer_id: 'globex' };
    expect(sampleValue(samples, 'llmeter_customer_requests_total', globexOpenAI)).toBe('2');
    expect(sampleValue(samples, 'llmeter_customer_input_tokens_total', globexOpenAI)).toBe(String(2 * RESPONSES.inputTokens));
    expect(nano(samples, 'llmeter_customer_cost_usd', globexOpenAI)).toBe(price('openai', OPENAI_MODEL, RESPONSES, 2));
    const globexAnthropic = { provider: 'anthropic', model: ANTHROPIC_MODEL, customer_id: 'globex' };
    expect(sampleValue(samples, 'llmeter_customer_input_tokens_total', globexAnthropic)).toBe(String(MESSAGES.inputTokens));
    expect(nano(samples, 'llmeter_customer_cost_usd', globexAnthropic)).toBe(price('anthropic', ANTHROPIC_MODEL, MESSAGES));
    const initech = { provider: 'anthropic', model: ANTHROPIC_MODEL, customer_id: 'initech' };
    expect(sampleValue(samples, 'llmeter_customer_requests_total', initech)).toBe('2');
    expect(sampleValue(samples, 'llmeter_customer_output_tokens_total', initech)).toBe(String(2 * MESSAGES.outputTokens));

    // No billing key is configured: the SDK's estimates are the spend of the four main families.
    expect(nano(samples, 'llmeter_cost_usd', { provider: 'anthropic', model: ANTHROPIC_MODEL })).toBe(price('anthropic', ANTHROPIC_MODEL, MESSAGES, 3));
    expect(sampleValue(samples, 'llmeter_requests_total', { provider: 'openai', model: OPENAI_MODEL })).toBe('4');
    expect(sampleValue(samples, 'llmeter_input_tokens_total', { provider: 'openai', model: OPENAI_MODEL })).toBe(String(2 * CHAT.inputTokens + 2 * RESPONSES.inputTokens));

    // The dashboard's customer view: top customers by (estimated) cost.
    const customers = await core.api.getCustomers({ limit: 10 });
    expect(customers.map((c) => c.customerId)).toEqual(['initech', 'globex', 'acme']);
    expect(customers[2]).toEqual({ customerId: 'acme', costUsd: formatNanoAsDecimal(price('openai', OPENAI_MODEL, CHAT, 2)), requests: 2, inputTokens: 2 * CHAT.inputTokens, outputTokens: 2 * CHAT.outputTokens });
  });

  it('the caller receives exactly what the unwrapped client gives, streams included', async () => {
    const llmeter = meter();
    const plain = { openai: openaiClient(), anthropic: anthropicClient() };
    const wrapped = { openai: wrapOpenAI(openaiClient(), llmeter), anthropic: wrapAnthropic(anthropicClient(), llmeter) };
    const chatStream = { model: 'gpt-4o-mini', messages, stream: true } as const;

    // LLMeter asks for usage the caller did not; the extra chunk and its `usage: null` fields stay hidden.
    expect(await drain(await wrapped.openai.chat.completions.create(chatStream, attribution({ customerId: 'same' })))).toEqual(await drain(await plain.openai.chat.completions.create(chatStream)));
    expect(fake.requests.at(-2)!.body.stream_options).toEqual({ include_usage: true });
    expect(fake.requests.at(-1)!.body.stream_options).toBeUndefined();
    const withUsage = { ...chatStream, stream_options: { include_usage: true } };
    const shown = await drain(await wrapped.openai.chat.completions.create(withUsage, attribution({ customerId: 'same' })));
    expect(shown).toEqual(await drain(await plain.openai.chat.completions.create(withUsage)));
    expect(JSON.parse(shown.at(-1)!).usage.prompt_tokens).toBe(CHAT.inputTokens);
    // tee() reads through the same iterator as for-await, so both halves are what the plain client gives.
    const [left, right] = (await wrapped.openai.chat.completions.create(chatStream)).tee();
    const plainChunks = await drain(await plain.openai.chat.completions.create(chatStream));
    expect(await drain(left)).toEqual(plainChunks);
    expect(await drain(right)).toEqual(plainChunks);

    const responsesStream = { model: 'gpt-4o-mini', input: PROMPT, stream: true } as const;
    expect(await drain(await wrapped.openai.responses.create(responsesStream))).toEqual(await drain(await plain.openai.responses.create(responsesStream)));
    const messagesStream = { model: ANTHROPIC_MODEL, max_tokens: 64, messages, stream: true } as const;
    expect(await drain(await wrapped.anthropic.messages.create(messagesStream))).toEqual(await drain(await plain.anthropic.messages.create(messagesStream)));

    // The SDKs' own promise helpers still work on a wrapped call.
    const body = { model: 'gpt-4o-mini', messages };
    const { data, response, request_id } = await wrapped.openai.chat.completions.create(body).withResponse();
    expect(JSON.stringify(data)).toBe(JSON.stringify(await plain.openai.chat.completions.create(body)));
    expect(response.status).toBe(200);
    expect(request_id).toBe('req_fake');
    const parsed = await wrapped.openai.chat.completions.parse(body);
    expect(parsed.choices[0]!.message.parsed).toBeNull();
    // The SDKs' stream helpers call create() through the wrapped client, so they are tracked too.
    const helped = await wrapped.openai.chat.completions.stream({ ...body, ...attribution({ customerId: 'helper' }) }).finalChatCompletion();
    expect(helped.choices[0]!.message.content).toBe('Hello there');
    const helpedResponse = await wrapped.openai.responses.stream({ model: 'gpt-4o-mini', input: PROMPT, ...attribution({ customerId: 'helper' }) }).finalResponse();
    expect(helpedResponse.usage?.output_tokens).toBe(RESPONSES.outputTokens);

    await llmeter.shutdown();
    // Every wrapped request above was tracked once: 2 chat streams, the tee'd one, responses, messages,
    // withResponse(), parse() and the two stream helpers.
    expect(llmeter.stats().sent).toBe(9);
    expect(eventsOf('helper').map((e) => [e.input_tokens, e.output_tokens])).toEqual(
      expect.arrayContaining([
        [CHAT.inputTokens, CHAT.outputTokens],
        [RESPONSES.inputTokens, RESPONSES.outputTokens],
      ]),
    );
    expect(fake.requests.filter((r) => r.rawBody.includes('llmeter'))).toEqual([]);
  });

  it('errors are recorded with their status and reach the caller untouched', async () => {
    const llmeter = meter();
    const openai = wrapOpenAI(openaiClient(), llmeter);
    const anthropic = wrapAnthropic(anthropicClient(), llmeter);

    fake.fail('/v1/chat/completions', 429);
    const rejected = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages }, attribution({ customerId: 'err' })).catch((err: unknown) => err);
    expect(rejected).toBeInstanceOf(OpenAI.RateLimitError);
    expect((rejected as InstanceType<typeof OpenAI.RateLimitError>).status).toBe(429);
    expect((rejected as Error).message).toContain('Fake error 429');

    fake.fail('/v1/messages', 529);
    const overloaded = await anthropic.messages.create({ model: ANTHROPIC_MODEL, max_tokens: 64, messages }, attribution({ customerId: 'err' })).catch((err: unknown) => err);
    expect(overloaded).toBeInstanceOf(Anthropic.APIError);
    expect((overloaded as InstanceType<typeof Anthropic.APIError>).status).toBe(529);

    // An error inside a stream: the caller's loop throws the SDK's own error; the input read so far is kept.
    fake.breakNextStream('/v1/messages');
    const stream = await anthropic.messages.create({ model: ANTHROPIC_MODEL, max_tokens: 64, messages, stream: true }, attribution({ customerId: 'err' }));
    const broken = await drain(stream).catch((err: unknown) => err);
    expect(broken).toBeInstanceOf(Anthropic.APIError);
    expect((broken as Error).message).toContain('Overloaded');

    // A caller that stops reading early: recorded as closed by the client.
    const early = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, attribution({ customerId: 'early' }));
    for await (const chunk of early) if (chunk.choices[0]?.delta.content === 'Hello') break;

    await llmeter.shutdown();
    expect(eventsOf('err')).toEqual([
      { status: 529, input_tokens: 0, output_tokens: 0, model: ANTHROPIC_MODEL, feature: '' },
      { status: 429, input_tokens: 0, output_tokens: 0, model: 'gpt-4o-mini', feature: '' },
      { status: 0, input_tokens: MESSAGES.inputTokens, output_tokens: 1, model: ANTHROPIC_MODEL, feature: '' },
    ]);
    expect(eventsOf('early').map((e) => e.status)).toEqual([499]);
  });

  it('SDK spend counts in the main families only for providers without a billing key; attribution always', async () => {
    const before = await scrape();
    const anthropicSeries = { provider: 'anthropic', model: ANTHROPIC_MODEL };
    const sdkAnthropicCost = nano(before, 'llmeter_cost_usd', anthropicSeries)!;
    expect(sdkAnthropicCost).toBeGreaterThan(0n);
    const globex = { ...anthropicSeries, customer_id: 'globex' };
    const globexCost = nano(before, 'llmeter_customer_cost_usd', globex);

    env.LLMETER_ANTHROPIC_ADMIN_KEY = 'sk-ant-admin01-test-key-0123456789';
    await core.reloadCredentials();
    const keyed = await scrape();
    // Billing is the truth for Anthropic now: none of its SDK rows count, cost or tokens.
    for (const family of ['llmeter_cost_usd', 'llmeter_input_tokens_total', 'llmeter_output_tokens_total', 'llmeter_requests_total']) {
      expect(sampleValue(keyed, family, anthropicSeries), family).toBeUndefined();
    }
    expect(sampleValue(keyed, 'llmeter_requests_total', { provider: 'openai', model: OPENAI_MODEL })).toBe(sampleValue(before, 'llmeter_requests_total', { provider: 'openai', model: OPENAI_MODEL }));
    expect(nano(keyed, 'llmeter_customer_cost_usd', globex)).toBe(globexCost);
    // The dashboard counts as the metrics do.
    const overview = await core.api.getOverview();
    const anthropicToday = overview.providers.find((p) => p.provider === 'anthropic')!.today;
    expect(anthropicToday.totalUsd).toBe('0');

    // A batch arriving while the key is configured is stored superseded at once.
    const llmeter = meter();
    llmeter.track({ provider: 'anthropic', model: ANTHROPIC_MODEL, inputTokens: 10, outputTokens: 5, customerId: 'globex' });
    await llmeter.shutdown();
    expect(sampleValue(await scrape(), 'llmeter_cost_usd', anthropicSeries)).toBeUndefined();

    delete env.LLMETER_ANTHROPIC_ADMIN_KEY;
    await core.reloadCredentials();
    const extra = price('anthropic', ANTHROPIC_MODEL, { inputTokens: 10, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 5 });
    expect(nano(await scrape(), 'llmeter_cost_usd', anthropicSeries)).toBe(sdkAnthropicCost + extra);
    expect((await core.api.getOverview()).providers.find((p) => p.provider === 'anthropic')!.today.estimatedUsd).toBe(formatNanoAsDecimal(sdkAnthropicCost + extra));
  });

  it('a retried batch is counted once, and a batch carries counts and labels only', async () => {
    const posted: string[] = [];
    let answered = 0;
    // The app stores the first attempt, but its answer is lost (503 instead): the SDK sends the batch again.
    const proxy: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        posted.push(body.toString('utf8'));
        const target = new URL(core.server.url);
        const forward = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: 'POST', headers: { ...req.headers, host: target.host } }, (upstream) => {
          const reply: Buffer[] = [];
          upstream.on('data', (c: Buffer) => reply.push(c));
          upstream.on('end', () => {
            if (answered++ === 0) res.writeHead(503).end('lost');
            else res.writeHead(upstream.statusCode ?? 502, upstream.headers).end(Buffer.concat(reply));
          });
        });
        forward.end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const llmeter = meter({ baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/api/v1/ingest`, maxRetries: 2 });
      const openai = wrapOpenAI(openaiClient(), llmeter);
      await openai.chat.completions.create({ model: 'gpt-4o-mini', messages }, attribution({ customerId: 'retried', feature: 'search' }));
      await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, attribution({ customerId: 'retried' })).then(drain);
      await llmeter.shutdown();
      expect(llmeter.stats()).toMatchObject({ sent: 2, queued: 0 });
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
    expect(posted).toHaveLength(2);
    expect(posted[1]).toBe(posted[0]);
    expect(storedRequests('retried')).toBe(2);
    expect(sampleValue(await scrape(), 'llmeter_customer_requests_total', { provider: 'openai', model: OPENAI_MODEL, customer_id: 'retried' })).toBe('2');

    const batch = JSON.parse(posted[0]!) as { events: WireEvent[] };
    expect(Object.keys(batch)).toEqual(['events']);
    const allowed = ['id', 'provider', 'model', 'inputTokens', 'cachedInputTokens', 'cacheWriteTokens', 'outputTokens', 'latencyMs', 'status', 'customerId', 'feature', 'timestamp'];
    for (const event of batch.events) for (const key of Object.keys(event)) expect(allowed).toContain(key);
    expect(posted[0]).not.toContain(PROMPT);
    expect(posted[0]).not.toContain('Hello');
  });

  it('with the app down, wrapped calls succeed and take no longer; the queue keeps only the newest events', async () => {
    const down = createServer();
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(down.address() as AddressInfo).port}/api/v1/ingest`;
    await new Promise<void>((resolve) => down.close(() => resolve()));

    const llmeter = meter({ baseUrl: deadUrl, batchSize: 1, maxRetries: 1, maxQueueSize: 3 });
    const plain = openaiClient();
    const wrapped = wrapOpenAI(openaiClient(), llmeter);
    const body = { model: 'gpt-4o-mini', messages };
    const timings = { plain: [] as number[], wrapped: [] as number[] };
    // Interleaved, so that the machine's load weighs on both alike.
    for (let i = 0; i < 30; i++) {
      let started = performance.now();
      await plain.chat.completions.create(body);
      timings.plain.push(performance.now() - started);
      started = performance.now();
      const result = await wrapped.chat.completions.create(body, attribution({ customerId: `down-${i}` }));
      timings.wrapped.push(performance.now() - started);
      expect(result.choices[0]!.message.content).toBe('Hello there');
    }
    const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    console.log(`app down: median call ${median(timings.plain).toFixed(2)} ms unwrapped, ${median(timings.wrapped).toFixed(2)} ms wrapped`);
    expect(median(timings.wrapped)).toBeLessThan(2 * median(timings.plain) + 10);

    await llmeter.flush();
    expect(llmeter.stats()).toEqual({ queued: 3, sent: 0, dropped: 27, rejected: 0, invalid: 0 });
  });

  it('an app that accepts but never answers does not hold up a single call', async () => {
    const hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    try {
      // The SDK would wait 5 s for each send: a call that waited for one would show it.
      const llmeter = meter({ baseUrl: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/api/v1/ingest`, batchSize: 1, requestTimeout: 5000 });
      const wrapped = wrapOpenAI(openaiClient(), llmeter);
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await wrapped.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }, attribution({ customerId: 'hanging' })).then(drain);
        expect(performance.now() - started).toBeLessThan(1000);
      }
      expect(llmeter.stats().sent).toBe(0);
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });

  it('an ingest batch re-evaluates budgets within a second, also in a burst of batches', async () => {
    const budget = await core.api.createBudget({ name: 'Nano model', scope: { kind: 'model', provider: 'openai', model: 'gpt-4.1-nano' }, period: 'month', amountUsd: '0.00001', thresholds: [100] });
    expect(budget.level).toBe('ok');
    const nanoAlerts = async (): Promise<unknown[]> => (await core.api.listAlerts({})).filter((a) => a.budgetName === 'Nano model').map((a) => [a.kind, a.threshold]);
    // A batch that crosses nothing, then at once the one that crosses the budget: the second falls
    // within the first's second, so its evaluation is the trailing one.
    const llmeter = meter({ batchSize: 1 });
    llmeter.track({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 10, outputTokens: 1, customerId: 'acme' });
    await llmeter.flush();
    llmeter.track({ provider: 'openai', model: 'gpt-4.1-nano', inputTokens: 100_000, outputTokens: 1000, customerId: 'acme' });
    await llmeter.shutdown();
    const sent = performance.now();
    await vi.waitFor(async () => expect(await nanoAlerts()).toEqual([['threshold', 100]]), { timeout: 3_000, interval: 20 });
    expect(performance.now() - sent).toBeLessThan(1_500);
  });

  it('caps distinct customers in the metrics: the top ones by cost, the rest as "other"', async () => {
    await core.api.updateSettings({ sdk: { customerCardinalityCap: 2 } });
    const llmeter = meter();
    const at = '2026-01-05T10:15:00Z';
    const spend = { small: 100, medium: 200, large: 5_000, huge: 9_000, tiny: 10 };
    for (const [customerId, inputTokens] of Object.entries(spend)) llmeter.track({ provider: 'openai', model: 'gpt-4o-mini', inputTokens, outputTokens: 10, customerId, timestamp: at });
    llmeter.track({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 50, outputTokens: 10, timestamp: at });
    await llmeter.shutdown();

    const samples = (await scrape('?from=2026-01-05&to=2026-01-05')).filter((s) => s.name === 'llmeter_customer_cost_usd');
    expect(samples.map((s) => s.labels.customer_id).sort()).toEqual(['', 'huge', 'large', 'other']);
    const cost = (inputTokens: number): bigint => price('openai', 'gpt-4o-mini', { inputTokens, cachedInputTokens: 0, cacheWriteTokens: 0, outputTokens: 10 });
    const of = (customer_id: string): bigint | undefined => nano(samples, 'llmeter_customer_cost_usd', { provider: 'openai', model: 'gpt-4o-mini', customer_id });
    expect(of('huge')).toBe(cost(9_000));
    expect(of('other')).toBe(cost(100) + cost(200) + cost(10));
    expect(of('')).toBe(cost(50));
    // The cap is part of what a rendering of the customer families is kept under: with no new event, the next scrape shows every customer.
    await core.api.updateSettings({ sdk: { customerCardinalityCap: 100 } });
    const uncapped = (await scrape('?from=2026-01-05&to=2026-01-05')).filter((s) => s.name === 'llmeter_customer_cost_usd');
    expect(uncapped.map((s) => s.labels.customer_id).sort()).toEqual(['', 'huge', 'large', 'medium', 'small', 'tiny']);
  });
});
