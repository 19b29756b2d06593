import { formatNanoAsDecimal, parseAmountToNano } from '../../shared/money.js';

/**
 * Numbers and times as people read them, in the user's locale. Money arrives as exact decimal
 * strings and is handed to Intl as a string, so no float ever rounds it before display.
 */

/** Where the user is: the browser's locale (Electron passes the OS one). */
export const userLocale = (): string | undefined => (typeof navigator === 'undefined' ? undefined : navigator.language) || undefined;

const currencyFormats = new Map<string, Intl.NumberFormat>();

function currencyFormat(fractionDigits: number, locale = userLocale()): Intl.NumberFormat {
  const id = `${locale ?? ''}|${fractionDigits}`;
  let format = currencyFormats.get(id);
  if (!format) {
    format = new Intl.NumberFormat(locale, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: fractionDigits });
    currencyFormats.set(id, format);
  }
  return format;
}

/** True when the decimal string is non-zero and below one cent in absolute value. */
function isSubCent(decimal: string): boolean {
  const match = /^-?(\d+)(?:\.(\d*))?$/.exec(decimal.trim());
  if (!match) return false;
  const [, whole = '', fraction = ''] = match;
  return /^0+$/.test(whole) && /^0*$/.test(fraction.slice(0, 2)) && /[1-9]/.test(fraction.slice(2));
}

/**
 * Formats exact decimal dollars ("12.3456789") as currency: cents as usual, up to 4 decimals for a
 * non-zero amount below a cent so that it does not read as zero.
 */
export function formatUsd(decimal: string, locale?: string): string {
  // Intl formats a numeric string exactly (no float conversion).
  return currencyFormat(isSubCent(decimal) ? 4 : 2, locale).format(decimal as Intl.StringNumericLiteral);
}

/** The full exact amount in the user's format, for tooltips and the chart's hover: "$12.3456789". */
export function formatUsdExact(decimal: string, locale?: string): string {
  return currencyFormat(9, locale).format(decimal as Intl.StringNumericLiteral);
}

/** Exact sum of decimal dollar strings (through nano-dollars, never floats). */
export function sumUsd(values: readonly string[]): string {
  let total = 0n;
  for (const value of values) total += parseAmountToNano(value) ?? 0n;
  return formatNanoAsDecimal(total);
}

/** Exact difference a − b of decimal dollar strings. */
export function subtractUsd(a: string, b: string): string {
  return formatNanoAsDecimal((parseAmountToNano(a) ?? 0n) - (parseAmountToNano(b) ?? 0n));
}

/** A count in the user's locale: "1,234,567". */
export function formatCount(value: number, locale = userLocale()): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }).format(value);
}

/** A count shortened for cards: "1.2M". */
export function formatCompact(value: number, locale = userLocale()): string {
  return new Intl.NumberFormat(locale, { notation: 'compact', maximumFractionDigits: 1 }).format(value);
}

/** A share 0..1 as a percentage: "42 %". */
export function formatPercent(ratio: number, locale = userLocale()): string {
  return new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: ratio < 0.1 && ratio > 0 ? 1 : 0 }).format(ratio);
}

/** An ISO time as a local date and time: "Nov 27, 2026, 10:15 AM". */
export function formatDateTime(iso: string, locale = userLocale()): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

/** An ISO time as a UTC calendar date: "Nov 27, 2026" (buckets and periods are UTC days). */
export function formatUtcDate(iso: string, locale = userLocale()): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(iso));
}

const RELATIVE_STEPS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Infinity],
];

/** How long ago (or ahead) an ISO time is, in words: "5 minutes ago". */
export function formatRelative(iso: string, nowMs = Date.now(), locale = userLocale()): string {
  let amount = (new Date(iso).getTime() - nowMs) / 1000;
  const format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  for (const [unit, size] of RELATIVE_STEPS) {
    if (Math.abs(amount) < size) return format.format(Math.round(amount), unit);
    amount /= size;
  }
  return format.format(Math.round(amount), 'year');
}
