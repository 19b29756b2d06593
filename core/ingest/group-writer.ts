import type { ProviderId } from '../../shared/providers.js';
import type { IngestResult } from '../../sdk/wire.js';
import type { Db } from '../store/db.js';
import type { IngestEvent } from './schema.js';
import { writeSdkBatches } from './store.js';

/** The most events one group write holds; batches past it wait for the next write. */
export const MAX_GROUP_EVENTS = 10_000;

interface WaitingBatch {
  events: IngestEvent[];
  resolve(result: IngestResult): void;
  reject(err: unknown): void;
}

/**
 * Group commit of SDK batches: a batch waits until the event loop has taken in the requests
 * already received (setImmediate), then every batch waiting is written in one transaction
 * (writeSdkBatches) and each request gets its own counts, or the write's error. A lone batch is
 * written at once, as before; batches arriving together (several SDK processes, or one sending
 * over several connections) share a commit, whose pages they mostly share too.
 */
export function createGroupWriter(deps: { db: Db; billedProviders(): readonly ProviderId[]; nowSec(): number }): (events: IngestEvent[]) => Promise<IngestResult> {
  let waiting: WaitingBatch[] = [];
  const writeWaiting = (): void => {
    let size = 0;
    let count = 0;
    while (count < waiting.length && (count === 0 || size + waiting[count]!.events.length <= MAX_GROUP_EVENTS)) size += waiting[count++]!.events.length;
    const group = waiting.slice(0, count);
    waiting = waiting.slice(count);
    if (waiting.length > 0) setImmediate(writeWaiting);
    try {
      const results = writeSdkBatches(deps.db, group.map((batch) => batch.events), { billedProviders: deps.billedProviders(), nowSec: deps.nowSec() });
      group.forEach((batch, i) => batch.resolve(results[i]!));
    } catch (err) {
      for (const batch of group) batch.reject(err);
    }
  };
  return (events) =>
    new Promise((resolve, reject) => {
      if (waiting.length === 0) setImmediate(writeWaiting);
      waiting.push({ events, resolve, reject });
    });
}
