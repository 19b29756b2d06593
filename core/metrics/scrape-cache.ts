import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/** One rendered scrape: the exposition text as bytes (encoded once, not per request), and its gzip form made on first request. */
export interface RenderedScrape {
  contentType: string;
  /** When the rendering started (the cache's clock); it reads the data as of then. */
  renderedAt: number;
  body: Buffer;
  /** The body gzip-compressed, made once per rendering when a scraper first accepts gzip. */
  gzipped(): Promise<Buffer>;
}

interface Entry {
  version: string;
  renderedAt: number;
  scrape: Promise<RenderedScrape>;
}

/** How a scrape cache decides that a rendering is still the answer. */
export interface ScrapeCacheOptions {
  /** Changes whenever what a scrape reports may have changed other than by time passing (data written, keys or settings changed). */
  version(): string;
  /** The longest a rendering is reused while nothing is written: bounds how stale the time-dependent parts get (budget forecasts, `now`-relative windows). */
  maxAgeMs: number;
  now(): number;
  /** Distinct queries kept at once; the oldest is dropped beyond it, so odd queries cannot grow memory. */
  maxEntries?: number;
}

/** Renders of recent scrapes, keyed by query, reused until the data changes or they age out. */
export interface ScrapeCache {
  /**
   * The rendering for `key`: reused when the version is unchanged and it is younger than `maxAgeMs`
   * (default: the cache's), else made by `render`, which must read the data in the same tick as it is called.
   */
  get(key: string, render: () => Promise<{ contentType: string; text: string }>, maxAgeMs?: number): Promise<RenderedScrape>;
  /**
   * Runs `write`, which must change nothing any scrape reports (e.g. folding pending rollup changes,
   * whose readers give the same sums before and after), and keeps the renderings made before it:
   * those of the version read just before `write` take the version read just after it.
   */
  unchangedBy(write: () => void): void;
}

/** Entries by key, the most recently made `maxEntries` kept; an entry whose work fails is dropped. */
interface KeptEntries<E> {
  get(key: string): E | undefined;
  /** Keeps `entry` under `key`, until `work` fails (if it does) or newer entries push it out. */
  keep(key: string, entry: E, work: Promise<unknown>): void;
  values(): Iterable<E>;
}

function keptEntries<E>(maxEntries: number): KeptEntries<E> {
  const entries = new Map<string, E>();
  return {
    get: (key) => entries.get(key),
    keep(key, entry, work) {
      entries.delete(key);
      entries.set(key, entry);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      work.catch(() => {
        if (entries.get(key) === entry) entries.delete(key);
      });
    },
    values: () => entries.values(),
  };
}

/**
 * Prometheus, Grafana and a dashboard scrape the same query over and over while the data changes
 * a few times an hour (polls, SDK batches). Rendering once per change instead of once per scrape
 * makes a scrape cost a map look-up and a write, whatever the database holds; concurrent scrapes
 * of a query that is not rendered yet share one rendering. A failed rendering is not kept.
 */
export function createScrapeCache(options: ScrapeCacheOptions): ScrapeCache {
  const entries = keptEntries<Entry>(options.maxEntries ?? 16);
  return {
    get(key, render, maxAgeMs = options.maxAgeMs) {
      const version = options.version();
      const now = options.now();
      const cached = entries.get(key);
      // A clock that moved back makes every rendering suspect: render again.
      if (cached && cached.version === version && now >= cached.renderedAt && now - cached.renderedAt < maxAgeMs) return cached.scrape;
      const scrape = render().then(({ contentType, text }): RenderedScrape => {
        const body = Buffer.from(text, 'utf8');
        let gzipped: Promise<Buffer> | undefined;
        return { contentType, renderedAt: now, body, gzipped: () => (gzipped ??= gzipAsync(body)) };
      });
      entries.keep(key, { version, renderedAt: now, scrape }, scrape);
      return scrape;
    },
    unchangedBy(write) {
      const before = options.version();
      write();
      const after = options.version();
      for (const entry of entries.values()) if (entry.version === before) entry.version = after;
    },
  };
}

/**
 * Texts rendered once per key and reused while the key comes back (the `maxEntries` most recently
 * made are kept; a failed rendering is not): for a part of a scrape whose key says everything it
 * depends on, such as the per-customer families keyed by the SDK data, the window's selection and
 * the format.
 */
export function createTextCache(maxEntries = 16): (key: string, render: () => Promise<string>) => Promise<string> {
  const entries = keptEntries<Promise<string>>(maxEntries);
  return (key, render) => {
    const cached = entries.get(key);
    if (cached) return cached;
    const text = render();
    entries.keep(key, text, text);
    return text;
  };
}
