import type { TimeWindow } from '../../shared/time-range.js';
import type { Db } from './db.js';
import { cachedStatement } from './statements.js';

const HOUR = 3_600;

/**
 * A key that two windows share only when they select the same stored rows (a row belongs to a
 * window when its bucket starts in it). A bound moves up to the next whole UTC hour when no usage
 * row and no SDK hourly row starts between the two, and stays as it is when one does: buckets
 * start on whole hours, so `from=now-1h` keeps one key until now crosses an hour, whatever the
 * seconds, and a row that does not start on the hour still gets the exact bound. Two index seeks
 * per bound.
 */
export function windowSelectionKey(db: Db, window: TimeWindow): string {
  return `${selectionBound(db, window.fromSec)}..${selectionBound(db, window.toSec)}`;
}

function selectionBound(db: Db, sec: number | null): string {
  if (sec === null) return '';
  const hour = Math.ceil(sec / HOUR) * HOUR;
  if (hour === sec) return String(sec);
  const startsBetween = cachedStatement(
    db,
    'SELECT EXISTS (SELECT 1 FROM usage WHERE bucket_start >= @sec AND bucket_start < @hour) OR EXISTS (SELECT 1 FROM sdk_usage_hourly_keyed WHERE hour >= @sec AND hour < @hour)',
  )
    .pluck(true)
    .get({ sec, hour });
  return startsBetween === 1 ? String(sec) : String(hour);
}
