import { foldCustomerRollups } from '../../core/ingest/customers.js';
import type { Db } from '../../core/store/db.js';

/**
 * The (day, customer key) pairs whose daily customer rollup plus logged changes differ from the
 * SDK hourly rows they sum, as [day, customer key, rows, cost, requests, input, output] of the
 * difference: none when the rollups are exact.
 */
export function customerRollupDrift(db: Db): unknown[] {
  return db
    .prepare(
      `SELECT day, customer_key, SUM(rows), SUM(cost_nano), SUM(requests), SUM(input_tokens), SUM(output_tokens) FROM (
         SELECT hour - hour % 86400 AS day, customer_key, 1 AS rows, cost_nano, requests, input_tokens, output_tokens FROM sdk_usage_hourly_keyed
         UNION ALL SELECT day, customer_key, -rows, -cost_nano, -requests, -input_tokens, -output_tokens FROM sdk_customers_daily
         UNION ALL SELECT day, customer_key, -rows, -cost_nano, -requests, -input_tokens, -output_tokens FROM sdk_customers_pending
       ) GROUP BY 1, 2 HAVING SUM(rows) <> 0 OR SUM(cost_nano) <> 0 OR SUM(requests) <> 0 OR SUM(input_tokens) <> 0 OR SUM(output_tokens) <> 0`,
    )
    .raw(true)
    .all();
}

/** `db` with the pending SDK writes folded into the hourly rows, as the app's readers do first: for a test reading those rows directly. */
export function folded(db: Db): Db {
  foldCustomerRollups(db);
  return db;
}
