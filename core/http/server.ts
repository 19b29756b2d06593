import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { storageFault } from '../store/db.js';
import { allowedHostHeaders, bearerToken, tokensEqual } from './auth.js';

/** Who may call a route: nobody needs a token, or the named token is required. */
export type AuthScope = 'public' | 'metrics' | 'ingest' | 'ui';

/** What a route handler gets. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Reads the request body up to the server's limit; rejects with HttpError 413 past it. */
  readBody(limitBytes?: number): Promise<Buffer>;
}

/** One route: exact path match. */
export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  auth: AuthScope;
  handle(ctx: RouteContext): Promise<void> | void;
}

/** An error whose status and one-line message go to the client as they are. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The server's configuration. */
export interface HttpServerOptions {
  host: string;
  port: number;
  tokens: { metrics: string; ingest: string; ui: string };
  /** Host header names allowed besides the loopback ones. */
  allowedHosts?: readonly string[];
  routes: readonly Route[];
  /** Serves paths no route matched (the dashboard's static files); returns false when it has nothing. */
  fallback?: (ctx: RouteContext) => Promise<boolean> | boolean;
  log: Logger;
  maxBodyBytes?: number;
  /** Slow-client limits; production defaults, shorter ones for tests. */
  timeouts?: Partial<ServerTimeouts>;
}

/** How long a client may take: to send its headers, and its whole request, body included (ms). */
export interface ServerTimeouts {
  headersMs: number;
  requestMs: number;
}

export const DEFAULT_SERVER_TIMEOUTS: ServerTimeouts = { headersMs: 10_000, requestMs: 30_000 };

/** A running server. */
export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_URL_LENGTH = 4096;
/**
 * Name of the cookie that carries the UI token in a browser (set from the dashboard URL by
 * core/api/dashboard-files.ts). Browsers keep cookies per host, not per port, so the port is part
 * of the name: `llmeter serve` and `llmeter demo` on one machine must not overwrite each other's.
 */
export function uiCookieName(port: number | undefined): string {
  return `llmeter_ui_${port ?? 0}`;
}

/** JSON text of a body, bigints as decimal strings. */
function jsonText(body: unknown): string {
  try {
    // A replacer is called for every value (+6 ms on a 262 KB dashboard answer, +300 ms on 5.6 MB):
    // only bodies holding a bigint, which plain JSON.stringify refuses, pay for it.
    return JSON.stringify(body);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return JSON.stringify(body, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
  }
}

/** Sends a JSON body with the status; bigints become decimal strings. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = jsonText(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Sends a one-line plain-text error. */
export function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = `${message.replace(/[\r\n]+/g, ' ')}\n`;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function cookie(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return null;
}

function authorized(req: IncomingMessage, scope: AuthScope, tokens: HttpServerOptions['tokens']): boolean {
  if (scope === 'public') return true;
  const presented = bearerToken(req) ?? (scope === 'ui' ? cookie(req, uiCookieName(req.socket.localPort)) : null);
  return presented !== null && tokensEqual(presented, tokens[scope]);
}

const TOKEN_NAMES: Record<Exclude<AuthScope, 'public'>, string> = {
  metrics: 'the metrics token (LLMETER_METRICS_TOKEN; `npx llmeter token` shows it)',
  ingest: 'the ingest token (LLMETER_INGEST_TOKEN; `npx llmeter token` shows it)',
  ui: 'the dashboard token (open the URL that `llmeter serve` printed)',
};

/**
 * Starts the one HTTP server of LLMeter. Every request passes the Host guard (DNS rebinding),
 * then the route's token check; no CORS header is ever sent, so other origins get nothing.
 */
export function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  const maxBody = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const routes = new Map(options.routes.map((route) => [`${route.method} ${route.path}`, route]));
  const paths = new Set(options.routes.map((route) => route.path));
  let allowedHosts = new Set<string>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    const host = (req.headers.host ?? '').toLowerCase();
    if (!allowedHosts.has(host)) {
      sendError(res, 421, `Host "${host.slice(0, 100)}" is not this server's name; LLMeter answers only to its own address (set LLMETER_ALLOWED_HOSTS to add names)`);
      return;
    }
    if ((req.url ?? '').length > MAX_URL_LENGTH) {
      sendError(res, 414, `URL longer than ${MAX_URL_LENGTH} characters`);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const ctx: RouteContext = { req, res, url, readBody: (limit = maxBody) => readBody(req, limit) };
    const route = routes.get(`${req.method} ${url.pathname}`);
    if (!route) {
      if (paths.has(url.pathname)) {
        sendError(res, 405, `${req.method} is not allowed on ${url.pathname}`);
        return;
      }
      if (req.method === 'GET' && options.fallback && (await options.fallback(ctx))) return;
      sendError(res, 404, `No such route: ${url.pathname}`);
      return;
    }
    if (!authorized(req, route.auth, options.tokens)) {
      const scope = route.auth as Exclude<AuthScope, 'public'>;
      res.setHeader('WWW-Authenticate', 'Bearer realm="llmeter"');
      sendError(res, 401, `Missing or wrong bearer token; ${url.pathname} needs ${TOKEN_NAMES[scope]}`);
      return;
    }
    await route.handle(ctx);
  };

  const timeouts = { ...DEFAULT_SERVER_TIMEOUTS, ...options.timeouts };
  // Node checks both timeouts only every connectionsCheckingInterval (30 s by default), which
  // would let a slow client hold a socket up to 30 s past its limit.
  const server = createServer({ connectionsCheckingInterval: Math.min(1000, timeouts.headersMs / 4) }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) {
        sendError(res, err.status, err.message);
        return;
      }
      const fault = storageFault(err);
      if (fault) {
        // Busy is momentary: the SDK and scripts retry a 503 after Retry-After. A full disk is 507.
        options.log.error('request failed: the database could not be written', { path: req.url?.split('?')[0], kind: fault.kind, error: (err as Error).message });
        if (fault.kind === 'busy' && !res.headersSent) res.setHeader('Retry-After', '5');
        sendError(res, fault.kind === 'full' ? 507 : 503, fault.message);
        return;
      }
      options.log.error('request failed', { path: req.url?.split('?')[0], error: err instanceof Error ? err.message : String(err) });
      sendError(res, 500, 'Internal error; see the LLMeter log');
    });
  });
  // Slow clients cannot hold sockets open indefinitely.
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = timeouts.requestMs;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;

  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new Error(`Port ${options.port} on ${options.host} is already in use (another LLMeter, or another program). Stop it, or choose another port with --port or LLMETER_PORT.`));
      } else if (err.code === 'EACCES') {
        reject(new Error(`Not allowed to listen on ${options.host}:${options.port}; choose a port above 1024 with --port or LLMETER_PORT.`));
      } else {
        reject(err);
      }
    });
    server.listen(options.port, options.host, () => {
      const port = (server.address() as AddressInfo).port;
      allowedHosts = allowedHostHeaders(options.host, port, options.allowedHosts ?? []);
      const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        server,
        port,
        url: `http://${shownHost}:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new HttpError(413, `Body larger than ${limit} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Drain the rest without keeping it, so the 413 still reaches the client.
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, `Body larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
