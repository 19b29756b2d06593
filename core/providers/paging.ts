import type { ProviderId } from '../../shared/providers.js';
import type { HttpClient } from './http.js';
import { JsonReader } from './json-reader.js';

/**
 * Most pages any one report may take. 10 000 pages of 168 hourly buckets is over 190 years, so only
 * a server that never stops saying `has_more` reaches it.
 */
export const DEFAULT_MAX_PAGES = 10_000;

/** Knobs every adapter factory takes; the defaults are what production uses. */
export interface AdapterOptions {
  /** Page guard per report; see DEFAULT_MAX_PAGES. */
  maxPages?: number;
  /** Clock in milliseconds, for the windows that depend on today. */
  now?: () => number;
}

/** A documented path appended to a configured base URL, tolerating a trailing slash on the base. */
export function joinUrl(baseUrl: string, pathAndQuery: string): string {
  return baseUrl.replace(/\/+$/, '') + pathAndQuery;
}

/** One time bucket of a paged report, with what is needed to name it in an error. */
export interface PagedBucket {
  bucket: Record<string, unknown>;
  /** JSON path of the bucket within its page, e.g. `data[3]`. */
  path: string;
  /** Reader whose errors name the endpoint and page. */
  read: JsonReader;
}

/** What fetchAllBuckets needs to walk one report. */
export interface PagedReport {
  provider: ProviderId;
  http: HttpClient;
  headers: Record<string, string>;
  baseUrl: string;
  /** Documented path, e.g. `/v1/organization/costs`; also names the endpoint in errors. */
  path: string;
  /** Query string without `?` and without `page`. */
  query: string;
  maxPages: number;
  /** Told how many buckets have arrived after each page. */
  onPage?: (bucketsSoFar: number) => void;
}

/**
 * Fetches every page of an OpenAI- or Anthropic-style bucketed report (`{data, has_more, next_page}`,
 * next page requested with `page=<next_page>` and otherwise the same query). Stopping early would
 * silently under-count, so a cursor the server already sent, a missing cursor while `has_more` is
 * true, or more than `maxPages` pages fail the whole fetch as `malformed`.
 */
export async function fetchAllBuckets(report: PagedReport): Promise<PagedBucket[]> {
  const buckets: PagedBucket[] = [];
  const seenCursors = new Set<string>();
  let cursor: string | null = null;
  for (let pageNumber = 1; ; pageNumber++) {
    if (pageNumber > report.maxPages) {
      new JsonReader(report.provider, report.path).fail('has_more', `was still true after ${report.maxPages} pages`);
    }
    const fetched = await fetchPage(report, cursor, pageNumber);
    const { page, data } = fetched;
    // Annotated so that TypeScript narrows after read.fail(), which never returns.
    const read: JsonReader = fetched.read;
    data.forEach((bucket, index) => buckets.push({ bucket: read.object(bucket, `data[${index}]`), path: `data[${index}]`, read }));
    report.onPage?.(buckets.length);
    if (!read.boolean(page['has_more'], 'has_more')) return buckets;
    const next = read.optionalString(page['next_page'], 'next_page');
    if (!next) read.fail('next_page', 'is empty although has_more is true');
    if (seenCursors.has(next)) read.fail('next_page', 'repeats a cursor the server already sent, so paging would never end');
    seenCursors.add(next);
    cursor = next;
  }
}

/** Fetches only the first page of a report and checks its envelope: proof that the key can read it. */
export async function checkFirstPage(report: PagedReport): Promise<void> {
  const { read, page } = await fetchPage(report, null, 1);
  read.boolean(page['has_more'], 'has_more');
}

interface FetchedPage {
  read: JsonReader;
  page: Record<string, unknown>;
  data: unknown[];
}

async function fetchPage(report: PagedReport, cursor: string | null, pageNumber: number): Promise<FetchedPage> {
  const read = new JsonReader(report.provider, pageNumber === 1 ? report.path : `${report.path} (page ${pageNumber})`);
  const query = cursor === null ? report.query : `${report.query}&page=${encodeURIComponent(cursor)}`;
  const body = await report.http.getJson(report.provider, joinUrl(report.baseUrl, `${report.path}?${query}`), report.headers);
  const page = read.object(body, '(body)');
  return { read, page, data: read.array(page['data'], 'data') };
}
