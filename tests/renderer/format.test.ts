// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { formatRelative, formatUsd, formatUsdExact, subtractUsd, sumUsd } from '../../renderer/src/format.js';
import { pageFromHash } from '../../renderer/src/App.js';
import { rangeQuery } from '../../renderer/src/range.js';

describe('formatting for people', () => {
  it('formats exact decimal strings as currency in the locale, keeping sub-cent amounts visible', () => {
    expect(formatUsd('1234.5', 'en-US')).toBe('$1,234.50');
    expect(formatUsd('1234.5', 'de-DE')).toBe('1.234,50\u00a0$');
    expect(formatUsd('0.0034', 'en-US')).toBe('$0.0034');
    expect(formatUsd('0', 'en-US')).toBe('$0.00');
    // Beyond float precision: Intl gets the string, so nothing is lost before rounding.
    expect(formatUsdExact('90071992547409.123456789', 'en-US')).toBe('$90,071,992,547,409.123456789');
  });

  it('adds money exactly', () => {
    expect(sumUsd(['0.1', '0.2'])).toBe('0.3');
    expect(sumUsd(['1.000000001', '2.25', '-0.25'])).toBe('3.000000001');
    expect(subtractUsd('120', '22.97')).toBe('97.03');
  });

  it('says how long ago, and reads pages and ranges', () => {
    expect(formatRelative('2026-11-19T15:25:00Z', Date.parse('2026-11-19T15:30:00Z'), 'en')).toBe('5 minutes ago');
    expect(pageFromHash('#/budgets')).toBe('budgets');
    expect(pageFromHash('#/nowhere')).toBe('overview');
    expect(rangeQuery({ preset: '7d', fromDate: '', toDate: '' })).toEqual({ from: 'now/d-6d', to: 'now' });
    expect(rangeQuery({ preset: 'custom', fromDate: '2026-11-01', toDate: '2026-11-07' })).toEqual({ from: '2026-11-01', to: '2026-11-07' });
  });
});
