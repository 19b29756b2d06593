import { listAlerts } from '../budgets/budgets.js';
import type { Db } from '../store/db.js';
import { HttpError, sendJson, type Route } from './server.js';

/**
 * `GET /api/v1/alerts[?limit=N]`: fired budget alerts, newest first, as a JSON array (the same
 * document as `npx llmeter alerts --json`). It is an API for scripts and monitoring, like the
 * metrics, so it takes the metrics token rather than the dashboard's per-run UI token.
 */
export function alertsRoute(db: Db): Route {
  return {
    method: 'GET',
    path: '/api/v1/alerts',
    auth: 'metrics',
    handle: ({ res, url }) => {
      const raw = url.searchParams.get('limit');
      const limit = raw === null ? undefined : Number(raw);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) throw new HttpError(400, `limit must be a whole number from 1 to 1000, not "${raw}"`);
      sendJson(res, 200, listAlerts(db, limit === undefined ? {} : { limit }));
    },
  };
}
