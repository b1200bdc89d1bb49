// The bill of one order: the balance due, what this payment covers (the whole balance, an
// amount, chosen items or one seat), how it is paid (cash with tendered and change, card,
// MTN MoMo or Airtel Money with the provider's reference), then the next payment until the
// balance is zero, when the order closes and its table is free.
//
// Every payment goes through the offline queue like any order change: written to
// IndexedDB with its Idempotency-Key first, replayed with the SAME key when the network is
// back, so a payment is never taken twice. The server has the last word (overpayment,
// no open shift, order finished): a refusal shows here and in the queue.
//
// Discounts on the order or an item (a manager's approval above the cashier limit), a tip on
// a payment, Pesapal (a QR code of its payment page, "paid" when `payment.completed`
// arrives) are here; once the order closes, its receipt is shown on screen (ReceiptPanel)
// with a reprint, and every payment of the order (read from GET /api/orders/{id}/payments,
// whoever took it) can be refunded (BillExtras.tsx).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, problemText, type Order, type OrderItem, type Receipt } from '../api/client';
import { changeWithTip, itemsShare, liveLines, parseMinor, quickTenders, seatShare, seatsOf, splitEvenly } from '../lib/bill';
import { call, message } from '../lib/http';
import { uuid } from '../lib/ids';
import { formatMoney } from '../lib/money';
import { queueEntries, submit } from '../lib/outbox';
import { DiscountDialog, PaymentsPanel, PesapalPanel, ReprintButton, type OnlinePayment, type OnlineState, type Payment } from './BillExtras';
import { currentShift, loadShift } from './Shift';
import { navigate } from '../lib/router';
import { useStore } from '../lib/store';

type Mode = 'balance' | 'amount' | 'items' | 'seat';
type Method = 'cash' | 'card' | 'mtn_momo' | 'airtel_money' | 'pesapal';

export const METHODS: { id: Method; name: string }[] = [
  { id: 'cash', name: 'Cash' },
  { id: 'card', name: 'Card' },
  { id: 'mtn_momo', name: 'MTN MoMo' },
  { id: 'airtel_money', name: 'Airtel Money' },
  { id: 'pesapal', name: 'Pesapal' },
];

/** UGX notes for the quick cash buttons (other currencies get the exact amount only). */
const NOTES: Record<string, number[]> = { UGX: [1000, 5000, 10000, 20000, 50000] };

export interface PaymentBody {
  method: Method;
  amount?: number;
  items?: string[];
  seat?: number;
  tendered?: number;
  reference?: string;
  tip?: number;
  customer_phone?: string;
  customer_email?: string;
}

/** The request body for a payment: exactly one of amount, items or seat. A tip rides on
 * top of the amount (not Pesapal's, which takes the customer's phone or email instead). */
export function paymentBody(
  mode: Mode,
  method: Method,
  o: { amount: number; items: string[]; seat: number | null; tendered: number | null; reference: string; tip?: number; contact?: string },
): PaymentBody {
  const body: PaymentBody = { method };
  if (mode === 'items') body.items = o.items;
  else if (mode === 'seat' && o.seat !== null) body.seat = o.seat;
  else body.amount = o.amount;
  if (method === 'cash' && o.tendered !== null) body.tendered = o.tendered;
  if (method === 'mtn_momo' || method === 'airtel_money') body.reference = o.reference.trim();
  if (method === 'pesapal') {
    const contact = (o.contact ?? '').trim();
    if (contact.includes('@')) body.customer_email = contact;
    else body.customer_phone = contact;
  } else if (o.tip) body.tip = o.tip;
  return body;
}

interface Taken {
  text: string;
  change: number | null;
  tip?: number;
}

export function BillScreen({ orderId, tableCode, onBack, onSettled }: { orderId: string; tableCode: string | null; onBack: () => void; onSettled: (msg: string) => void }) {
  const [order, setOrder] = useState<Order | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const shift = useStore(currentShift);
  const load = async () => {
    try {
      const { data } = await api.GET('/api/orders/{order_id}', { params: { path: { order_id: orderId } } });
      if (data) setOrder(data);
      else setLoadError('This order cannot be found.');
    } catch {
      setLoadError('Offline: the bill needs the order as the server has it. Try again when the network is back.');
    }
  };
  useEffect(() => {
    void load();
    void loadShift();
  }, [orderId]);
  const title = tableCode ? `Table ${tableCode}` : 'Takeaway';
  if (!order) {
    return (
      <main class="list-screen">
        <h2>Bill · {title}</h2>
        {loadError ? <p class="alert" role="alert">{loadError}</p> : <p role="status">Loading the bill…</p>}
        <button type="button" onClick={onBack}>Back</button>
      </main>
    );
  }
  return <BillBody order={order} title={title} noShift={shift === null} onOrder={setOrder} onBack={onBack} onSettled={onSettled} />;
}

function BillBody({
  order, title, noShift, onOrder, onBack, onSettled,
}: { order: Order; title: string; noShift: boolean; onOrder: (o: Order) => void; onBack: () => void; onSettled: (msg: string) => void }) {
  const cur = order.currency;
  const lines = useMemo(() => liveLines(order.items), [order]);
  const seats = seatsOf(order.items);
  const [mode, setMode] = useState<Mode>('balance');
  const [method, setMethod] = useState<Method>('cash');
  const [amountText, setAmountText] = useState('');
  const [items, setItems] = useState<string[]>([]);
  const [seat, setSeat] = useState<number | null>(seats[0] ?? null);
  const [tenderedText, setTenderedText] = useState('');
  const [reference, setReference] = useState('');
  const [tipText, setTipText] = useState('');
  const [contact, setContact] = useState('');
  const [discounting, setDiscounting] = useState<{ item?: OrderItem } | null>(null);
  const [online, setOnline] = useState<OnlinePayment | null>(null);
  // Payments this bill took directly (Pesapal) or changed (a refund), by id.
  const [ownPayments, setOwnPayments] = useState<Record<string, Payment>>({});
  // The order's payments as the server has them, whoever took them: read again whenever the
  // closed order changes (a refund), so another till's payment can be refunded here too.
  const [serverPayments, setServerPayments] = useState<Payment[]>([]);
  useEffect(() => {
    if (order.status !== 'closed') return;
    let live = true;
    api
      .GET('/api/orders/{order_id}/payments', { params: { path: { order_id: order.id } } })
      .then(({ data }) => {
        if (live && Array.isArray(data)) setServerPayments(data);
      })
      // Offline: the payments this bill knows of are still listed.
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [order.id, order.status, order.version]);
  const [receiptKey, setReceiptKey] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [taken, setTaken] = useState<Taken | null>(null);
  const [busy, setBusy] = useState(false);
  // Payments taken offline on this bill, by queue entry: counted against the balance until
  // the replay's answer (the order as saved) replaces them.
  const [pending, setPending] = useState<Record<string, number>>({});
  const entries = useStore(queueEntries);
  const path = `/api/orders/${order.id}/payments`;
  useEffect(() => {
    const latest = entries
      .filter((e) => e.path === path && e.state === 'done' && pending[e.id] !== undefined)
      .map((e) => (e.result as { order?: Order } | undefined)?.order)
      .filter((o): o is Order => !!o && o.version > order.version)
      .sort((a, b) => b.version - a.version)[0];
    if (latest) {
      onOrder(latest);
      setTaken((t) => t && { ...t, text: t.text.replace('queued, it will be sent when the network is back', 'sent now that the network is back') });
    }
  }, [entries]);
  const queued = entries
    .filter((e) => pending[e.id] !== undefined && (e.state === 'queued' || e.state === 'sending'))
    .reduce((s, e) => s + pending[e.id], 0);

  const balance = order.balance - queued;
  const amount =
    mode === 'balance' ? balance
      : mode === 'amount' ? parseMinor(amountText, cur) ?? 0
        : mode === 'items' ? itemsShare(lines, items, balance)
          : seat === null ? 0 : seatShare(lines, seat, balance);
  const tendered = tenderedText ? parseMinor(tenderedText, cur) : null;
  const tip = method === 'pesapal' || !tipText ? 0 : parseMinor(tipText, cur);
  const change = method === 'cash' && tendered !== null && tip !== null ? changeWithTip(tendered, amount, tip) : null;
  // Every payment this bill knows of: those the queue took (kept until "Clear sent"), the
  // order's payments read from the server, and those taken or refunded directly, the latest
  // answer winning.
  const payments = useMemo(() => {
    const byId = new Map<string, Payment>();
    for (const e of entries) {
      const p = e.path === path && e.state === 'done' ? (e.result as { payment?: Payment } | undefined)?.payment : undefined;
      if (p?.id) byId.set(p.id, p);
    }
    for (const p of serverPayments) byId.set(p.id, p);
    for (const p of Object.values(ownPayments)) byId.set(p.id, p);
    return [...byId.values()];
  }, [entries, serverPayments, ownPayments]);
  const problem =
    amount <= 0 ? 'Nothing to pay in this share.'
      : amount > balance ? `More than the balance of ${formatMoney(balance, cur)}.`
        : tip === null ? 'Type the tip in digits.'
          : method === 'cash' && tenderedText && tendered === null ? 'Type the cash handed over in digits.'
            : method === 'cash' && tendered !== null && change === null ? (tip ? 'Less cash than the amount and the tip.' : 'Less cash than the amount.')
              : (method === 'mtn_momo' || method === 'airtel_money') && !reference.trim() ? 'Type the transaction reference from the customer’s phone.'
                : method === 'pesapal' && !contact.trim() ? 'Type the customer’s phone number or email address for Pesapal.'
                  : null;
  const settled = order.balance <= 0 || order.status === 'closed';

  const reset = () => {
    setAmountText('');
    setItems([]);
    setTenderedText('');
    setReference('');
    setTipText('');
    setContact('');
    setMode('balance');
  };

  /** Pesapal answers the page the customer pays on: it needs the server now, so it is sent
   * directly (with its own Idempotency-Key) rather than queued. */
  const payOnline = async () => {
    const body = paymentBody(mode, method, { amount, items, seat, tendered, reference, contact });
    const r = await call<OnlinePayment>('POST', path, body, uuid());
    setBusy(false);
    if (r.ok) {
      setOnline(r.data);
      onOrder(r.data.order);
      setOwnPayments((ps) => ({ ...ps, [r.data.payment.id]: r.data.payment }));
      reset();
    } else if (r.status === 0) setError('Offline: Pesapal needs the network. Take the payment another way or try again.');
    else setError(`Refused: ${message(r.problem, 'the server refused the payment')}`);
  };

  const onlineSettled = async (state: OnlineState) => {
    if (!online) return;
    const label = `Pesapal ${formatMoney(online.payment.amount, cur)} on ${title} #${order.number}`;
    setTaken({ text: state === 'paid' ? `${label}: paid.` : `${label}: failed.`, change: null });
    setOwnPayments((ps) => ({ ...ps, [online.payment.id]: { ...online.payment, status: state === 'paid' ? 'completed' : 'failed' } }));
    const { data } = await api.GET('/api/orders/{order_id}', { params: { path: { order_id: order.id } } }).catch(() => ({ data: undefined }));
    if (data) onOrder(data);
  };

  const pay = async () => {
    if (problem) return;
    setBusy(true);
    setError(null);
    if (method === 'pesapal') return payOnline();
    const body = paymentBody(mode, method, { amount, items, seat, tendered, reference, tip: tip ?? 0 });
    const label = `${METHODS.find((m) => m.id === method)!.name} ${formatMoney(amount, cur)}${tip ? ` + tip ${formatMoney(tip, cur)}` : ''} on ${title} #${order.number}`;
    const [entry] = await submit([{ label, method: 'POST', path: `/api/orders/${order.id}/payments`, body }]);
    setBusy(false);
    if (entry.state === 'done') {
      const result = entry.result as { payment: { change?: number | null }; order: Order };
      onOrder(result.order);
      const ch = result.payment.change ?? null;
      setTaken({ text: `${label}: paid.`, change: method === 'cash' ? ch ?? 0 : null, tip: tip ?? 0 });
    } else if (entry.state === 'conflict') {
      if (entry.problem?.code === 'no_open_shift') void loadShift();
      setError(`Refused: ${entry.problem?.detail ?? entry.problem?.title ?? 'the server refused the payment'}. It is kept in the offline queue.`);
    } else {
      // Offline: it waits in the queue with its key; the bill counts it as pending.
      setPending((p) => ({ ...p, [entry.id]: amount }));
      setTaken({ text: `${label}: queued, it will be sent when the network is back.`, change: method === 'cash' ? change ?? 0 : null, tip: tip ?? 0 });
    }
    reset();
  };

  const paidAll = settled || balance <= 0;
  return (
    <main class="bill">
      <section class="bill-summary card" aria-label="Bill summary">
        <div class="ticket-head">
          <h2>
            Bill · {title} <span class="muted">#{order.number}</span>
          </h2>
          <button type="button" onClick={onBack}>Back to order</button>
        </div>
        <ul class="lines" aria-label="Bill items">
          {lines.map((i) => (
            <li key={i.id} class="line">
              <span class="qty">{i.quantity}×</span>
              <span class="line-name">{i.name}</span>
              <span class="line-meta">
                {i.seat ? `Seat ${i.seat}` : ''}
                {i.discount > 0 && <span class="discount"> −{formatMoney(i.discount, cur)}</span>}
              </span>
              <span class="money">{formatMoney(i.total, cur)}</span>
              {!settled && (
                <button type="button" class="line-action" aria-label={`Discount on ${i.quantity}× ${i.name}`} onClick={() => setDiscounting({ item: i })}>
                  %
                </button>
              )}
            </li>
          ))}
        </ul>
        <dl class="figures totals">
          {order.discount > 0 && (<><dt>Discount</dt><dd>−{formatMoney(order.discount, cur)}</dd></>)}
          {order.service_charge > 0 && (<><dt>Service</dt><dd>{formatMoney(order.service_charge, cur)}</dd></>)}
          <dt>Total</dt>
          <dd>{formatMoney(order.total, cur)}</dd>
          <dt>Paid</dt>
          <dd>{formatMoney(order.paid, cur)}</dd>
          {queued > 0 && (<><dt>Queued offline</dt><dd>{formatMoney(queued, cur)}</dd></>)}
          <dt class="due">Balance due</dt>
          <dd class="due">{formatMoney(Math.max(balance, 0), cur)}</dd>
        </dl>
        <p class="muted">Includes tax of {formatMoney(order.tax, cur)}.</p>
        {!settled && (
          <button type="button" onClick={() => setDiscounting({})}>
            {order.discount > 0 ? 'Change the order discount' : 'Discount on the order'}
          </button>
        )}
        {discounting && (
          <DiscountDialog
            order={order}
            item={discounting.item}
            onClose={() => setDiscounting(null)}
            onSaved={(o) => {
              setDiscounting(null);
              onOrder(o);
              setTaken({ text: o.discount > 0 || o.items.some((i) => i.discount > 0) ? 'Discount saved: the bill is recomputed.' : 'Discount removed.', change: null });
            }}
            onQueued={(msg) => {
              setDiscounting(null);
              setTaken({ text: msg, change: null });
            }}
          />
        )}
        {order.items.some((i) => i.status === 'held') && (
          <p class="alert" role="note">A course is still held: fire it from the order before the order can close.</p>
        )}
      </section>

      <section class="bill-pay card" aria-label="Take a payment">
        {taken && (
          <div class="paid-note" role="status">
            <p>{taken.text}</p>
            {taken.tip ? <p>Tip: <strong>{formatMoney(taken.tip, cur)}</strong> (not part of the bill)</p> : null}
            {taken.change !== null && (
              <p class="change">
                Change to give: <strong>{formatMoney(taken.change, cur)}</strong>
              </p>
            )}
          </div>
        )}
        {online && (
          <PesapalPanel key={online.payment.id} online={online} onSettled={(st) => void onlineSettled(st)} onDismiss={() => setOnline(null)} />
        )}
        {paidAll ? (
          <div class="settled">
            <p class="settled-title" role="status">
              {order.status === 'closed'
                ? `Order #${order.number} is paid and closed${title.startsWith('Table') ? `; ${title} is free` : ''}.`
                : order.balance <= 0
                  ? `Order #${order.number} is paid; it closes once the kitchen/bar has finished it.`
                  : 'Everything is paid or queued.'}
            </p>
            <button type="button" class="primary big" onClick={() => onSettled(`Order #${order.number} paid.`)}>
              Back to the floor
            </button>
            {order.status === 'closed' && (
              <>
                <ReceiptPanel key={receiptKey} orderId={order.id} />
                <PaymentsPanel
                  payments={payments}
                  currency={cur}
                  onRefunded={(r) => {
                    setOwnPayments((ps) => ({ ...ps, [r.payment.id]: r.payment }));
                    onOrder(r.order);
                    setReceiptKey((k) => k + 1);
                  }}
                />
              </>
            )}
          </div>
        ) : (
          <>
            {noShift && (
              <p class="alert" role="alert">
                No shift is open on this till: payments need one.{' '}
                <button type="button" class="link" onClick={() => navigate('/pos?view=shift')}>Open a shift</button>
              </p>
            )}
            <p class="group-label" id="covers-h">This payment covers</p>
            <div class="segmented" role="group" aria-labelledby="covers-h">
              <button type="button" aria-pressed={mode === 'balance'} onClick={() => setMode('balance')}>Whole balance</button>
              <button type="button" aria-pressed={mode === 'amount'} onClick={() => setMode('amount')}>Amount</button>
              <button type="button" aria-pressed={mode === 'items'} onClick={() => setMode('items')}>Items</button>
              {seats.length > 0 && <button type="button" aria-pressed={mode === 'seat'} onClick={() => setMode('seat')}>Seat</button>}
            </div>
            {mode === 'amount' && (
              <>
                <label>
                  Amount of this payment ({cur})
                  <input inputMode="decimal" autocomplete="off" value={amountText} onInput={(e) => setAmountText(e.currentTarget.value)} />
                </label>
                <div class="quick" role="group" aria-label="Split evenly">
                  {[2, 3, 4].map((n) => (
                    <button type="button" key={n} onClick={() => setAmountText(String(splitEvenly(balance, n)[0]))}>
                      1/{n} · {formatMoney(splitEvenly(balance, n)[0], cur)}
                    </button>
                  ))}
                </div>
              </>
            )}
            {mode === 'items' && (
              <fieldset class="mods">
                <legend>Items paid now</legend>
                {lines.map((i) => (
                  <label key={i.id} class="check">
                    <input
                      type="checkbox"
                      checked={items.includes(i.id)}
                      onChange={(e) => setItems((xs) => (e.currentTarget.checked ? [...xs, i.id] : xs.filter((x) => x !== i.id)))}
                    />
                    {i.quantity}× {i.name} <span class="muted">{formatMoney(i.total, cur)}</span>
                  </label>
                ))}
              </fieldset>
            )}
            {mode === 'seat' && (
              <div class="segmented" role="group" aria-label="Seat">
                {seats.map((s) => (
                  <button type="button" key={s} aria-pressed={seat === s} onClick={() => setSeat(s)}>
                    Seat {s} · {formatMoney(seatShare(lines, s, balance), cur)}
                  </button>
                ))}
              </div>
            )}
            <p class="this-payment">
              This payment: <strong>{formatMoney(Math.max(amount, 0), cur)}</strong>
            </p>
            <p class="group-label" id="method-h">Paid by</p>
            <div class="segmented methods" role="group" aria-labelledby="method-h">
              {METHODS.map((m) => (
                <button type="button" key={m.id} aria-pressed={method === m.id} onClick={() => setMethod(m.id)}>
                  {m.name}
                </button>
              ))}
            </div>
            {method === 'cash' && (
              <>
                <label>
                  Cash handed over ({cur})
                  <input inputMode="decimal" autocomplete="off" value={tenderedText} onInput={(e) => setTenderedText(e.currentTarget.value)} />
                </label>
                {amount > 0 && (
                  <div class="quick" role="group" aria-label="Quick cash amounts">
                    {quickTenders(amount, NOTES[cur] ?? []).map((t) => (
                      <button type="button" key={t} onClick={() => setTenderedText(String(t))}>
                        {formatMoney(t, cur)}
                      </button>
                    ))}
                  </div>
                )}
                <p class="change" aria-live="polite">
                  Change: <strong>{change === null ? '—' : formatMoney(change, cur)}</strong>
                </p>
              </>
            )}
            {(method === 'mtn_momo' || method === 'airtel_money') && (
              <label>
                {method === 'mtn_momo' ? 'MoMo' : 'Airtel Money'} transaction reference
                <input autocomplete="off" maxLength={100} value={reference} onInput={(e) => setReference(e.currentTarget.value)} />
              </label>
            )}
            {method !== 'pesapal' && (
              <label>
                Tip (optional, {cur})
                <input inputMode="decimal" autocomplete="off" value={tipText} onInput={(e) => setTipText(e.currentTarget.value)} />
              </label>
            )}
            {method === 'pesapal' && (
              <label>
                Customer’s phone or email (for Pesapal)
                <input autocomplete="off" maxLength={100} value={contact} onInput={(e) => setContact(e.currentTarget.value)} />
              </label>
            )}
            {problem && amount > 0 && <p class="muted" role="note">{problem}</p>}
            {error && <p class="alert" role="alert">{error}</p>}
            <button type="button" class="primary big" disabled={!!problem || busy} onClick={pay}>
              Take {METHODS.find((m) => m.id === method)!.name} · {formatMoney(Math.max(amount, 0), cur)}
              {tip ? ` + tip ${formatMoney(tip, cur)}` : ''}
            </button>
          </>
        )}
      </section>
    </main>
  );
}

/** The receipt of a closed order as the server renders it for 80 mm paper (GET
 * /api/orders/{id}/receipt), shown on screen in a fixed-width font so its columns line up.
 * The server prints the original when the order closes; a copy is reprinted from here. */
export function ReceiptPanel({ orderId }: { orderId: string }) {
  const [receipt, setReceipt] = useState<Receipt | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async () => {
    setError(null);
    try {
      const { data, error: p } = await api.GET('/api/orders/{order_id}/receipt', {
        params: { path: { order_id: orderId }, query: { format: 'json', paper: '80mm' } },
      });
      // Several content types are declared; JSON is the one asked for (`format=json`).
      if (data && typeof data === 'object' && 'text' in data) setReceipt(data as Receipt);
      else setError(problemText(p, 'The receipt could not be loaded.'));
    } catch {
      setError('Offline: the receipt shows when the network is back.');
    }
  };
  useEffect(() => {
    void load();
  }, [orderId]);
  return (
    <section class="receipt" aria-labelledby="receipt-h">
      <h3 id="receipt-h">
        Receipt{receipt?.receipt_number != null && <span class="muted"> no. {receipt.receipt_number}</span>}
      </h3>
      {receipt ? (
        <>
          <pre class="receipt-text" aria-label="Receipt text" tabIndex={0}>{receipt.text}</pre>
          <ReprintButton orderId={orderId} />
        </>
      ) : error ? (
        <>
          <p class="alert" role="alert">{error}</p>
          <button type="button" onClick={() => void load()}>Show the receipt</button>
        </>
      ) : (
        <p role="status">Loading the receipt…</p>
      )}
    </section>
  );
}
