// The live dashboard: today's figures, open orders with their age and balance, what waits at
// each station, open shifts with the cash expected. It reloads (debounced) on every order,
// kitchen, payment and shift event of the stream, so a sale shows within a second.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Schemas } from '../../api/client';
import { Chart } from '../../components/Chart';
import { Scroll } from '../../components/Tabs';
import { get, message } from '../../lib/http';
import { formatMoney } from '../../lib/money';
import { useStream } from '../../lib/realtime';

type Dashboard = Schemas['DashboardView'];

/** "4:05" for 245 s, "1:02:03" past the hour. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

export const METHODS: Record<string, string> = { cash: 'Cash', card: 'Card', mtn_momo: 'MTN MoMo', airtel_money: 'Airtel Money', pesapal: 'Pesapal' };

function Stat({ label, value, id }: { label: string; value: string; id: string }) {
  return (
    <div class="stat" role="group" aria-labelledby={id}>
      <span id={id} class="stat-label">
        {label}
      </span>
      <strong class="stat-value">{value}</strong>
    </div>
  );
}

export function DashboardTab() {
  const [dash, setDash] = useState<Dashboard | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadedAt, setLoadedAt] = useState(Date.now());
  const [, tick] = useState(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const load = async () => {
    const r = await get<Dashboard>('/api/reports/dashboard');
    if (r.ok) {
      setDash(r.data);
      setLoadedAt(Date.now());
      setError(null);
    } else setError(message(r.problem));
  };
  useEffect(() => {
    void load();
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, []);
  useStream(
    {
      topics: 'orders,kds,payments,shifts',
      onEvent: (type) => {
        if (type === 'ready') return;
        clearTimeout(timer.current);
        timer.current = setTimeout(() => void load(), 120);
      },
    },
    [],
  );

  if (!dash)
    return error ? (
      <p class="alert" role="alert">
        {error}
      </p>
    ) : (
      <p>Loading…</p>
    );
  const cur = dash.currency;
  const money = (v: number) => formatMoney(v, cur);
  const s = dash.summary;
  const since = (Date.now() - loadedAt) / 1000;
  return (
    <div class="dashboard">
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      <section class="card" aria-labelledby="today-h">
        <h3 id="today-h">Today ({dash.business_date})</h3>
        <div class="stats">
          <Stat id="st-gross" label="Gross sales" value={money(s.gross_sales)} />
          <Stat id="st-net" label="Net sales" value={money(s.net_sales)} />
          <Stat id="st-tax" label="Tax" value={money(s.tax)} />
          <Stat id="st-tips" label="Tips" value={money(s.tips)} />
          <Stat id="st-orders" label="Orders" value={String(s.orders)} />
          <Stat id="st-avg" label="Average sale" value={money(s.average_sale)} />
          <Stat id="st-disc" label="Discounts" value={money(s.discounts)} />
          <Stat id="st-ref" label="Refunds" value={money(s.refunds)} />
        </div>
      </section>
      <div class="dash-cols">
        <section class="card" aria-labelledby="open-h">
          <h3 id="open-h">Open orders ({dash.open_orders.length})</h3>
          {dash.open_orders.length === 0 ? (
            <p class="muted">No open orders.</p>
          ) : (
            <Scroll label="Open orders list">
              <table class="grid">
                <thead>
                  <tr>
                    <th scope="col">Order</th>
                    <th scope="col">Where</th>
                    <th scope="col">Staff</th>
                    <th scope="col">Age</th>
                    <th scope="col">Total</th>
                    <th scope="col">Balance</th>
                  </tr>
                </thead>
                <tbody>
                  {dash.open_orders.map((o) => (
                    <tr key={o.order_id}>
                      <th scope="row">
                        #{o.number}
                        <small class="muted block cap">{o.status.replace('_', ' ')}</small>
                      </th>
                      <td>{o.table ?? (o.order_type === 'takeaway' ? 'Takeaway' : '—')}</td>
                      <td>{o.staff}</td>
                      <td class="num">{formatAge(o.age_seconds + since)}</td>
                      <td class="money">{money(o.total)}</td>
                      <td class="money">{money(o.balance)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Scroll>
          )}
        </section>
        <div class="dash-side">
          <section class="card" aria-labelledby="stations-h">
            <h3 id="stations-h">Stations</h3>
            <table class="grid">
              <thead>
                <tr>
                  <th scope="col">Station</th>
                  <th scope="col">Tickets waiting</th>
                  <th scope="col">Oldest</th>
                  <th scope="col">Average ticket</th>
                </tr>
              </thead>
              <tbody>
                {dash.stations.map((st) => (
                  <tr key={st.station}>
                    <th scope="row" class="cap">
                      {st.station}
                    </th>
                    <td class="num">
                      {st.tickets_waiting} <small class="muted">({st.items_waiting} items)</small>
                    </td>
                    <td class="num">{st.tickets_waiting ? formatAge(st.oldest_waiting_seconds + since) : '—'}</td>
                    <td class="num">{st.average_ticket_seconds == null ? '—' : formatAge(st.average_ticket_seconds)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section class="card" aria-labelledby="dash-shifts-h">
            <h3 id="dash-shifts-h">Open shifts</h3>
            {dash.open_shifts.length === 0 ? (
              <p class="muted">No shift is open.</p>
            ) : (
              <table class="grid">
                <thead>
                  <tr>
                    <th scope="col">Who</th>
                    <th scope="col">Since</th>
                    <th scope="col">Expected cash</th>
                  </tr>
                </thead>
                <tbody>
                  {dash.open_shifts.map((sh) => (
                    <tr key={sh.shift.id}>
                      <th scope="row">{sh.staff}</th>
                      <td>{new Date(sh.shift.opened_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</td>
                      <td class="money">{formatMoney(sh.shift.cash.expected, sh.shift.currency)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section class="card" aria-labelledby="methods-h">
            <h3 id="methods-h">By payment method</h3>
            {dash.by_method.length === 0 ? (
              <p class="muted">No payments yet.</p>
            ) : (
              <table class="grid">
                <tbody>
                  {dash.by_method.map((m) => (
                    <tr key={m.method}>
                      <th scope="row">{METHODS[m.method] ?? m.method}</th>
                      <td class="num">{m.payments}</td>
                      <td class="money">{money(m.net)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </div>
      </div>
      <section class="card" aria-labelledby="hours-h">
        <h3 id="hours-h" class="visually-hidden">
          Today by hour
        </h3>
        <Chart
          title="Sales today by hour"
          labels={dash.by_hour.map((h) => `${String(h.hour).padStart(2, '0')}:00`)}
          series={[{ name: 'Sales', values: dash.by_hour.map((h) => h.sales), color: '#facc15' }]}
          format={money}
        />
      </section>
    </div>
  );
}
