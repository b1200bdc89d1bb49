// Reports over a range of business dates: a chart where one helps, the rows, their totals,
// and the same report as CSV (the API's `format=csv`). A bad range is refused by the API
// and shown on the date field it names.
import { useEffect, useState } from 'preact/hooks';
import { Chart } from '../../components/Chart';
import { FormError, SelectField, TextField, useForm } from '../../components/Form';
import { Scroll } from '../../components/Tabs';
import { get } from '../../lib/http';
import { formatMoney } from '../../lib/money';
import { percentFromBp } from '../../lib/units';
import { METHODS } from './Dashboard';

type Row = Record<string, unknown>;
interface Report {
  currency: string;
  from: string;
  to: string;
  rows?: Row[];
  totals?: Record<string, number>;
}

/** The reports, their API name, label, the column that names a row, and what to chart. */
export const REPORTS = {
  'sales-by-hour': { label: 'Sales by hour', key: 'hour', chart: 'sales', kind: 'bars' },
  'sales-by-day': { label: 'Sales by day', key: 'business_date', chart: 'sales', kind: 'line' },
  'sales-by-product': { label: 'Sales by product', key: 'product', chart: 'sales', kind: 'bars' },
  'sales-by-category': { label: 'Sales by category', key: 'category', chart: 'sales', kind: 'bars' },
  'sales-by-staff': { label: 'Sales by staff', key: 'staff', chart: 'sales', kind: 'bars' },
  'sales-by-method': { label: 'Sales by payment method', key: 'method', chart: 'net', kind: 'bars' },
  summary: { label: 'Summary', key: null, chart: null, kind: 'bars' },
  tax: { label: 'Tax', key: 'vat_rate_bp', chart: null, kind: 'bars' },
  voids: { label: 'Voids (who approved)', key: 'order_number', chart: null, kind: 'bars' },
  refunds: { label: 'Refunds (who approved)', key: 'order_number', chart: null, kind: 'bars' },
  discounts: { label: 'Discounts (who approved)', key: 'order_number', chart: null, kind: 'bars' },
  tips: { label: 'Tips', key: null, chart: null, kind: 'bars' },
  shifts: { label: 'Shifts', key: null, chart: null, kind: 'bars' },
} as const satisfies Record<string, { label: string; key: string | null; chart: string | null; kind: 'bars' | 'line' }>;
export type ReportKind = keyof typeof REPORTS;

/** Columns that hold money (minor units) rather than counts, ids or names. */
const MONEY = /(sales|discounts?|service_charge|tax|refunds|net|tips|amount|total|average_sale|balance|expected|counted|variance|net_of_tax|paid|float)$/;
const HIDDEN = /(_id$|^id$|^currency$)/;

export function columns(rows: Row[]): string[] {
  const first = rows[0];
  return first ? Object.keys(first).filter((k) => !HIDDEN.test(k) && (typeof first[k] !== 'object' || first[k] === null)) : [];
}

export function cell(key: string, value: unknown, currency: string): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number' && MONEY.test(key) && Number.isInteger(value)) return formatMoney(value, currency);
  if (key === 'method' && typeof value === 'string') return METHODS[value] ?? value;
  if (key === 'hour' && typeof value === 'number') return `${String(value).padStart(2, '0')}:00`;
  if (key === 'vat_rate_bp' && typeof value === 'number') return `${percentFromBp(value)} %`;
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) return new Date(value).toLocaleString();
  return String(value);
}

const heading = (k: string) => k.replace(/_bp$/, ' (%)').replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

export function ReportsTab() {
  // Empty dates: the API's default (today's business date, which the venue's cut-off hour
  // decides, not this device's calendar); filled in from its answer.
  const form = useForm({ report: 'sales-by-hour', from: '', to: '' });
  const [asked, setAsked] = useState({ ...form.values });
  const [report, setReport] = useState<Report | null>(null);
  const kind = asked.report as ReportKind;
  const query = new URLSearchParams(Object.entries({ from: asked.from.trim(), to: asked.to.trim() }).filter(([, v]) => v)).toString();

  useEffect(() => {
    setReport(null);
    let stale = false;
    void get<Report>(`/api/reports/${kind}?${query}`).then((r) => {
      if (stale) return; // a later choice's answer wins, whatever order they arrive in
      if (r.ok) {
        setReport(r.data);
        form.clear();
        if (!asked.from && !asked.to) {
          // Only the dates: the report chosen meanwhile stays.
          form.set('from', r.data.from);
          form.set('to', r.data.to);
        }
      } else form.refuse(r.problem);
    });
    return () => {
      stale = true;
    };
  }, [kind, query]);

  const show = (e: Event) => {
    e.preventDefault();
    setAsked({ ...form.values });
  };
  const def = REPORTS[kind];
  const cur = report?.currency ?? 'UGX';
  const rows: Row[] = report ? (report.rows ?? [report as unknown as Row]) : [];
  const cols = columns(rows).filter((c) => c !== 'from' && c !== 'to' && c !== 'report');
  const label = (r: Row) => (def.key ? cell(def.key, r[def.key], cur) : '');

  return (
    <div class="reports">
      <form class="card report-form" onSubmit={show} aria-label="Choose a report">
        <SelectField form={form} name="report" label="Report" options={Object.entries(REPORTS).map(([k, v]) => [k, v.label] as const)} />
        <TextField form={form} name="from" label="From (business date)" type="text" inputMode="numeric" hint="YYYY-MM-DD" />
        <TextField form={form} name="to" label="To (business date)" type="text" inputMode="numeric" hint="YYYY-MM-DD" />
        <button type="submit" class="primary">
          Show report
        </button>
        <a class="button" href={`/api/reports/${kind}?${query}${query ? '&' : ''}format=csv`} download={`${kind}_${report?.from ?? 'today'}_${report?.to ?? ''}.csv`}>
          Download CSV
        </a>
        <FormError form={form} />
      </form>
      {report && (
        <section class="card" aria-labelledby="report-h">
          <h3 id="report-h">
            {def.label}, {report.from === report.to ? report.from : `${report.from} to ${report.to}`}
          </h3>
          {def.chart && rows.length > 0 && (
            <Chart
              title={`${def.label} (${def.chart === 'net' ? 'net' : 'sales'})`}
              kind={def.kind}
              labels={rows.map(label)}
              series={[{ name: def.chart === 'net' ? 'Net' : 'Sales', values: rows.map((r) => Number(r[def.chart!] ?? 0)), color: '#facc15' }]}
              format={(v) => formatMoney(v, cur)}
            />
          )}
          {rows.length === 0 ? (
            <p class="muted">Nothing in this range.</p>
          ) : (
            <Scroll label={`${def.label} table`}>
              <table class="grid">
                <thead>
                  <tr>
                    {cols.map((c) => (
                      <th scope="col" key={c}>
                        {heading(c)}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r, i) => (
                    <tr key={i}>
                      {cols.map((c) => (
                        <td key={c} class={typeof r[c] === 'number' ? 'money' : ''}>
                          {cell(c, r[c], cur)}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
                {report.totals && Object.keys(report.totals).length > 0 && (
                  <tfoot>
                    <tr class="sum" aria-label="Totals">
                      {cols.map((c, i) => (
                        <td key={c} class="money">
                          {c in report.totals! ? cell(c, report.totals![c], cur) : i === 0 ? 'Totals' : ''}
                        </td>
                      ))}
                    </tr>
                  </tfoot>
                )}
              </table>
            </Scroll>
          )}
        </section>
      )}
    </div>
  );
}
