import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTimeBound, parseTimeWindow, startOfPeriod, TimeRangeError } from '../../shared/time-range.js';

// Thursday 2026-11-26 15:42:10 UTC
const NOW = Date.UTC(2026, 10, 26, 15, 42, 10);
const sec = (ms: number): number => Math.floor(ms / 1000);

describe('parseTimeBound', () => {
  it('understands the relative forms', () => {
    expect(parseTimeBound('from', 'now', NOW, false)).toBe(sec(NOW));
    expect(parseTimeBound('from', 'now-15m', NOW, false)).toBe(sec(NOW) - 900);
    expect(parseTimeBound('from', 'now-1h', NOW, false)).toBe(sec(NOW) - 3600);
    expect(parseTimeBound('from', 'now-7d', NOW, false)).toBe(sec(NOW) - 7 * 86400);
    expect(parseTimeBound('from', 'now/d', NOW, false)).toBe(sec(Date.UTC(2026, 10, 26)));
    expect(parseTimeBound('from', 'now/w', NOW, false)).toBe(sec(Date.UTC(2026, 10, 23)));
    expect(parseTimeBound('from', 'now/M', NOW, false)).toBe(sec(Date.UTC(2026, 10, 1)));
    expect(parseTimeBound('from', 'now/M-1M', NOW, false)).toBe(sec(Date.UTC(2026, 9, 1)));
  });
  it('reads ISO dates and date-times in UTC, a bare end date including its day', () => {
    expect(parseTimeBound('from', '2026-11-01', NOW, false)).toBe(sec(Date.UTC(2026, 10, 1)));
    expect(parseTimeBound('to', '2026-11-01', NOW, true)).toBe(sec(Date.UTC(2026, 10, 2)));
    expect(parseTimeBound('from', '2026-11-01T12:00:00Z', NOW, false)).toBe(sec(Date.UTC(2026, 10, 1, 12)));
    expect(parseTimeBound('from', '2026-11-01T12:00:00+02:00', NOW, false)).toBe(sec(Date.UTC(2026, 10, 1, 10)));
  });
  it('rejects what it does not understand with a reason', () => {
    for (const bad of ['', 'yesterday', '2026-02-30', '2026-13-01', 'now-', 'now+1y', '2026-11-01T25:00:00Z', '1732000000', 'x'.repeat(100)]) {
      expect(() => parseTimeBound('from', bad, NOW, false)).toThrow(TimeRangeError);
    }
  });
  it('either parses or throws TimeRangeError for any input (fuzzed)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (input) => {
        try {
          expect(Number.isFinite(parseTimeBound('from', input, NOW, false))).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(TimeRangeError);
          expect((err as Error).message).not.toContain('\n');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseTimeWindow', () => {
  it('leaves missing bounds open and checks order', () => {
    expect(parseTimeWindow(null, null, NOW)).toEqual({ fromSec: null, toSec: null });
    expect(() => parseTimeWindow('now', 'now-1h', NOW)).toThrow(/must be before/);
  });
});

describe('startOfPeriod', () => {
  it('starts weeks on Monday, also across a month end', () => {
    expect(startOfPeriod(Date.UTC(2026, 2, 1, 5), 'w')).toBe(Date.UTC(2026, 1, 23));
    expect(startOfPeriod(Date.UTC(2026, 10, 23), 'w')).toBe(Date.UTC(2026, 10, 23));
  });
});
