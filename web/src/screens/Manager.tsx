// The manager's screen `/manager`: the live dashboard, reports, shifts and Z reports, as
// the role allows.
import { StatusBar } from '../components/StatusBar';
import { TabLinks } from '../components/Tabs';
import { may } from '../lib/permissions';
import { useLocation } from '../lib/router';
import { session } from '../lib/session';
import { useStore } from '../lib/store';
import { DashboardTab } from './manager/Dashboard';
import { ReportsTab } from './manager/Reports';
import { ShiftsTab } from './manager/Shifts';
import { ZReportsTab } from './manager/ZReports';

type Tab = 'dashboard' | 'reports' | 'shifts' | 'z';
const LABELS: Record<Tab, string> = { dashboard: 'Dashboard', reports: 'Reports', shifts: 'Shifts', z: 'Z reports' };

export function Manager() {
  const me = useStore(session);
  const loc = useLocation();
  const role = me?.staff.role;
  const tabs: Tab[] = [];
  if (may(role, 'view_dashboard')) tabs.push('dashboard');
  if (may(role, 'view_reports')) tabs.push('reports');
  if (may(role, 'close_any_shift')) tabs.push('shifts');
  if (may(role, 'run_z_report')) tabs.push('z');
  const asked = new URLSearchParams(loc.search).get('tab') as Tab | null;
  const tab = asked && tabs.includes(asked) ? asked : tabs[0];
  return (
    <div class="screen">
      <StatusBar title="Manager" showQueue={false} showLink={false}>
        <TabLinks base="/manager" tabs={tabs} current={tab} labels={LABELS} />
      </StatusBar>
      <main class="list-screen admin">
        <h2>{tab ? LABELS[tab] : 'Manager'}</h2>
        {!tab && <p>Your role has no manager screens.</p>}
        {tab === 'dashboard' && <DashboardTab />}
        {tab === 'reports' && <ReportsTab />}
        {tab === 'shifts' && <ShiftsTab />}
        {tab === 'z' && <ZReportsTab />}
      </main>
    </div>
  );
}
