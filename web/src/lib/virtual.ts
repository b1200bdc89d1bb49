// Windowing for the product grid: with 20,000 products only the rows in view (plus a few
// either side) are in the DOM, so a category switch or a search keystroke re-renders tens
// of tiles, not thousands.

export interface GridWindow {
  columns: number;
  rows: number;
  /** First and last (exclusive) product index to render. */
  start: number;
  end: number;
  /** Pixels above the first rendered row (the rows skipped). */
  offset: number;
  /** The full height of every row, rendered or not. */
  height: number;
}

export interface GridSize {
  count: number;
  width: number;
  viewport: number;
  scrollTop: number;
  minTile: number;
  rowHeight: number;
  gap: number;
  overscan: number;
}

/** Columns as CSS `repeat(auto-fill, minmax(minTile, 1fr))` lays them out. */
export function columnsFor(width: number, minTile: number, gap: number): number {
  return Math.max(1, Math.floor((width + gap) / (minTile + gap)));
}

export function gridWindow(s: GridSize): GridWindow {
  const columns = columnsFor(s.width, s.minTile, s.gap);
  const rows = Math.ceil(s.count / columns);
  const stride = s.rowHeight + s.gap;
  const height = Math.max(0, rows * stride - s.gap);
  // A stale scroll position (the list just got shorter) counts as scrolled to the end.
  const top = Math.max(0, Math.min(s.scrollTop, height - s.viewport));
  const first = Math.max(0, Math.floor(top / stride) - s.overscan);
  const last = Math.min(rows, Math.ceil((top + s.viewport) / stride) + s.overscan);
  return {
    columns,
    rows,
    start: Math.min(s.count, first * columns),
    end: Math.min(s.count, Math.max(first, last) * columns),
    offset: first * stride,
    height,
  };
}

/** Lower-cased name and SKU per product, computed once per menu, so a keystroke is one
 * `includes` per product and no allocation. */
export function searchIndex<T extends { name: string; sku: string }>(products: T[]): { product: T; text: string }[] {
  return products.map((product) => ({ product, text: `${product.name}\u0000${product.sku}`.toLowerCase() }));
}

export function search<T>(index: { product: T; text: string }[], query: string): T[] {
  const q = query.trim().toLowerCase();
  if (!q) return index.map((e) => e.product);
  const out: T[] = [];
  for (const e of index) if (e.text.includes(q)) out.push(e.product);
  return out;
}
