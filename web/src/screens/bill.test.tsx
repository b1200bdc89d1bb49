import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import type { Order } from '../api/client';
import { BillScreen, paymentBody } from './Bill';
import { flush } from '../lib/outbox';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('paymentBody', () => {
  const o = { amount: 15000, items: ['i1'], seat: 2, tendered: 20000, reference: ' MP123 ' };
  it('names exactly one share', () => {
    expect(paymentBody('balance', 'card', o)).toEqual({ method: 'card', amount: 15000 });
    expect(paymentBody('amount', 'card', o)).toEqual({ method: 'card', amount: 15000 });
    expect(paymentBody('items', 'card', o)).toEqual({ method: 'card', items: ['i1'] });
    expect(paymentBody('seat', 'card', o)).toEqual({ method: 'card', seat: 2 });
  });
  it('cash carries what was handed over; mobile money its trimmed reference', () => {
    expect(paymentBody('balance', 'cash', o)).toEqual({ method: 'cash', amount: 15000, tendered: 20000 });
    expect(paymentBody('balance', 'cash', { ...o, tendered: null })).toEqual({ method: 'cash', amount: 15000 });
    expect(paymentBody('balance', 'mtn_momo', o)).toEqual({ method: 'mtn_momo', amount: 15000, reference: 'MP123' });
    expect(paymentBody('balance', 'airtel_money', o)).toEqual({ method: 'airtel_money', amount: 15000, reference: 'MP123' });
  });
});

function order(over: Partial<Order> = {}): Order {
  const item = (id: string, name: string, total: number, seat: number) => ({
    id, product_id: 'p', name, unit_price: total, quantity: 1, modifiers: [], status: 'ready' as const,
    gross: total, discount: 0, total, seat, created_at: '2026-12-07T00:00:00Z',
  });
  return {
    id: '11111111-1111-4111-8111-111111111111', number: 7, business_date: '2026-12-07', type: 'dine_in', staff_id: 's',
    status: 'ready', currency: 'UGX', subtotal: 31000, discount: 0, service_charge: 0, tax: 4276, total: 31000, paid: 0,
    balance: 31000, items: [item('a', 'Local Beer', 16000, 1), item('b', 'Craft Beer', 15000, 2)],
    created_at: '2026-12-07T00:00:00Z', updated_at: '2026-12-07T00:00:00Z', version: 3, table_id: 't1', ...over,
  } as Order;
}

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('BillScreen', () => {
  it('shows the change; a payment whose answer was lost is queued and replayed once with the same key, then shows the order closed', async () => {
    let online = false;
    const keys: string[] = [];
    const bodies: unknown[] = [];
    vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (url.includes('/api/shifts/current')) return json(200, { id: 'sh' });
      const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
      // The closed bill reads the order's payments: none taken elsewhere.
      if (url.endsWith('/payments') && method === 'GET') return json(200, []);
      if (url.endsWith('/payments')) {
        keys.push(new Headers(init?.headers).get('Idempotency-Key') ?? '');
        bodies.push(JSON.parse(String(init?.body)));
        // The first attempt's answer is lost on the way back (the network dropped).
        if (!online) throw new TypeError('Failed to fetch');
        return json(201, {
          payment: { change: 5000 },
          order: order({ paid: 31000, balance: 0, status: 'closed', version: 4 }),
        });
      }
      if (url.includes('/api/orders/')) return json(200, order());
      return json(404, {});
    });
    render(<BillScreen orderId={order().id} tableCode="T1" onBack={() => {}} onSettled={() => {}} />);
    await screen.findByText('USh 31,000', { selector: 'dd.due' });

    fireEvent.input(screen.getByLabelText(/Cash handed over/), { target: { value: '36,000' } });
    await screen.findByText('USh 5,000');

    fireEvent.click(screen.getByRole('button', { name: 'Take Cash · USh 31,000' }));
    await screen.findByText(/queued, it will be sent when the network is back/);
    // The queued payment counts against the balance meanwhile.
    expect(screen.getByText('USh 0', { selector: 'dd.due' })).toBeTruthy();

    expect(keys).toHaveLength(1);
    online = true;
    await flush();
    await waitFor(() => screen.getByText('Order #7 is paid and closed; Table T1 is free.'));
    await flush(); // nothing is left to send
    // Replayed once, with the key of the first attempt, so the server can answer it as stored.
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(bodies[1]).toEqual({ method: 'cash', amount: 31000, tendered: 36000 });
  });
});
