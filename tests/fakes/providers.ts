/**
 * One loopback server that plays OpenAI, Anthropic and OpenRouter under `/openai`, `/anthropic`
 * and `/openrouter`: documented paths, parameters, pagination, auth and error shapes, driven by a
 * FakeTruth, with faults injected per provider. Adapters get `fake.baseUrl(provider)` as base URL.
 */
import { once } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProviderId } from '../../shared/providers.js';
import { isProviderId } from '../../shared/providers.js';
import { NO_MODEL } from '../../shared/usage.js';
import type { TimeRange } from './provider-responses.js';
import * as bodies from './provider-responses.js';
import type { FakeTruth } from './provider-truth.js';
import { DAY, HOUR } from './provider-truth.js';

export * from './provider-truth.js';

/** Something to go wrong on a provider's next request(s). */
export type FakeFault =
  /** That status with the provider's documented error body (or an HTML page), and Retry-After if given. */
  | { status: number; retryAfter?: number | string; body?: 'html' }
  /** 200 with half of the JSON, or with an HTML page. */
  | { body: 'truncated' | 'html' }
  /** Answer normally, after this long. */
  | { delayMs: number }
  /** has_more stays true and next_page repeats the cursor just sent (a fresh one on a first page). */
  | { cursorLoop: true }
  /** has_more stays true with a fresh cursor every time. */
  | { endlessHasMore: true }
  /** 200 with this many bytes of never-ending JSON, streamed. */
  | { hugeBody: number }
  /** The main number of the first result (tokens, amount, credits) replaced by `value` (default "twelve"). */
  | { wrongTypes: true; value?: unknown };

/** One request the fake received. */
export interface FakeRequest {
  provider: ProviderId;
  /** Documented path, without the provider prefix. */
  path: string;
  query: URLSearchParams;
  /** The query exactly as sent, to check e.g. literal `group_by[]`. */
  rawQuery: string;
  headers: IncomingHttpHeaders;
}

/** Keys the fake accepts (`admin`) or recognises as the wrong kind of key (`restricted`, answered with 403). */
export const FAKE_KEYS: Record<ProviderId, { admin: string; restricted: string }> = {
  openai: { admin: 'sk-admin-FAKEopenaiADMINkey0000000001', restricted: 'sk-proj-FAKEopenaiPROJECTkey000000001' },
  anthropic: { admin: 'sk-ant-admin01-FAKEanthropicADMINkey001', restricted: 'sk-ant-api03-FAKEanthropicWORKSPACEkey1' },
  openrouter: { admin: 'sk-or-v1-FAKEopenrouterMANAGEMENTkey01', restricted: 'sk-or-v1-FAKEopenrouterINFERENCEkey001' },
};

export interface ProviderFake {
  /** `http://127.0.0.1:PORT/<provider>`: what the adapter is given as base URL. */
  baseUrl(provider: ProviderId): string;
  /** What the fake serves; mutate it (or use revise) to change later answers. */
  truth: FakeTruth;
  /** The fake's clock (Unix s): default end of reports and OpenRouter's "last 30 completed days". */
  now: number;
  readonly requests: FakeRequest[];
  requestsTo(provider: ProviderId, path?: string): FakeRequest[];
  /** Applies `fault` to the provider's next `times` requests (after faults injected earlier). */
  inject(provider: ProviderId, fault: FakeFault, times?: number): void;
  /** Forgets pending faults and recorded requests. */
  reset(): void;
  /**
   * The provider revises a past day: the model's cost that day (`NO_MODEL` for charges of no model)
   * becomes `newDollars`, carried by its first line item, its other line items dropping to 0.
   */
  revise(provider: ProviderId, day: number, model: string, newDollars: string): void;
  close(): Promise<void>;
}

/** Starts the fake on 127.0.0.1 with an ephemeral port. */
export async function startProviderFake(options: { truth: FakeTruth; now: number; credits?: number }): Promise<ProviderFake> {
  const faults: Record<ProviderId, { fault: FakeFault; left: number }[]> = { openai: [], anthropic: [], openrouter: [] };
  const requests: FakeRequest[] = [];
  let cursorNonce = 0;

  const fake: ProviderFake = {
    baseUrl: (provider) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/${provider}`,
    truth: options.truth,
    now: options.now,
    requests,
    requestsTo: (provider, path) => requests.filter((r) => r.provider === provider && (path === undefined || r.path === path)),
    inject: (provider, fault, times = 1) => void faults[provider].push({ fault, left: times }),
    reset: () => {
      for (const list of Object.values(faults)) list.length = 0;
      requests.length = 0;
    },
    revise(provider, day, model, newDollars) {
      const dayStart = Math.floor(day / DAY) * DAY;
      const lines = fake.truth[provider].find((d) => d.dayStart === dayStart)?.costs.filter((c) => (c.model ?? NO_MODEL) === model) ?? [];
      if (lines.length === 0) throw new Error(`no ${provider} cost for ${model} on day ${dayStart}`);
      lines.forEach((line, index) => (line.dollars = index === 0 ? newDollars : '0'));
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function takeFault(provider: ProviderId): FakeFault | undefined {
    const next = faults[provider][0];
    if (!next) return undefined;
    if (--next.left <= 0) faults[provider].shift();
    return next.fault;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('error', () => undefined); // the client may hang up mid-answer (timeouts, size caps)
    const url = new URL(req.url ?? '/', 'http://fake');
    const [, prefix = '', ...rest] = url.pathname.split('/');
    if (!isProviderId(prefix)) return sendJson(res, 404, { error: { message: 'unknown provider prefix' } });
    const provider = prefix;
    const path = `/${rest.join('/')}`;
    requests.push({ provider, path, query: url.searchParams, rawQuery: (req.url ?? '').split('?')[1] ?? '', headers: req.headers });
    const fault = takeFault(provider);
    const sentKey = presentedKey(provider, req);

    if (fault && 'delayMs' in fault) {
      await sleep(fault.delayMs);
      if (res.destroyed) return;
    }
    if (fault && 'status' in fault) return sendError(res, provider, fault.status, sentKey, fault);
    if (fault && 'body' in fault && fault.body === 'html') return sendHtml(res, 200);

    const authStatus = sentKey === FAKE_KEYS[provider].admin ? null : sentKey === FAKE_KEYS[provider].restricted ? 403 : 401;
    if (authStatus) return sendError(res, provider, authStatus, sentKey);

    let body: Record<string, unknown>;
    try {
      body = route(provider, path, url.searchParams, req.headers, fault);
    } catch (err) {
      if (err instanceof bodies.ApiError) return sendJson(res, err.status, bodies.errorBody(provider, err.status, err.message));
      throw err;
    }
    if (fault && 'wrongTypes' in fault) corrupt(body, fault.value === undefined ? 'twelve' : fault.value);
    if (fault && 'hugeBody' in fault) return streamHuge(res, fault.hugeBody);
    const text = JSON.stringify(body);
    if (fault && 'body' in fault && fault.body === 'truncated') return sendText(res, 200, 'application/json', text.slice(0, Math.floor(text.length / 2)));
    sendText(res, 200, 'application/json', text);
  }

  function route(provider: ProviderId, path: string, q: URLSearchParams, headers: IncomingHttpHeaders, fault: FakeFault | undefined): Record<string, unknown> {
    const groupBy = [...q.getAll('group_by[]'), ...q.getAll('group_by')];
    const truth = fake.truth;
    const endpoint = `${provider} ${path}`;
    switch (endpoint) {
      case 'openai /v1/organization/usage/completions':
        return { object: 'page', ...paged(q, openaiTimes(q), USAGE_WIDTHS, fault, (r) => ({ object: 'bucket', start_time: r.start, end_time: r.end, results: bodies.openaiUsageResults(truth, r, groupBy) })) };
      case 'openai /v1/organization/costs':
        return { object: 'page', ...paged(q, openaiTimes(q), COST_WIDTHS_OPENAI, fault, (r, i) => ({ object: 'bucket', start_time: r.start, end_time: r.end, results: bodies.openaiCostResults(truth, r, groupBy, i) })) };
      case 'anthropic /v1/organizations/usage_report/messages':
        requireVersion(headers);
        return paged(q, anthropicTimes(q), USAGE_WIDTHS, fault, (r) => ({ starting_at: bodies.rfc3339(r.start), ending_at: bodies.rfc3339(r.end), results: bodies.anthropicUsageResults(truth, r, groupBy) }));
      case 'anthropic /v1/organizations/cost_report':
        requireVersion(headers);
        return paged(q, anthropicTimes(q), COST_WIDTHS_ANTHROPIC, fault, (r) => ({ starting_at: bodies.rfc3339(r.start), ending_at: bodies.rfc3339(r.end), results: bodies.anthropicCostResults(truth, r, groupBy) }));
      case 'openrouter /api/v1/activity':
        return { data: bodies.openrouterActivity(truth, activityDays(q)) };
      case 'openrouter /api/v1/credits':
        return { data: { total_credits: options.credits ?? 500, total_usage: bodies.openrouterTotalUsage(truth) } };
      default:
        throw new bodies.ApiError(404, `unknown endpoint ${path}`);
    }
  }

  function openaiTimes(q: URLSearchParams): TimeRange {
    const start = Number(q.get('start_time'));
    const end = q.has('end_time') ? Number(q.get('end_time')) : fake.now;
    if (!q.has('start_time') || !Number.isInteger(start) || !Number.isInteger(end)) throw new bodies.ApiError(400, 'start_time and end_time must be Unix seconds');
    return { start, end };
  }

  function anthropicTimes(q: URLSearchParams): TimeRange {
    const start = Date.parse(q.get('starting_at') ?? '') / 1000;
    const end = q.has('ending_at') ? Date.parse(q.get('ending_at') ?? '') / 1000 : fake.now;
    if (Number.isNaN(start) || Number.isNaN(end)) throw new bodies.ApiError(400, 'starting_at and ending_at must be RFC 3339 timestamps');
    return { start, end };
  }

  function activityDays(q: URLSearchParams): number[] {
    const today = Math.floor(fake.now / DAY) * DAY;
    const last30 = Array.from({ length: 30 }, (_, i) => today - (30 - i) * DAY);
    const date = q.get('date');
    if (date === null) return last30;
    const day = /^\d{4}-\d{2}-\d{2}$/.test(date) ? Date.parse(`${date}T00:00:00Z`) / 1000 : NaN;
    if (!last30.includes(day)) throw new bodies.ApiError(400, 'date must be a YYYY-MM-DD day within the last 30 completed days');
    return [day];
  }

  /** One page of buckets for [range), honouring bucket_width, limit and the opaque page cursor. */
  function paged(q: URLSearchParams, range: TimeRange, widths: BucketWidths, fault: FakeFault | undefined, render: (r: TimeRange, index: number) => object) {
    const widthName = q.get('bucket_width') ?? '1d';
    const width = widths[widthName];
    if (!width) throw new bodies.ApiError(400, `bucket_width must be one of ${Object.keys(widths).join(', ')}`);
    const limit = q.has('limit') ? Number(q.get('limit')) : width.defaultLimit;
    if (!Number.isInteger(limit) || limit < 1 || limit > width.maxLimit) throw new bodies.ApiError(400, `limit must be between 1 and ${width.maxLimit}`);
    const page = q.get('page');
    const offset = page === null ? 0 : decodeCursor(page);
    const ranges = bodies.bucketRanges(range.start, range.end, width.seconds);
    const data = ranges.slice(offset, offset + limit).map((r, i) => render(r, offset + i));
    let hasMore = offset + limit < ranges.length;
    let next = hasMore ? encodeCursor(offset + limit) : null;
    if (fault && 'cursorLoop' in fault) [hasMore, next] = [true, page ?? encodeCursor(offset, ++cursorNonce)];
    if (fault && 'endlessHasMore' in fault) [hasMore, next] = [true, encodeCursor(offset + limit, ++cursorNonce)];
    return { data, has_more: hasMore, next_page: next };
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => sendJson(res, 500, { error: { message: `fake crashed: ${String(err)}` } }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return fake;
}

type BucketWidths = Record<string, { seconds: number; defaultLimit: number; maxLimit: number }>;
const USAGE_WIDTHS: BucketWidths = { '1h': { seconds: HOUR, defaultLimit: 24, maxLimit: 168 }, '1d': { seconds: DAY, defaultLimit: 7, maxLimit: 31 } };
const COST_WIDTHS_OPENAI: BucketWidths = { '1d': { seconds: DAY, defaultLimit: 7, maxLimit: 180 } };
const COST_WIDTHS_ANTHROPIC: BucketWidths = { '1d': { seconds: DAY, defaultLimit: 7, maxLimit: 31 } };

function encodeCursor(offset: number, nonce?: number): string {
  return `page_${Buffer.from(JSON.stringify({ offset, nonce })).toString('base64')}`;
}

function decodeCursor(cursor: string): number {
  try {
    const { offset } = JSON.parse(Buffer.from(cursor.replace(/^page_/, ''), 'base64').toString()) as { offset: unknown };
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through to the 400 below
  }
  throw new bodies.ApiError(400, 'page is not a cursor this server issued');
}

function requireVersion(headers: IncomingHttpHeaders): void {
  if (!headers['anthropic-version']) throw new bodies.ApiError(400, 'anthropic-version: header is required');
}

function presentedKey(provider: ProviderId, req: IncomingMessage): string {
  if (provider === 'anthropic') return String(req.headers['x-api-key'] ?? '');
  const auth = req.headers.authorization ?? '';
  return auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : '';
}

/** Puts `value` where the endpoint's main number is: the first result, activity row or credits. */
function corrupt(body: Record<string, unknown>, value: unknown): void {
  const data = body['data'];
  const items = Array.isArray(data) ? (data as Record<string, unknown>[]) : [];
  const target = Array.isArray(data)
    ? (items.flatMap((item) => (Array.isArray(item['results']) ? (item['results'] as Record<string, unknown>[]) : [item]))[0] ?? null)
    : (data as Record<string, unknown>);
  if (target === null) {
    body['has_more'] = value;
    return;
  }
  for (const field of ['input_tokens', 'uncached_input_tokens', 'prompt_tokens', 'total_credits']) if (field in target) target[field] = value;
  if ('amount' in target) {
    if (typeof target['amount'] === 'object') (target['amount'] as Record<string, unknown>)['value'] = value;
    else target['amount'] = value;
  }
}

async function streamHuge(res: ServerResponse, bytes: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.from('{"object":"bucket","start_time":0,"end_time":1,"results":[]},'.repeat(1000));
  res.write('{"object":"page","data":[');
  for (let sent = 0; sent < bytes && !res.destroyed; ) {
    const piece = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
    sent += piece.length;
    if (!res.write(piece)) {
      const stop = new AbortController();
      await Promise.race([once(res, 'drain', { signal: stop.signal }), once(res, 'close', { signal: stop.signal })]).catch(() => undefined);
      stop.abort();
    }
  }
  res.end();
}

function sendError(res: ServerResponse, provider: ProviderId, status: number, sentKey: string, fault?: { retryAfter?: number | string; body?: 'html' }): void {
  if (fault?.retryAfter !== undefined) res.setHeader('retry-after', String(fault.retryAfter));
  if (fault?.body === 'html') return sendHtml(res, status);
  sendJson(res, status, bodies.errorBody(provider, status, bodies.errorMessage(provider, status, sentKey)));
}

function sendHtml(res: ServerResponse, status: number): void {
  sendText(res, status, 'text/html; charset=utf-8', `<!DOCTYPE html><html><head><title>${status} Bad Gateway</title></head><body><h1>Bad Gateway</h1><hr>cloudflare</body></html>`);
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  sendText(res, status, 'application/json', JSON.stringify(body));
}

function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
