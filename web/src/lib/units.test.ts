import { describe, expect, it } from 'vitest';
import { bpFromPercent, minorToInput, parseWhole, percentFromBp } from './units';
import { changes, toForm } from '../screens/admin/Settings';

describe('percent ↔ basis points, on the digits', () => {
  it('reads what people type', () => {
    expect(bpFromPercent('16')).toBe(1600);
    expect(bpFromPercent('16.5')).toBe(1650);
    expect(bpFromPercent('0.25 %')).toBe(25);
    expect(bpFromPercent('150')).toBe(15000);
    expect(bpFromPercent('16.555')).toBeNull();
    expect(bpFromPercent('abc')).toBeNull();
    expect(bpFromPercent('-1')).toBeNull();
  });
  it('writes them back', () => {
    expect(percentFromBp(1600)).toBe('16');
    expect(percentFromBp(1650)).toBe('16.5');
    expect(percentFromBp(25)).toBe('0.25');
    expect(percentFromBp(0)).toBe('0');
  });
  it('whole numbers and minor units', () => {
    expect(parseWhole('-180')).toBe(-180);
    expect(parseWhole('1.5')).toBeNull();
    expect(minorToInput(5000, 0)).toBe('5000');
    expect(minorToInput(12345, 2)).toBe('123.45');
    expect(minorToInput(5, 2)).toBe('0.05');
  });
});

describe('settings form', () => {
  const view = {
    cafe_name: 'Havilah', currency: 'UGX', vat_rate_bp: 1600, prices_include_tax: true, service_charge_bp: 0, receipt_footer: 'Thanks',
    cashier_discount_limit_bp: 1000, backup_retention_days: 14, business_day_cutoff_hour: 4, utc_offset_minutes: 180,
    happy_hour_start: '16:00:00', happy_hour_end: '19:00:00', shift_variance_threshold: 5000, kds_warning_minutes: 10, kds_late_minutes: 20,
  };
  it('sends only what changed, in the units of the API', () => {
    const before = toForm(view);
    expect(before.vat_rate_bp).toBe('16');
    expect(before.happy_hour_start).toBe('16:00');
    const after = { ...before, vat_rate_bp: '18.5', happy_hour_end: '20:00', shift_variance_threshold: '10,000' };
    expect(changes(before, after)).toEqual({ body: { vat_rate_bp: 1850, happy_hour_end: '20:00', shift_variance_threshold: 10000 } });
  });
  it('names the field that is not a number before sending anything', () => {
    const before = toForm(view);
    expect(changes(before, { ...before, kds_late_minutes: 'soon' })).toEqual({ field: 'kds_late_minutes', text: 'Type a whole number.' });
  });
});
