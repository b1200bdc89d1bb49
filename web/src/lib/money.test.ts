import { describe, expect, it } from 'vitest';
import { currencyExponent, formatMoney, lineTotal } from './money';

describe('formatMoney', () => {
  it('UGX has no minor unit', () => {
    expect(formatMoney(30000, 'UGX')).toBe('USh 30,000');
    expect(formatMoney(0, 'UGX')).toBe('USh 0');
    expect(formatMoney(1234567, 'UGX')).toBe('USh 1,234,567');
  });
  it('two-decimal currencies place the point from the exponent', () => {
    expect(formatMoney(123456, 'KES')).toBe('KSh 1,234.56');
    expect(formatMoney(5, 'USD')).toBe('$ 0.05');
    expect(formatMoney(100, 'USD')).toBe('$ 1.00');
    expect(formatMoney(-5, 'USD')).toBe('-$ 0.05');
  });
  it('three-decimal currencies and unknown codes', () => {
    expect(formatMoney(1005, 'KWD')).toBe('KWD 1.005');
    expect(currencyExponent('XYZ')).toBe(2);
  });
  it('exact beyond float precision', () => {
    expect(formatMoney(9007199254740993n, 'USD')).toBe('$ 90,071,992,547,409.93');
  });
  it('refuses a float', () => {
    expect(() => formatMoney(1.5, 'UGX')).toThrow(RangeError);
  });
});

describe('lineTotal', () => {
  it('adds modifiers per unit, then multiplies', () => {
    expect(lineTotal(8000, [2000, 500], 3)).toBe(31500);
    expect(lineTotal(8000, [], 1)).toBe(8000);
  });
});
