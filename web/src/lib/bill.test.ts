import { describe, expect, it } from 'vitest';
import { changeDue, changeWithTip, formatPercentBp, itemsShare, parseMinor, parsePercentBp, quickTenders, seatShare, seatsOf, splitEvenly, variance } from './bill';

const lines = [
  { id: 'a', total: 25000, seat: 1, status: 'ready' },
  { id: 'b', total: 8000, seat: 2, status: 'ready' },
  { id: 'c', total: 12000, seat: 2, status: 'served' },
  { id: 'd', total: 0, seat: 3, status: 'voided' },
  { id: 'e', total: 5000, seat: null, status: 'ready' },
];

describe('shares of the bill', () => {
  it('items add their line totals, capped at the balance', () => {
    expect(itemsShare(lines, ['a', 'e'], 50000)).toBe(30000);
    expect(itemsShare(lines, ['a', 'b'], 20000)).toBe(20000);
    expect(itemsShare(lines, [], 50000)).toBe(0);
  });
  it('a seat is its live lines; voided seats do not appear', () => {
    expect(seatsOf(lines)).toEqual([1, 2]);
    expect(seatShare(lines, 2, 50000)).toBe(20000);
    expect(seatShare(lines, 3, 50000)).toBe(0);
  });
  it('an even split adds up to the balance exactly', () => {
    expect(splitEvenly(10000, 3)).toEqual([3334, 3333, 3333]);
    expect(splitEvenly(50000, 2)).toEqual([25000, 25000]);
    expect(splitEvenly(2, 3)).toEqual([1, 1, 0]);
    for (const [b, n] of [[999999, 7], [1, 1], [123457, 4]]) {
      const parts = splitEvenly(b, n);
      expect(parts.reduce((s, x) => s + x, 0)).toBe(b);
      expect(parts.every((p) => Number.isInteger(p))).toBe(true);
    }
    expect(() => splitEvenly(100, 0)).toThrow(RangeError);
  });
});

describe('cash', () => {
  it('change is tendered minus amount, null when short', () => {
    expect(changeDue(50000, 45000)).toBe(5000);
    expect(changeDue(45000, 45000)).toBe(0);
    expect(changeDue(40000, 45000)).toBeNull();
  });
  it('refuses floats', () => {
    expect(() => changeDue(10.5, 5)).toThrow(RangeError);
    expect(() => variance(1, 0.1)).toThrow(RangeError);
  });
  it('quick tenders: exact, then round notes above', () => {
    expect(quickTenders(45000, [5000, 10000, 50000])).toEqual([45000, 50000]);
    expect(quickTenders(12500, [1000, 5000, 10000, 50000])).toEqual([12500, 13000, 15000, 20000]);
    expect(quickTenders(50000, [5000, 10000, 50000])).toEqual([50000]);
  });
  it('variance is counted minus expected', () => {
    expect(variance(95000, 100000)).toBe(-5000);
    expect(variance(100500, 100000)).toBe(500);
  });
});

describe('typed amounts', () => {
  it('UGX has no decimals', () => {
    expect(parseMinor('12,500', 'UGX')).toBe(12500);
    expect(parseMinor(' 100 000 ', 'UGX')).toBe(100000);
    expect(parseMinor('12.5', 'UGX')).toBeNull();
  });
  it('two-decimal currencies without float error', () => {
    expect(parseMinor('0.1', 'USD')).toBe(10);
    expect(parseMinor('1,234.56', 'KES')).toBe(123456);
    expect(parseMinor('19.99', 'USD')).toBe(1999);
    expect(parseMinor('.05', 'USD')).toBe(5);
    expect(parseMinor('1.005', 'USD')).toBeNull();
  });
  it('not an amount', () => {
    for (const t of ['', '-5', 'abc', '1.2.3', '.']) expect(parseMinor(t, 'UGX')).toBeNull();
  });
});

describe('discount and tip arithmetic', () => {
  it('reads a percentage as basis points, on the digits', () => {
    expect(parsePercentBp('10')).toBe(1000);
    expect(parsePercentBp('12.5')).toBe(1250);
    expect(parsePercentBp('7.25 %')).toBe(725);
    expect(parsePercentBp('0.01')).toBe(1);
    expect(parsePercentBp('100')).toBe(10_000);
    expect(parsePercentBp('100.01')).toBeNull();
    expect(parsePercentBp('1.234')).toBeNull();
    expect(parsePercentBp('-5')).toBeNull();
    expect(parsePercentBp('')).toBeNull();
    expect(formatPercentBp(1250)).toBe('12.5 %');
    expect(formatPercentBp(1000)).toBe('10 %');
    expect(formatPercentBp(5)).toBe('0.05 %');
  });
  it('counts the tip in the cash handed over', () => {
    expect(changeWithTip(50_000, 31_000, 4_000)).toBe(15_000);
    expect(changeWithTip(31_000, 31_000, 1)).toBeNull();
    expect(() => changeWithTip(50_000, 31_000, 0.5)).toThrow(RangeError);
  });
});
