/**
 * Amounts as ISO 20022 writes them: a decimal string, no sign, no exponent. Checked as text, never as a number,
 * so '0.1' plus '0.2' questions never arise and 18-digit amounts keep every digit.
 */

const AMOUNT = /^(\d+)(?:\.(\d+))?$/;

/** Fraction digits that carry value: '100.50' has 1 ('5'), '79255.00' has 0. */
export function significantDecimals(amount: string): number | undefined {
  const m = AMOUNT.exec(amount);
  if (m === null) return undefined;
  const fraction = m[2];
  if (fraction === undefined) return 0;
  let end = fraction.length;
  while (end > 0 && fraction.charCodeAt(end - 1) === 48) end -= 1;
  return end;
}

export type AmountProblem = 'format' | 'precision';

/**
 * Checks an amount against its currency's minor unit (ISO 4217 exponent). `exponent` null means the currency has
 * no minor unit defined (gold, SDR...), so any precision the schema allows is accepted.
 */
export function amountProblem(amount: string, exponent: number | null): AmountProblem | undefined {
  const decimals = significantDecimals(amount);
  if (decimals === undefined) return 'format';
  if (exponent !== null && decimals > exponent) return 'precision';
  return undefined;
}

/** Adds decimal amounts exactly: the sum of the strings as a string with the largest scale seen. */
export function sumDecimals(amounts: readonly string[]): string | undefined {
  let scale = 0;
  for (const a of amounts) {
    const m = AMOUNT.exec(a);
    if (m === null) return undefined;
    scale = Math.max(scale, m[2]?.length ?? 0);
  }
  let total = 0n;
  for (const a of amounts) total += toScaled(a, scale);
  return fromScaled(total, scale);
}

/** Whether two decimal strings are the same number ('10.5' and '10.50' are). */
export function sameDecimal(a: string, b: string): boolean | undefined {
  const ma = AMOUNT.exec(a);
  const mb = AMOUNT.exec(b);
  if (ma === null || mb === null) return undefined;
  const scale = Math.max(ma[2]?.length ?? 0, mb[2]?.length ?? 0);
  return toScaled(a, scale) === toScaled(b, scale);
}

function toScaled(amount: string, scale: number): bigint {
  const dot = amount.indexOf('.');
  const whole = dot === -1 ? amount : amount.slice(0, dot);
  const fraction = dot === -1 ? '' : amount.slice(dot + 1);
  return BigInt(whole + fraction.padEnd(scale, '0'));
}

function fromScaled(value: bigint, scale: number): string {
  if (scale === 0) return value.toString();
  const digits = value.toString().padStart(scale + 1, '0');
  return `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}
