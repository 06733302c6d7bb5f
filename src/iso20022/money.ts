/**
 * Money without JavaScript numbers: decimal strings as messages carry them, converted to integer minor units
 * (bigint) with the currency's ISO 4217 exponent where arithmetic is needed, and back.
 */
import { MxError } from '../errors.js';

/**
 * ISO 4217 minor-unit exponents of active currency codes. Codes whose minor unit the standard gives as "N.A."
 * (precious metals, SDR, bond-market units, testing codes) are absent: they have no minor units to count.
 */
const EXPONENT_0 = 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF';
const EXPONENT_3 = 'BHD IQD JOD KWD LYD OMR TND';
const EXPONENT_4 = 'CLF UYW';
const EXPONENT_2 =
  'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE ' +
  'CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL ' +
  'HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR ' +
  'MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP ' +
  'SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ' +
  'ZAR ZMW ZWG ZWL';

const EXPONENTS: ReadonlyMap<string, number> = new Map([
  ...EXPONENT_0.split(' ').map((c) => [c, 0] as const),
  ...EXPONENT_2.split(' ').map((c) => [c, 2] as const),
  ...EXPONENT_3.split(' ').map((c) => [c, 3] as const),
  ...EXPONENT_4.split(' ').map((c) => [c, 4] as const),
]);

/** The ISO 4217 exponent of a currency, or undefined for a code without minor units or not in the list. */
export function currencyExponent(currency: string): number | undefined {
  return EXPONENTS.get(currency);
}

/** Whether the code is an active ISO 4217 currency with minor units (XAU, XXX and unknown codes are not). */
export function isKnownCurrency(currency: string): boolean {
  return EXPONENTS.has(currency);
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * '1250.5' USD -> 125050n. Refuses (MESSAGE_INVALID) a malformed decimal, an unknown currency, and more fraction
 * digits than the currency has unless the extra ones are zeros ('10.500' EUR is 1050n; '10.505' EUR is refused).
 */
export function toMinorUnits(value: string, currency: string): bigint {
  const exponent = currencyExponent(currency);
  if (exponent === undefined) {
    throw new MxError('MESSAGE_INVALID', `currency ${currency} has no ISO 4217 minor unit`, { details: { currency } });
  }
  const m = DECIMAL.exec(value);
  if (m === null) throw new MxError('MESSAGE_INVALID', `amount "${value}" is not a decimal number`, { details: { value } });
  let fraction = m[3] ?? '';
  if (fraction.length > exponent) {
    const extra = fraction.slice(exponent);
    if (!/^0+$/.test(extra)) {
      throw new MxError('MESSAGE_INVALID', `amount ${value} has more decimals than ${currency} allows (${exponent})`, {
        details: { value, currency },
      });
    }
    fraction = fraction.slice(0, exponent);
  }
  const units = BigInt(m[2]! + fraction.padEnd(exponent, '0'));
  return m[1] === '-' ? -units : units;
}

/** 125050n USD -> '1250.50': always the currency's number of decimals, which every ISO 20022 amount accepts. */
export function fromMinorUnits(minor: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  if (exponent === undefined) {
    throw new MxError('MESSAGE_INVALID', `currency ${currency} has no ISO 4217 minor unit`, { details: { currency } });
  }
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, '0');
  const whole = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return negative ? `-${whole}` : whole;
}

/** A decimal string as an integer count of units of 10^-scale (scale = its number of decimals). */
export interface ScaledDecimal {
  units: bigint;
  scale: number;
}

export function parseDecimal(value: string): ScaledDecimal {
  const m = DECIMAL.exec(value);
  if (m === null) throw new MxError('MESSAGE_INVALID', `"${value}" is not a decimal number`, { details: { value } });
  const fraction = m[3] ?? '';
  const units = BigInt(m[2]! + fraction);
  return { units: m[1] === '-' ? -units : units, scale: fraction.length };
}

function rescale(d: ScaledDecimal, scale: number): bigint {
  return d.units * 10n ** BigInt(scale - d.scale);
}

/** Exact comparison of two decimal strings: negative, zero or positive like a sort comparator. */
export function compareDecimals(a: string, b: string): number {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const scale = Math.max(x.scale, y.scale);
  const d = rescale(x, scale) - rescale(y, scale);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** Exact sum of decimal strings (for control sums), written with the largest number of decimals among them. */
export function sumDecimals(values: readonly string[]): string {
  const parsed = values.map(parseDecimal);
  const scale = parsed.reduce((s, d) => Math.max(s, d.scale), 0);
  const total = parsed.reduce((s, d) => s + rescale(d, scale), 0n);
  const negative = total < 0n;
  const digits = (negative ? -total : total).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}
