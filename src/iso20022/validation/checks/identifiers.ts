/**
 * Check-digit and format checks for the identifiers that route money: IBAN (ISO 13616), BIC (ISO 9362) and
 * LEI (ISO 17442). Pure functions over strings; each answers with the first problem found, or undefined.
 *
 * The mod-97 checks run over the digits of the identifier with letters expanded (A=10 ... Z=35), folded a
 * character at a time so no big number is ever built.
 */
import countryData from '../../codes/countries.json' with { type: 'json' };
import ibanData from '../../codes/iban-lengths.json' with { type: 'json' };

const COUNTRIES: ReadonlySet<string> = new Set(countryData.codes);
const IBAN_LENGTHS: ReadonlyMap<string, number> = new Map(Object.entries(ibanData.lengths));

const IBAN_SHAPE = /^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$/;
const BIC_SHAPE = /^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$/;
const LEI_SHAPE = /^[A-Z0-9]{18}[0-9]{2}$/;

export type IbanProblem = 'format' | 'country' | 'length' | 'checksum';
export type BicProblem = 'format' | 'country';
export type LeiProblem = 'format' | 'checksum';

/** Remainder modulo 97 of the number formed by `s` (letters as two digits 10-35), starting at `from`, wrapping. */
function mod97(s: string, from: number): number {
  let rest = 0;
  const n = s.length;
  for (let k = 0; k < n; k += 1) {
    const c = s.charCodeAt((from + k) % n);
    // '0'-'9' are one digit; 'A'-'Z' are the two digits 10-35.
    rest = c <= 57 ? (rest * 10 + (c - 48)) % 97 : (rest * 100 + (c - 55)) % 97;
  }
  return rest;
}

/**
 * Checks an IBAN as carried in ISO 20022 (electronic format: no spaces, upper case). All problems are reported
 * separately so a caller can name each; the checksum is computed whatever the length, since both may be wrong.
 */
export function ibanProblems(iban: string): IbanProblem[] {
  if (!IBAN_SHAPE.test(iban)) return ['format'];
  const out: IbanProblem[] = [];
  const expected = IBAN_LENGTHS.get(iban.slice(0, 2));
  if (expected === undefined) out.push('country');
  else if (expected !== iban.length) out.push('length');
  // ISO 13616: move the first four characters to the end; the remainder modulo 97 must be 1.
  if (mod97(iban, 4) !== 1) out.push('checksum');
  return out;
}

export function isValidIban(iban: string): boolean {
  return ibanProblems(iban).length === 0;
}

/** Checks a BIC (8 or 11 characters) and that its country part is an ISO 3166 country. */
export function bicProblem(bic: string): BicProblem | undefined {
  if (!BIC_SHAPE.test(bic)) return 'format';
  if (!COUNTRIES.has(bic.slice(4, 6))) return 'country';
  return undefined;
}

/** Checks an LEI: 18 alphanumerics and 2 check digits; the whole, read as ISO 7064 mod 97-10, leaves 1. */
export function leiProblem(lei: string): LeiProblem | undefined {
  if (!LEI_SHAPE.test(lei)) return 'format';
  if (mod97(lei, 0) !== 1) return 'checksum';
  return undefined;
}

export function isCountryCode(code: string): boolean {
  return COUNTRIES.has(code);
}
