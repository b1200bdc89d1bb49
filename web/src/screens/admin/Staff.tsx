// Staff: create members, change role and name, set or clear the PIN, reset the password,
// unlock, deactivate. The last active admin cannot be demoted or deactivated: the screen
// does not offer it, and the API refuses it anyway (`last_active_admin`).
import { useEffect, useState } from 'preact/hooks';
import type { Schemas } from '../../api/client';
import { Dialog } from '../../components/Dialog';
import { CheckField, FormError, SelectField, TextField, useForm } from '../../components/Form';
import { Scroll } from '../../components/Tabs';
import { call, formatTime, get, message } from '../../lib/http';
import type { Role } from '../../lib/permissions';
import { session } from '../../lib/session';
import { useStore } from '../../lib/store';

type Staff = Schemas['StaffView'];
type Lock = Schemas['LockView'];

export const ROLES: readonly (readonly [Role, string])[] = [
  ['admin', 'Admin'],
  ['manager', 'Manager'],
  ['cashier', 'Cashier'],
  ['waiter', 'Waiter'],
  ['kitchen', 'Kitchen'],
  ['bar', 'Bar'],
];
const roleName = (r: string) => ROLES.find(([k]) => k === r)?.[1] ?? r;

/** True when `s` is the only active admin (so demoting or deactivating them is refused). */
export function isLastAdmin(s: Staff, all: readonly Staff[]): boolean {
  return s.active && s.role === 'admin' && all.filter((x) => x.active && x.role === 'admin').length === 1;
}

export function StaffTab({ canManage, canUnlock }: { canManage: boolean; canUnlock: boolean }) {
  const [staff, setStaff] = useState<Staff[] | null>(null);
  const [locks, setLocks] = useState<Lock[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [dialog, setDialog] = useState<{ kind: 'edit' | 'pin' | 'password'; staff: Staff } | null>(null);

  const load = async () => {
    if (canManage) {
      const r = await get<Staff[]>('/api/admin/staff');
      if (r.ok) setStaff(r.data);
      else setError(message(r.problem));
    }
    if (canUnlock) {
      const l = await get<Lock[]>('/api/admin/locks');
      if (l.ok) setLocks(l.data);
    }
  };
  useEffect(() => {
    void load();
  }, []);

  const done = async (text: string) => {
    setDialog(null);
    setNotice(text);
    setError(null);
    await load();
  };

  const unlock = async (scope: string, who: string) => {
    const r = await call('POST', '/api/admin/locks/unlock', { scope });
    if (r.ok) await done(`${who} unlocked.`);
    else setError(message(r.problem));
  };

  const setActive = async (s: Staff, active: boolean) => {
    const r = await call<Staff>('PATCH', `/api/admin/staff/${s.id}`, { active });
    if (r.ok) await done(`${s.full_name} ${active ? 'reactivated' : 'deactivated'}.`);
    else setError(message(r.problem));
  };

  const lockOf = (s: Staff) => locks.find((l) => l.kind === 'username' && l.subject === s.username);
  const pinLocks = locks.filter((l) => l.kind !== 'username');

  return (
    <div class="admin-grid">
      {canManage && <CreateStaff onCreated={(s) => done(`${s.full_name} (${s.username}) created.`)} />}
      <section class="card admin-section wide" aria-labelledby="staff-h">
        <h3 id="staff-h">Staff</h3>
        {notice && <p role="status">{notice}</p>}
        {error && (
          <p class="alert" role="alert">
            {error}
          </p>
        )}
        {canManage && !staff && !error && <p>Loading…</p>}
        {staff && (
          <Scroll label="Staff list">
            <table class="grid">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Username</th>
                  <th scope="col">Role</th>
                  <th scope="col">PIN</th>
                  <th scope="col">Status</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {staff.map((s) => {
                  const lock = lockOf(s);
                  const last = isLastAdmin(s, staff);
                  return (
                    <tr key={s.id} aria-label={`${s.full_name} (${s.username})`}>
                      <th scope="row">{s.full_name}</th>
                      <td>{s.username}</td>
                      <td>{roleName(s.role)}</td>
                      <td>{s.has_pin ? 'Set' : 'None'}</td>
                      <td>
                        {s.active ? 'Active' : 'Deactivated'}
                        {s.must_change_password && s.active && <small class="muted block">Must change password</small>}
                        {lock && <small class="warn-text block">Locked until {formatTime(lock.locked_until)}</small>}
                        {last && <small class="muted block">The last active admin</small>}
                      </td>
                      <td>
                        <div class="row-actions">
                          <button type="button" aria-label={`Edit ${s.username}`} onClick={() => setDialog({ kind: 'edit', staff: s })}>
                            Edit
                          </button>
                          <button type="button" aria-label={`PIN for ${s.username}`} onClick={() => setDialog({ kind: 'pin', staff: s })}>
                            PIN
                          </button>
                          <button type="button" aria-label={`Reset password of ${s.username}`} onClick={() => setDialog({ kind: 'password', staff: s })}>
                            Reset password
                          </button>
                          {lock && canUnlock && (
                            <button type="button" aria-label={`Unlock ${s.username}`} onClick={() => unlock(lock.scope, s.username)}>
                              Unlock
                            </button>
                          )}
                          {s.active
                            ? !last && (
                                <button type="button" class="danger" aria-label={`Deactivate ${s.username}`} onClick={() => setActive(s, false)}>
                                  Deactivate
                                </button>
                              )
                            : (
                                <button type="button" aria-label={`Reactivate ${s.username}`} onClick={() => setActive(s, true)}>
                                  Reactivate
                                </button>
                              )}
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </Scroll>
        )}
      </section>
      {canUnlock && (
        <section class="card admin-section wide" aria-labelledby="locks-h">
          <h3 id="locks-h">Locked sign-ins</h3>
          {locks.length === 0 ? (
            <p class="muted">No account or terminal is locked.</p>
          ) : (
            <ul class="plain">
              {(canManage ? pinLocks : locks).map((l) => (
                <li key={l.scope}>
                  {l.kind === 'username' ? `Account ${l.subject}` : `PIN sign-in on terminal ${l.subject}`}, locked until {formatTime(l.locked_until)}{' '}
                  <button type="button" aria-label={`Unlock ${l.scope}`} onClick={() => unlock(l.scope, l.subject)}>
                    Unlock
                  </button>
                </li>
              ))}
              {canManage && pinLocks.length === 0 && <li class="muted">Locked accounts are marked in the staff list.</li>}
            </ul>
          )}
        </section>
      )}
      {dialog?.kind === 'edit' && staff && <EditStaff staff={dialog.staff} last={isLastAdmin(dialog.staff, staff)} onClose={() => setDialog(null)} onDone={done} />}
      {dialog?.kind === 'pin' && <PinDialog staff={dialog.staff} onClose={() => setDialog(null)} onDone={done} />}
      {dialog?.kind === 'password' && <PasswordDialog staff={dialog.staff} onClose={() => setDialog(null)} onDone={done} />}
    </div>
  );
}

function CreateStaff({ onCreated }: { onCreated: (s: Staff) => void }) {
  const form = useForm({ username: '', full_name: '', role: 'cashier', password: '', pin: '', must_change_password: true });
  const submit = async (e: Event) => {
    e.preventDefault();
    form.setBusy(true);
    const v = form.values;
    const r = await call<Staff>('POST', '/api/admin/staff', {
      username: v.username.trim(),
      full_name: v.full_name.trim(),
      role: v.role,
      password: v.password,
      pin: v.pin.trim() || null,
      must_change_password: v.must_change_password,
    });
    form.setBusy(false);
    if (r.ok) {
      form.reset();
      onCreated(r.data);
    } else form.refuse(r.problem);
  };
  return (
    <form class="card form admin-section" onSubmit={submit} aria-labelledby="new-staff-h">
      <h3 id="new-staff-h">New staff member</h3>
      <TextField form={form} name="full_name" label="Full name" required autocomplete="off" />
      <TextField form={form} name="username" label="Username" required autocomplete="off" hint="3–32 letters, digits, . _ -" />
      <SelectField form={form} name="role" label="Role" options={ROLES} />
      <TextField form={form} name="password" label="Initial password" type="password" required autocomplete="new-password" hint="At least 8 characters" />
      <TextField form={form} name="pin" label="PIN (optional)" inputMode="numeric" autocomplete="off" hint="4–6 digits, for terminal sign-in" />
      <CheckField form={form} name="must_change_password" label="Must choose a new password at first sign-in" />
      <FormError form={form} />
      <button type="submit" class="primary" disabled={form.busy}>
        Create staff member
      </button>
    </form>
  );
}

function EditStaff({ staff, last, onClose, onDone }: { staff: Staff; last: boolean; onClose: () => void; onDone: (t: string) => void }) {
  const me = useStore(session);
  const form = useForm({ full_name: staff.full_name, role: staff.role as string });
  const submit = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = {};
    if (form.values.full_name.trim() !== staff.full_name) body.full_name = form.values.full_name.trim();
    if (form.values.role !== staff.role) body.role = form.values.role;
    if (!Object.keys(body).length) return onClose();
    form.setBusy(true);
    const r = await call<Staff>('PATCH', `/api/admin/staff/${staff.id}`, body);
    form.setBusy(false);
    if (r.ok) onDone(`${r.data.full_name} saved.`);
    else form.refuse(r.problem);
  };
  return (
    <Dialog title={`Edit ${staff.username}`} onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <TextField form={form} name="full_name" label="Full name" required />
        <SelectField
          form={form}
          name="role"
          label="Role"
          options={ROLES}
          disabled={last}
          hint={last ? 'The last active admin keeps the admin role.' : staff.id === me?.staff.id ? 'Changing your own role signs you out.' : 'A role change signs them out everywhere.'}
        />
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

function PinDialog({ staff, onClose, onDone }: { staff: Staff; onClose: () => void; onDone: (t: string) => void }) {
  const form = useForm({ pin: '' });
  const submit = async (e: Event) => {
    e.preventDefault();
    form.setBusy(true);
    const r = await call<Staff>('PUT', `/api/admin/staff/${staff.id}/pin`, { pin: form.values.pin.trim() });
    form.setBusy(false);
    if (r.ok) onDone(`PIN of ${staff.username} set.`);
    else form.refuse(r.problem);
  };
  const clear = async () => {
    const r = await call<Staff>('DELETE', `/api/admin/staff/${staff.id}/pin`);
    if (r.ok) onDone(`PIN of ${staff.username} removed.`);
    else form.refuse(r.problem);
  };
  return (
    <Dialog title={`PIN for ${staff.username}`} onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <TextField form={form} name="pin" label="New PIN" type="password" inputMode="numeric" autocomplete="off" required hint="4–6 digits" />
        <FormError form={form} />
        <div class="dialog-actions">
          {staff.has_pin && (
            <button type="button" class="danger" onClick={clear}>
              Remove PIN
            </button>
          )}
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={form.busy}>
            Set PIN
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function PasswordDialog({ staff, onClose, onDone }: { staff: Staff; onClose: () => void; onDone: (t: string) => void }) {
  const form = useForm({ new_password: '' });
  const submit = async (e: Event) => {
    e.preventDefault();
    form.setBusy(true);
    const r = await call<Staff>('POST', `/api/admin/staff/${staff.id}/reset-password`, { new_password: form.values.new_password });
    form.setBusy(false);
    if (r.ok) onDone(`Password of ${staff.username} reset: they choose a new one at their next sign-in.`);
    else form.refuse(r.problem);
  };
  return (
    <Dialog title={`Reset the password of ${staff.username}`} onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <p>Their sessions end; they sign in with this temporary password and choose their own.</p>
        <TextField form={form} name="new_password" label="Temporary password" type="password" autocomplete="new-password" required hint="At least 8 characters" />
        <FormError form={form} />
        <div class="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={form.busy}>
            Reset password
          </button>
        </div>
      </form>
    </Dialog>
  );
}
