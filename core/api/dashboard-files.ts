import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tokensEqual } from '../http/auth.js';
import { sendError, uiCookieName, type RouteContext } from '../http/server.js';

/**
 * The dashboard's Content-Security-Policy, sent as a header as well as the meta tag of index.html
 * (the header can forbid framing, the meta tag cannot): only its own scripts, styles and API.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'";

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Where the Vite build of the dashboard is: `dist/renderer` of the package, whether this module runs
 * compiled (dist/core/api) or from source (core/api, under vitest).
 */
export function defaultRendererDir(): string {
  // Two levels up is dist/ when compiled, the package root when run from source.
  const up = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  return path.basename(up) === 'dist' ? path.join(up, 'renderer') : path.join(up, 'dist', 'renderer');
}

/** The file under `root` that a URL path names, or null when it would leave `root`, or names a dot file, or is not a plain path. */
export function resolveStaticPath(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').some((segment) => segment.startsWith('.'))) return null;
  const relative = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
  const file = path.resolve(root, relative);
  return file.startsWith(root + path.sep) ? file : null;
}

/**
 * Serves the dashboard to a browser: the built files of `rendererDir` (index.html for `/`) with
 * their content types and the CSP, and the token hand-over. The URL `llmeter serve` prints,
 * `/?token=…`, sets the token as an HttpOnly, SameSite=Strict cookie and redirects to `/`, so the
 * token leaves the address bar and history and no script can read it.
 */
export function dashboardFiles(options: { rendererDir: string; uiToken: string }): (ctx: RouteContext) => Promise<boolean> {
  const root = path.resolve(options.rendererDir);
  return async ({ req, res, url }) => {
    if (url.pathname === '/' && url.searchParams.has('token')) {
      const presented = url.searchParams.get('token') ?? '';
      if (!tokensEqual(presented, options.uiToken)) {
        sendError(res, 401, 'This dashboard link has a wrong or old token (LLMeter makes a new one at every start); open the URL that `llmeter serve` printed last');
        return true;
      }
      res.writeHead(303, { Location: '/', 'Set-Cookie': `${uiCookieName(req.socket.localPort)}=${options.uiToken}; HttpOnly; SameSite=Strict; Path=/`, 'Content-Length': 0 });
      res.end();
      return true;
    }
    const file = resolveStaticPath(root, url.pathname);
    if (!file) return false;
    let body: Buffer;
    try {
      if (!(await stat(file)).isFile()) return false;
      body = await readFile(file);
    } catch {
      if (url.pathname === '/') {
        sendError(res, 503, `The dashboard is not built (no ${path.join(root, 'index.html')}); run \`npm run build\` in the LLMeter folder`);
        return true;
      }
      return false;
    }
    const headers: Record<string, string | number> = {
      'Content-Type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': body.length,
      'Content-Security-Policy': DASHBOARD_CSP,
    };
    // Vite names assets by content hash: they never change under the same name.
    if (url.pathname.startsWith('/assets/')) headers['Cache-Control'] = 'public, max-age=31536000, immutable';
    res.writeHead(200, headers);
    res.end(body);
    return true;
  };
}
