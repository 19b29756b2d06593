/**
 * Exact money. Every amount is an integer count of nano-dollars (1e-9 USD) held in a bigint,
 * so sums never pick up float artefacts such as 0.30000000000000004. Nano rather than micro
 * because Anthropic reports fractional cents ("123.78912" cents = $1.2378912), which micro-dollars
 * would round.
 */

/** Nano-dollars in one dollar. */
export const NANO_PER_USD = 1_000_000_000n;

const DECIMAL = /^([+-])?(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses a decimal amount (a JSON number or a numeric string) into nano-dollars.
 * `unitExponent` says what one unit of the input is worth in dollars as a power of ten:
 * 0 for dollars, -2 for cents. Digits beyond 1e-9 USD are rounded half away from zero.
 * Returns `null` for anything that is not a finite decimal number.
 */
export function parseAmountToNano(value: unknown, unitExponent = 0): bigint | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    // String(number) is the shortest text that round-trips, i.e. what the provider wrote.
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return null;
  }
  const match = DECIMAL.exec(text);
  if (!match) return null;
  const [, sign, intPart, fracPart = '', expPart] = match;
  const digits = (intPart ?? '') + fracPart;
  // value = digits × 10^(exp - fracLen) units = digits × 10^(exp - fracLen + unitExponent + 9) nano
  const shift = Number(expPart ?? 0) - fracPart.length + unitExponent + 9;
  if (Math.abs(shift) > 400 || digits.length > 400) return null;
  let nano: bigint;
  if (shift >= 0) {
    nano = BigInt(digits) * 10n ** BigInt(shift);
  } else {
    const divisor = 10n ** BigInt(-shift);
    const whole = BigInt(digits);
    nano = whole / divisor;
    if ((whole % divisor) * 2n >= divisor) nano += 1n;
  }
  return sign === '-' ? -nano : nano;
}

/**
 * Formats nano-dollars as a plain decimal string of dollars with no trailing zeros
 * ("1.2378912", "0", "-3.5"). Exact: no float arithmetic is involved. A number must be a safe
 * integer (one a sum of bigints could have been), or this throws a RangeError.
 */
export function formatNanoAsDecimal(nano: bigint | number): string {
  if (typeof nano === 'number' && !Number.isSafeInteger(nano)) throw new RangeError(`${nano} is not a whole number of nano-dollars that a number holds exactly`);
  // From the digits, not by BigInt division and remainder: ~3x faster, and a scrape or an hourly
  // chart formats thousands of these. String() of a safe integer is its digits (no exponent below 1e21).
  const text = String(nano);
  const negative = text.charCodeAt(0) === 45; // '-'
  const digits = (negative ? text.slice(1) : text).padStart(10, '0');
  const wholeLength = digits.length - 9;
  let end = digits.length;
  while (end > wholeLength && digits.charCodeAt(end - 1) === 48) end--; // trailing '0's of the fraction
  const whole = digits.slice(0, wholeLength);
  return `${negative ? '-' : ''}${whole}${end > wholeLength ? `.${digits.slice(wholeLength, end)}` : ''}`;
}

/** Nano-dollars as a JS number of dollars, for display and for Prometheus sample values. */
export function nanoToUsd(nano: bigint): number {
  return Number(formatNanoAsDecimal(nano));
}

/** Whole dollars and cents typed by a person ("50", "12.5") to nano-dollars; null when not a non-negative amount. */
export function usdInputToNano(text: string): bigint | null {
  const nano = parseAmountToNano(text, 0);
  return nano === null || nano < 0n ? null : nano;
}
