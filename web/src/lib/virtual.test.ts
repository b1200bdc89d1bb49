import { describe, expect, it } from 'vitest';
import { columnsFor, gridWindow, search, searchIndex } from './virtual';

const base = { minTile: 150, rowHeight: 150, gap: 10, overscan: 2 };

describe('product grid window', () => {
  it('lays out columns like auto-fill minmax(150px, 1fr)', () => {
    expect(columnsFor(150, 150, 10)).toBe(1);
    expect(columnsFor(309, 150, 10)).toBe(1);
    expect(columnsFor(310, 150, 10)).toBe(2);
    expect(columnsFor(0, 150, 10)).toBe(1);
  });
  it('renders only the rows in view plus the overscan, whatever the count', () => {
    const w = gridWindow({ ...base, count: 20_000, width: 810, viewport: 640, scrollTop: 0 });
    expect(w.columns).toBe(5);
    expect(w.rows).toBe(4000);
    // 640 px shows 4 rows (160 px each); 2 more below: 6 rows of 5.
    expect([w.start, w.end, w.offset]).toEqual([0, 30, 0]);
    expect(w.height).toBe(4000 * 160 - 10);
  });
  it('follows the scroll, keeping the offset on a row boundary', () => {
    const w = gridWindow({ ...base, count: 20_000, width: 810, viewport: 640, scrollTop: 160 * 1000 + 40 });
    expect(w.start).toBe((1000 - 2) * 5);
    expect(w.end).toBe((1000 + 5 + 2) * 5);
    expect(w.offset).toBe(998 * 160);
  });
  it('clamps at the end of the list', () => {
    const w = gridWindow({ ...base, count: 12, width: 810, viewport: 640, scrollTop: 5000 });
    expect(w.end).toBe(12);
    expect(w.start).toBeLessThanOrEqual(w.end);
    expect(gridWindow({ ...base, count: 0, width: 810, viewport: 640, scrollTop: 0 })).toMatchObject({ start: 0, end: 0, height: 0 });
  });
});

describe('menu search', () => {
  const products = [
    { name: 'Local Beer', sku: 'DRK-001' },
    { name: 'Red Wine (Glass)', sku: 'DRK-004' },
    { name: 'Chicken Wings', sku: 'FD-008' },
  ];
  const index = searchIndex(products);
  it('matches name or SKU, ignoring case, in menu order', () => {
    expect(search(index, 'WINE').map((p) => p.name)).toEqual(['Red Wine (Glass)']);
    expect(search(index, 'drk').map((p) => p.name)).toEqual(['Local Beer', 'Red Wine (Glass)']);
    expect(search(index, '  ').length).toBe(3);
  });
  it('never matches across the name and the SKU', () => {
    expect(search(index, 'wingsfd')).toEqual([]);
  });
});
