import type { ProviderId } from '../../shared/providers.js';
import type { IngestResult } from '../../sdk/wire.js';
import type { Db } from '../store/db.js';
import type { IngestEvent } from './schema.js';
import { writeSdkBatches } from './store.js';

/** The most events one group write holds; batches past it wait for the next write. */
export const MAX_GROUP_EVENTS = 10_000;

/**
 * The longest a group write waits for the senders of the previous group to send again (see
 * createGroupWriter). A batch of 500 events costs tens of milliseconds to receive, parse and
 * write, so this is a small part of any one answer's time.
 */
export const MAX_GROUP_WAIT_MS = 4;

interface WaitingBatch {
  events: IngestEvent[];
  resolve(result: IngestResult): void;
  reject(err: unknown): void;
}

/**
 * Group commit of SDK batches: a batch waits until the event loop has taken in the requests
 * already received (setImmediate), then every batch waiting is written in one transaction
 * (writeSdkBatches) and each request gets its own counts, or the write's error. A lone batch is
 * written at once, as before. Batches arriving together (several SDK processes, or one sending
 * over several connections) share a commit, whose pages they mostly share too: the customer hours
 * of a batch are spread over the current hour's pages, and a commit writes each page it changed
 * once, however many batches changed it (measured over 240 batches into 1M rows, before the pending writes of migration 11: 428 WAL pages per
 * batch written alone, 307 in groups of two, 201 in groups of four). So when the previous write held batches of several senders,
 * the next one waits up to MAX_GROUP_WAIT_MS for as many: their answers left together, and their
 * next batches come back a parse apart, which without the wait split into a write of the first
 * alone and one of the rest.
 */
export function createGroupWriter(deps: { db: Db; billedProviders(): readonly ProviderId[]; nowSec(): number }): (events: IngestEvent[]) => Promise<IngestResult> {
  let waiting: WaitingBatch[] = [];
  // The number of batches the last write held: how many senders are likely to send again together.
  let senders = 1;
  let firstWaitingSince = 0;
  let wait: NodeJS.Timeout | null = null;
  const writeWaiting = (): void => {
    wait = null;
    let size = 0;
    let count = 0;
    while (count < waiting.length && (count === 0 || size + waiting[count]!.events.length <= MAX_GROUP_EVENTS)) size += waiting[count++]!.events.length;
    const waitLeft = firstWaitingSince + MAX_GROUP_WAIT_MS - performance.now();
    if (count === waiting.length && count < senders && waitLeft > 0) {
      wait = setTimeout(writeWaiting, waitLeft);
      return;
    }
    const group = waiting.slice(0, count);
    waiting = waiting.slice(count);
    senders = group.length;
    if (waiting.length > 0) {
      firstWaitingSince = performance.now();
      setImmediate(writeWaiting);
    }
    try {
      const results = writeSdkBatches(deps.db, group.map((batch) => batch.events), { billedProviders: deps.billedProviders(), nowSec: deps.nowSec() });
      group.forEach((batch, i) => batch.resolve(results[i]!));
    } catch (err) {
      for (const batch of group) batch.reject(err);
    }
  };
  return (events) =>
    new Promise((resolve, reject) => {
      if (waiting.length === 0) {
        firstWaitingSince = performance.now();
        setImmediate(writeWaiting);
      }
      waiting.push({ events, resolve, reject });
      // The senders the group waits for are all here: write without waiting out the rest.
      if (wait && waiting.length >= senders) {
        clearTimeout(wait);
        wait = null;
        setImmediate(writeWaiting);
      }
    });
}
