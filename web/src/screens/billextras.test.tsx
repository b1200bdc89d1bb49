// Component tests of the bill's discount (with the manager-approval prompt), tip, Pesapal
// QR turning to paid on `payment.completed`, refund and reprint.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import { encode } from 'uqr';
import type { Me, Order } from '../api/client';
import { setSession } from '../lib/session';
import { queueStore, refreshQueue } from '../lib/outbox';
import { BillScreen } from './Bill';
import { DiscountDialog, QrCode, RefundDialog, ReprintButton, discountBody, onlineVerdict, type Payment } from './BillExtras';

afterEach(async () => {
  cleanup();
  vi.unstubAllGlobals();
  setSession(null);
  for (const e of await queueStore.all()) await queueStore.remove(e.id);
  await refreshQueue();
});

const ORDER_ID = '11111111-1111-4111-8111-111111111111';

function order(over: Partial<Order> = {}): Order {
  const item = (id: string, name: string, total: number, seat: number) => ({
    id, product_id: 'p', name, unit_price: total, quantity: 1, modifiers: [], status: 'ready' as const,
    gross: total, discount: 0, total, seat, created_at: '2026-12-07T00:00:00Z',
  });
  return {
    id: ORDER_ID, number: 7, business_date: '2026-12-07', type: 'dine_in', staff_id: 's',
    status: 'ready', currency: 'UGX', subtotal: 31000, discount: 0, service_charge: 0, tax: 4276, total: 31000, paid: 0,
    balance: 31000, items: [item('a', 'Local Beer', 16000, 1), item('b', 'Craft Beer', 15000, 2)],
    created_at: '2026-12-07T00:00:00Z', updated_at: '2026-12-07T00:00:00Z', version: 3, table_id: 't1', ...over,
  } as Order;
}

function me(role: string, terminal = true): Me {
  return {
    staff: { id: 'st', username: 'phiona', full_name: 'Phiona', role, active: true },
    terminal: terminal ? { id: 'tm', code: 'pos-1', name: 'Till 1' } : null,
    must_change_password: false,
    expires_at: '2099-01-01T00:00:00Z',
  } as unknown as Me;
}

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' } });
}

interface Seen {
  method: string;
  url: string;
  key: string | null;
  body: unknown;
}

/** A fetch stub answering by `route`, recording every write. */
function server(route: (s: Seen) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : null;
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? req?.method ?? 'GET').toUpperCase();
    const headers = new Headers(init?.headers ?? req?.headers);
    const raw = init?.body ?? null;
    const s = { method, url, key: headers.get('Idempotency-Key'), body: raw ? JSON.parse(String(raw)) : undefined };
    if (method !== 'GET') seen.push(s);
    return route(s);
  });
  return seen;
}

/** EventSource stand-in: the test delivers events to every open stream. */
class FakeSource {
  static all: FakeSource[] = [];
  listeners = new Map<string, ((ev: MessageEvent) => void)[]>();
  readyState = 1;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(public url: string) {
    FakeSource.all.push(this);
  }
  addEventListener(type: string, fn: (ev: MessageEvent) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  close() {
    this.readyState = 2;
  }
  static emit(type: string, data: unknown) {
    for (const s of FakeSource.all)
      for (const fn of s.listeners.get(type) ?? []) fn(new MessageEvent(type, { data: JSON.stringify(data), lastEventId: '9' }));
  }
}

describe('discounts', () => {
  it('a body names exactly one of percent_bp or amount', () => {
    expect(discountBody('percent', 1000, ' ')).toEqual({ percent_bp: 1000 });
    expect(discountBody('amount', 5000, 'regular', { pin: '2468' })).toEqual({ amount: 5000, reason: 'regular', approval: { pin: '2468' } });
  });

  it('above the limit: the refusal asks for a manager, the PIN is sent in the same request with a new key', async () => {
    setSession(me('cashier'));
    const seen = server((s) =>
      (s.body as { approval?: unknown }).approval
        ? json(200, order({ discount: 6200, total: 24800, balance: 24800, version: 4 }))
        : json(403, { status: 403, code: 'approval_required', title: 'Approval required', detail: 'A discount of 20 % is above the cashier limit of 10 %.', field: 'approval' }),
    );
    const saved = vi.fn();
    render(<DiscountDialog order={order()} onClose={() => {}} onSaved={saved} onQueued={() => {}} />);
    const dialog = screen.getByRole('dialog', { name: 'Discount on order #7' });
    fireEvent.input(within(dialog).getByLabelText('Discount in percent'), { target: { value: '20' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Apply discount' }));

    const alert = await within(dialog).findByRole('alert');
    expect(alert.textContent).toContain('above the cashier limit');
    const pin = within(dialog).getByLabelText("Manager's PIN");
    expect(within(dialog).getByRole('group', { name: 'Manager approval' })).toBeTruthy();
    // The refusal is on screen, so the queue does not keep it as well.
    expect(await queueStore.all()).toHaveLength(0);

    fireEvent.input(pin, { target: { value: '2468' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Approve discount' }));
    await waitFor(() => expect(saved).toHaveBeenCalled());
    expect(saved.mock.calls[0][0].discount).toBe(6200);
    expect(seen.map((s) => [s.method, new URL(s.url, 'http://x').pathname])).toEqual([
      ['PUT', `/api/orders/${ORDER_ID}/discount`],
      ['PUT', `/api/orders/${ORDER_ID}/discount`],
    ]);
    expect(seen[0].body).toEqual({ percent_bp: 2000 });
    expect(seen[1].body).toEqual({ percent_bp: 2000, approval: { pin: '2468' } });
    expect(seen[0].key).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[1].key).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[1].key).not.toBe(seen[0].key);
    // The manager's PIN never went into the offline queue.
    expect(JSON.stringify(await queueStore.all())).not.toContain('2468');
  });

  it('an item discount refused on its amount shows on the amount field', async () => {
    setSession(me('cashier'));
    server(() => json(422, { status: 422, code: 'invalid_discount', title: 'Invalid discount', detail: 'the discount is more than the line', field: 'amount' }));
    const o = order();
    render(<DiscountDialog order={o} item={o.items[0]} onClose={() => {}} onSaved={() => {}} onQueued={() => {}} />);
    const dialog = screen.getByRole('dialog', { name: 'Discount on 1× Local Beer' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Amount' }));
    const field = within(dialog).getByLabelText('Discount amount (UGX)');
    fireEvent.input(field, { target: { value: '99,000' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Apply discount' }));
    await within(dialog).findByText('the discount is more than the line');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(field.getAttribute('aria-describedby')!)?.textContent).toBe('the discount is more than the line');
    expect(within(dialog).queryByLabelText("Manager's PIN")).toBeNull();
  });
});

describe('tip and Pesapal on the bill', () => {
  it('a tip rides on the cash payment and the change counts it', async () => {
    setSession(me('cashier'));
    vi.stubGlobal('EventSource', FakeSource);
    const seen = server((s) => {
      if (s.url.includes('/api/shifts/current')) return json(200, { id: 'sh' });
      if (s.method === 'POST') return json(201, { payment: { id: 'pay1', method: 'cash', status: 'completed', amount: 31000, refunded: 0, change: 1000, tip: 3000 }, order: order({ paid: 31000, balance: 0, version: 4 }) });
      return json(200, order());
    });
    render(<BillScreen orderId={ORDER_ID} tableCode="T1" onBack={() => {}} onSettled={() => {}} />);
    const pay = await screen.findByRole('region', { name: 'Take a payment' });
    fireEvent.input(within(pay).getByLabelText(/Tip \(optional/), { target: { value: '3,000' } });
    fireEvent.input(within(pay).getByLabelText(/Cash handed over/), { target: { value: '35000' } });
    await within(pay).findByText('USh 1,000');
    fireEvent.click(within(pay).getByRole('button', { name: 'Take Cash · USh 31,000 + tip USh 3,000' }));
    await screen.findByText(/\+ tip USh 3,000 on Table T1 #7: paid\./);
    expect(seen.find((s) => s.method === 'POST')?.body).toEqual({ method: 'cash', amount: 31000, tendered: 35000, tip: 3000 });
    expect(screen.getByText('USh 3,000', { selector: 'strong' })).toBeTruthy();
  });

  it('Pesapal shows the payment page as a QR code and a link, then paid when payment.completed for it arrives', async () => {
    setSession(me('cashier'));
    FakeSource.all = [];
    vi.stubGlobal('EventSource', FakeSource);
    const redirect = 'https://pay.example.test/iframe?OrderTrackingId=trk-1';
    let paid = false;
    const seen = server((s) => {
      if (s.url.includes('/api/shifts/current')) return json(200, { id: 'sh' });
      if (s.method === 'POST')
        return json(201, {
          payment: { id: 'pay-online', method: 'pesapal', status: 'pending', amount: 31000, tip: 0, refunded: 0 },
          order: order(),
          redirect_url: redirect,
          order_tracking_id: 'trk-1',
        });
      return json(200, paid ? order({ paid: 31000, balance: 0, status: 'closed', version: 5 }) : order());
    });
    render(<BillScreen orderId={ORDER_ID} tableCode="T1" onBack={() => {}} onSettled={() => {}} />);
    const pay = await screen.findByRole('region', { name: 'Take a payment' });
    fireEvent.click(within(pay).getByRole('button', { name: 'Pesapal' }));
    expect(within(pay).queryByLabelText(/Tip/)).toBeNull();
    fireEvent.input(within(pay).getByLabelText(/Customer’s phone or email/), { target: { value: '+256700000001' } });
    fireEvent.click(within(pay).getByRole('button', { name: 'Take Pesapal · USh 31,000' }));

    const panel = await screen.findByRole('region', { name: 'Pesapal payment' });
    expect(seen[0].body).toEqual({ method: 'pesapal', amount: 31000, customer_phone: '+256700000001' });
    expect(seen[0].key).toMatch(/^[0-9a-f-]{36}$/);
    const qr = within(panel).getByRole('img', { name: /^QR code of the Pesapal payment page/ });
    // One square per dark module of the QR code of exactly that URL.
    const modules = encode(redirect, { ecc: 'M', border: 2 }).data.flat().filter(Boolean).length;
    expect(qr.querySelector('path')!.getAttribute('d')!.match(/M/g)).toHaveLength(modules);
    expect(within(panel).getByRole('link', { name: 'Open the Pesapal payment page' }).getAttribute('href')).toBe(redirect);
    await waitFor(() => expect(FakeSource.all.some((s) => s.url.includes('topics=payments'))).toBe(true));
    within(panel).getByText('Connecting to the live updates…');
    FakeSource.emit('ready', { position: 9 });
    await within(panel).findByText(/Waiting for the customer/);

    // Another payment's event changes nothing; this one's turns it to paid.
    FakeSource.emit('payment.completed', { payload: { payment_id: 'someone-else' } });
    expect(within(panel).queryByText(/^Paid/)).toBeNull();
    paid = true;
    FakeSource.emit('payment.completed', { payload: { payment_id: 'pay-online', order_id: ORDER_ID } });
    await within(panel).findByText('Paid: Pesapal confirmed USh 31,000.');
    await screen.findByText('Order #7 is paid and closed; Table T1 is free.');
  });

  it('payment.failed for the payment is shown', () => {
    expect(onlineVerdict('payment.failed', { payload: { payment_id: 'p', reason: 'timed_out' } }, 'p')).toEqual({ state: 'failed', reason: 'timed_out' });
    expect(onlineVerdict('payment.completed', { payload: { payment_id: 'q' } }, 'p')).toBeNull();
    expect(onlineVerdict('order.paid', { payload: { payment_id: 'p' } }, 'p')).toBeNull();
  });

  it('the QR code has an accessible name', () => {
    render(<QrCode text="https://example.test/x" label="QR code of the link" />);
    expect(screen.getByRole('img', { name: 'QR code of the link' })).toBeTruthy();
  });
});

describe('refund and reprint', () => {
  const payment = { id: 'pay-1', order_id: ORDER_ID, method: 'cash', status: 'completed', amount: 31000, refunded: 0, tip: 2000 } as Payment;

  it('a refund sends amount, reason and the manager approval with a key; a refusal shows on its field and the retry gets a new key', async () => {
    setSession(me('cashier'));
    let n = 0;
    const seen = server(() =>
      ++n === 1
        ? json(422, { status: 422, code: 'refund_exceeds_payment', title: 'Too much', detail: 'more than what is refundable', field: 'amount' })
        : json(201, { refund: { id: 'r1', amount: 10000 }, payment: { ...payment, refunded: 10000, status: 'partially_refunded' }, order: order() }),
    );
    const done = vi.fn();
    render(<RefundDialog payment={payment} currency="UGX" onClose={() => {}} onDone={done} />);
    const dialog = screen.getByRole('dialog', { name: 'Refund Cash USh 31,000' });
    const amount = within(dialog).getByLabelText('Refund amount (UGX)') as HTMLInputElement;
    expect(amount.value).toBe('31000');
    fireEvent.input(amount, { target: { value: '10,000' } });
    fireEvent.input(within(dialog).getByLabelText('Refund reason'), { target: { value: 'Cold soup' } });
    fireEvent.input(within(dialog).getByLabelText("Manager's PIN"), { target: { value: '2468' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Refund USh 10,000' }));
    await within(dialog).findByText('more than what is refundable');
    expect(amount.getAttribute('aria-invalid')).toBe('true');
    fireEvent.click(within(dialog).getByRole('button', { name: 'Refund USh 10,000' }));
    await waitFor(() => expect(done).toHaveBeenCalled());
    expect(new URL(seen[0].url, 'http://x').pathname).toBe('/api/payments/pay-1/refunds');
    expect(seen[0].body).toEqual({ amount: 10000, reason: 'Cold soup', approval: { pin: '2468' } });
    expect(seen[0].key).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[1].key).not.toBe(seen[0].key);
  });

  it('a closed bill lists the order\'s payments from the server, another till\'s included, and refunds one', async () => {
    setSession(me('cashier'));
    const closed = order({ status: 'closed', paid: 31000, balance: 0, version: 5 });
    // Taken on another till: this bill's queue never saw it.
    const elsewhere = { id: 'pay-other', order_id: ORDER_ID, method: 'card', status: 'completed', amount: 31000, refunded: 0, tip: 0, staff_id: 'someone-else' } as Payment;
    let listed = [elsewhere];
    const seen = server((s) => {
      const path = new URL(s.url, 'http://x').pathname;
      if (path === '/api/shifts/current') return json(200, { id: 'sh' });
      if (path === `/api/orders/${ORDER_ID}/payments` && s.method === 'GET') return json(200, listed);
      if (path === '/api/payments/pay-other/refunds') {
        listed = [{ ...elsewhere, refunded: 5000, status: 'partially_refunded' }];
        return json(201, { refund: { id: 'r1', amount: 5000 }, payment: listed[0], order: { ...closed, version: 6 } });
      }
      if (path === `/api/orders/${ORDER_ID}`) return json(200, closed);
      return json(404, { status: 404, code: 'not_found', title: 'Not found' });
    });
    render(<BillScreen orderId={ORDER_ID} tableCode="T1" onBack={() => {}} onSettled={() => {}} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Refund Card USh 31,000' }));
    const dialog = screen.getByRole('dialog', { name: 'Refund Card USh 31,000' });
    fireEvent.input(within(dialog).getByLabelText('Refund amount (UGX)'), { target: { value: '5,000' } });
    fireEvent.input(within(dialog).getByLabelText('Refund reason'), { target: { value: 'Double charged' } });
    fireEvent.input(within(dialog).getByLabelText("Manager's PIN"), { target: { value: '2468' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Refund USh 5,000' }));
    await screen.findByText('Refunded USh 5,000 of the Card payment.');
    const refunds = seen.filter((s) => s.url.includes('/refunds'));
    expect(refunds).toHaveLength(1);
    expect(refunds[0].body).toEqual({ amount: 5000, reason: 'Double charged', approval: { pin: '2468' } });
    await screen.findByText(/refunded USh 5,000/);
  });

  it('a manager refunds without approval fields', () => {
    setSession(me('manager', false));
    render(<RefundDialog payment={payment} currency="UGX" onClose={() => {}} onDone={() => {}} />);
    expect(screen.queryByLabelText("Manager's PIN")).toBeNull();
    expect(screen.queryByLabelText("Manager's username")).toBeNull();
  });

  it('reprint queues a copy with an Idempotency-Key and says for which printer', async () => {
    const seen = server(() => json(201, { print_job_id: 'j', order_id: ORDER_ID, receipt_number: 42, copy: true, printer: 'receipt', text: '...' }));
    render(<ReprintButton orderId={ORDER_ID} />);
    fireEvent.click(screen.getByRole('button', { name: 'Reprint receipt' }));
    await screen.findByText('A copy of receipt no. 42 is queued for the receipt printer.');
    expect(seen[0].method).toBe('POST');
    expect(new URL(seen[0].url, 'http://x').pathname).toBe(`/api/orders/${ORDER_ID}/receipt/reprint`);
    expect(seen[0].key).toMatch(/^[0-9a-f-]{36}$/);
  });
});
