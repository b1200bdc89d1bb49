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
// Once the order closes, its receipt is shown on screen (ReceiptPanel). Not offered by the
// server yet, so not here: discounts (with a manager's approval above the limit), Pesapal
// (a QR code of its redirect_url) and a reprint. Their place is the `bill-later` slot.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, problemText, type Order, type Receipt } from '../api/client';
import { changeDue, itemsShare, liveLines, parseMinor, quickTenders, seatShare, seatsOf, splitEvenly } from '../lib/bill';
import { formatMoney } from '../lib/money';
import { queueEntries, submit } from '../lib/outbox';
import { currentShift, loadShift } from './Shift';
import { navigate } from '../lib/router';
import { useStore } from '../lib/store';

type Mode = 'balance' | 'amount' | 'items' | 'seat';
type Method = 'cash' | 'card' | 'mtn_momo' | 'airtel_money';

export const METHODS: { id: Method; name: string }[] = [
  { id: 'cash', name: 'Cash' },
  { id: 'card', name: 'Card' },
  { id: 'mtn_momo', name: 'MTN MoMo' },
  { id: 'airtel_money', name: 'Airtel Money' },
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
}

/** The request body for a payment: exactly one of amount, items or seat. */
export function paymentBody(mode: Mode, method: Method, o: { amount: number; items: string[]; seat: number | null; tendered: number | null; reference: string }): PaymentBody {
  const body: PaymentBody = { method };
  if (mode === 'items') body.items = o.items;
  else if (mode === 'seat' && o.seat !== null) body.seat = o.seat;
  else body.amount = o.amount;
  if (method === 'cash' && o.tendered !== null) body.tendered = o.tendered;
  if (method === 'mtn_momo' || method === 'airtel_money') body.reference = o.reference.trim();
  return body;
}

interface Taken {
  text: string;
  change: number | null;
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
  const change = method === 'cash' && tendered !== null ? changeDue(tendered, amount) : null;
  const problem =
    amount <= 0 ? 'Nothing to pay in this share.'
      : amount > balance ? `More than the balance of ${formatMoney(balance, cur)}.`
        : method === 'cash' && tenderedText && tendered === null ? 'Type the cash handed over in digits.'
          : method === 'cash' && tendered !== null && change === null ? 'Less cash than the amount.'
            : (method === 'mtn_momo' || method === 'airtel_money') && !reference.trim() ? 'Type the transaction reference from the customer’s phone.'
              : null;
  const settled = order.balance <= 0 || order.status === 'closed';

  const pay = async () => {
    if (problem) return;
    setBusy(true);
    setError(null);
    const body = paymentBody(mode, method, { amount, items, seat, tendered, reference });
    const label = `${METHODS.find((m) => m.id === method)!.name} ${formatMoney(amount, cur)} on ${title} #${order.number}`;
    const [entry] = await submit([{ label, method: 'POST', path: `/api/orders/${order.id}/payments`, body }]);
    setBusy(false);
    if (entry.state === 'done') {
      const result = entry.result as { payment: { change?: number | null }; order: Order };
      onOrder(result.order);
      const ch = result.payment.change ?? null;
      setTaken({ text: `${label}: paid.`, change: method === 'cash' ? ch ?? 0 : null });
    } else if (entry.state === 'conflict') {
      if (entry.problem?.code === 'no_open_shift') void loadShift();
      setError(`Refused: ${entry.problem?.detail ?? entry.problem?.title ?? 'the server refused the payment'}. It is kept in the offline queue.`);
    } else {
      // Offline: it waits in the queue with its key; the bill counts it as pending.
      setPending((p) => ({ ...p, [entry.id]: amount }));
      setTaken({ text: `${label}: queued, it will be sent when the network is back.`, change: method === 'cash' ? change ?? 0 : null });
    }
    setAmountText('');
    setItems([]);
    setTenderedText('');
    setReference('');
    setMode('balance');
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
              <span class="line-meta">{i.seat ? `Seat ${i.seat}` : ''}</span>
              <span class="money">{formatMoney(i.total, cur)}</span>
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
        {order.items.some((i) => i.status === 'held') && (
          <p class="alert" role="note">A course is still held: fire it from the order before the order can close.</p>
        )}
      </section>

      <section class="bill-pay card" aria-label="Take a payment">
        {taken && (
          <div class="paid-note" role="status">
            <p>{taken.text}</p>
            {taken.change !== null && (
              <p class="change">
                Change to give: <strong>{formatMoney(taken.change, cur)}</strong>
              </p>
            )}
          </div>
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
            {order.status === 'closed' && <ReceiptPanel orderId={order.id} />}
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
            {/* bill-later: discounts with a manager's approval, Pesapal QR and receipts go
                here once the server offers them. */}
            {problem && amount > 0 && <p class="muted" role="note">{problem}</p>}
            {error && <p class="alert" role="alert">{error}</p>}
            <button type="button" class="primary big" disabled={!!problem || busy} onClick={pay}>
              Take {METHODS.find((m) => m.id === method)!.name} · {formatMoney(Math.max(amount, 0), cur)}
            </button>
          </>
        )}
      </section>
    </main>
  );
}

/** The receipt of a closed order as the server renders it for 80 mm paper (GET
 * /api/orders/{id}/receipt), shown on screen in a fixed-width font so its columns line up.
 * The server prints the original when the order closes; there is no reprint route yet. */
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
        <pre class="receipt-text" aria-label="Receipt text" tabIndex={0}>{receipt.text}</pre>
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
