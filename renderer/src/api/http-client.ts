import { API_METHODS, type ApiMethod, type LlmeterApi } from '../../../shared/api.js';
import type { LlmeterBridge } from '../../../shared/ipc.js';

/** A call the app answered with an error; `message` is the app's one line, meant for people. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const UNAUTHORIZED =
  'This page has no valid dashboard token. Open the dashboard URL that `npx llmeter serve` printed (it ends in ?token=…); a restart of LLMeter prints a new one.';

/**
 * The typed API over HTTP, for the dashboard in a browser tab: `POST /api/v1/ui/<method>` with a
 * JSON body. The token travels in the HttpOnly cookie the server set from the dashboard URL, so
 * this code never sees it.
 */
export function createHttpApi(options: { baseUrl?: string; fetch?: typeof fetch } = {}): LlmeterApi {
  const send = options.fetch ?? ((input, init) => fetch(input, init));
  const base = options.baseUrl ?? '/api/v1/ui/';
  const call = async (method: ApiMethod, request: unknown): Promise<unknown> => {
    let response: Response;
    try {
      response = await send(`${base}${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        // Methods without a request send an empty body.
        ...(request === undefined ? {} : { body: JSON.stringify(request) }),
        credentials: 'same-origin',
      });
    } catch {
      throw new ApiCallError(0, 'LLMeter is not answering. Is `npx llmeter serve` (or the desktop app) still running?');
    }
    if (!response.ok) {
      if (response.status === 401) throw new ApiCallError(401, UNAUTHORIZED);
      const text = (await response.text()).trim();
      throw new ApiCallError(response.status, text || `LLMeter could not ${method} (HTTP ${response.status}).`);
    }
    return response.json();
  };
  return Object.fromEntries(API_METHODS.map((method) => [method, (request?: unknown) => call(method, request)])) as LlmeterApi;
}

/** How the page talks to the app: the typed API, and pushed events where the host has them. */
export interface Transport {
  api: LlmeterApi;
  /** The Electron bridge's event subscription; null in a browser, which polls instead. */
  on: LlmeterBridge['on'] | null;
}

/** The Electron preload's bridge when the page runs in the desktop window, else HTTP. */
export function pickTransport(host: { llmeter?: LlmeterBridge } = globalThis as { llmeter?: LlmeterBridge }): Transport {
  const bridge = host.llmeter;
  if (!bridge) return { api: createHttpApi(), on: null };
  return { api: bridge, on: typeof bridge.on === 'function' ? bridge.on.bind(bridge) : null };
}
