import type { IncomingMessage } from 'node:http';
import { API_METHODS, type ApiMethod, type LlmeterApi } from '../../shared/api.js';
import { BudgetInputError } from '../../shared/budget-math.js';
import { TimeRangeError } from '../../shared/time-range.js';
import { BudgetNotFoundError } from '../budgets/budgets.js';
import { ExportQueryError } from '../export/query.js';
import { HttpError, sendJson, type Route } from '../http/server.js';
import { KeychainUnavailableError } from '../keys/keychain.js';
import { redact } from '../log.js';
import { InvalidSettingsError } from '../settings/store.js';
import { describeInvalidRequest, REQUEST_SCHEMAS } from './request-schemas.js';
import { SeriesRangeError } from './spend-queries.js';

/** Path prefix of the UI API: `POST /api/v1/ui/<method>`. */
export const UI_API_PREFIX = '/api/v1/ui/';

/** The largest request body a UI call needs (a budget, a settings change, a key). */
const MAX_UI_BODY_BYTES = 64 * 1024;

/**
 * Refuses a request sent by another site (CSRF): a browser names the page that sent a request in
 * `Origin` and `Sec-Fetch-Site`, and only this server's own pages may call the API. Requests
 * without those headers (curl, scripts holding the token) are not browsers acting for a page.
 */
export function assertSameOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  const host = req.headers.host ?? '';
  // https too: a TLS reverse proxy in front of a headless server keeps the Host header.
  if (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`) {
    throw new HttpError(403, `Requests from ${origin.slice(0, 100)} are refused; the dashboard API answers only its own pages`);
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new HttpError(403, 'Cross-site requests are refused; the dashboard API answers only its own pages');
  }
}

/** The HTTP status of an error the API raised: bad input is the caller's (400), the rest is ours. */
function statusOf(err: unknown): number | null {
  if (err instanceof TimeRangeError || err instanceof SeriesRangeError || err instanceof BudgetInputError || err instanceof ExportQueryError || err instanceof InvalidSettingsError) return 400;
  if (err instanceof BudgetNotFoundError) return 404;
  if (err instanceof KeychainUnavailableError) return 503;
  return null;
}

async function readPayload(method: ApiMethod, readBody: (limit: number) => Promise<Buffer>): Promise<unknown> {
  const body = (await readBody(MAX_UI_BODY_BYTES)).toString('utf8').trim();
  if (body === '') return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new HttpError(400, `The body of ${method} is not JSON`);
  }
}

/**
 * `POST /api/v1/ui/<method>` for every method of the typed API, for the dashboard in a browser:
 * UI token (header or the cookie set from the dashboard URL), same-origin only, a JSON body parsed
 * by the method's schema, the answer as JSON. Errors are one line for people; 400 for bad input.
 */
export function uiApiRoutes(api: LlmeterApi): Route[] {
  return API_METHODS.map(
    (method): Route => ({
      method: 'POST',
      path: `${UI_API_PREFIX}${method}`,
      auth: 'ui',
      async handle({ req, res, readBody }) {
        assertSameOrigin(req);
        // A JSON content type also makes every cross-origin browser request need a preflight, which is never granted.
        if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
          throw new HttpError(415, `${method} takes a JSON body (Content-Type: application/json)`);
        }
        const parsed = REQUEST_SCHEMAS[method].safeParse(await readPayload(method, readBody));
        if (!parsed.success) throw new HttpError(400, describeInvalidRequest(method, parsed.error));
        try {
          const call = api[method] as (request: unknown) => Promise<unknown>;
          sendJson(res, 200, (await call(parsed.data)) ?? null);
        } catch (err) {
          const status = statusOf(err);
          if (status === null) throw err;
          throw new HttpError(status, redact((err as Error).message));
        }
      },
    }),
  );
}
