import { parseTimeWindow, TimeRangeError } from '../../shared/time-range.js';
import { renderMetrics } from '../metrics/exposition.js';
import { buildMetricsRegistry, type MetricsSnapshot } from '../metrics/registry.js';
import { createScrapeCache } from '../metrics/scrape-cache.js';
import type { TimeWindow } from '../../shared/time-range.js';
import { HttpError, type Route } from './server.js';

/** Prefers OpenMetrics only when the scraper lists it in Accept. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return /application\/openmetrics-text/i.test(accept ?? '');
}

/** Whether Accept-Encoding allows gzip (Prometheus always asks for it); `gzip;q=0` refuses it. */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  return (acceptEncoding ?? '').split(',').some((part) => {
    const [coding, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** Where the metrics come from. */
export interface MetricsSource {
  /** Everything one scrape reports for a window. */
  load(window: TimeWindow): MetricsSnapshot;
  /** Changes whenever `load` may answer differently for the same window other than by time passing: data written, keys or settings changed. */
  version(): string;
  /** Equal for two windows only when `load` answers the same for both (same rows selected); default: their exact bounds. */
  windowKey?(window: TimeWindow): string;
}

/**
 * How long a rendered scrape is reused while nothing is written. Everything stored is exact at
 * every scrape: any write renders again, so does the turn of the UTC day (the day, week and month
 * periods turn), and a window relative to now is keyed by the rows it selects (windowKey), so it
 * renders again when now crosses a bucket boundary. This bounds only what moves with the clock
 * alone, a budget's forecast (its run-rate), to a minute. A Prometheus scraping every 15 s renders
 * once a minute, or once per poll or SDK batch.
 */
export const SCRAPE_REUSE_MS = 60_000;

const DAY_MS = 86_400_000;

/** `GET /api/v1/metrics` and its `/metrics` alias. */
export function metricsRoutes(source: MetricsSource, now: () => number = Date.now): Route[] {
  const cache = createScrapeCache({ version: () => source.version(), maxAgeMs: SCRAPE_REUSE_MS, now });
  const handle: Route['handle'] = async ({ req, res, url }) => {
    const from = url.searchParams.get('from');
    const to = url.searchParams.get('to');
    let window: TimeWindow;
    try {
      window = parseTimeWindow(from, to, now());
    } catch (err) {
      if (err instanceof TimeRangeError) throw new HttpError(400, err.message);
      throw err;
    }
    const openMetrics = wantsOpenMetrics(req.headers.accept);
    const utcDay = Math.floor(now() / DAY_MS);
    const windowKey = source.windowKey?.(window) ?? `${window.fromSec}..${window.toSec}`;
    const scrape = await cache.get(JSON.stringify([windowKey, openMetrics, utcDay]), async () => {
      const registry = buildMetricsRegistry(() => source.load(window), openMetrics);
      return { contentType: registry.contentType, text: await renderMetrics(registry) };
    });
    const headers = { 'Content-Type': scrape.contentType, Vary: 'Accept-Encoding' };
    if (acceptsGzip(req.headers['accept-encoding'])) {
      const body = await scrape.gzipped();
      res.writeHead(200, { ...headers, 'Content-Encoding': 'gzip', 'Content-Length': body.length });
      res.end(body);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': scrape.body.length });
    res.end(scrape.body);
  };
  return [
    { method: 'GET', path: '/api/v1/metrics', auth: 'metrics', handle },
    { method: 'GET', path: '/metrics', auth: 'metrics', handle },
  ];
}
