// The bill's pieces around taking a payment: discounts (order or item, a manager's approval
// above the cashier limit), Pesapal's QR code, the payments of a closed order with their
// refunds, and the receipt reprint.
//
// A discount without approval goes through the offline queue like a payment (its
// Idempotency-Key written first, replayed with the same key). A request carrying a
// manager's credentials (an approved discount, a refund) and the ones that need the server
// at once (Pesapal's payment page, a reprint) are sent directly, each with its own
// Idempotency-Key: a manager's PIN or password is never written to the device's storage,
// and an approval is a person standing at the till now, not something to replay later.
import { useMemo, useState } from 'preact/hooks';
import { encode } from 'uqr';
import type { Order, OrderItem, Schemas } from '../api/client';
import { ApprovalFields, approvalOf, emptyApproval, type ApprovalState } from '../components/Approval';
import { Dialog } from '../components/Dialog';
import { parseMinor, parsePercentBp } from '../lib/bill';
import { call, message, type Problem } from '../lib/http';
import { uuid } from '../lib/ids';
import { formatMoney } from '../lib/money';
import { queueStore, refreshQueue, submit } from '../lib/outbox';
import { discard } from '../lib/queue';
import { useStream } from '../lib/realtime';
import { session } from '../lib/session';
import { useStore } from '../lib/store';

export type Payment = Schemas['PaymentView'];
export type OnlinePayment = Schemas['OnlinePaymentView'];
export type Refunded = Schemas['RefundedView'];
export type Reprint = Schemas['ReprintView'];

/** Which part of a discount form a refusal belongs to. */
export type DiscountSpot = 'value' | 'reason' | 'approval' | null;

export function discountSpot(field: string | undefined | null): DiscountSpot {
  if (field === 'percent_bp' || field === 'amount' || field === 'discount') return 'value';
  if (field === 'reason') return 'reason';
  if (field === 'approval' || field?.startsWith('approval.') || field === 'pin' || field === 'username' || field === 'password') return 'approval';
  return null;
}

export interface DiscountBody {
  percent_bp?: number;
  amount?: number;
  reason?: string;
  approval?: ReturnType<typeof approvalOf>;
}

/** The request body of a discount: exactly one of `percent_bp` or `amount`. */
export function discountBody(kind: 'percent' | 'amount', value: number, reason: string, approval?: DiscountBody['approval']): DiscountBody {
  const body: DiscountBody = kind === 'percent' ? { percent_bp: value } : { amount: value };
  if (reason.trim()) body.reason = reason.trim();
  if (approval) body.approval = approval;
  return body;
}

function isManager(role: string | undefined): boolean {
  return role === 'manager' || role === 'admin';
}

/** Sets or removes the discount of the order, or of one item when `item` is given. */
export function DiscountDialog({
  order, item, onClose, onSaved, onQueued,
}: { order: Order; item?: OrderItem; onClose: () => void; onSaved: (o: Order) => void; onQueued: (msg: string) => void }) {
  const me = useStore(session);
  const cur = order.currency;
  const [kind, setKind] = useState<'percent' | 'amount'>('percent');
  const [text, setText] = useState('');
  const [reason, setReason] = useState('');
  const [needsApproval, setNeedsApproval] = useState(false);
  const [approval, setApproval] = useState<ApprovalState>(emptyApproval);
  const [problem, setProblem] = useState<{ spot: DiscountSpot; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const value = kind === 'percent' ? parsePercentBp(text) : parseMinor(text, cur);
  const path = item ? `/api/orders/${order.id}/items/${item.id}/discount` : `/api/orders/${order.id}/discount`;
  const target = item ? `${item.quantity}× ${item.name}` : `order #${order.number}`;
  const current = item ? item.discount : order.discount;

  const refused = (p: Problem | undefined) => {
    if (p?.code === 'approval_required') {
      setNeedsApproval(true);
      setProblem({ spot: 'approval', text: `${message(p)} A manager must approve this discount.` });
    } else setProblem({ spot: discountSpot(p?.field), text: message(p, 'The discount was refused.') });
  };

  /** Without approval: through the offline queue. A refusal is shown here, on its field, so
   * the queue entry it left is dropped (the cashier corrects it in this dialog). */
  const queued = async (method: 'PUT' | 'DELETE', body: unknown, label: string) => {
    const [entry] = await submit([{ label, method, path, body }]);
    if (entry.state === 'done') return onSaved(entry.result as Order);
    if (entry.state === 'conflict') {
      await discard(queueStore, entry.id);
      await refreshQueue();
      return refused(entry.problem);
    }
    onQueued(`${label}: queued, it will be sent when the network is back.`);
  };

  const save = async (e: Event) => {
    e.preventDefault();
    if (value === null) return;
    setBusy(true);
    setProblem(null);
    const what = kind === 'percent' ? text.replace(/\s*%?\s*$/, ' %') : formatMoney(value, cur);
    if (needsApproval) {
      const body = discountBody(kind, value, reason, approvalOf(approval, !!me?.terminal));
      const r = await call<Order>('PUT', path, body, uuid());
      if (r.ok) onSaved(r.data);
      else if (r.status === 0) setProblem({ spot: 'approval', text: 'Offline: a manager’s approval needs the network.' });
      else refused(r.problem);
    } else {
      await queued('PUT', discountBody(kind, value, reason), `Discount ${what} on ${target}`);
    }
    setBusy(false);
  };

  const remove = async () => {
    setBusy(true);
    setProblem(null);
    await queued('DELETE', {}, `Remove the discount on ${target}`);
    setBusy(false);
  };

  const valueLabel = kind === 'percent' ? 'Discount in percent' : `Discount amount (${cur})`;
  return (
    <Dialog title={`Discount on ${target}`} onClose={onClose}>
      <form class="form" onSubmit={save}>
        {current > 0 && <p class="muted">Now: −{formatMoney(current, cur)}</p>}
        <p class="group-label" id="discount-kind">Discount as</p>
        <div class="segmented" role="group" aria-labelledby="discount-kind">
          <button type="button" aria-pressed={kind === 'percent'} onClick={() => { setKind('percent'); setNeedsApproval(false); }}>Percent</button>
          <button type="button" aria-pressed={kind === 'amount'} onClick={() => { setKind('amount'); setNeedsApproval(false); }}>Amount</button>
        </div>
        <label>
          {valueLabel}
          <input
            inputMode="decimal"
            autocomplete="off"
            value={text}
            aria-invalid={problem?.spot === 'value'}
            aria-describedby={problem?.spot === 'value' ? 'discount-value-error' : undefined}
            onInput={(e) => { setText(e.currentTarget.value); setNeedsApproval(false); }}
          />
        </label>
        {problem?.spot === 'value' && <p class="alert field-error" id="discount-value-error" role="alert">{problem.text}</p>}
        <label>
          Reason (optional)
          <input value={reason} maxLength={500} onInput={(e) => setReason(e.currentTarget.value)} />
        </label>
        {problem?.spot === 'reason' && <p class="alert field-error" role="alert">{problem.text}</p>}
        {needsApproval && !isManager(me?.staff.role) && (
          <fieldset class="approval" aria-describedby={problem?.spot === 'approval' ? 'discount-approval-error' : undefined}>
            <legend>Manager approval</legend>
            <ApprovalFields value={approval} onChange={setApproval} />
          </fieldset>
        )}
        {problem?.spot === 'approval' && <p class="alert field-error" id="discount-approval-error" role="alert">{problem.text}</p>}
        {problem && problem.spot === null && <p class="alert" role="alert">{problem.text}</p>}
        <div class="dialog-actions">
          <button type="button" onClick={onClose}>Cancel</button>
          {current > 0 && <button type="button" disabled={busy} onClick={remove}>Remove discount</button>}
          <button type="submit" class="primary" disabled={value === null || value <= 0 || busy}>
            {needsApproval ? 'Approve discount' : 'Apply discount'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** A QR code as SVG squares (one path), for a phone to scan from the till's screen. */
export function QrCode({ text, label, size = 220 }: { text: string; label: string; size?: number }) {
  const path = useMemo(() => {
    const { data } = encode(text, { ecc: 'M', border: 2 });
    let d = '';
    data.forEach((row, y) => row.forEach((dark, x) => { if (dark) d += `M${x} ${y}h1v1h-1z`; }));
    return { d, n: data.length };
  }, [text]);
  return (
    <svg class="qr" role="img" aria-label={label} width={size} height={size} viewBox={`0 0 ${path.n} ${path.n}`} shape-rendering="crispEdges">
      <rect width={path.n} height={path.n} fill="#fff" />
      <path d={path.d} fill="#000" />
    </svg>
  );
}

export type OnlineState = 'waiting' | 'paid' | 'failed';

/** The state of an online payment after an event of the stream, or null if it is not about
 * this payment. */
export function onlineVerdict(type: string, data: unknown, paymentId: string): { state: OnlineState; reason?: string } | null {
  const payload = (data as { payload?: { payment_id?: string; reason?: string } } | null)?.payload;
  if (payload?.payment_id !== paymentId) return null;
  if (type === 'payment.completed') return { state: 'paid' };
  if (type === 'payment.failed') return { state: 'failed', reason: payload.reason };
  return null;
}

const FAIL_REASONS: Record<string, string> = {
  failed: 'the customer’s payment failed',
  reversed: 'Pesapal reversed it',
  timed_out: 'nobody paid in time',
};

/** A pending Pesapal payment: its payment page as a QR code and a link, turned to "paid" or
 * "failed" by the `payment.completed` / `payment.failed` event for it. */
export function PesapalPanel({
  online, onSettled, onDismiss,
}: { online: OnlinePayment; onSettled: (state: OnlineState) => void; onDismiss: () => void }) {
  const [state, setState] = useState<{ state: OnlineState; reason?: string }>({ state: 'waiting' });
  // The stream's `ready` comes once it is subscribed: from then on no event for this payment
  // can be missed, so only then does the screen say it is waiting for the customer.
  const [listening, setListening] = useState(false);
  const cur = online.order.currency;
  const payment = online.payment;
  useStream(
    {
      topics: 'payments',
      onEvent: (type, data) => {
        if (type === 'ready') setListening(true);
        const v = onlineVerdict(type, data, payment.id);
        if (!v) return;
        setState(v);
        onSettled(v.state);
      },
    },
    [payment.id],
  );
  return (
    <section class={`pesapal card ${state.state}`} aria-label="Pesapal payment">
      <h3>Pesapal · {formatMoney(payment.amount, cur)}</h3>
      <QrCode text={online.redirect_url} label={`QR code of the Pesapal payment page for ${formatMoney(payment.amount, cur)}`} />
      <p>
        <a href={online.redirect_url} target="_blank" rel="noopener noreferrer">Open the Pesapal payment page</a>
      </p>
      {state.state === 'waiting' && (
        <p role="status">{listening ? 'Waiting for the customer to pay with Pesapal…' : 'Connecting to the live updates…'}</p>
      )}
      {state.state === 'paid' && <p role="status" class="paid-badge">Paid: Pesapal confirmed {formatMoney(payment.amount, cur)}.</p>}
      {state.state === 'failed' && (
        <p class="alert" role="alert">
          The Pesapal payment failed{state.reason ? `: ${FAIL_REASONS[state.reason] ?? state.reason}` : ''}. Take it another way.
        </p>
      )}
      {state.state !== 'waiting' && <button type="button" onClick={onDismiss}>Done with Pesapal</button>}
    </section>
  );
}

const METHOD_NAMES: Record<string, string> = {
  cash: 'Cash', card: 'Card', mtn_momo: 'MTN MoMo', airtel_money: 'Airtel Money', pesapal: 'Pesapal',
};

export function methodName(method: string): string {
  return METHOD_NAMES[method] ?? method;
}

/** The order's payments (whoever took them), their tips and refunds, each refundable from here. */
export function PaymentsPanel({ payments, currency, onRefunded }: { payments: Payment[]; currency: string; onRefunded: (r: Refunded) => void }) {
  const [refunding, setRefunding] = useState<Payment | null>(null);
  const [done, setDone] = useState<string | null>(null);
  if (payments.length === 0) return null;
  return (
    <section class="payments" aria-labelledby="payments-h">
      <h3 id="payments-h">Payments</h3>
      {done && <p role="status">{done}</p>}
      <ul class="lines" aria-label="Payments taken">
        {payments.map((p) => {
          const refundable = p.amount - p.refunded;
          return (
            <li key={p.id} class="line">
              <span class="line-name">{methodName(p.method)}</span>
              <span class="line-meta">
                {p.tip > 0 && `tip ${formatMoney(p.tip, currency)}`}
                {p.refunded > 0 && ` · refunded ${formatMoney(p.refunded, currency)}`}
              </span>
              <span class="money">{formatMoney(p.amount, currency)}</span>
              {refundable > 0 && p.status !== 'pending' && p.status !== 'failed' && (
                <button type="button" onClick={() => { setDone(null); setRefunding(p); }}>
                  Refund {methodName(p.method)} {formatMoney(p.amount, currency)}
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {refunding && (
        <RefundDialog
          payment={refunding}
          currency={currency}
          onClose={() => setRefunding(null)}
          onDone={(r) => {
            setRefunding(null);
            setDone(`Refunded ${formatMoney(r.refund.amount, currency)} of the ${methodName(r.payment.method)} payment.`);
            onRefunded(r);
          }}
        />
      )}
    </section>
  );
}

/** Refunds part or all of one payment: amount, reason and, for anyone but a manager, the
 * manager's approval in the same request. One Idempotency-Key per refund; a refusal gets a
 * new one for the corrected attempt (the old key would answer the stored refusal). */
export function RefundDialog({ payment, currency, onClose, onDone }: { payment: Payment; currency: string; onClose: () => void; onDone: (r: Refunded) => void }) {
  const me = useStore(session);
  const manager = isManager(me?.staff.role);
  const refundable = payment.amount - payment.refunded;
  const [text, setText] = useState(String(refundable));
  const [reason, setReason] = useState('');
  const [approval, setApproval] = useState<ApprovalState>(emptyApproval);
  const [problem, setProblem] = useState<{ field: string | null; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [key, setKey] = useState(uuid);
  const amount = parseMinor(text, currency);
  const go = async (e: Event) => {
    e.preventDefault();
    if (amount === null) return;
    setBusy(true);
    setProblem(null);
    const body = { amount, reason: reason.trim(), ...(manager ? {} : { approval: approvalOf(approval, !!me?.terminal) }) };
    const r = await call<Refunded>('POST', `/api/payments/${payment.id}/refunds`, body, key);
    setBusy(false);
    if (r.ok) return onDone(r.data);
    if (r.status !== 0) setKey(uuid());
    const f = r.problem.field ?? (r.problem.code === 'approval_required' || r.problem.code === 'invalid_approval' ? 'approval' : null);
    const spot = discountSpot(f) === 'approval' ? 'approval' : f === 'amount' || f === 'reason' ? f : null;
    setProblem({ field: spot, text: message(r.problem, 'The refund was refused.') });
  };
  const err = (field: string) => (problem?.field === field ? <p class="alert field-error" id={`refund-${field}-error`} role="alert">{problem.text}</p> : null);
  return (
    <Dialog title={`Refund ${methodName(payment.method)} ${formatMoney(payment.amount, currency)}`} onClose={onClose}>
      <form class="form" onSubmit={go}>
        <p class="muted">Refundable: {formatMoney(refundable, currency)}</p>
        <label>
          Refund amount ({currency})
          <input
            inputMode="decimal"
            autocomplete="off"
            value={text}
            aria-invalid={problem?.field === 'amount'}
            aria-describedby={problem?.field === 'amount' ? 'refund-amount-error' : undefined}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        {err('amount')}
        <label>
          Refund reason
          <input value={reason} maxLength={500} aria-invalid={problem?.field === 'reason'} onInput={(e) => setReason(e.currentTarget.value)} />
        </label>
        {err('reason')}
        {!manager && (
          <fieldset class="approval">
            <legend>Manager approval</legend>
            <ApprovalFields value={approval} onChange={setApproval} />
          </fieldset>
        )}
        {err('approval')}
        {problem && problem.field === null && <p class="alert" role="alert">{problem.text}</p>}
        <div class="dialog-actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" class="danger" disabled={amount === null || amount <= 0 || amount > refundable || !reason.trim() || busy}>
            Refund {amount === null ? '' : formatMoney(amount, currency)}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Queues a copy of the receipt for the receipt printer (marked COPY), one key per press. */
export function ReprintButton({ orderId }: { orderId: string }) {
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    setNote(null);
    const r = await call<Reprint>('POST', `/api/orders/${orderId}/receipt/reprint`, undefined, uuid());
    setBusy(false);
    if (r.ok) setNote({ ok: true, text: `A copy of receipt no. ${r.data.receipt_number ?? '—'} is queued for the ${r.data.printer} printer.` });
    else setNote({ ok: false, text: message(r.problem, 'The reprint was refused.') });
  };
  return (
    <div class="reprint">
      <button type="button" disabled={busy} onClick={go}>Reprint receipt</button>
      {note && (note.ok ? <p role="status">{note.text}</p> : <p class="alert" role="alert">{note.text}</p>)}
    </div>
  );
}
