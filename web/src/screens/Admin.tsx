// The admin panel `/admin`: one tab per back-office area, only those the signed-in role may
// use (a manager sees the audit trail and unlocks; an admin everything).
import { StatusBar } from '../components/StatusBar';
import { TabLinks } from '../components/Tabs';
import { adminTabs, may, type AdminTab } from '../lib/permissions';
import { useLocation } from '../lib/router';
import { session } from '../lib/session';
import { useStore } from '../lib/store';
import { AuditTab } from './admin/Audit';
import { BackupsTab } from './admin/Backups';
import { StaffTab } from './admin/Staff';
import { TerminalsTab } from './admin/Terminals';
import { MenuTab } from './admin/Menu';
import { SettingsTab } from './admin/Settings';
import { TablesTab } from './admin/Tables';

const LABELS: Record<AdminTab, string> = {
  staff: 'Staff',
  menu: 'Menu',
  tables: 'Tables',
  terminals: 'Terminals',
  settings: 'Settings',
  backups: 'Backups',
  audit: 'Audit trail',
};

/** Tabs with a screen in this build. */
const BUILT: AdminTab[] = ['staff', 'menu', 'tables', 'terminals', 'settings', 'backups', 'audit'];

export function Admin() {
  const me = useStore(session);
  const loc = useLocation();
  const role = me?.staff.role;
  const tabs = adminTabs(role).filter((t) => BUILT.includes(t));
  // A manager may unlock accounts without managing staff: the staff tab shows them the locks.
  if (!tabs.includes('staff') && may(role, 'unlock_accounts')) tabs.unshift('staff');
  const asked = new URLSearchParams(loc.search).get('tab') as AdminTab | null;
  const tab = asked && tabs.includes(asked) ? asked : tabs[0];
  return (
    <div class="screen">
      <StatusBar title="Admin" showQueue={false} showLink={false}>
        <TabLinks base="/admin" tabs={tabs} current={tab} labels={LABELS} />
      </StatusBar>
      <main class="list-screen admin">
        <h2>{tab ? LABELS[tab] : 'Admin'}</h2>
        {!tab && <p>Your role has nothing to manage here.</p>}
        {tab === 'staff' && <StaffTab canManage={may(role, 'manage_staff')} canUnlock={may(role, 'unlock_accounts')} />}
        {tab === 'menu' && <MenuTab currency="UGX" />}
        {tab === 'tables' && <TablesTab />}
        {tab === 'terminals' && <TerminalsTab />}
        {tab === 'settings' && <SettingsTab />}
        {tab === 'backups' && <BackupsTab />}
        {tab === 'audit' && <AuditTab canListStaff={may(role, 'manage_staff')} />}
      </main>
    </div>
  );
}
