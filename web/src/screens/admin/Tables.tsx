// Tables: code, area, seats, sort order, an optional image; retiring one is refused by the
// API while it has unfinished orders (the message is shown).
import { useEffect, useState } from 'preact/hooks';
import type { Schemas } from '../../api/client';
import { Dialog } from '../../components/Dialog';
import { CheckField, FormError, TextField, useForm } from '../../components/Form';
import { ImagePicker } from '../../components/ImagePicker';
import { Scroll } from '../../components/Tabs';
import { ActionKeys, get, message } from '../../lib/http';
import { parseWhole } from '../../lib/units';
import { uploadImage } from '../../lib/upload';

type Table = Schemas['AdminTableView'];
type TableForm = { code: string; area: string; seats: string; sort_order: string; active: boolean };

function body(v: TableForm, existing: boolean): Record<string, unknown> | { field: string; detail: string } {
  const seats = parseWhole(v.seats);
  if (seats === null) return { field: 'seats', detail: 'Type the number of seats.' };
  const sort = v.sort_order.trim() ? parseWhole(v.sort_order) : null;
  if (v.sort_order.trim() && sort === null) return { field: 'sort_order', detail: 'Type a whole number.' };
  const b: Record<string, unknown> = { code: v.code.trim(), area: v.area.trim() || null, seats };
  if (sort !== null) b.sort_order = sort;
  if (existing) b.active = v.active;
  return b;
}

export function TablesTab() {
  const [keys] = useState(() => new ActionKeys());
  const [tables, setTables] = useState<Table[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<Table | null>(null);
  const form = useForm<TableForm>({ code: '', area: '', seats: '4', sort_order: '', active: true });
  const load = async () => {
    const r = await get<Table[]>('/api/admin/tables');
    if (r.ok) setTables(r.data);
    else setError(message(r.problem));
  };
  useEffect(() => {
    void load();
  }, []);
  const create = async (e: Event) => {
    e.preventDefault();
    const b = body(form.values, false);
    if ('detail' in b) return form.refuse({ status: 400, field: String(b.field), detail: String(b.detail) });
    form.setBusy(true);
    const r = await keys.call<Table>('POST', '/api/admin/tables', b);
    form.setBusy(false);
    if (r.ok) {
      form.reset();
      setNotice(`Table ${r.data.code} added.`);
      await load();
    } else form.refuse(r.problem);
  };
  return (
    <div class="admin-grid">
      <form class="card form admin-section" onSubmit={create} aria-labelledby="new-table-h">
        <h3 id="new-table-h">New table</h3>
        <TextField form={form} name="code" label="Code" autocomplete="off" hint="As staff call it, e.g. T12" />
        <TextField form={form} name="area" label="Area (optional)" autocomplete="off" hint="e.g. Terrace" />
        <TextField form={form} name="seats" label="Seats" inputMode="numeric" />
        <TextField form={form} name="sort_order" label="Sort order (optional)" inputMode="numeric" />
        <FormError form={form} />
        <button type="submit" class="primary" disabled={form.busy}>
          Add table
        </button>
      </form>
      <section class="card admin-section" aria-labelledby="tables-h">
        <h3 id="tables-h">Floor</h3>
        {notice && <p role="status">{notice}</p>}
        {error && (
          <p class="alert" role="alert">
            {error}
          </p>
        )}
        {tables && (
          <Scroll label="Table list">
            <table class="grid">
              <thead>
                <tr>
                  <th scope="col">Image</th>
                  <th scope="col">Code</th>
                  <th scope="col">Area</th>
                  <th scope="col">Seats</th>
                  <th scope="col">Status</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {tables.map((t) => (
                  <tr key={t.id}>
                    <td>{t.image_url ? <img class="thumb" src={t.image_url} alt="" onError={(e) => (e.currentTarget.style.visibility = 'hidden')} /> : <span class="muted">—</span>}</td>
                    <th scope="row">{t.code}</th>
                    <td>{t.area ?? '—'}</td>
                    <td class="num">{t.seats}</td>
                    <td>{t.active ? 'In use' : 'Retired'}</td>
                    <td>
                      <button type="button" aria-label={`Edit table ${t.code}`} onClick={() => setEditing(t)}>
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
        <EditTable
          table={editing}
          onClose={() => setEditing(null)}
          onDone={async (text) => {
            setEditing(null);
            setNotice(text);
            await load();
          }}
        />
      )}
    </div>
  );
}

function EditTable({ table, onClose, onDone }: { table: Table; onClose: () => void; onDone: (t: string) => void }) {
  const [keys] = useState(() => new ActionKeys());
  const form = useForm<TableForm>({ code: table.code, area: table.area ?? '', seats: String(table.seats), sort_order: String(table.sort_order), active: table.active });
  const [file, setFile] = useState<File | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const b = body(form.values, true);
    if ('detail' in b) return form.refuse({ status: 400, field: String(b.field), detail: String(b.detail) });
    form.setBusy(true);
    const r = await keys.call<Table>('PATCH', `/api/admin/tables/${table.id}`, b);
    if (!r.ok) {
      form.setBusy(false);
      return form.refuse(r.problem);
    }
    if (file) {
      const up = await uploadImage(`/api/admin/tables/${table.id}/image`, file);
      if (!up.ok) {
        form.setBusy(false);
        return setFileError(`${message(up.problem, 'The image was refused.')} The table itself is saved.`);
      }
    }
    form.setBusy(false);
    onDone(`Table ${r.data.code} saved.`);
  };
  return (
    <Dialog title={`Edit table ${table.code}`} onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <TextField form={form} name="code" label="Code" autocomplete="off" />
        <TextField form={form} name="area" label="Area (optional)" autocomplete="off" />
        <TextField form={form} name="seats" label="Seats" inputMode="numeric" />
        <TextField form={form} name="sort_order" label="Sort order" inputMode="numeric" />
        <CheckField form={form} name="active" label="In use (untick to retire)" />
        <ImagePicker label="Image" current={table.image_url} file={file} onFile={(f) => { setFile(f); setFileError(null); }} error={fileError} />
        <FormError form={form} />
        <div class="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={form.busy}>
            Save table
          </button>
        </div>
      </form>
    </Dialog>
  );
}
