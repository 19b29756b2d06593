import { parseTimeWindow, TimeRangeError } from '../../shared/time-range.js';
import { renderMetrics } from '../metrics/exposition.js';
import { buildMetricsRegistry, type MetricsSnapshot } from '../metrics/registry.js';
import type { TimeWindow } from '../../shared/time-range.js';
import { HttpError, type Route } from './server.js';

/** Prefers OpenMetrics only when the scraper lists it in Accept. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return /application\/openmetrics-text/i.test(accept ?? '');
}

/** `GET /api/v1/metrics` and its `/metrics` alias. */
export function metricsRoutes(loadSnapshot: (window: TimeWindow) => MetricsSnapshot, now: () => number = Date.now): Route[] {
  const handle: Route['handle'] = async ({ req, res, url }) => {
    let window: TimeWindow;
    try {
      window = parseTimeWindow(url.searchParams.get('from'), url.searchParams.get('to'), now());
    } catch (err) {
      if (err instanceof TimeRangeError) throw new HttpError(400, err.message);
      throw err;
    }
    const registry = buildMetricsRegistry(() => loadSnapshot(window), wantsOpenMetrics(req.headers.accept));
    const text = await renderMetrics(registry);
    res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  return [
    { method: 'GET', path: '/api/v1/metrics', auth: 'metrics', handle },
    { method: 'GET', path: '/metrics', auth: 'metrics', handle },
  ];
}
