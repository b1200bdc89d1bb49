import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, waitFor, within } from '@testing-library/preact';
import { formatAge } from './manager/Dashboard';
import { cell, columns } from './manager/Reports';
import { Manager } from './Manager';
import { RECENT_CLOSED_SHIFTS, ShiftsTab } from './manager/Shifts';
import { setSession } from '../lib/session';
import { navigate } from '../lib/router';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  setSession(null);
  localStorage.clear();
});

describe('dashboard and report formatting', () => {
  it('ages read as minutes and seconds', () => {
    expect(formatAge(0)).toBe('0:00');
    expect(formatAge(245)).toBe('4:05');
    expect(formatAge(3723)).toBe('1:02:03');
  });
  it('money columns from minor units, counts as they are', () => {
    expect(cell('gross_sales', 24000, 'UGX')).toBe('USh 24,000');
    expect(cell('net', 123456, 'KES')).toBe('KSh 1,234.56');
    expect(cell('orders', 3, 'UGX')).toBe('3');
    expect(cell('quantity', 3, 'UGX')).toBe('3');
    expect(cell('hour', 7, 'UGX')).toBe('07:00');
    expect(cell('method', 'mtn_momo', 'UGX')).toBe('MTN MoMo');
    expect(cell('vat_rate_bp', 1650, 'UGX')).toBe('16.5 %');
    expect(cell('approved_by_name', null, 'UGX')).toBe('—');
    expect(columns([{ product_id: 'x', product: 'Beer', currency: 'UGX', sales: 1 }])).toEqual(['product', 'sales']);
  });
});

describe('Manager', () => {
  const me = (role: 'manager' | 'cashier' | 'admin') => ({
    staff: { id: 's', username: 'u', full_name: 'U', role, active: true, must_change_password: false, has_pin: false, created_at: '', updated_at: '' },
    must_change_password: false,
    expires_at: '2030-01-01T00:00:00Z',
    terminal: null,
  });
  it('offers a manager the dashboard, reports, shifts and Z reports', () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('{}', { status: 503 })));
    vi.stubGlobal('EventSource', class { addEventListener() {} close() {} });
    setSession(me('manager'));
    navigate('/manager?tab=shifts', true);
    render(<Manager />);
    const tabs = screen.getByRole('navigation', { name: 'Screen' });
    expect(within(tabs).getAllByRole('link').map((a) => a.textContent)).toEqual(['Dashboard', 'Reports', 'Shifts', 'Z reports']);
    expect(within(tabs).getByRole('link', { name: 'Shifts' }).getAttribute('aria-current')).toBe('page');
  });
  it('offers a cashier nothing here', () => {
    setSession(me('cashier'));
    navigate('/manager', true);
    render(<Manager />);
    expect(screen.getByText('Your role has no manager screens.')).toBeTruthy();
    expect(within(screen.getByRole('navigation', { name: 'Screen' })).queryAllByRole('link')).toHaveLength(0);
  });
});

describe('Shifts', () => {
  const cash = { opening_float: 50000, cash_sales: 12000, cash_refunds: 0, cash_in: 0, cash_out: 0, expected: 62000 };
  const shift = (id: string, staff_id: string, over: Record<string, unknown>) => ({
    id, staff_id, currency: 'UGX', opening_float: 50000, opened_at: '2026-12-07T08:00:00Z', movements: [], cash, ...over,
  });
  it('lists every open shift and the recent closed ones from the shifts list, orders or not', async () => {
    const asked: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL) => {
        const url = new URL(input instanceof Request ? input.url : String(input), 'http://127.0.0.1');
        const path = url.pathname + url.search;
        asked.push(path);
        const body =
          path === '/api/reports/dashboard'
            ? { open_shifts: [{ shift: { id: 'a', staff_id: 'amy' }, staff: 'Amy Cashier' }] }
            : path === '/api/shifts?status=open&limit=500'
              ? [shift('a', 'amy', { status: 'open' })]
              : path === `/api/shifts?status=closed&limit=${RECENT_CLOSED_SHIFTS}`
                ? [shift('b', 'bob', { status: 'closed', closed_at: '2026-12-06T22:00:00Z', expected_cash: 62000, counted_cash: 61000, variance: -1000 })]
                : null;
        return body ? new Response(JSON.stringify(body), { status: 200 }) : new Response('{"status":404}', { status: 404 });
      }),
    );
    render(<ShiftsTab />);
    expect(await screen.findByRole('article', { name: 'Shift of Amy Cashier' })).toBeTruthy();
    const closed = await screen.findByRole('region', { name: 'Closed recently' });
    const row = within(closed).getAllByRole('row')[1];
    expect(within(row).getByRole('rowheader').textContent).toBe('Staff bob');
    expect(within(row).getAllByRole('cell').map((c) => c.textContent)).toContain('-USh 1,000');
    await waitFor(() => expect(asked.some((p) => p.startsWith('/api/orders'))).toBe(false));
  });
});
