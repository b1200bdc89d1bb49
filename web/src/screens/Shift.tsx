// The cashier's shift: open it with the float counted into the drawer, cash in/out with a
// reason, the X report (the drawer as of now), and close it with the cash counted, seeing
// what was expected and the variance first. A variance beyond the venue's threshold makes
// the server answer `approval_required`: the screen then asks for a manager's PIN (or
// username and password off a terminal) and sends the same close again with it.
//
// Shift changes are made online only (they are rare, at the till, and a drawer count must
// not be replayed later against a drawer that changed meanwhile); each attempt carries an
// Idempotency-Key so a retried click never opens two shifts or records cash twice.
import { useEffect, useState } from 'preact/hooks';
import { sendJson, type Schemas } from '../api/client';
import { ApprovalFields, approvalOf, emptyApproval, type ApprovalState } from '../components/Approval';
import { Dialog } from '../components/Dialog';
import { parseMinor, variance } from '../lib/bill';
import { uuid } from '../lib/ids';
import { formatMoney } from '../lib/money';
import { session } from '../lib/session';
import { store, useStore } from '../lib/store';

export type ShiftView = Schemas['ShiftView'];

/** The caller's open shift (null: none; undefined: not known yet, e.g. offline). */
export const currentShift = store<ShiftView | null | undefined>(undefined);

export async function loadShift(): Promise<ShiftView | null | undefined> {
  try {
    const r = await fetch('/api/shifts/current', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    const value = r.ok ? ((await r.json()) as ShiftView) : r.status === 404 ? null : currentShift.get();
    currentShift.set(value);
    return value;
  } catch {
    return currentShift.get();
  }
}

interface Problemish {
  code?: string;
  detail?: string;
  title?: string;
}

function say(body: unknown, fallback: string): string {
  const p = body as Problemish | null;
  return p?.detail || p?.title || fallback;
}

/** Sends one shift change; `key` is kept by the caller across retries of the same attempt. */
async function post(path: string, body: unknown, key: string) {
  try {
    return await sendJson('POST', path, body, key);
  } catch {
    return { status: 0, body: { detail: 'The server cannot be reached: shift changes need the network.' } };
  }
}

function AmountInput({ label, value, onInput, currency }: { label: string; value: string; onInput: (v: string) => void; currency: string }) {
  return (
    <label>
      {label} ({currency})
      <input inputMode="decimal" autocomplete="off" value={value} onInput={(e) => onInput(e.currentTarget.value)} />
    </label>
  );
}

export function ShiftScreen({ currency }: { currency: string }) {
  const shift = useStore(currentShift);
  const [report, setReport] = useState<Schemas['XReportView'] | null>(null);
  const [closed, setClosed] = useState<ShiftView | null>(null);
  useEffect(() => {
    void loadShift();
  }, []);

  if (closed) return <ClosedSummary shift={closed} onDone={() => setClosed(null)} />;
  if (shift === undefined) {
    return (
      <main class="list-screen">
        <h2>Shift</h2>
        <p role="status">Loading the shift… (it needs the network)</p>
      </main>
    );
  }
  if (shift === null) return <OpenShift currency={currency} />;
  const c = shift.cash;
  const cur = shift.currency;
  return (
    <main class="list-screen shift">
      <div class="floor-head">
        <h2>Shift open since {new Date(shift.opened_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</h2>
        <button
          type="button"
          onClick={async () => {
            const r = await fetch(`/api/shifts/${shift.id}/x-report`, { credentials: 'same-origin' }).catch(() => null);
            if (r?.ok) setReport(await r.json());
          }}
        >
          X report
        </button>
      </div>
      <div class="shift-cols">
        <section class="card" aria-labelledby="drawer-h">
          <h3 id="drawer-h">Cash drawer</h3>
          <DrawerTable cash={c} currency={cur} />
        </section>
        <CashMovement shift={shift} />
        <CloseShift shift={shift} onClosed={setClosed} />
      </div>
      {shift.movements.length > 0 && (
        <section aria-labelledby="moves-h">
          <h3 id="moves-h">Cash in and out</h3>
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Kind</th>
                <th scope="col">Reason</th>
                <th scope="col">Amount</th>
              </tr>
            </thead>
            <tbody>
              {shift.movements.map((m) => (
                <tr key={m.id}>
                  <td>{new Date(m.at).toLocaleTimeString()}</td>
                  <td>{m.kind === 'cash_in' ? 'Cash in' : 'Cash out'}</td>
                  <td>{m.reason}</td>
                  <td class="money">{formatMoney(m.amount, cur)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {report && (
        <Dialog title="X report" onClose={() => setReport(null)}>
          <p class="muted">
            As of {new Date(report.generated_at).toLocaleString()}; the shift goes on.
          </p>
          <DrawerTable cash={report.shift.cash} currency={report.shift.currency} />
          <p>
            {report.shift.movements.length} cash movement{report.shift.movements.length === 1 ? '' : 's'}.
          </p>
          <div class="dialog-actions">
            <button type="button" onClick={() => window.print()}>
              Print
            </button>
            <button type="button" class="primary" onClick={() => setReport(null)}>
              Close
            </button>
          </div>
        </Dialog>
      )}
    </main>
  );
}

export function DrawerTable({ cash, currency }: { cash: Schemas['CashView']; currency: string }) {
  const rows: [string, number][] = [
    ['Opening float', cash.opening_float],
    ['Cash sales', cash.cash_sales],
    ['Cash refunds', -cash.cash_refunds],
    ['Cash in', cash.cash_in],
    ['Cash out', -cash.cash_out],
  ];
  return (
    <table class="grid drawer">
      <tbody>
        {rows.map(([name, v]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td class="money">{formatMoney(v, currency)}</td>
          </tr>
        ))}
        <tr class="sum">
          <th scope="row">Expected in drawer</th>
          <td class="money">{formatMoney(cash.expected, currency)}</td>
        </tr>
      </tbody>
    </table>
  );
}

function OpenShift({ currency }: { currency: string }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [key] = useState(uuid);
  const amount = parseMinor(text, currency);
  const go = async (e: Event) => {
    e.preventDefault();
    if (amount === null) return;
    setBusy(true);
    const r = await post('/api/shifts', { opening_float: amount }, key);
    setBusy(false);
    if (r.status === 201 || r.status === 200) currentShift.set(r.body as ShiftView);
    else setError(say(r.body, 'The shift could not be opened.'));
  };
  return (
    <main class="list-screen">
      <h2>Open a shift</h2>
      <form class="card form narrow" onSubmit={go}>
        <p>Count the cash in the drawer before the first sale. Payments are recorded on your shift.</p>
        <AmountInput label="Opening float" value={text} onInput={setText} currency={currency} />
        {text && amount === null && <p class="alert" role="alert">Type the amount in {currency}, digits only.</p>}
        {error && <p class="alert" role="alert">{error}</p>}
        <button type="submit" class="primary big" disabled={amount === null || busy}>
          Open shift{amount !== null ? ` with ${formatMoney(amount, currency)}` : ''}
        </button>
      </form>
    </main>
  );
}

function CashMovement({ shift }: { shift: ShiftView }) {
  const [kind, setKind] = useState<'cash_in' | 'cash_out'>('cash_in');
  const [text, setText] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [key, setKey] = useState(uuid);
  const amount = parseMinor(text, shift.currency);
  const go = async (e: Event) => {
    e.preventDefault();
    if (!amount || !reason.trim()) return;
    setError(null);
    const r = await post(`/api/shifts/${shift.id}/cash-movements`, { kind, amount, reason: reason.trim() }, key);
    if (r.status === 201 || r.status === 200) {
      setDone(`${kind === 'cash_in' ? 'Cash in' : 'Cash out'} of ${formatMoney(amount, shift.currency)} recorded.`);
      setText('');
      setReason('');
      setKey(uuid());
      await loadShift();
    } else setError(say(r.body, 'Not recorded.'));
  };
  return (
    <form class="card form" onSubmit={go} aria-labelledby="move-h">
      <h3 id="move-h">Cash in / out</h3>
      <div class="segmented" role="group" aria-label="Kind">
        <button type="button" aria-pressed={kind === 'cash_in'} onClick={() => setKind('cash_in')}>
          Cash in
        </button>
        <button type="button" aria-pressed={kind === 'cash_out'} onClick={() => setKind('cash_out')}>
          Cash out
        </button>
      </div>
      <AmountInput label="Amount" value={text} onInput={setText} currency={shift.currency} />
      <label>
        Reason
        <input value={reason} maxLength={500} placeholder="e.g. change top-up" onInput={(e) => setReason(e.currentTarget.value)} />
      </label>
      {error && <p class="alert" role="alert">{error}</p>}
      {done && <p role="status">{done}</p>}
      <button type="submit" disabled={!amount || !reason.trim()}>
        Record {kind === 'cash_in' ? 'cash in' : 'cash out'}
      </button>
    </form>
  );
}

function CloseShift({ shift, onClosed }: { shift: ShiftView; onClosed: (s: ShiftView) => void }) {
  const me = useStore(session);
  const [text, setText] = useState('');
  const [note, setNote] = useState('');
  const [needsApproval, setNeedsApproval] = useState(false);
  const [approval, setApproval] = useState<ApprovalState>(emptyApproval);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [key, setKey] = useState(uuid);
  const cur = shift.currency;
  const counted = parseMinor(text, cur);
  const diff = counted === null ? null : variance(counted, shift.cash.expected);
  const go = async (e: Event) => {
    e.preventDefault();
    if (counted === null) return;
    setBusy(true);
    setError(null);
    const body = {
      counted_cash: counted,
      note: note.trim() || null,
      approval: needsApproval ? approvalOf(approval, !!me?.terminal) : null,
    };
    const r = await post(`/api/shifts/${shift.id}/close`, body, key);
    setBusy(false);
    if (r.status === 200) {
      currentShift.set(null);
      onClosed(r.body as ShiftView);
      return;
    }
    // The stored refusal would be replayed for this key: the next attempt gets a new one.
    setKey(uuid());
    const code = (r.body as Problemish | null)?.code;
    if (code === 'approval_required') {
      setNeedsApproval(true);
      setError('The variance is above the limit: a manager must approve this close.');
    } else setError(say(r.body, 'The shift could not be closed.'));
  };
  return (
    <form class="card form" onSubmit={go} aria-labelledby="close-h">
      <h3 id="close-h">Close the shift</h3>
      <AmountInput label="Cash counted" value={text} onInput={(v) => { setText(v); setNeedsApproval(false); }} currency={cur} />
      <dl class="figures">
        <dt>Expected</dt>
        <dd>{formatMoney(shift.cash.expected, cur)}</dd>
        <dt>Variance</dt>
        <dd class={diff === null ? '' : diff < 0 ? 'short' : diff > 0 ? 'over' : 'even'}>
          {diff === null ? '—' : `${formatMoney(diff, cur)} ${diff < 0 ? '(short)' : diff > 0 ? '(over)' : '(exact)'}`}
        </dd>
      </dl>
      <label>
        Note (optional)
        <input value={note} maxLength={500} onInput={(e) => setNote(e.currentTarget.value)} />
      </label>
      {needsApproval && <ApprovalFields value={approval} onChange={setApproval} />}
      {error && <p class="alert" role="alert">{error}</p>}
      <button type="submit" class="danger" disabled={counted === null || busy}>
        {needsApproval ? 'Approve and close shift' : 'Close shift'}
      </button>
    </form>
  );
}

function ClosedSummary({ shift, onDone }: { shift: ShiftView; onDone: () => void }) {
  const cur = shift.currency;
  const v = shift.variance ?? 0;
  return (
    <main class="list-screen">
      <h2>Shift closed</h2>
      <section class="card narrow" aria-label="Close summary">
        <dl class="figures">
          <dt>Expected</dt>
          <dd>{formatMoney(shift.expected_cash ?? 0, cur)}</dd>
          <dt>Counted</dt>
          <dd>{formatMoney(shift.counted_cash ?? 0, cur)}</dd>
          <dt>Variance</dt>
          <dd class={v < 0 ? 'short' : v > 0 ? 'over' : 'even'}>
            {formatMoney(v, cur)} {v < 0 ? '(short)' : v > 0 ? '(over)' : '(exact)'}
          </dd>
        </dl>
        {shift.variance_approved_by && <p>Variance approved by a manager.</p>}
        <button type="button" class="primary" onClick={onDone}>
          Done
        </button>
      </section>
    </main>
  );
}
