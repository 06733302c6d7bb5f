/**
 * The ABA routing transit number check digit (US): nine digits d1..d9 with
 * 3(d1 + d4 + d7) + 7(d2 + d5 + d8) + (d3 + d6 + d9) a multiple of 10.
 */
const NINE_DIGITS = /^[0-9]{9}$/;
const WEIGHTS = [3, 7, 1, 3, 7, 1, 3, 7, 1] as const;

export function isValidAba(rtn: string): boolean {
  if (!NINE_DIGITS.test(rtn)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i += 1) sum += (rtn.charCodeAt(i) - 48) * WEIGHTS[i]!;
  return sum % 10 === 0;
}
