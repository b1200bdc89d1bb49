// Backups: run one (the request answers when pg_dump has finished: an indeterminate
// progress bar with the time elapsed meanwhile), list them with size and SHA-256, download
// one, delete one after a confirmation.
import { useEffect, useState } from 'preact/hooks';
import type { Schemas } from '../../api/client';
import { Dialog } from '../../components/Dialog';
import { Scroll } from '../../components/Tabs';
import { ActionKeys, call, formatBytes, formatTime, get, message } from '../../lib/http';

type Backup = Schemas['BackupView'];

export function BackupsTab() {
  const [keys] = useState(() => new ActionKeys());
  const [backups, setBackups] = useState<Backup[] | null>(null);
  const [running, setRunning] = useState<number | null>(null);
  const [, tick] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Backup | null>(null);

  const load = async () => {
    const r = await get<Backup[]>('/api/admin/backups');
    if (r.ok) setBackups(r.data);
    else setError(message(r.problem));
  };
  useEffect(() => {
    void load();
  }, []);
  useEffect(() => {
    if (running === null) return;
    const t = setInterval(() => tick((n) => n + 1), 500);
    return () => clearInterval(t);
  }, [running]);

  const run = async () => {
    setRunning(Date.now());
    setError(null);
    setNotice(null);
    const r = await keys.call<Backup>('POST', '/api/admin/backups');
    setRunning(null);
    if (r.ok) setNotice(`Backup ${r.data.name} done: ${formatBytes(r.data.size_bytes)}.`);
    else setError(message(r.problem, 'The backup failed.'));
    await load();
  };

  const remove = async (b: Backup) => {
    const r = await call('DELETE', `/api/admin/backups/${encodeURIComponent(b.name)}`);
    setConfirm(null);
    if (r.ok) setNotice(`Backup ${b.name} deleted.`);
    else setError(message(r.problem));
    await load();
  };

  return (
    <section class="card admin-section wide" aria-labelledby="backups-h">
      <div class="floor-head">
        <h3 id="backups-h">Backups</h3>
        <button type="button" class="primary" onClick={run} disabled={running !== null}>
          Run a backup now
        </button>
      </div>
      {running !== null && (
        <div class="progress-row">
          <progress aria-label="Backup in progress" />
          <span role="status">Backing up… {Math.floor((Date.now() - running) / 1000)} s</span>
        </div>
      )}
      {notice && <p role="status">{notice}</p>}
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      {backups && backups.length === 0 && <p class="muted">No backups yet.</p>}
      {backups && backups.length > 0 && (
        <Scroll label="Backup list">
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Taken</th>
                <th scope="col">By</th>
                <th scope="col">Status</th>
                <th scope="col">Size</th>
                <th scope="col">SHA-256</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {backups.map((b) => (
                <tr key={b.name} aria-label={b.name}>
                  <th scope="row" class="mono">{b.name}</th>
                  <td>{formatTime(b.created_at)}</td>
                  <td>{b.trigger === 'api' ? 'Admin' : b.trigger === 'cli' ? 'Command line' : 'Schedule'}</td>
                  <td>
                    {b.status === 'ok' ? 'OK' : 'Failed'}
                    {b.error && <small class="muted block">{b.error}</small>}
                  </td>
                  <td class="num">{b.status === 'ok' ? formatBytes(b.size_bytes) : '—'}</td>
                  <td>
                    <code class="hash" aria-label={`SHA-256 of ${b.name}`}>{b.sha256 ?? '—'}</code>
                  </td>
                  <td>
                    <div class="row-actions">
                      {b.status === 'ok' && (
                        <a class="button" href={`/api/admin/backups/${encodeURIComponent(b.name)}`} download={b.name} aria-label={`Download ${b.name}`}>
                          Download
                        </a>
                      )}
                      <button type="button" class="danger" aria-label={`Delete ${b.name}`} onClick={() => setConfirm(b)}>
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Scroll>
      )}
      {confirm && (
        <Dialog title="Delete this backup?" onClose={() => setConfirm(null)}>
          <p>
            <strong class="mono">{confirm.name}</strong> ({formatTime(confirm.created_at)}) is removed from the server for good.
          </p>
          <div class="dialog-actions">
            <button type="button" onClick={() => setConfirm(null)}>
              Keep it
            </button>
            <button type="button" class="danger" onClick={() => remove(confirm)}>
              Delete backup
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
