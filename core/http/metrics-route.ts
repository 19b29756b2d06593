import { parseTimeWindow, TimeRangeError } from '../../shared/time-range.js';
import type { CustomerSeries } from '../ingest/customers.js';
import { joinExpositions, renderMetrics } from '../metrics/exposition.js';
import { buildCustomerRegistry, buildMetricsRegistry, type MetricsSnapshot } from '../metrics/registry.js';
import { createScrapeCache, createTextCache, type RenderedScrape } from '../metrics/scrape-cache.js';
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
  /**
   * A write that changes no reported number but that reads want done first (the SDK writes
   * pending, folded into the hourly rows and the customer rollups), or null when there is none: asked
   * before every rendering's version is read, and run so that earlier renderings stay current.
   */
  pendingWrite?(): (() => void) | null;
  /** Changes whenever `load` may answer differently for the same window other than by time passing: data written, keys or settings changed. */
  version(): string;
  /** Equal for two windows only when `load` answers the same for both (same rows selected); default: their exact bounds. */
  windowKey?(window: TimeWindow): string;
  /**
   * The per-customer families' data, apart from `load`'s (which then leaves them out): their
   * rendering is kept and reused while `key` and the window's key stay the same, so a write that
   * changes no SDK data (a poll, a budget edit) renders the other families only. Most of a scrape's
   * samples are per customer (~4 000 of ~6 100 with 2 000 customers at 1M rows).
   */
  customers?: {
    /** Changes whenever `load` may answer differently for the same window; read before `load`, in the same tick. */
    key(): string;
    load(window: TimeWindow): CustomerSeries[];
  };
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

/** Queries scraped within this long are rendered ahead: after this process writes, and before their rendering ages out. */
export const REFRESH_RECENT_MS = 120_000;

/**
 * A query is rendered ahead at most once per this long on average: the CPU a stream of writes
 * (an SDK sending batches back to back) can make the app spend on rendering is bounded by it.
 */
export const REFRESH_MIN_INTERVAL_MS = 1_000;

/**
 * How many renderings ahead a query may have in a row, at once after each write, before the
 * average above holds it back (a token bucket, refilled one per REFRESH_MIN_INTERVAL_MS). Writes
 * seconds apart, or a few close together (a poll, then an SDK batch), are each rendered ahead at
 * once: with a fixed minimum interval, a write less than a second after the previous rendering
 * waited out the rest of that second, and a scrape in between rendered itself.
 */
export const RENDER_AHEAD_BURST = 3;

/** How many queries are rendered ahead at most (the most recently scraped); as many as the scrape cache keeps. */
const MAX_RECENT_QUERIES = 16;

/** How long before its rendering ages out (SCRAPE_REUSE_MS) a recently scraped query is rendered again. */
export const REFRESH_BEFORE_AGE_OUT_MS = 10_000;

/**
 * How often the data version is read, while queries are rendered ahead, for writes this process
 * did not make (`llmeter poll` from cron, a second app on the same folder): two pragma reads, 8–18 µs
 * at 1M rows, so ten times a second is under 0.02 % of a core while a scraper is active (and nothing
 * when none is), and a rendering starts within 0.1 s of such a write instead of at the next scrape.
 */
export const WATCH_OTHER_WRITES_MS = 100;

const DAY_MS = 86_400_000;

/** The metrics endpoint: its routes, and what the app tells it about its own writes. */
export interface MetricsEndpoint {
  routes: Route[];
  /**
   * This process committed a write that may change what scrapes report (a poll, SDK batches, a
   * settings, budget or key change): the queries scraped recently are rendered again in the
   * background, so that the next scrape, seconds later, finds a current rendering. A scrape never
   * gets an older one: the data version is checked at every scrape, and one that arrives while a
   * rendering of its version is under way joins it. Writes by other processes are found by
   * reading the version every WATCH_OTHER_WRITES_MS while there are queries to render ahead.
   */
  dataWritten(): void;
  /** Runs a write that changes no reported number (see ScrapeCache.unchangedBy), keeping the renderings made before it. */
  unchangedBy(write: () => void): void;
  /** Stops rendering ahead (shutdown). */
  close(): void;
}

/** A scrape's query as the scraper sends it: now-relative bounds are resolved when it is rendered. */
interface MetricsQuery {
  from: string | null;
  to: string | null;
  openMetrics: boolean;
}

interface RecentQuery {
  query: MetricsQuery;
  scrapes: number;
  scrapedAt: number;
  /** Renderings ahead allowed at `creditsAt` (see RENDER_AHEAD_BURST). */
  credits: number;
  creditsAt: number;
  timer: NodeJS.Timeout | null;
  dueAt: number;
}

/** The renderings ahead `entry` is allowed at `nowMs`: its credits, refilled since they were counted. */
function creditsAt(entry: RecentQuery, nowMs: number): number {
  return Math.min(RENDER_AHEAD_BURST, entry.credits + Math.max(0, nowMs - entry.creditsAt) / REFRESH_MIN_INTERVAL_MS);
}

/** How long renderings are reused, how long before that a recently scraped query is rendered again, and how often other processes' writes are looked for (tests change them). */
export interface ReuseTiming {
  reuseMs: number;
  refreshBeforeAgeOutMs: number;
  watchOtherWritesMs: number;
}

/** `GET /api/v1/metrics` and its `/metrics` alias, with each query's rendering kept and rendered ahead (see MetricsEndpoint). */
export function createMetricsEndpoint(
  source: MetricsSource,
  now: () => number = Date.now,
  timing: ReuseTiming = { reuseMs: SCRAPE_REUSE_MS, refreshBeforeAgeOutMs: REFRESH_BEFORE_AGE_OUT_MS, watchOtherWritesMs: WATCH_OTHER_WRITES_MS },
): MetricsEndpoint {
  const refreshAt = (scrape: RenderedScrape): number => scrape.renderedAt + timing.reuseMs - timing.refreshBeforeAgeOutMs;
  const cache = createScrapeCache({ version: () => source.version(), maxAgeMs: timing.reuseMs, now });
  const customerTexts = createTextCache();
  const recent = new Map<string, RecentQuery>();
  // Rendered ahead one at a time, each in its own turn of the event loop, so scrapes are served in between.
  const queue = new Set<RecentQuery>();
  let pumping = false;
  let closed = false;

  /**
   * The rendering of a query at this moment: reused while current, rendered otherwise. The snapshot
   * is read in the same tick as the cache reads the version, so a rendering is never older than the
   * version it is kept under. (A registry per rendering: keeping registries and their 25 metric
   * objects for reuse measured no faster at 1M rows, 8.6 ms either way; the samples cost, not the objects.)
   */
  const scrapeOf = (query: MetricsQuery, maxAgeMs?: number): Promise<RenderedScrape> => {
    const pendingWrite = source.pendingWrite?.();
    if (pendingWrite) cache.unchangedBy(pendingWrite);
    const nowMs = now();
    const window = parseTimeWindow(query.from, query.to, nowMs);
    const windowKey = source.windowKey?.(window) ?? `${window.fromSec}..${window.toSec}`;
    const render = async (): Promise<{ contentType: string; text: string }> => {
      const { customers } = source;
      // Both parts are read in this tick; the customers' key before their data (see MetricsSource.customers).
      const customersText =
        customers &&
        customerTexts(JSON.stringify([customers.key(), windowKey, query.openMetrics]), () => {
          const series = customers.load(window);
          return renderMetrics(buildCustomerRegistry(() => series, query.openMetrics));
        });
      const snapshot = source.load(window);
      const registry = buildMetricsRegistry(() => snapshot, query.openMetrics, { customers: !customers });
      const text = await renderMetrics(registry);
      return { contentType: registry.contentType, text: customersText ? joinExpositions([text, await customersText], query.openMetrics) : text };
    };
    return cache.get(JSON.stringify([windowKey, query.openMetrics, Math.floor(nowMs / DAY_MS)]), render, maxAgeMs);
  };

  const enqueue = (entry: RecentQuery): void => {
    queue.add(entry);
    // Later in this turn, so that pump chooses among all the queries one write made due.
    setImmediate(pump).unref();
  };
  const schedule = (entry: RecentQuery, atMs: number): void => {
    if (closed) return;
    const nowMs = now();
    // Due now: queued in this call, not by a timer each (timers set across a millisecond fire in separate turns, and the first would render alone).
    if (atMs <= nowMs) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.timer = null;
      enqueue(entry);
      return;
    }
    if (entry.timer && entry.dueAt <= atMs) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.dueAt = atMs;
    entry.timer = setTimeout(() => {
      entry.timer = null;
      enqueue(entry);
    }, atMs - nowMs).unref();
  };
  const pump = (): void => {
    if (pumping || closed) return;
    // The most recently scraped first: the likeliest to be scraped again soon.
    let entry: RecentQuery | undefined;
    for (const queued of queue) if (!entry || queued.scrapedAt > entry.scrapedAt) entry = queued;
    if (!entry) return;
    queue.delete(entry);
    pumping = true;
    void refresh(entry).finally(() => {
      pumping = false;
      setImmediate(pump).unref();
    });
  };
  const refresh = async (entry: RecentQuery): Promise<void> => {
    const key = recentKey(entry.query);
    if (recent.get(key) !== entry) return;
    if (now() - entry.scrapedAt > REFRESH_RECENT_MS) {
      forget(key);
      return;
    }
    const startedAt = now();
    try {
      // A rendering about to age out is not reused: this is what renders it again before it does.
      const scrape = await scrapeOf(entry.query, timing.reuseMs - timing.refreshBeforeAgeOutMs);
      // Only a rendering made here spends a credit; one found current (kept through a fold of the customer rollups, or made for a scrape) costs nothing.
      if (scrape.renderedAt >= startedAt) {
        entry.credits = Math.max(0, creditsAt(entry, startedAt) - 1);
        entry.creditsAt = startedAt;
      }
      schedule(entry, refreshAt(scrape));
    } catch {
      // The next scrape renders (and reports) it; a failed rendering is not kept.
    }
  };

  /** Remembers a query that repeats (scraped twice or more, as a scraper's are) for rendering ahead; a one-off query is not worth it. */
  const noteScraped = (query: MetricsQuery, scrape: RenderedScrape): void => {
    const key = recentKey(query);
    const entry = recent.get(key) ?? { query, scrapes: 0, scrapedAt: 0, credits: RENDER_AHEAD_BURST, creditsAt: now(), timer: null, dueAt: 0 };
    entry.scrapes++;
    entry.scrapedAt = now();
    recent.delete(key);
    recent.set(key, entry);
    if (recent.size > MAX_RECENT_QUERIES) forget(recent.keys().next().value!);
    if (entry.scrapes >= 2) {
      schedule(entry, refreshAt(scrape));
      watchOtherWrites();
    }
  };
  const forget = (key: string): void => {
    const entry = recent.get(key);
    if (entry?.timer) clearTimeout(entry.timer);
    recent.delete(key);
  };

  /** Renders the recent queries again after a write (see MetricsEndpoint.dataWritten). */
  const renderAhead = (): void => {
    const nowMs = now();
    if (watch) seenVersion = source.version();
    for (const [key, entry] of recent) {
      if (nowMs - entry.scrapedAt > REFRESH_RECENT_MS) forget(key);
      else if (entry.scrapes >= 2) schedule(entry, nowMs + Math.max(0, 1 - creditsAt(entry, nowMs)) * REFRESH_MIN_INTERVAL_MS);
    }
  };
  const rendersAhead = (): boolean => {
    const nowMs = now();
    for (const entry of recent.values()) if (entry.scrapes >= 2 && nowMs - entry.scrapedAt <= REFRESH_RECENT_MS) return true;
    return false;
  };
  // Writes by other processes: the version, read while there are queries to render ahead (and only then, so an unscraped app stays idle).
  let watch: NodeJS.Timeout | null = null;
  let seenVersion = '';
  const stopWatching = (): void => {
    if (watch) clearInterval(watch);
    watch = null;
  };
  const watchOtherWrites = (): void => {
    if (watch || closed) return;
    seenVersion = source.version();
    watch = setInterval(() => {
      if (!rendersAhead()) return stopWatching();
      try {
        if (source.version() !== seenVersion) renderAhead();
      } catch {
        // The database is closing or unreadable: the next scrape renders, and reports it.
      }
    }, timing.watchOtherWritesMs).unref();
  };

  const handle: Route['handle'] = async ({ req, res, url }) => {
    const query: MetricsQuery = { from: url.searchParams.get('from'), to: url.searchParams.get('to'), openMetrics: wantsOpenMetrics(req.headers.accept) };
    let scrape: RenderedScrape;
    try {
      scrape = await scrapeOf(query);
    } catch (err) {
      if (err instanceof TimeRangeError) throw new HttpError(400, err.message);
      throw err;
    }
    noteScraped(query, scrape);
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

  return {
    routes: [
      { method: 'GET', path: '/api/v1/metrics', auth: 'metrics', handle },
      { method: 'GET', path: '/metrics', auth: 'metrics', handle },
    ],
    dataWritten: renderAhead,
    // The watch sees such a write as a change too; rendering ahead then finds the kept renderings current.
    unchangedBy: (write) => cache.unchangedBy(write),
    close() {
      closed = true;
      stopWatching();
      for (const entry of recent.values()) if (entry.timer) clearTimeout(entry.timer);
      recent.clear();
      queue.clear();
    },
  };
}

function recentKey(query: MetricsQuery): string {
  return JSON.stringify([query.from, query.to, query.openMetrics]);
}

/** `GET /api/v1/metrics` and its `/metrics` alias (createMetricsEndpoint's routes, for hosts that do not render ahead). */
export function metricsRoutes(source: MetricsSource, now: () => number = Date.now): Route[] {
  return createMetricsEndpoint(source, now).routes;
}
