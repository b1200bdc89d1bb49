import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { MenuProduct } from '../api/client';
import { gridWindow } from '../lib/virtual';
import { ProductTile } from './ProductTile';

/** Tile geometry, kept in step with `.product-grid` in app.css. */
export const TILE = { minWidth: 150, height: 160, gap: 10 };
/** Used until the grid has been measured (and where nothing is laid out, e.g. tests). */
const FALLBACK = { width: 960, height: 800 };
const OVERSCAN = 2;

/** The product grid, windowed: only the rows in view (and OVERSCAN either side) are in the
 * DOM, so 20,000 products cost what 50 do. `resetKey` changes (a category or a search)
 * scroll it back to the top. */
export function ProductGrid({
  products, currency, onPick, resetKey, emptyText,
}: { products: MenuProduct[]; currency: string; onPick: (p: MenuProduct) => void; resetKey: string; emptyText: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState(FALLBACK);
  const [scrollTop, setScrollTop] = useState(0);

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => {
      // Zero where nothing is laid out: keep the fallback rather than render one column.
      if (el.clientWidth > 0 && el.clientHeight > 0) setSize({ width: el.clientWidth, height: el.clientHeight });
    };
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    if (ref.current) ref.current.scrollTop = 0;
    setScrollTop(0);
  }, [resetKey]);

  const frame = useRef(0);
  const onScroll = () => {
    // One state update per animation frame however fast the finger flicks.
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      if (ref.current) setScrollTop(ref.current.scrollTop);
    });
  };
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  const w = gridWindow({
    count: products.length,
    width: size.width,
    viewport: size.height,
    scrollTop,
    minTile: TILE.minWidth,
    rowHeight: TILE.height,
    gap: TILE.gap,
    overscan: OVERSCAN,
  });
  const visible = products.slice(w.start, w.end);
  return (
    <div ref={ref} class="product-scroll" role="group" aria-label="Products" onScroll={onScroll}>
      {!products.length && <p>{emptyText}</p>}
      <div class="product-spacer" style={{ height: `${w.height}px` }}>
        <div
          class="product-grid"
          style={{ transform: `translateY(${w.offset}px)`, gridTemplateColumns: `repeat(${w.columns}, minmax(0, 1fr))` }}
        >
          {visible.map((p) => (
            <ProductTile key={p.id} product={p} currency={currency} onPick={() => onPick(p)} />
          ))}
        </div>
      </div>
    </div>
  );
}
