/**
 * The machinery the wrappers share: LLMeter's own request fields taken off before the provider sees
 * them, the provider's answer observed without changing what the caller gets (same promise type,
 * same stream object, same errors), and one event tracked per request. Nothing here throws into
 * the caller: a failure of the instrumentation only costs the event.
 */
import type { LLMeter, TrackEvent } from './client.js';

/** Request field (body or request options) naming the customer the request is made for. */
export const CUSTOMER_FIELD = 'llmeter_customer_id';
/** Request field (body or request options) naming the feature the request serves. */
export const FEATURE_FIELD = 'llmeter_feature';

/** Token counts of one answer, as the billing APIs count them (input includes cache reads and writes). */
export interface Usage {
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
}

/** What an answer said about itself. */
export interface Observed {
  model?: string;
  usage?: Usage;
}

/** Reads one stream's events; `read` returns false for an event the caller must not see. */
export interface StreamReader {
  read(event: unknown): boolean;
  result(): Observed;
}

/** How one API's answers are read, and how its request is adjusted to report usage. */
export interface ApiReader {
  /** Adjusts the (already copied) body; returns what its stream reader needs to know. */
  prepare?(body: Record<string, unknown>): { hideUsageOnlyChunks: boolean };
  fromResult(data: unknown): Observed;
  streamReader(options: { hideUsageOnlyChunks: boolean }): StreamReader;
}

/** A request method's original implementation and the arguments of one call. */
export type Interceptor = (original: (...args: unknown[]) => unknown, args: unknown[]) => unknown;

/**
 * Labels of a request, to spread into its options (or body) with a typed client:
 * `create(body, attribution({ customerId: 'acme' }))`. Equivalent to passing `llmeter_customer_id`
 * and `llmeter_feature` yourself; the wrapper takes them off before the provider sees the request.
 */
export function attribution(labels: { customerId?: string | number; feature?: string }): Record<never, never> {
  return {
    ...(labels.customerId !== undefined ? { [CUSTOMER_FIELD]: labels.customerId } : {}),
    ...(labels.feature !== undefined ? { [FEATURE_FIELD]: labels.feature } : {}),
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A non-negative integer from an answer's usage field, 0 when absent. */
export function tokens(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : 0;
}

export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function labelValue(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** Copies `source` without LLMeter's fields, reporting them; the caller's object is left as it was. */
function withoutLabels(source: unknown, found: { customerId?: string; feature?: string }): unknown {
  if (!isRecord(source) || Array.isArray(source) || !(CUSTOMER_FIELD in source || FEATURE_FIELD in source)) return source;
  const { [CUSTOMER_FIELD]: customerId, [FEATURE_FIELD]: feature, ...rest } = source;
  found.customerId = labelValue(customerId) ?? found.customerId;
  found.feature = labelValue(feature) ?? found.feature;
  return rest;
}

/** One request under way: its labels and clock, and the event it becomes, tracked once. */
class TrackedCall {
  private readonly startedAt = Date.now();
  private readonly started = performance.now();
  private done = false;

  constructor(
    private readonly llmeter: LLMeter,
    private readonly provider: string,
    private readonly requestModel: string | undefined,
    private readonly labels: { customerId?: string; feature?: string },
  ) {}

  finish(observed: Observed, status: number): void {
    if (this.done) return;
    this.done = true;
    const usage = observed.usage;
    const event: TrackEvent = {
      provider: this.provider,
      model: observed.model ?? this.requestModel ?? 'unknown',
      inputTokens: usage?.inputTokens ?? 0,
      cachedInputTokens: usage?.cachedInputTokens ?? 0,
      cacheWriteTokens: usage?.cacheWriteTokens ?? 0,
      outputTokens: usage?.outputTokens ?? 0,
      latencyMs: Math.round(performance.now() - this.started),
      status,
      timestamp: this.startedAt,
      ...(this.labels.customerId !== undefined ? { customerId: this.labels.customerId } : {}),
      ...(this.labels.feature !== undefined ? { feature: this.labels.feature } : {}),
    };
    this.llmeter.track(event);
  }

  fail(error: unknown, observed: Observed = {}): void {
    this.finish(observed, errorStatus(error));
  }
}

/** The HTTP status an SDK error carries; 0 when there was no answer (network, timeout, abort). */
function errorStatus(error: unknown): number {
  const status = isRecord(error) ? error.status : undefined;
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599 ? status : 0;
}

/** A client that closes a stream early (break, abort) gets this status, as in nginx's logs. */
const CLIENT_CLOSED = 499;

/**
 * Wraps the stream object in place, so the caller keeps the very object (and class) the SDK made:
 * the SDKs' streams read their events through `iterator()`, which `for await`, `tee()` and
 * `toReadableStream()` all call.
 */
function observeStream(stream: object, call: TrackedCall, reader: StreamReader): void {
  const holder = stream as { iterator?: unknown };
  if (typeof holder.iterator === 'function') {
    const original = holder.iterator as (this: unknown) => AsyncIterator<unknown>;
    holder.iterator = function (this: unknown) {
      return observeIterator(original.call(this), call, reader);
    };
    return;
  }
  const iterable = stream as { [Symbol.asyncIterator]?: unknown };
  if (typeof iterable[Symbol.asyncIterator] === 'function') {
    const original = iterable[Symbol.asyncIterator] as (this: unknown) => AsyncIterator<unknown>;
    Object.defineProperty(stream, Symbol.asyncIterator, {
      configurable: true,
      writable: true,
      value(this: unknown) {
        return observeIterator(original.call(this), call, reader);
      },
    });
    return;
  }
  call.finish({}, 200);
}

function observeIterator(iterator: AsyncIterator<unknown>, call: TrackedCall, reader: StreamReader): AsyncIterableIterator<unknown> {
  const observed = (): Observed => {
    try {
      return reader.result();
    } catch {
      return {};
    }
  };
  const deliver = (event: unknown): boolean => {
    try {
      return reader.read(event);
    } catch {
      return true;
    }
  };
  return {
    async next(...args: [] | [unknown]) {
      let step: IteratorResult<unknown>;
      do {
        try {
          step = await iterator.next(...args);
        } catch (err) {
          call.fail(err, observed());
          throw err;
        }
        if (step.done) {
          call.finish(observed(), 200);
          return step;
        }
      } while (!deliver(step.value));
      return step;
    },
    async return(value?: unknown) {
      call.finish(observed(), CLIENT_CLOSED);
      return iterator.return ? iterator.return(value) : { done: true, value };
    },
    async throw(err?: unknown) {
      call.fail(err, observed());
      if (iterator.throw) return iterator.throw(err);
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** What the SDK resolved with: a stream (observed as it is read) or a whole answer. Returns it unchanged. */
function settle(data: unknown, call: TrackedCall, api: ApiReader, streaming: boolean, hideUsageOnlyChunks: boolean, status: number): unknown {
  try {
    if (streaming && isRecord(data)) observeStream(data, call, api.streamReader({ hideUsageOnlyChunks }));
    else call.finish(api.fromResult(data), status);
  } catch {
    // The answer goes to the caller whether or not it could be read.
  }
  return data;
}

/**
 * Observes what a request method returned. The SDKs return an APIPromise, which parses the answer
 * only when awaited and offers `withResponse()` and `asResponse()`: its own `_thenUnwrap` keeps all
 * of that, and `asResponse()` sees failures without reading the body. Any other promise is observed
 * with `then` and returned as it is.
 */
function observeResult(result: unknown, call: TrackedCall, api: ApiReader, streaming: boolean, hideUsageOnlyChunks: boolean): unknown {
  const promise = result as { _thenUnwrap?: unknown; asResponse?: unknown; then?: unknown };
  if (isRecord(result) && typeof promise._thenUnwrap === 'function' && typeof promise.asResponse === 'function') {
    (promise.asResponse as () => Promise<unknown>).call(result).then(undefined, (err: unknown) => call.fail(err));
    return (promise._thenUnwrap as (transform: (data: unknown, props?: { response?: { status?: number } }) => unknown) => unknown).call(result, (data, props) =>
      settle(data, call, api, streaming, hideUsageOnlyChunks, props?.response?.status ?? 200),
    );
  }
  if (isRecord(result) && typeof promise.then === 'function') {
    (promise.then as (ok: (data: unknown) => unknown, fail: (err: unknown) => void) => unknown).call(
      result,
      (data) => settle(data, call, api, streaming, hideUsageOnlyChunks, 200),
      (err) => call.fail(err),
    );
    return result;
  }
  return settle(result, call, api, streaming, hideUsageOnlyChunks, 200);
}

/**
 * An interceptor for a `create(body, options)` method: takes LLMeter's labels off the body and the
 * options, lets the API reader adjust the body, calls the original, and tracks one event when the
 * answer (or the end of its stream, or the error) arrives. Errors reach the caller untouched.
 */
export function trackCreate(llmeter: LLMeter, provider: string, api: ApiReader): Interceptor {
  return (original, args) => {
    const [body, options, ...rest] = args;
    let call: TrackedCall;
    let request: unknown[];
    let streaming = false;
    let hideUsageOnlyChunks = false;
    try {
      const labels: { customerId?: string; feature?: string } = {};
      const cleanBody = withoutLabels(body, labels);
      const cleanOptions = withoutLabels(options, labels);
      let sentBody = cleanBody;
      if (isRecord(cleanBody)) {
        streaming = cleanBody.stream === true;
        if (api.prepare) {
          const copy = { ...cleanBody };
          hideUsageOnlyChunks = api.prepare(copy).hideUsageOnlyChunks;
          sentBody = copy;
        }
      }
      call = new TrackedCall(llmeter, provider, isRecord(cleanBody) ? text(cleanBody.model) : undefined, labels);
      request = [sentBody, cleanOptions, ...rest];
    } catch {
      return original(...args);
    }
    let result: unknown;
    try {
      result = original(...request);
    } catch (err) {
      call.fail(err);
      throw err;
    }
    try {
      return observeResult(result, call, api, streaming, hideUsageOnlyChunks);
    } catch {
      return result;
    }
  };
}

/**
 * A view of `client` in which the methods at the given paths (`chat.completions.create`) are
 * intercepted; everything else is the client itself. Inside the wrapped resources `_client` is the
 * view too, so the SDKs' helpers that call back through the client (`stream()`, `parse()`) are
 * tracked once, by the same interceptor. The client is not modified.
 */
export function interceptClient<T extends object>(client: T, interceptors: Readonly<Record<string, Interceptor>>): T {
  const prefixes = new Set<string>();
  for (const path of Object.keys(interceptors)) {
    const parts = path.split('.');
    for (let i = 1; i < parts.length; i++) prefixes.add(parts.slice(0, i).join('.'));
  }
  const views = new Map<string, WeakMap<object, object>>();
  const view = (target: object, path: string): object => {
    let cache = views.get(path);
    if (!cache) views.set(path, (cache = new WeakMap()));
    let proxy = cache.get(target);
    if (!proxy) {
      proxy = new Proxy(target, {
        get(obj, prop) {
          if (typeof prop !== 'string') return Reflect.get(obj, prop, obj);
          if (prop === '_client' && path !== '') return root;
          const value: unknown = Reflect.get(obj, prop, obj);
          const key = path ? `${path}.${prop}` : prop;
          if (typeof value === 'function' && prop !== 'constructor') {
            const intercept = Object.hasOwn(interceptors, key) ? interceptors[key] : undefined;
            if (intercept) return (...args: unknown[]) => intercept((value as (...a: unknown[]) => unknown).bind(obj), args);
            // The client's own methods use private fields, so they run on the client itself; a
            // resource's helpers run on the view, so that their `this.create()` is intercepted.
            return path === '' ? (value as (...a: unknown[]) => unknown).bind(obj) : value;
          }
          if (isRecord(value) && prefixes.has(key)) return view(value, key);
          return value;
        },
      });
      cache.set(target, proxy);
    }
    return proxy;
  };
  const root = view(client, '') as T;
  return root;
}
