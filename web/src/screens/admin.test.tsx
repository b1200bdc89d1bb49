import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/preact';
import type { Schemas } from '../api/client';
import { adminTabs, may, surfaces } from '../lib/permissions';
import { formatBytes, placeProblem } from '../lib/http';
import { setSession } from '../lib/session';
import { StaffTab, isLastAdmin } from './admin/Staff';
import { BackupsTab } from './admin/Backups';
import { AuditTab, auditQuery, describeChange } from './admin/Audit';
import { ago } from './admin/Terminals';

type Staff = Schemas['StaffView'];

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  localStorage.clear();
  setSession(null);
});

function staff(over: Partial<Staff>): Staff {
  return {
    id: 'id-' + (over.username ?? 'x'), username: 'x', full_name: 'X', role: 'cashier', active: true,
    must_change_password: false, has_pin: false, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z', ...over,
  };
}

const json = (body: unknown, status = 200) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' } });

/** A fake API: `routes` maps "METHOD /path" to an answer; every call is recorded. */
function fakeApi(routes: Record<string, (body: unknown) => Response>) {
  const calls: { method: string; path: string; body: unknown }[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = input instanceof Request ? input : new Request(new URL(String(input), 'http://127.0.0.1:3000'), init);
      const url = new URL(req.url);
      const text = req.method === 'GET' ? '' : await req.text();
      const body = text ? JSON.parse(text) : undefined;
      calls.push({ method: req.method, path: url.pathname + url.search, body });
      const route = routes[`${req.method} ${url.pathname}`];
      return route ? route(body) : json({ status: 404, code: 'not_found', detail: 'no route', title: 'Not Found', type: 'x' }, 404);
    }),
  );
  return calls;
}

describe('permissions mirror the matrix', () => {
  it('offers each role only its screens', () => {
    expect(adminTabs('admin')).toEqual(['staff', 'menu', 'tables', 'terminals', 'settings', 'backups', 'audit']);
    expect(adminTabs('manager')).toEqual(['menu', 'tables', 'audit']);
    expect(adminTabs('cashier')).toEqual([]);
    expect(surfaces('cashier').map((s) => s.path)).toEqual(['/pos']);
    expect(surfaces('kitchen')).toEqual([]);
    expect(may('manager', 'manage_backups')).toBe(false);
    expect(may('manager', 'run_z_report')).toBe(true);
  });
});

describe('problem placement', () => {
  it('puts a refusal on the field it names, or its last segment', () => {
    expect(placeProblem({ status: 400, field: 'username', detail: 'taken' }, ['username', 'role'])).toEqual({ field: 'username', text: 'taken' });
    expect(placeProblem({ status: 400, field: 'settings.vat_rate', detail: 'too high' }, ['vat_rate'])).toEqual({ field: 'vat_rate', text: 'too high' });
    expect(placeProblem({ status: 409, detail: 'no field' }, ['username'])).toEqual({ field: null, text: 'no field' });
    expect(placeProblem({ status: 400, field: 'other', detail: 'x' }, ['username']).field).toBeNull();
  });
  it('formats sizes', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(183_467)).toBe('183.5 kB');
    expect(formatBytes(2_500_000)).toBe('2.5 MB');
  });
  it('says when a terminal was last seen', () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    expect(ago(null, now)).toBe('Never');
    expect(ago('2026-12-07T11:59:30Z', now)).toBe('Just now');
    expect(ago('2026-12-07T11:55:00Z', now)).toBe('5 min ago');
    expect(ago('2026-12-05T12:00:00Z', now)).toBe('2 d ago');
  });
});

describe('StaffTab', () => {
  const able = staff({ username: 'able', full_name: 'Able Admin', role: 'admin' });
  const grace = staff({ username: 'grace', full_name: 'Grace N.', role: 'cashier' });

  it('never offers to deactivate the last active admin', async () => {
    expect(isLastAdmin(able, [able, grace])).toBe(true);
    expect(isLastAdmin(able, [able, staff({ username: 'b', role: 'admin' })])).toBe(false);
    fakeApi({ 'GET /api/admin/staff': () => json([able, grace]), 'GET /api/admin/locks': () => json([]) });
    render(<StaffTab canManage canUnlock />);
    await screen.findByRole('row', { name: 'Grace N. (grace)' });
    expect(screen.queryByRole('button', { name: 'Deactivate able' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Deactivate grace' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Edit able' }));
    const dialog = screen.getByRole('dialog', { name: 'Edit able' });
    expect((within(dialog).getByLabelText('Role') as HTMLSelectElement).disabled).toBe(true);
  });

  it("shows the API's refusal on the field it names", async () => {
    const calls = fakeApi({
      'GET /api/admin/staff': () => json([able]),
      'GET /api/admin/locks': () => json([]),
      'POST /api/admin/staff': () =>
        json({ type: 'urn:pos:problem:username_taken', title: 'Conflict', status: 409, code: 'username_taken', detail: 'another staff member has this username', field: 'username' }, 409),
    });
    render(<StaffTab canManage canUnlock />);
    fireEvent.input(screen.getByLabelText('Full name'), { target: { value: 'Able Again' } });
    fireEvent.input(screen.getByLabelText('Username'), { target: { value: 'able' } });
    fireEvent.input(screen.getByLabelText('Initial password'), { target: { value: 'long enough pw' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create staff member' }));
    const input = screen.getByLabelText('Username');
    await waitFor(() => expect(input.getAttribute('aria-invalid')).toBe('true'));
    const described = document.getElementById(input.getAttribute('aria-describedby')!.split(' ').pop()!);
    expect(described?.textContent).toBe('another staff member has this username');
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.body).toMatchObject({ username: 'able', full_name: 'Able Again', role: 'cashier', pin: null, must_change_password: true });
  });

  it('a manager sees the locks, not the staff list', async () => {
    const calls = fakeApi({
      'GET /api/admin/locks': () => json([{ scope: 'user:gift', kind: 'username', subject: 'gift', locked_until: '2026-12-07T12:00:00Z' }]),
      'POST /api/admin/locks/unlock': () => new Response(null, { status: 204 }),
    });
    render(<StaffTab canManage={false} canUnlock />);
    fireEvent.click(await screen.findByRole('button', { name: 'Unlock user:gift' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && (c.body as { scope: string }).scope === 'user:gift')).toBe(true));
    expect(calls.some((c) => c.path === '/api/admin/staff')).toBe(false);
    expect(screen.queryByRole('button', { name: 'Create staff member' })).toBeNull();
  });
});

describe('BackupsTab', () => {
  const backup = { name: 'pos-20261207T030000Z-00a1b2.dump', status: 'ok', size_bytes: 183467, sha256: 'ab'.repeat(32), error: null, trigger: 'api', created_at: '2026-12-07T03:00:00Z', created_by: null };

  it('lists size and checksum, downloads by link, deletes only after confirming', async () => {
    const calls = fakeApi({
      'GET /api/admin/backups': () => json([backup]),
      [`DELETE /api/admin/backups/${backup.name}`]: () => new Response(null, { status: 204 }),
    });
    render(<BackupsTab />);
    const row = await screen.findByRole('row', { name: backup.name });
    expect(within(row).getByText('183.5 kB')).toBeTruthy();
    expect(within(row).getByLabelText(`SHA-256 of ${backup.name}`).textContent).toBe(backup.sha256);
    expect(within(row).getByRole('link', { name: `Download ${backup.name}` }).getAttribute('href')).toBe(`/api/admin/backups/${backup.name}`);
    fireEvent.click(within(row).getByRole('button', { name: `Delete ${backup.name}` }));
    const dialog = screen.getByRole('dialog', { name: 'Delete this backup?' });
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete backup' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'DELETE')).toBe(true));
  });

  it('shows why a backup failed', async () => {
    fakeApi({
      'GET /api/admin/backups': () => json([]),
      'POST /api/admin/backups': () => json({ type: 'x', title: 'Service Unavailable', status: 503, code: 'backup_failed', detail: 'the backup failed: pg_dump not found' }, 503),
    });
    render(<BackupsTab />);
    await screen.findByText('No backups yet.');
    fireEvent.click(screen.getByRole('button', { name: 'Run a backup now' }));
    expect((await screen.findByRole('alert')).textContent).toContain('pg_dump not found');
  });
});

describe('AuditTab', () => {
  it('builds the query, pages by id and shows the verification', async () => {
    expect(auditQuery({ actor_id: '', action: ' staff.created ', entity: '', entity_id: '' }, 40)).toBe('action=staff.created&before_id=40&limit=25');
    expect(describeChange({ before: { role: 'cashier', full_name: 'G' }, after: { role: 'manager', full_name: 'G' } } as never)).toBe('role: cashier → manager');
    const entry = (id: number) => ({ id, action: 'staff.created', entity: 'staff', entity_id: 'e' + id, created_at: '2026-12-07T03:00:00Z', prev_hash: 'a', hash: 'b', after: { username: 'u' + id } });
    const calls = fakeApi({
      'GET /api/admin/audit': () => json({ entries: [entry(30), entry(29)], next_before_id: 29 }),
      'GET /api/admin/audit/verify': () => json({ valid: false, rows_checked: 12, broken_at: 13, problem: 'hash does not match', last_hash: 'x' }),
    });
    render(<AuditTab canListStaff={false} />);
    await screen.findByText('e30');
    fireEvent.click(screen.getByRole('button', { name: 'Older entries' }));
    await waitFor(() => expect(calls.some((c) => c.path.includes('before_id=29'))).toBe(true));
    fireEvent.click(screen.getByRole('button', { name: 'Verify the chain' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Chain broken at entry #13: hash does not match (12 entries checked before it).');
  });
});
