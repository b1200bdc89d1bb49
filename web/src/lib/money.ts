// Money arrives as an integer count of minor units; the currency's ISO 4217 exponent says
// where the decimal point goes. Formatting is done on the digits (string and integer
// maths), never by dividing into a float.

const EXPONENTS: Record<string, number> = {
  UGX: 0, RWF: 0, BIF: 0, JPY: 0, KRW: 0, XAF: 0, XOF: 0, CLP: 0, VND: 0,
  KES: 2, TZS: 2, USD: 2, EUR: 2, GBP: 2, ZAR: 2, NGN: 2, GHS: 2, ETB: 2, SSP: 2, CDF: 2,
  BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3,
};

const SYMBOLS: Record<string, string> = { UGX: 'USh', KES: 'KSh', TZS: 'TSh', USD: '$', EUR: '€', GBP: '£' };

export function currencyExponent(currency: string): number {
  return EXPONENTS[currency.toUpperCase()] ?? 2;
}

function group(digits: string): string {
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return out;
}

/** `30000, "UGX"` → `USh 30,000`; `123456, "KES"` → `KSh 1,234.56`; `-5, "USD"` → `-$ 0.05`. */
export function formatMoney(minor: number | bigint, currency: string): string {
  const amount = typeof minor === 'bigint' ? minor : BigInt(checkedInteger(minor));
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString();
  const exponent = currencyExponent(currency);
  let body: string;
  if (exponent === 0) {
    body = group(digits);
  } else {
    const padded = digits.padStart(exponent + 1, '0');
    body = `${group(padded.slice(0, -exponent))}.${padded.slice(-exponent)}`;
  }
  const symbol = SYMBOLS[currency.toUpperCase()] ?? currency.toUpperCase();
  return `${negative ? '-' : ''}${symbol} ${body}`;
}

function checkedInteger(n: number): number {
  if (!Number.isSafeInteger(n)) throw new RangeError(`money must be an integer of minor units, got ${n}`);
  return n;
}

/** Line total in minor units: (unit price + modifier prices) × quantity, all integers. */
export function lineTotal(unitPrice: number, modifierPrices: readonly number[], quantity: number): number {
  const each = modifierPrices.reduce((sum, p) => sum + checkedInteger(p), checkedInteger(unitPrice));
  return checkedInteger(each * checkedInteger(quantity));
}
