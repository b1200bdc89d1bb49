// Rates travel as basis points (1600 = 16 %); people type percents. Converted on the digits,
// never through a float.

/** "16" → 1600, "16.5" → 1650, "0.25" → 25; null when not a percent with ≤ 2 decimals. */
export function bpFromPercent(text: string): number | null {
  const m = /^\s*(\d{1,7})(?:[.,](\d{0,2}))?\s*%?\s*$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

/** 1650 → "16.5", 1600 → "16", 25 → "0.25". */
export function percentFromBp(bp: number): string {
  const sign = bp < 0 ? '-' : '';
  const a = Math.abs(Math.trunc(bp));
  const whole = Math.floor(a / 100);
  const frac = String(a % 100).padStart(2, '0').replace(/0+$/, '');
  return `${sign}${whole}${frac ? '.' + frac : ''}`;
}

/** A whole number as typed ("-180", "14"); null otherwise. */
export function parseWhole(text: string): number | null {
  const t = text.trim();
  if (!/^-?\d{1,9}$/.test(t)) return null;
  return Number(t);
}

/** Minor units back to what a person types: 5000 UGX → "5000", 12345 KES → "123.45". */
export function minorToInput(minor: number, exponent: number): string {
  if (exponent === 0) return String(minor);
  const neg = minor < 0;
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}
