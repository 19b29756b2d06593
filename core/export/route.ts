import { HttpError, type Route } from '../http/server.js';
import type { Db } from '../store/db.js';
import { EXPORT_CONTENT_TYPES, exportFileName, exportUsage, openExportConnection } from './export.js';
import { ExportQueryError, resolveExportQuery, type ExportQuery } from './query.js';

/** The client went away mid-download: nothing to report. */
function clientGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE' || code === 'ECONNRESET';
}

/** Values of a repeatable parameter, each also split on commas (`provider=openai,anthropic`). */
function listParameter(params: URLSearchParams, name: string, splitCommas: boolean): string[] {
  const values = params.getAll(name);
  return (splitCommas ? values.flatMap((v) => v.split(',')) : values).map((v) => v.trim()).filter((v) => v !== '');
}

/**
 * `GET /api/v1/export?format=csv|jsonl|json&from=&to=&granularity=hour|day|month&provider=&model=`
 * for the browser dashboard (UI token): streams the file as an attachment. `provider` may repeat
 * or list ids separated by commas; `model` may repeat (model names can hold commas). Bad
 * parameters answer 400 with a one-line reason before anything is streamed.
 */
export function exportRoute(db: Db, now: () => number = Date.now): Route {
  return {
    method: 'GET',
    path: '/api/v1/export',
    auth: 'ui',
    async handle({ res, url }) {
      const params = url.searchParams;
      const nowMs = now();
      let query: ExportQuery;
      try {
        query = resolveExportQuery(
          {
            format: params.get('format'),
            granularity: params.get('granularity'),
            from: params.get('from'),
            to: params.get('to'),
            providers: listParameter(params, 'provider', true),
            models: listParameter(params, 'model', false),
          },
          nowMs,
        );
      } catch (err) {
        if (err instanceof ExportQueryError) throw new HttpError(400, err.message);
        throw err;
      }
      const reader = openExportConnection(db);
      try {
        res.writeHead(200, {
          'Content-Type': EXPORT_CONTENT_TYPES[query.format],
          'Content-Disposition': `attachment; filename="${exportFileName(query, nowMs)}"`,
        });
        await exportUsage(reader, query, res);
      } catch (err) {
        if (!clientGone(err)) throw err;
      } finally {
        if (reader !== db) reader.close();
      }
    },
  };
}
