// Terminals: register a device (its code is typed at PIN sign-in), its kind and KDS
// station, and see when each was last used.
import { useEffect, useState } from 'preact/hooks';
import type { Schemas } from '../../api/client';
import { Dialog } from '../../components/Dialog';
import { CheckField, FormError, SelectField, TextField, useForm, type FormState } from '../../components/Form';
import { Scroll } from '../../components/Tabs';
import { call, get, message } from '../../lib/http';

type Terminal = Schemas['TerminalView'];

const KINDS = [
  ['pos', 'POS till'],
  ['kds', 'Kitchen/bar display'],
  ['manager', 'Manager'],
  ['mobile', 'Mobile'],
] as const;
const STATIONS = [
  ['', 'None'],
  ['kitchen', 'Kitchen'],
  ['bar', 'Bar'],
] as const;

/** "3 min ago" for a last-seen time. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'Never';
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 60) return 'Just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

type TerminalForm = { code: string; name: string; kind: string; station: string; location: string; has_printer: boolean; has_cash_drawer: boolean; active: boolean };

function Fields({ form }: { form: FormState<TerminalForm> }) {
  return (
    <>
      <TextField form={form} name="code" label="Code" required autocomplete="off" hint="2–32 of a-z 0-9 -, typed at PIN sign-in" />
      <TextField form={form} name="name" label="Name" required autocomplete="off" />
      <SelectField form={form} name="kind" label="Kind" options={KINDS} />
      <SelectField form={form} name="station" label="Station" options={STATIONS} hint="The station a kitchen/bar display shows" />
      <TextField form={form} name="location" label="Location (optional)" autocomplete="off" />
      <CheckField form={form} name="has_printer" label="Has a receipt printer" />
      <CheckField form={form} name="has_cash_drawer" label="Has a cash drawer" />
    </>
  );
}

const blank: TerminalForm = { code: '', name: '', kind: 'pos', station: '', location: '', has_printer: false, has_cash_drawer: false, active: true };

export function TerminalsTab() {
  const [terminals, setTerminals] = useState<Terminal[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<Terminal | null>(null);
  const form = useForm<TerminalForm>(blank);

  const load = async () => {
    const r = await get<Terminal[]>('/api/admin/terminals');
    if (r.ok) setTerminals(r.data);
    else setError(message(r.problem));
  };
  useEffect(() => {
    void load();
  }, []);

  const create = async (e: Event) => {
    e.preventDefault();
    const v = form.values;
    form.setBusy(true);
    const r = await call<Terminal>('POST', '/api/admin/terminals', {
      code: v.code.trim(),
      name: v.name.trim(),
      kind: v.kind,
      station: v.station || null,
      location: v.location.trim() || null,
      has_printer: v.has_printer,
      has_cash_drawer: v.has_cash_drawer,
    });
    form.setBusy(false);
    if (r.ok) {
      form.reset();
      setNotice(`Terminal ${r.data.code} registered.`);
      await load();
    } else form.refuse(r.problem);
  };

  return (
    <div class="admin-grid">
      <form class="card form admin-section" onSubmit={create} aria-labelledby="new-term-h">
        <h3 id="new-term-h">Register a terminal</h3>
        <Fields form={form} />
        <FormError form={form} />
        <button type="submit" class="primary" disabled={form.busy}>
          Register terminal
        </button>
      </form>
      <section class="card admin-section wide" aria-labelledby="terms-h">
        <h3 id="terms-h">Terminals</h3>
        {notice && <p role="status">{notice}</p>}
        {error && (
          <p class="alert" role="alert">
            {error}
          </p>
        )}
        {terminals && (
          <Scroll label="Terminal list">
            <table class="grid">
              <thead>
                <tr>
                  <th scope="col">Code</th>
                  <th scope="col">Name</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Station</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">Status</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {terminals.map((t) => (
                  <tr key={t.id}>
                    <th scope="row">{t.code}</th>
                    <td>
                      {t.name}
                      {t.location && <small class="muted block">{t.location}</small>}
                    </td>
                    <td>{KINDS.find(([k]) => k === t.kind)?.[1] ?? t.kind}</td>
                    <td class="cap">{t.station ?? '—'}</td>
                    <td title={t.last_seen_at ?? undefined}>{ago(t.last_seen_at)}</td>
                    <td>{t.active ? 'Active' : 'Deactivated'}</td>
                    <td>
                      <button type="button" aria-label={`Edit terminal ${t.code}`} onClick={() => setEditing(t)}>
                        Edit
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
        )}
      </section>
      {editing && (
        <EditTerminal
          terminal={editing}
          onClose={() => setEditing(null)}
          onDone={async (t) => {
            setEditing(null);
            setNotice(`Terminal ${t.code} saved.`);
            await load();
          }}
        />
      )}
    </div>
  );
}

function EditTerminal({ terminal, onClose, onDone }: { terminal: Terminal; onClose: () => void; onDone: (t: Terminal) => void }) {
  const form = useForm<TerminalForm>({
    code: terminal.code,
    name: terminal.name,
    kind: terminal.kind,
    station: terminal.station ?? '',
    location: terminal.location ?? '',
    has_printer: terminal.has_printer,
    has_cash_drawer: terminal.has_cash_drawer,
    active: terminal.active,
  });
  const submit = async (e: Event) => {
    e.preventDefault();
    const v = form.values;
    form.setBusy(true);
    const r = await call<Terminal>('PATCH', `/api/admin/terminals/${terminal.id}`, {
      code: v.code.trim(),
      name: v.name.trim(),
      kind: v.kind,
      station: v.station || null,
      location: v.location.trim() || null,
      has_printer: v.has_printer,
      has_cash_drawer: v.has_cash_drawer,
      active: v.active,
    });
    form.setBusy(false);
    if (r.ok) onDone(r.data);
    else form.refuse(r.problem);
  };
  return (
    <Dialog title={`Edit terminal ${terminal.code}`} onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <Fields form={form} />
        <CheckField form={form} name="active" label="Active (a deactivated terminal refuses PIN sign-in)" />
        <FormError form={form} />
        <div class="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={form.busy}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}
