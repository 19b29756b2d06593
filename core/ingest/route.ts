import type { ProviderId } from '../../shared/providers.js';
import { INGEST_PATH, MAX_BATCH_BYTES, type IngestResult } from '../../sdk/wire.js';
import { HttpError, sendJson, type Route } from '../http/server.js';
import type { Db } from '../store/db.js';
import { parseIngestBody } from './schema.js';
import { createGroupWriter } from './group-writer.js';

/** What the ingest route needs from the core. */
export interface IngestRouteDeps {
  db: Db;
  /** Providers with a billing key right now: their SDK spend is stored superseded (billing counts instead). */
  billedProviders(): readonly ProviderId[];
  now?: () => number;
  /** Called after a batch stored new events, once its answer is sent (budgets, listeners). */
  onIngested?(result: IngestResult): void;
}

/**
 * `POST /api/v1/ingest`: a batch of SDK events (`{"events": [...]}`) behind the ingest token.
 * Answers 200 with `{received, inserted, duplicates}`; 415 for a body that is not JSON, 413 past
 * the size or event limit, 400 naming the first invalid field. Idempotent on event ids. Batches
 * received together are written together (createGroupWriter).
 */
export function ingestRoute(deps: IngestRouteDeps): Route {
  const now = deps.now ?? Date.now;
  const write = createGroupWriter({ db: deps.db, billedProviders: deps.billedProviders, nowSec: () => Math.floor(now() / 1000) });
  return {
    method: 'POST',
    path: INGEST_PATH,
    auth: 'ingest',
    async handle({ req, res, readBody }) {
      const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (mediaType !== 'application/json') {
        throw new HttpError(415, `Content-Type must be application/json, not "${mediaType.slice(0, 100) || 'none'}"`);
      }
      const events = parseIngestBody(await readBody(MAX_BATCH_BYTES), now());
      const result = await write(events);
      sendJson(res, 200, result);
      if (result.inserted > 0) deps.onIngested?.(result);
    },
  };
}
