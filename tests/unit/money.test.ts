import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatNanoAsDecimal, parseAmountToNano, usdInputToNano } from '../../shared/money.js';

describe('parseAmountToNano', () => {
  it('reads dollars as numbers and numeric strings alike', () => {
    expect(parseAmountToNano(0.06)).toBe(60_000_000n);
    expect(parseAmountToNano('12.50')).toBe(12_500_000_000n);
    expect(parseAmountToNano(' 3 ')).toBe(3_000_000_000n);
  });
  it('reads Anthropic cents with fractions exactly', () => {
    expect(parseAmountToNano('123.78912', -2)).toBe(1_237_891_200n);
    expect(parseAmountToNano('123.45', -2)).toBe(1_234_500_000n);
    expect(parseAmountToNano('0.0000001', -2)).toBe(1n);
  });
  it('handles exponents and negative amounts', () => {
    expect(parseAmountToNano(1e-7)).toBe(100n);
    expect(parseAmountToNano('2.5E+2')).toBe(250_000_000_000n);
    expect(parseAmountToNano('-0.5')).toBe(-500_000_000n);
  });
  it('rounds beyond a nano-dollar half away from zero', () => {
    expect(parseAmountToNano('0.0000000005')).toBe(1n);
    expect(parseAmountToNano('0.0000000004')).toBe(0n);
    expect(parseAmountToNano('-0.0000000005')).toBe(-1n);
  });
  it('rejects what is not a finite decimal', () => {
    for (const bad of ['', 'abc', '1,5', '0x10', 'NaN', null, undefined, {}, [], Infinity, Number.NaN, '1e999999', true]) {
      expect(parseAmountToNano(bad)).toBeNull();
    }
  });
  it('never loses a digit: format(parse(x)) == x for nano-precision decimals', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), (nano) => {
        const text = formatNanoAsDecimal(nano);
        expect(parseAmountToNano(text)).toBe(nano);
      }),
    );
  });
  it('sums exactly where floats do not', () => {
    const sum = parseAmountToNano(0.1)! + parseAmountToNano(0.2)!;
    expect(formatNanoAsDecimal(sum)).toBe('0.3');
  });
});

describe('formatNanoAsDecimal', () => {
  it('drops trailing zeros and keeps signs', () => {
    expect(formatNanoAsDecimal(0n)).toBe('0');
    expect(formatNanoAsDecimal(1_237_891_200n)).toBe('1.2378912');
    expect(formatNanoAsDecimal(-3_500_000_000n)).toBe('-3.5');
    expect(formatNanoAsDecimal(1n)).toBe('0.000000001');
    expect(formatNanoAsDecimal(-999_999_999n)).toBe('-0.999999999');
    expect(formatNanoAsDecimal(10n ** 30n + 10n)).toBe('1000000000000000000000.00000001');
  });
  it('writes one canonical form: no leading or trailing zeros, no "-0", digits for the value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), (nano) => {
        const text = formatNanoAsDecimal(nano);
        expect(text).toMatch(/^-?(0|[1-9]\d*)(\.\d*[1-9])?$/);
        expect(text.startsWith('-')).toBe(nano < 0n);
        const [whole, fraction = ''] = text.replace('-', '').split('.');
        expect(BigInt(whole!) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0'))).toBe(nano < 0n ? -nano : nano);
      }),
    );
  });
  it('writes a safe integer number exactly as the same bigint, and refuses a number that is not one', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (nano) => {
        expect(formatNanoAsDecimal(nano)).toBe(formatNanoAsDecimal(BigInt(nano)));
      }),
    );
    expect(formatNanoAsDecimal(-0)).toBe('0');
    for (const unsafe of [2 ** 53, -(2 ** 53), 1.5, Number.NaN, Infinity]) expect(() => formatNanoAsDecimal(unsafe), String(unsafe)).toThrow(RangeError);
  });
});

describe('usdInputToNano', () => {
  it('accepts non-negative amounts only', () => {
    expect(usdInputToNano('50')).toBe(50_000_000_000n);
    expect(usdInputToNano('-1')).toBeNull();
    expect(usdInputToNano('fifty')).toBeNull();
  });
});
