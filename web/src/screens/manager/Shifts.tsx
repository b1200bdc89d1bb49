// Shifts for a manager: every open shift with its drawer, the X report of any of them, and
// closing one with the cash counted (variance shown before sending; a variance over the
// venue's limit asks for an approval, as the API does).
import { useEffect, useState } from 'preact/hooks';
import type { Schemas } from '../../api/client';
import { ApprovalFields, approvalOf, emptyApproval, type ApprovalState } from '../../components/Approval';
import { Dialog } from '../../components/Dialog';
import { parseMinor, variance } from '../../lib/bill';
import { call, formatTime, get, message } from '../../lib/http';
import { uuid } from '../../lib/ids';
import { formatMoney } from '../../lib/money';
import { session } from '../../lib/session';
import { useStore } from '../../lib/store';
import { DrawerTable } from '../Shift';

type Shift = Schemas['ShiftView'];
type XReport = Schemas['XReportView'];

/** Closed shifts shown below the open ones: the most recent first. */
export const RECENT_CLOSED_SHIFTS = 50;

/** Every open shift, then the most recent closed ones (the API lists newest opened first). */
export async function loadShifts(): Promise<{ shifts: Shift[]; error: string | null }> {
  const [open, closed] = await Promise.all([
    get<Shift[]>('/api/shifts?status=open&limit=500'),
    get<Shift[]>(`/api/shifts?status=closed&limit=${RECENT_CLOSED_SHIFTS}`),
  ]);
  const failed = [open, closed].find((r) => !r.ok);
  return {
    shifts: [...(open.ok ? open.data : []), ...(closed.ok ? closed.data : [])],
    error: failed && !failed.ok ? message(failed.problem) : null,
  };
}

export function ShiftsTab() {
  const [shifts, setShifts] = useState<Shift[] | null>(null);
  const [staffNames, setStaffNames] = useState<Record<string, string>>({});
  const [report, setReport] = useState<XReport | null>(null);
  const [closing, setClosing] = useState<Shift | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The shifts from their list; the names of those holding open ones from the dashboard.
  const load = async () => {
    const [dash, listed] = await Promise.all([get<Schemas['DashboardView']>('/api/reports/dashboard'), loadShifts()]);
    if (dash.ok) setStaffNames(Object.fromEntries(dash.data.open_shifts.map((o) => [o.shift.staff_id, o.staff])));
    setShifts(listed.shifts);
    if (listed.error) setError(listed.error);
  };
  useEffect(() => {
    void load();
  }, []);

  const xReport = async (s: Shift) => {
    const r = await get<XReport>(`/api/shifts/${s.id}/x-report`);
    if (r.ok) setReport(r.data);
    else setError(message(r.problem));
  };
  const name = (s: Shift) => staffNames[s.staff_id] ?? `Staff ${s.staff_id.slice(0, 8)}`;
  const open = shifts?.filter((s) => s.status === 'open') ?? [];
  const closed = shifts?.filter((s) => s.status !== 'open') ?? [];

  return (
    <div class="admin-grid">
      <section class="card admin-section wide" aria-labelledby="open-shifts-h">
        <h3 id="open-shifts-h">Open shifts</h3>
        {notice && <p role="status">{notice}</p>}
        {error && (
          <p class="alert" role="alert">
            {error}
          </p>
        )}
        {shifts === null && <p>Loading…</p>}
        {shifts && open.length === 0 && <p class="muted">No shift is open.</p>}
        <div class="cards">
          {open.map((s) => (
            <article class="card inner" key={s.id} aria-label={`Shift of ${name(s)}`}>
              <h4>{name(s)}</h4>
              <p class="muted">Open since {formatTime(s.opened_at)}</p>
              <DrawerTable cash={s.cash} currency={s.currency} />
              <div class="row-actions">
                <button type="button" onClick={() => xReport(s)} aria-label={`X report for ${name(s)}`}>
                  X report
                </button>
                <button type="button" class="danger" onClick={() => setClosing(s)} aria-label={`Close shift of ${name(s)}`}>
                  Close shift
                </button>
              </div>
            </article>
          ))}
        </div>
      </section>
      {closed.length > 0 && (
        <section class="card admin-section wide" aria-labelledby="closed-shifts-h">
          <h3 id="closed-shifts-h">Closed recently</h3>
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">Who</th>
                <th scope="col">Closed</th>
                <th scope="col">Expected</th>
                <th scope="col">Counted</th>
                <th scope="col">Variance</th>
              </tr>
            </thead>
            <tbody>
              {closed.map((s) => (
                <tr key={s.id}>
                  <th scope="row">{name(s)}</th>
                  <td>{formatTime(s.closed_at)}</td>
                  <td class="money">{formatMoney(s.expected_cash ?? 0, s.currency)}</td>
                  <td class="money">{formatMoney(s.counted_cash ?? 0, s.currency)}</td>
                  <td class={`money ${(s.variance ?? 0) < 0 ? 'short' : ''}`}>
                    {formatMoney(s.variance ?? 0, s.currency)}
                    {s.variance_approved_by && <small class="muted block">approved</small>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {report && (
        <Dialog title="X report" onClose={() => setReport(null)}>
          <p class="muted">As of {formatTime(report.generated_at)}; the shift goes on.</p>
          <DrawerTable cash={report.shift.cash} currency={report.shift.currency} />
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
      {closing && (
        <CloseDialog
          shift={closing}
          who={name(closing)}
          onClose={() => setClosing(null)}
          onClosed={async (s) => {
            setClosing(null);
            setNotice(`Shift of ${name(s)} closed: variance ${formatMoney(s.variance ?? 0, s.currency)}.`);
            await load();
          }}
        />
      )}
    </div>
  );
}

function CloseDialog({ shift, who, onClose, onClosed }: { shift: Shift; who: string; onClose: () => void; onClosed: (s: Shift) => void }) {
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
  const submit = async (e: Event) => {
    e.preventDefault();
    if (counted === null) return;
    setBusy(true);
    const r = await call<Shift>(
      'POST',
      `/api/shifts/${shift.id}/close`,
      { counted_cash: counted, note: note.trim() || null, approval: needsApproval ? approvalOf(approval, !!me?.terminal) : null },
      key,
    );
    setBusy(false);
    if (r.ok) return onClosed(r.data);
    setKey(uuid());
    if (r.problem.code === 'approval_required') {
      setNeedsApproval(true);
      setError('The variance is above the limit: it needs an approval.');
    } else setError(message(r.problem));
  };
  return (
    <Dialog title={`Close the shift of ${who}`} onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <label>
          Cash counted ({cur})
          <input inputMode="decimal" autocomplete="off" value={text} aria-invalid={text !== '' && counted === null ? 'true' : undefined} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
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
        {error && (
          <p class="alert" role="alert">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="danger" disabled={counted === null || busy}>
            {needsApproval ? 'Approve and close shift' : 'Close shift'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
