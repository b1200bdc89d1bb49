// Venue settings, validated by the API as a whole: the first field it refuses is marked and
// described by its message. Rates are typed as percents and sent as basis points; the
// variance limit is typed in the currency and sent in minor units.
import { useEffect, useState } from 'preact/hooks';
import type { Schemas } from '../../api/client';
import { CheckField, FormError, SelectField, TextField, useForm } from '../../components/Form';
import { parseMinor } from '../../lib/bill';
import { ActionKeys, get, message } from '../../lib/http';
import { currencyExponent } from '../../lib/money';
import { bpFromPercent, minorToInput, parseWhole, percentFromBp } from '../../lib/units';

type Settings = Schemas['SettingsView'];

export const CURRENCIES = ['UGX', 'KES', 'TZS', 'RWF', 'USD', 'EUR', 'GBP'] as const;

type SettingsForm = {
  cafe_name: string;
  currency: string;
  vat_rate_bp: string;
  prices_include_tax: boolean;
  service_charge_bp: string;
  receipt_footer: string;
  cashier_discount_limit_bp: string;
  backup_retention_days: string;
  business_day_cutoff_hour: string;
  utc_offset_minutes: string;
  happy_hour_start: string;
  happy_hour_end: string;
  shift_variance_threshold: string;
  kds_warning_minutes: string;
  kds_late_minutes: string;
};

export function toForm(s: Settings): SettingsForm {
  return {
    cafe_name: s.cafe_name,
    currency: s.currency,
    vat_rate_bp: percentFromBp(s.vat_rate_bp),
    prices_include_tax: s.prices_include_tax,
    service_charge_bp: percentFromBp(s.service_charge_bp),
    receipt_footer: s.receipt_footer,
    cashier_discount_limit_bp: percentFromBp(s.cashier_discount_limit_bp),
    backup_retention_days: String(s.backup_retention_days),
    business_day_cutoff_hour: String(s.business_day_cutoff_hour),
    utc_offset_minutes: String(s.utc_offset_minutes),
    happy_hour_start: s.happy_hour_start.slice(0, 5),
    happy_hour_end: s.happy_hour_end.slice(0, 5),
    shift_variance_threshold: minorToInput(s.shift_variance_threshold, currencyExponent(s.currency)),
    kds_warning_minutes: String(s.kds_warning_minutes),
    kds_late_minutes: String(s.kds_late_minutes),
  };
}

const PERCENT = ['vat_rate_bp', 'service_charge_bp', 'cashier_discount_limit_bp'] as const;
const WHOLE = ['backup_retention_days', 'business_day_cutoff_hour', 'utc_offset_minutes', 'kds_warning_minutes', 'kds_late_minutes'] as const;

/** The changed fields as the API wants them, or the first field that is not a number. */
export function changes(before: SettingsForm, after: SettingsForm): { body: Record<string, unknown> } | { field: keyof SettingsForm; text: string } {
  const body: Record<string, unknown> = {};
  for (const key of Object.keys(after) as (keyof SettingsForm)[]) {
    if (after[key] === before[key]) continue;
    const v = after[key];
    if ((PERCENT as readonly string[]).includes(key)) {
      const bp = bpFromPercent(String(v));
      if (bp === null) return { field: key, text: 'Type a percent, e.g. 16 or 16.5.' };
      body[key] = bp;
    } else if ((WHOLE as readonly string[]).includes(key)) {
      const n = parseWhole(String(v));
      if (n === null) return { field: key, text: 'Type a whole number.' };
      body[key] = n;
    } else if (key === 'shift_variance_threshold') {
      const m = parseMinor(String(v), after.currency);
      if (m === null) return { field: key, text: `Type an amount in ${after.currency}.` };
      body[key] = m;
    } else if (typeof v === 'string') body[key] = key === 'receipt_footer' ? v : v.trim();
    else body[key] = v;
  }
  return { body };
}

export function SettingsTab() {
  const [keys] = useState(() => new ActionKeys());
  const [saved, setSaved] = useState<SettingsForm | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const form = useForm<SettingsForm>({
    cafe_name: '', currency: 'UGX', vat_rate_bp: '', prices_include_tax: true, service_charge_bp: '', receipt_footer: '',
    cashier_discount_limit_bp: '', backup_retention_days: '', business_day_cutoff_hour: '', utc_offset_minutes: '',
    happy_hour_start: '', happy_hour_end: '', shift_variance_threshold: '', kds_warning_minutes: '', kds_late_minutes: '',
  });
  useEffect(() => {
    void get<Settings>('/api/admin/settings').then((r) => {
      if (r.ok) {
        const f = toForm(r.data);
        setSaved(f);
        form.reset(f);
      } else setLoadError(message(r.problem));
    });
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!saved) return;
    setNotice(null);
    const c = changes(saved, form.values);
    if ('field' in c) return form.refuse({ status: 400, field: c.field, detail: c.text });
    if (!Object.keys(c.body).length) return setNotice('Nothing changed.');
    form.setBusy(true);
    const r = await keys.call<Settings>('PATCH', '/api/admin/settings', c.body);
    form.setBusy(false);
    if (r.ok) {
      const f = toForm(r.data);
      setSaved(f);
      form.reset(f);
      setNotice('Settings saved.');
    } else form.refuse(r.problem);
  };

  if (loadError)
    return (
      <p class="alert" role="alert">
        {loadError}
      </p>
    );
  if (!saved) return <p>Loading…</p>;
  const pct = 'A percent, e.g. 16 or 16.5';
  return (
    <form class="settings-form" onSubmit={submit} aria-label="Venue settings">
      <fieldset class="card">
        <legend>Venue</legend>
        <TextField form={form} name="cafe_name" label="Venue name" />
        <SelectField form={form} name="currency" label="Currency" options={CURRENCIES.map((c) => [c, c] as const)} hint="Refused while products are priced in another currency" />
        <TextField form={form} name="receipt_footer" label="Receipt footer" />
        <TextField form={form} name="utc_offset_minutes" label="UTC offset (minutes)" inputMode="numeric" hint="East Africa Time is 180" />
        <TextField form={form} name="business_day_cutoff_hour" label="Business day ends at (hour)" inputMode="numeric" hint="0–23, venue time" />
      </fieldset>
      <fieldset class="card">
        <legend>Tax and charges</legend>
        <TextField form={form} name="vat_rate_bp" label="VAT rate (%)" inputMode="decimal" hint={pct} />
        <CheckField form={form} name="prices_include_tax" label="Prices include VAT" />
        <TextField form={form} name="service_charge_bp" label="Service charge (%)" inputMode="decimal" hint={pct} />
        <TextField form={form} name="cashier_discount_limit_bp" label="Cashier discount limit (%)" inputMode="decimal" hint="Above it a manager approves" />
        <TextField form={form} name="shift_variance_threshold" label={`Shift variance limit (${form.values.currency})`} inputMode="decimal" hint="Above it a manager approves the close" />
      </fieldset>
      <fieldset class="card">
        <legend>Happy hour, kitchen, backups</legend>
        <TextField form={form} name="happy_hour_start" label="Happy hour starts" type="time" />
        <TextField form={form} name="happy_hour_end" label="Happy hour ends" type="time" />
        <TextField form={form} name="kds_warning_minutes" label="Ticket waiting long after (minutes)" inputMode="numeric" />
        <TextField form={form} name="kds_late_minutes" label="Ticket late after (minutes)" inputMode="numeric" />
        <TextField form={form} name="backup_retention_days" label="Keep backups for (days)" inputMode="numeric" />
      </fieldset>
      <div class="settings-actions">
        <FormError form={form} />
        {notice && <p role="status">{notice}</p>}
        <button type="submit" class="primary" disabled={form.busy}>
          Save settings
        </button>
      </div>
    </form>
  );
}
