import type { ProviderId } from '../../shared/providers.js';
import type { UsageRecord } from '../../shared/usage.js';
import type { JsonReader } from './json-reader.js';
import type { AdapterOptions, PagedBucket, PagedReport } from './paging.js';
import { DEFAULT_MAX_PAGES, checkFirstPage, fetchAllBuckets } from './paging.js';
import { RecordCollector } from './records.js';
import { DAY, HOUR, startOfDay } from './time.js';
import type { FetchWindow, ProviderAdapter, ProviderContext } from './types.js';

/** One result of a report bucket, with what is needed to read it and name it in an error. */
export interface BucketResult {
  result: Record<string, unknown>;
  /** JSON path of the result within its page, e.g. `data[3].results[0]`. */
  at: string;
  /** Reader whose errors name the endpoint and page. */
  read: JsonReader;
  /** Start (Unix s) of the bucket the result belongs to. */
  start: number;
  /** End (Unix s, exclusive) of that bucket. */
  end: number;
}

/** One report of a usage-and-cost API. */
export interface ReportSpec {
  /** Documented path, e.g. `/v1/organization/costs`. */
  path: string;
  /** Query after the time range (bucket width, grouping, page size), without `?`. */
  query: string;
  /** The record one result of a bucket stands for. */
  record: (result: BucketResult) => UsageRecord;
}

/** What sets one usage-and-cost provider apart: how it is called and how its buckets read. */
export interface UsageAndCostApi {
  provider: ProviderId;
  /** Request headers carrying the key. */
  headers: (key: string) => Record<string, string>;
  /** Query parameters selecting the window, without `?`. */
  timeQuery: (window: FetchWindow) => string;
  /** Names of the bucket fields holding its start and end, and the JsonReader method their values are read with. */
  bucketTimes: { start: string; end: string; format: 'unixSeconds' | 'timestamp' };
  usage: ReportSpec;
  cost: ReportSpec;
}

/**
 * An adapter for a provider with an hourly usage report and a daily cost report, both bucketed and
 * paged alike (OpenAI, Anthropic): a fetch reads every page of both over the whole window; a key is
 * validated with the first page of one day of the cost report, the call that needs the billing permission.
 */
export function createUsageAndCostAdapter(api: UsageAndCostApi, options: AdapterOptions = {}): ProviderAdapter {
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  const now = options.now ?? Date.now;
  const report = (ctx: ProviderContext, path: string, query: string): PagedReport => ({
    provider: api.provider,
    http: ctx.http,
    headers: api.headers(ctx.key),
    baseUrl: ctx.baseUrl,
    path,
    query,
    maxPages,
  });

  return {
    id: api.provider,

    async fetch(ctx, window) {
      const collector = new RecordCollector();
      // Progress in buckets: the usage report has one per hour of the window, the cost report one per day.
      const expected = [Math.ceil((window.end - window.start) / HOUR), Math.ceil((window.end - window.start) / DAY)];
      const total = expected[0]! + expected[1]!;
      let done = 0;
      for (const spec of [api.usage, api.cost]) {
        const before = done;
        const paged = report(ctx, spec.path, `${api.timeQuery(window)}&${spec.query}`);
        paged.onPage = (buckets) => ctx.onProgress?.(Math.min(1, (before + buckets) / total));
        const pages = await fetchAllBuckets(paged);
        done += spec === api.usage ? expected[0]! : expected[1]!;
        for (const page of pages) collector.addBucket(bucketRecords(page, api.bucketTimes, spec.record));
      }
      return {
        records: collector.records(),
        coverage: [
          { source: 'usage', start: window.start, end: window.end },
          { source: 'cost', start: window.start, end: window.end },
        ],
      };
    },

    async validateKey(ctx) {
      const today = startOfDay(now() / 1000);
      await checkFirstPage(report(ctx, api.cost.path, `${api.timeQuery({ start: today - DAY, end: today })}&bucket_width=1d&limit=1`));
    },
  };
}

/** The records of one bucket: its times checked, then each entry of its `results` list. */
function bucketRecords(
  { bucket, path, read }: PagedBucket,
  times: UsageAndCostApi['bucketTimes'],
  record: ReportSpec['record'],
): UsageRecord[] {
  const start = read[times.format](bucket[times.start], `${path}.${times.start}`);
  const end = read[times.format](bucket[times.end], `${path}.${times.end}`);
  if (end <= start) read.fail(`${path}.${times.end}`, `is not after ${times.start}`);
  return read.array(bucket['results'], `${path}.results`).map((value, index) => {
    const at = `${path}.results[${index}]`;
    return record({ result: read.object(value, at), at, read, start, end });
  });
}
