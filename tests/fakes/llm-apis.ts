/**
 * A loopback fake of the model APIs the SDK wrappers track: OpenAI's `/v1/chat/completions` and
 * `/v1/responses`, Anthropic's `/v1/messages`, each as plain JSON or as an SSE stream with usage
 * where the real API puts it. Answers are deterministic (same request, same bytes), so a wrapped
 * and an unwrapped client can be compared event for event. Records every request as received.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Token counts every answer reports; Anthropic's input excludes its cache reads and writes. */
export const FAKE_USAGE = {
  chat: { prompt: 120, cached: 20, completion: 30 },
  responses: { input: 200, cached: 50, output: 40 },
  messages: { input: 100, cacheRead: 300, cacheWrite: 50, output: 25 },
} as const;

/** One request the fake received: the raw body as sent, and its headers. */
export interface LlmRequest {
  path: string;
  rawBody: string;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
}

export interface LlmApiFake {
  /** Origin to give the clients (`${origin}/v1` for OpenAI, the origin itself for Anthropic). */
  origin: string;
  requests: LlmRequest[];
  /** The next `times` requests to `path` answer `status` with the API's error body. */
  fail(path: string, status: number, times?: number): void;
  /** The next stream to `path` breaks off with an error event after its first events. */
  breakNextStream(path: string): void;
  close(): Promise<void>;
}

const CREATED = 1_780_000_000;

function sse(res: ServerResponse, events: Array<{ event?: string; data: unknown }>, withDone: boolean): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  for (const { event, data } of events) res.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
  if (withDone) res.write('data: [DONE]\n\n');
  res.end();
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'x-request-id': 'req_fake' });
  res.end(text);
}

function chatCompletion(body: Record<string, unknown>, res: ServerResponse, broken: boolean): void {
  const model = `${String(body.model)}-2024-07-18`;
  const usage = { prompt_tokens: FAKE_USAGE.chat.prompt, completion_tokens: FAKE_USAGE.chat.completion, total_tokens: FAKE_USAGE.chat.prompt + FAKE_USAGE.chat.completion, prompt_tokens_details: { cached_tokens: FAKE_USAGE.chat.cached } };
  const base = { id: 'chatcmpl-fake', created: CREATED, model, system_fingerprint: 'fp_fake' };
  if (body.stream !== true) {
    json(res, 200, { ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there', refusal: null }, finish_reason: 'stop', logprobs: null }], usage });
    return;
  }
  const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const events: Array<{ data: unknown }> = [{ data: chunk({ role: 'assistant', content: '' }, null) }, { data: chunk({ content: 'Hello' }, null) }];
  if (broken) {
    events.push({ data: { error: { message: 'The server had an error while processing your request.', type: 'server_error' } } });
    sse(res, events, false);
    return;
  }
  events.push({ data: chunk({ content: ' there' }, null) }, { data: chunk({}, 'stop') });
  if (includeUsage) events.push({ data: { ...base, object: 'chat.completion.chunk', choices: [], usage } });
  sse(res, events, true);
}

function response(body: Record<string, unknown>, res: ServerResponse): void {
  const usage = { input_tokens: FAKE_USAGE.responses.input, input_tokens_details: { cached_tokens: FAKE_USAGE.responses.cached }, output_tokens: FAKE_USAGE.responses.output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: FAKE_USAGE.responses.input + FAKE_USAGE.responses.output };
  const output = [{ id: 'msg_fake', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello there', annotations: [] }] }];
  const whole = (status: string, withUsage: boolean) => ({ id: 'resp_fake', object: 'response', created_at: CREATED, status, model: `${String(body.model)}-2024-07-18`, output: status === 'completed' ? output : [], usage: withUsage ? usage : null });
  if (body.stream !== true) {
    json(res, 200, whole('completed', true));
    return;
  }
  const item = { id: 'msg_fake', type: 'message', status: 'in_progress', role: 'assistant', content: [] };
  const part = { type: 'output_text', text: '', annotations: [] };
  const events = [
    { type: 'response.created', response: whole('in_progress', false) },
    { type: 'response.output_item.added', output_index: 0, item },
    { type: 'response.content_part.added', item_id: 'msg_fake', output_index: 0, content_index: 0, part },
    { type: 'response.output_text.delta', item_id: 'msg_fake', output_index: 0, content_index: 0, delta: 'Hello there' },
    { type: 'response.output_text.done', item_id: 'msg_fake', output_index: 0, content_index: 0, text: 'Hello there' },
    { type: 'response.content_part.done', item_id: 'msg_fake', output_index: 0, content_index: 0, part: { ...part, text: 'Hello there' } },
    { type: 'response.output_item.done', output_index: 0, item: output[0] },
    { type: 'response.completed', response: whole('completed', true) },
  ];
  sse(res, events.map((data, sequence_number) => ({ event: data.type, data: { ...data, sequence_number } })), false);
}

function message(body: Record<string, unknown>, res: ServerResponse, broken: boolean): void {
  const u = FAKE_USAGE.messages;
  const model = String(body.model);
  if (body.stream !== true) {
    json(res, 200, {
      id: 'msg_fake',
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text: 'Hello there' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: u.input, cache_read_input_tokens: u.cacheRead, cache_creation_input_tokens: u.cacheWrite, output_tokens: u.output },
    });
    return;
  }
  const start = { type: 'message_start', message: { id: 'msg_fake', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: u.input, cache_read_input_tokens: u.cacheRead, cache_creation_input_tokens: u.cacheWrite, output_tokens: 1 } } };
  const events: Array<{ event: string; data: unknown }> = [
    { event: 'message_start', data: start },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } } },
  ];
  if (broken) {
    events.push({ event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
    sse(res, events, false);
    return;
  }
  events.push(
    { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' there' } } },
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: u.output } } },
    { event: 'message_stop', data: { type: 'message_stop' } },
  );
  sse(res, events, false);
}

function errorBody(path: string, status: number): unknown {
  if (path === '/v1/messages') return { type: 'error', error: { type: status === 429 ? 'rate_limit_error' : 'api_error', message: `Fake error ${status}` } };
  return { error: { message: `Fake error ${status}`, type: status === 429 ? 'rate_limit_exceeded' : 'server_error', code: null, param: null } };
}

/** Starts the fake on a free loopback port. */
export async function startLlmApiFake(): Promise<LlmApiFake> {
  const requests: LlmRequest[] = [];
  const failures = new Map<string, { status: number; times: number }>();
  const broken = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const body = rawBody ? (JSON.parse(rawBody) as Record<string, unknown>) : {};
      requests.push({ path, rawBody, body, headers: req.headers });
      const failure = failures.get(path);
      if (failure && failure.times > 0) {
        failure.times--;
        json(res, failure.status, errorBody(path, failure.status));
        return;
      }
      const breakStream = body.stream === true && broken.delete(path);
      if (req.method === 'POST' && path === '/v1/chat/completions') chatCompletion(body, res, breakStream);
      else if (req.method === 'POST' && path === '/v1/responses') response(body, res);
      else if (req.method === 'POST' && path === '/v1/messages') message(body, res, breakStream);
      else json(res, 404, { error: { message: `no route ${path}` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    fail: (path, status, times = 1) => failures.set(path, { status, times }),
    breakNextStream: (path) => broken.add(path),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
