// The bill's arithmetic, all in integer minor units (never floats): what a share of the
// order comes to, the change on cash, splitting a balance evenly, the drawer's variance,
// and reading an amount the cashier typed. The server decides what is finally charged
// (PaymentInput); these only show the cashier the same figures before it answers.
import { currencyExponent } from './money';

export interface BillLine {
  id: string;
  total: number;
  seat?: number | null;
  status: string;
}

function integer(n: number): number {
  if (!Number.isSafeInteger(n)) throw new RangeError(`money must be an integer of minor units, got ${n}`);
  return n;
}

/** Lines that can still be paid for (a voided line costs nothing). */
export function liveLines<T extends BillLine>(lines: readonly T[]): T[] {
  return lines.filter((l) => l.status !== 'voided');
}

/** The chosen lines' totals, never more than the balance (as the server counts a share). */
export function itemsShare(lines: readonly BillLine[], ids: readonly string[], balance: number): number {
  const sum = liveLines(lines)
    .filter((l) => ids.includes(l.id))
    .reduce((s, l) => s + integer(l.total), 0);
  return Math.min(sum, integer(balance));
}

/** The seats that have live lines, in order. */
export function seatsOf(lines: readonly BillLine[]): number[] {
  return [...new Set(liveLines(lines).map((l) => l.seat).filter((s): s is number => typeof s === 'number' && s > 0))].sort((a, b) => a - b);
}

export function seatShare(lines: readonly BillLine[], seat: number, balance: number): number {
  return itemsShare(lines, liveLines(lines).filter((l) => l.seat === seat).map((l) => l.id), balance);
}

/** Change on cash: tendered − amount, or null when too little was handed over. */
export function changeDue(tendered: number, amount: number): number | null {
  const change = integer(tendered) - integer(amount);
  return change >= 0 ? change : null;
}

/** `balance` split into `parts` integer shares that add up to it exactly; the first shares
 * carry the remainder (10,000 in 3 → 3,334 + 3,333 + 3,333). */
export function splitEvenly(balance: number, parts: number): number[] {
  integer(balance);
  if (!Number.isSafeInteger(parts) || parts < 1) throw new RangeError(`parts must be a positive integer, got ${parts}`);
  const base = Math.floor(balance / parts);
  const rest = balance - base * parts;
  return Array.from({ length: parts }, (_, i) => base + (i < rest ? 1 : 0));
}

/** Counted − expected: negative when cash is missing. */
export function variance(counted: number, expected: number): number {
  return integer(counted) - integer(expected);
}

/** Reads what the cashier typed ("12,500", "1 234.5", "0.05") as minor units of `currency`,
 * on the digits, without a float. Null when it is not an amount (empty, negative, letters,
 * more decimals than the currency has). */
export function parseMinor(text: string, currency: string): number | null {
  const cleaned = text.replace(/[\s,_]/g, '');
  const m = /^(\d*)(?:\.(\d*))?$/.exec(cleaned);
  if (!m || (m[1] === '' && !m[2])) return null;
  const exponent = currencyExponent(currency);
  const fraction = m[2] ?? '';
  if (fraction.length > exponent) return null;
  const digits = (m[1] || '0') + fraction.padEnd(exponent, '0');
  const value = Number(BigInt(digits));
  return Number.isSafeInteger(value) ? value : null;
}

/** Quick cash buttons: the exact amount, then the next round notes above it. */
export function quickTenders(amount: number, notes: readonly number[]): number[] {
  integer(amount);
  const out = [amount];
  for (const note of notes) {
    const rounded = Math.ceil(amount / note) * note;
    if (rounded > amount && !out.includes(rounded)) out.push(rounded);
    if (out.length >= 4) break;
  }
  return out;
}

/** Reads a percentage the cashier typed ("10", "12.5", "7.25 %") as basis points (1000 =
 * 10 %), on the digits. Null when it is not one (more than two decimals, above 100 %). */
export function parsePercentBp(text: string): number | null {
  const cleaned = text.replace(/[\s%]/g, '');
  const m = /^(\d*)(?:\.(\d{0,2}))?$/.exec(cleaned);
  if (!m || (m[1] === '' && !m[2])) return null;
  const bp = Number(m[1] || '0') * 100 + Number((m[2] ?? '').padEnd(2, '0'));
  return Number.isSafeInteger(bp) && bp <= 10_000 ? bp : null;
}

/** Basis points as a percentage for people: 1250 → "12.5 %". */
export function formatPercentBp(bp: number): string {
  integer(bp);
  const whole = Math.floor(bp / 100);
  const rest = String(bp % 100).padStart(2, '0').replace(/0+$/, '');
  return `${whole}${rest ? `.${rest}` : ''} %`;
}

/** Change on cash that also carries a tip: the tip stays in the drawer with the amount. */
export function changeWithTip(tendered: number, amount: number, tip: number): number | null {
  return changeDue(tendered, integer(amount) + integer(tip));
}
