// Component tests for issue 13's gaps: the windowed product grid with 20,000 products,
// held courses on the order screen (fired through the offline queue) and on the KDS, and
// the receipt shown on the bill once the order closes.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import type { Menu, MenuProduct, Order, OrderItem } from '../api/client';
import { ProductGrid } from '../components/ProductGrid';
import { HeldCourses } from './Kds';
import { OrderScreen } from './Pos';
import { ReceiptPanel } from './Bill';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function product(i: number, over: Partial<MenuProduct> = {}): MenuProduct {
  return {
    id: `p-${i}`, sku: `SKU-${String(i).padStart(5, '0')}`, name: `Product ${i}`, category_id: 'c1', price: 1000 + i,
    effective_price: 1000 + i, happy_hour_active: false, available: true, orderable: true, sort_order: i, modifiers: [],
    updated_at: '2026-01-01T00:00:00Z', ...over,
  };
}

const many = Array.from({ length: 20_000 }, (_, i) => product(i));

function menu(products: MenuProduct[]): Menu {
  return {
    currency: 'UGX',
    categories: [{ id: 'c1', name: 'Everything', sort_order: 1, products }],
    happy_hour: { active: false, start: '16:00:00', end: '19:00:00' },
    popular: [],
    recent: [],
  } as unknown as Menu;
}

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** Buttons of product tiles (their accessible name starts with the product's name). */
const tiles = () => screen.queryAllByRole('button', { name: /^Product \d+ / });

describe('ProductGrid with 20,000 products', () => {
  it('puts only a bounded number of tiles in the DOM, and the rows scrolled to', async () => {
    render(<ProductGrid products={many} currency="UGX" resetKey="" emptyText="none" onPick={() => {}} />);
    const first = tiles();
    expect(first.length).toBeGreaterThan(10);
    expect(first.length).toBeLessThanOrEqual(100);
    expect(screen.getByRole('button', { name: /^Product 0 / })).toBeTruthy();
    expect(screen.queryByRole('button', { name: /^Product 19999 / })).toBeNull();

    // Scroll to the end: the last product is there, the first ones are gone.
    const grid = screen.getByRole('group', { name: 'Products' });
    grid.scrollTop = 5_000_000;
    fireEvent.scroll(grid);
    await waitFor(() => expect(screen.getByRole('button', { name: /^Product 19999 / })).toBeTruthy());
    expect(screen.queryByRole('button', { name: /^Product 0 / })).toBeNull();
    expect(tiles().length).toBeLessThanOrEqual(100);
  });

  it('a tap picks the product', () => {
    const onPick = vi.fn();
    render(<ProductGrid products={many} currency="UGX" resetKey="" emptyText="none" onPick={onPick} />);
    fireEvent.click(screen.getByRole('button', { name: /^Product 3 / }));
    expect(onPick).toHaveBeenCalledWith(many[3]);
  });
});

describe('OrderScreen with a 20,000-product menu', () => {
  it('search filters the whole menu and still renders a bounded number of tiles', async () => {
    render(<OrderScreen menu={menu(many)} ticket={{ tableId: null, tableCode: null, orderId: null, order: null }} tables={[]} onDone={() => {}} />);
    expect(tiles().length).toBeLessThanOrEqual(100);
    const box = screen.getByRole('searchbox', { name: 'Search the menu' });
    const t0 = performance.now();
    fireEvent.input(box, { target: { value: 'product 1999' } });
    await screen.findByRole('button', { name: /^Product 19999 / });
    console.log(`search over 20,000 products, filter and render: ${(performance.now() - t0).toFixed(1)} ms (happy-dom)`);
    // 1999 and 19990–19999.
    expect(tiles().length).toBe(11);
    fireEvent.input(box, { target: { value: 'SKU-0' } });
    await waitFor(() => expect(tiles().length).toBeLessThanOrEqual(100));
    expect(tiles().length).toBeGreaterThan(10);
    fireEvent.input(box, { target: { value: 'no such thing' } });
    await screen.findByText('No product matches “no such thing”.');
  });
});

function item(id: string, name: string, course: number | null, status: OrderItem['status']): OrderItem {
  return {
    id, product_id: 'p', name, unit_price: 10000, quantity: 1, modifiers: [], status, gross: 10000, discount: 0,
    total: 10000, course, created_at: '2026-12-07T00:00:00Z',
  } as OrderItem;
}

function order(items: OrderItem[], over: Partial<Order> = {}): Order {
  return {
    id: '22222222-2222-4222-8222-222222222222', number: 12, business_date: '2026-12-07', type: 'dine_in', staff_id: 's',
    status: 'sent', currency: 'UGX', subtotal: 20000, discount: 0, service_charge: 0, tax: 0, total: 20000, paid: 0,
    balance: 20000, items, created_at: '2026-12-07T00:00:00Z', updated_at: '2026-12-07T00:00:00Z', version: 2,
    table_id: 't1', ...over,
  } as Order;
}

describe('held courses', () => {
  it('the order screen shows a held course and fires it through the queue with an Idempotency-Key', async () => {
    const held = order([item('a', 'Soup', 1, 'sent'), item('b', 'Steak', 2, 'held')]);
    const fired = order([item('a', 'Soup', 1, 'sent'), item('b', 'Steak', 2, 'sent')], { version: 3 });
    const calls: { url: string; key: string | null }[] = [];
    vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      calls.push({ url, key: new Headers(init?.headers).get('Idempotency-Key') });
      if (url.endsWith(`/api/orders/${held.id}/courses/2/fire`)) return json(200, fired);
      return json(404, {});
    });
    render(<OrderScreen menu={menu(many.slice(0, 10))} ticket={{ tableId: 't1', tableCode: 'T1', orderId: held.id, order: held }} tables={[]} onDone={() => {}} />);
    const list = screen.getByRole('list', { name: 'Held courses' });
    expect(within(list).getByText('Course 2 — held')).toBeTruthy();
    expect(within(list).getByText('1× Steak')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Fire course 2' }));
    await screen.findByText('Course 2 fired: the kitchen/bar has it now.');
    expect(screen.queryByRole('list', { name: 'Held courses' })).toBeNull();
    const fire = calls.filter((c) => c.url.includes('/courses/2/fire'));
    expect(fire).toHaveLength(1);
    expect(fire[0].key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a line can be put in a course, and the course button toggles back to "Now"', async () => {
    render(<OrderScreen menu={menu(many.slice(0, 10))} ticket={{ tableId: null, tableCode: null, orderId: null, order: null }} tables={[]} onDone={() => {}} />);
    const courses = screen.getByRole('group', { name: 'Course for new items' });
    fireEvent.click(within(courses).getByRole('button', { name: 'Course 2' }));
    expect(within(courses).getByRole('button', { name: 'Course 2' }).getAttribute('aria-pressed')).toBe('true');
    fireEvent.click(screen.getByRole('button', { name: /^Product 1 / }));
    fireEvent.click(within(courses).getByRole('button', { name: 'Course 2' }));
    expect(within(courses).getByRole('button', { name: 'Now' }).getAttribute('aria-pressed')).toBe('true');
    fireEvent.click(screen.getByRole('button', { name: /^Product 2 / }));
    const lines = screen.getByRole('list', { name: 'Items' });
    expect(within(lines).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      expect.stringContaining('Course 2'),
      expect.not.stringContaining('Course'),
    ]);
    // The line's own dialog moves it to course 3.
    fireEvent.click(screen.getByRole('button', { name: 'Edit Product 2' }));
    const dialog = screen.getByRole('dialog');
    fireEvent.click(within(within(dialog).getByRole('group', { name: 'Course' })).getByRole('button', { name: 'Course 3' }));
    fireEvent.click(within(dialog).getByRole('button', { name: /^Save/ }));
    await waitFor(() => expect(within(lines).getAllByRole('listitem')[1].textContent).toContain('Course 3'));
  });

  it('the KDS shows held items dimmed under the ticket, labelled, with nothing to bump', () => {
    render(
      <HeldCourses
        held={[
          { item_id: 'x', name: 'Steak', quantity: 2, modifiers: ['Medium'], notes: 'no salt', seat: 1, course: 2 },
          { item_id: 'y', name: 'Cake', quantity: 1, modifiers: [], course: 3 },
        ]}
      />,
    );
    const two = screen.getByRole('region', { name: 'Course 2 — held' });
    expect(two.textContent).toContain('2×');
    expect(two.textContent).toContain('Steak');
    expect(two.textContent).toContain('Medium');
    expect(two.textContent).toContain('Seat 1');
    expect(screen.getByRole('region', { name: 'Course 3 — held' }).textContent).toContain('Cake');
    expect(screen.queryAllByRole('button')).toHaveLength(0);
  });
});

describe('ReceiptPanel', () => {
  it('shows the rendered receipt in a fixed-width block', async () => {
    const text = 'HAVILAH CAFE\n------------------------------------------------\n1 x Local Beer                         8,000\nTOTAL                                  8,000\n';
    vi.stubGlobal('fetch', async (input: RequestInfo | URL) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      expect(url).toContain('/api/orders/o-9/receipt?format=json&paper=80mm');
      return json(200, { order_id: 'o-9', copy: true, receipt_number: 41, text });
    });
    render(<ReceiptPanel orderId="o-9" />);
    const pre = await screen.findByLabelText('Receipt text');
    expect(pre.tagName).toBe('PRE');
    expect(pre.textContent).toBe(text);
    expect(screen.getByRole('heading', { name: 'Receipt no. 41' })).toBeTruthy();
  });

  it('offline: says so and offers to try again', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    render(<ReceiptPanel orderId="o-9" />);
    await screen.findByText('Offline: the receipt shows when the network is back.');
    expect(screen.getByRole('button', { name: 'Show the receipt' })).toBeTruthy();
  });
});
