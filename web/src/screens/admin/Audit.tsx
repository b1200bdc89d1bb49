// The audit trail: newest first, filtered by who, what and which record, paged by id;
// and a check of the whole hash chain with its answer shown.
import { useEffect, useState } from 'preact/hooks';
import type { Schemas } from '../../api/client';
import { FormError, TextField, useForm, SelectField } from '../../components/Form';
import { Scroll } from '../../components/Tabs';
import { call, formatTime, get, message } from '../../lib/http';

type Entry = Schemas['AuditEntryView'];
type Page = Schemas['AuditPage'];
type Verification = Schemas['AuditVerification'];
type Staff = Schemas['StaffView'];

const PAGE = 25;

export function auditQuery(f: { actor_id: string; action: string; entity: string; entity_id: string }, before: number | null): string {
  const q = new URLSearchParams();
  if (f.actor_id) q.set('actor_id', f.actor_id);
  if (f.action.trim()) q.set('action', f.action.trim());
  if (f.entity.trim()) q.set('entity', f.entity.trim());
  if (f.entity_id.trim()) q.set('entity_id', f.entity_id.trim());
  if (before !== null) q.set('before_id', String(before));
  q.set('limit', String(PAGE));
  return q.toString();
}

/** The change an entry records, in a line: `role: cashier → manager`. */
export function describeChange(e: Pick<Entry, 'before' | 'after'>): string {
  const before = (e.before ?? {}) as Record<string, unknown>;
  const after = (e.after ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const show = (v: unknown) => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));
  return keys
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .slice(0, 6)
    .map((k) => (k in before ? `${k}: ${show(before[k])} → ${show(after[k])}` : `${k}: ${show(after[k])}`))
    .join('; ');
}

export function AuditTab({ canListStaff }: { canListStaff: boolean }) {
  const form = useForm({ actor_id: '', action: '', entity: '', entity_id: '' });
  const [applied, setApplied] = useState(form.values);
  const [cursor, setCursor] = useState<number | null>(null);
  const [history, setHistory] = useState<(number | null)[]>([]);
  const [page, setPage] = useState<Page | null>(null);
  const [staff, setStaff] = useState<Staff[]>([]);
  const [verify, setVerify] = useState<Verification | null>(null);
  const [verifying, setVerifying] = useState(false);
  const [verifyError, setVerifyError] = useState<string | null>(null);

  useEffect(() => {
    if (!canListStaff) return;
    void get<Staff[]>('/api/admin/staff').then((r) => r.ok && setStaff(r.data));
  }, []);

  useEffect(() => {
    void (async () => {
      const r = await get<Page>(`/api/admin/audit?${auditQuery(applied, cursor)}`);
      if (r.ok) {
        setPage(r.data);
        form.clear();
      } else form.refuse(r.problem);
    })();
  }, [applied, cursor]);

  const who = (id: string | null | undefined) => {
    if (!id) return 'System';
    const s = staff.find((x) => x.id === id);
    return s ? `${s.full_name} (${s.username})` : id.slice(0, 8);
  };

  const search = (e: Event) => {
    e.preventDefault();
    setHistory([]);
    setCursor(null);
    setApplied({ ...form.values });
  };

  const runVerify = async () => {
    setVerifying(true);
    setVerify(null);
    setVerifyError(null);
    const r = await call<Verification>('GET', '/api/admin/audit/verify');
    setVerifying(false);
    if (r.ok) setVerify(r.data);
    else setVerifyError(message(r.problem));
  };

  return (
    <div class="admin-grid">
      <form class="card form admin-section" onSubmit={search} aria-labelledby="audit-filter-h">
        <h3 id="audit-filter-h">Filter</h3>
        {canListStaff ? (
          <SelectField form={form} name="actor_id" label="Who" options={[['', 'Anyone'], ...staff.map((s) => [s.id, `${s.full_name} (${s.username})`] as const)]} />
        ) : (
          <TextField form={form} name="actor_id" label="Who (staff id)" autocomplete="off" />
        )}
        <TextField form={form} name="action" label="Action" autocomplete="off" list="audit-actions" hint="e.g. staff.created, auth.login_failed" />
        <datalist id="audit-actions">
          {['staff.created', 'staff.role_changed', 'staff.deactivated', 'staff.password_reset', 'staff.pin_set', 'auth.login', 'auth.login_failed', 'auth.locked', 'auth.unlocked', 'auth.approval', 'terminal.created', 'order.voided', 'shift.closed'].map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <TextField form={form} name="entity" label="Record kind" autocomplete="off" hint="e.g. staff, order, product" />
        <TextField form={form} name="entity_id" label="Record id" autocomplete="off" />
        <FormError form={form} />
        <button type="submit" class="primary">
          Show entries
        </button>
        <hr />
        <h3 id="verify-h">Hash chain</h3>
        <p class="muted">Every entry carries the hash of the one before: a changed or removed row breaks the chain.</p>
        <button type="button" onClick={runVerify} disabled={verifying}>
          Verify the chain
        </button>
        {verifying && <progress aria-label="Verifying the chain" />}
        {verify &&
          (verify.valid ? (
            <p class="ok-note" role="status">
              Chain intact: {verify.rows_checked} entries checked.
            </p>
          ) : (
            <p class="alert" role="alert">
              Chain broken at entry #{verify.broken_at}: {verify.problem ?? 'hash mismatch'} ({verify.rows_checked} entries checked before it).
            </p>
          ))}
        {verifyError && (
          <p class="alert" role="alert">
            {verifyError}
          </p>
        )}
      </form>
      <section class="card admin-section wide" aria-labelledby="audit-h">
        <h3 id="audit-h">Audit trail</h3>
        {page && page.entries.length === 0 && <p class="muted">No entries match.</p>}
        {page && page.entries.length > 0 && (
          <Scroll label="Audit entries">
            <table class="grid">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Record</th>
                  <th scope="col">Change</th>
                </tr>
              </thead>
              <tbody>
                {page.entries.map((e) => (
                  <tr key={e.id}>
                    <td class="num">{e.id}</td>
                    <td>{formatTime(e.created_at)}</td>
                    <td>
                      {who(e.actor_id)}
                      {e.approver_id && <small class="muted block">approved by {who(e.approver_id)}</small>}
                    </td>
                    <td class="mono">{e.action}</td>
                    <td>
                      {e.entity}
                      {e.entity_id && <small class="muted block mono">{e.entity_id}</small>}
                    </td>
                    <td class="change">{describeChange(e)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
        )}
        <div class="pager">
          <button
            type="button"
            disabled={history.length === 0}
            onClick={() => {
              const prev = history[history.length - 1] ?? null;
              setHistory(history.slice(0, -1));
              setCursor(prev);
            }}
          >
            Newer entries
          </button>
          <button
            type="button"
            disabled={!page?.next_before_id}
            onClick={() => {
              setHistory([...history, cursor]);
              setCursor(page!.next_before_id ?? null);
            }}
          >
            Older entries
          </button>
        </div>
      </section>
    </div>
  );
}
