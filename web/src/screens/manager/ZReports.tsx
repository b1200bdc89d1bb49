// Z reports: close the business day (refused while a shift is open: the API says which),
// list past ones, open one to read or print it (every reading after the first is a COPY),
// and check their hash chain.
import { useEffect, useState } from 'preact/hooks';
import type { Schemas } from '../../api/client';
import { Dialog } from '../../components/Dialog';
import { Scroll } from '../../components/Tabs';
import { call, formatTime, get, message } from '../../lib/http';
import { uuid } from '../../lib/ids';
import { formatMoney } from '../../lib/money';

type Z = Schemas['ZReportView'];
type Chain = Schemas['ZChainView'];

export function ZReportsTab() {
  const [list, setList] = useState<Z[] | null>(null);
  const [open, setOpen] = useState<Z | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [chain, setChain] = useState<Chain | null>(null);
  const [key, setKey] = useState(uuid);
  const load = async () => {
    const r = await get<Z[]>('/api/z-reports');
    if (r.ok) setList(r.data);
    else setError(message(r.problem));
  };
  useEffect(() => {
    void load();
  }, []);

  const run = async () => {
    setConfirm(false);
    setBusy(true);
    setError(null);
    const r = await call<Z>('POST', '/api/z-reports', {}, key);
    setBusy(false);
    setKey(uuid());
    if (r.ok) {
      setNotice(`Z report #${r.data.number} taken.`);
      setOpen(r.data);
      await load();
    } else setError(message(r.problem, 'The Z report was refused.'));
  };
  const read = async (z: Z) => {
    const r = await get<Z>(`/api/z-reports/${z.number}`);
    if (r.ok) setOpen(r.data);
    else setError(message(r.problem));
  };
  const verify = async () => {
    const r = await get<Chain>('/api/z-reports/verify');
    if (r.ok) setChain(r.data);
    else setError(message(r.problem));
  };

  return (
    <section class="card admin-section" aria-labelledby="z-h">
      <div class="floor-head">
        <h3 id="z-h">Z reports</h3>
        <button type="button" onClick={verify}>
          Verify the Z chain
        </button>
        <button type="button" class="primary" disabled={busy} onClick={() => setConfirm(true)}>
          Close the day (Z report)
        </button>
      </div>
      {busy && <progress aria-label="Taking the Z report" />}
      {notice && <p role="status">{notice}</p>}
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      {chain &&
        (chain.ok ? (
          <p class="ok-note" role="status">
            Z chain intact: {chain.reports} reports checked.
          </p>
        ) : (
          <p class="alert" role="alert">
            Z chain broken: {chain.detail ?? JSON.stringify(chain.first_break)}
          </p>
        ))}
      {list && list.length === 0 && <p class="muted">No Z report yet.</p>}
      {list && list.length > 0 && (
        <Scroll label="Z report list">
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">Number</th>
                <th scope="col">Business date</th>
                <th scope="col">Period</th>
                <th scope="col">Sales</th>
                <th scope="col">Payments</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((z) => (
                <tr key={z.number}>
                  <th scope="row">#{z.number}</th>
                  <td>{z.business_date}</td>
                  <td>
                    {formatTime(z.period_start)} – {formatTime(z.period_end)}
                  </td>
                  <td class="money">{formatMoney(z.totals.sales.sales, z.currency)}</td>
                  <td class="money">{formatMoney(z.totals.payments_total, z.currency)}</td>
                  <td>
                    <button type="button" aria-label={`Reprint Z report ${z.number}`} onClick={() => read(z)}>
                      Reprint
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      {confirm && (
        <Dialog title="Close the business day?" onClose={() => setConfirm(false)}>
          <p>The Z report closes everything since the last one and cannot be changed. Every shift must be closed first.</p>
          <div class="dialog-actions">
            <button type="button" onClick={() => setConfirm(false)}>
              Cancel
            </button>
            <button type="button" class="primary" onClick={run}>
              Take the Z report
            </button>
          </div>
        </Dialog>
      )}
      {open && (
        <Dialog title={`Z report #${open.number}${open.copy ? ' (copy)' : ''}`} onClose={() => setOpen(null)}>
          {open.text ? (
            <pre class="receipt-text" tabIndex={0} aria-label="The printed Z report">
              {open.text}
            </pre>
          ) : <p>Sales {formatMoney(open.totals.sales.sales, open.currency)}</p>}
          <div class="dialog-actions">
            <button type="button" onClick={() => window.print()}>
              Print
            </button>
            <button type="button" class="primary" onClick={() => setOpen(null)}>
              Close
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
