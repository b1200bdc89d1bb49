// What each role may do, for deciding what a screen offers. The server decides for real
// (crates/domain/src/permissions.rs, the one matrix); this mirrors the rows the back-office
// screens use so that nothing a role may not do is offered to it. Keep them in step.
import type { Schemas } from '../api/client';

export type Role = Schemas['Role'];

const MATRIX = {
  view_dashboard: ['admin', 'manager'],
  view_reports: ['admin', 'manager'],
  run_z_report: ['admin', 'manager'],
  close_any_shift: ['admin', 'manager'],
  view_x_report: ['admin', 'manager', 'cashier'],
  edit_menu: ['admin', 'manager'],
  edit_tables: ['admin', 'manager'],
  manage_staff: ['admin'],
  unlock_accounts: ['admin', 'manager'],
  manage_terminals: ['admin'],
  manage_settings: ['admin'],
  manage_backups: ['admin'],
  view_audit_log: ['admin', 'manager'],
  take_payment: ['admin', 'manager', 'cashier'],
  view_kds_tickets: ['admin', 'manager', 'kitchen', 'bar'],
} as const satisfies Record<string, readonly Role[]>;

export type Action = keyof typeof MATRIX;

export function may(role: Role | undefined | null, action: Action): boolean {
  return !!role && (MATRIX[action] as readonly Role[]).includes(role);
}

/** The back-office surfaces a role may open. */
export function surfaces(role: Role | undefined | null): { path: string; label: string }[] {
  const out: { path: string; label: string }[] = [];
  if (may(role, 'take_payment') || role === 'waiter') out.push({ path: '/pos', label: 'POS' });
  if (may(role, 'view_dashboard')) out.push({ path: '/manager', label: 'Manager' });
  if (adminTabs(role).length) out.push({ path: '/admin', label: 'Admin' });
  return out;
}

export type AdminTab = 'staff' | 'menu' | 'tables' | 'terminals' | 'settings' | 'backups' | 'audit';

export function adminTabs(role: Role | undefined | null): AdminTab[] {
  const tabs: [AdminTab, Action][] = [
    ['staff', 'manage_staff'],
    ['menu', 'edit_menu'],
    ['tables', 'edit_tables'],
    ['terminals', 'manage_terminals'],
    ['settings', 'manage_settings'],
    ['backups', 'manage_backups'],
    ['audit', 'view_audit_log'],
  ];
  return tabs.filter(([, a]) => may(role, a)).map(([t]) => t);
}
