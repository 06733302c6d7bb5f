/**
 * What validation reports. Findings are data, never exceptions: a message may break many rules at once and the
 * caller (the processing stage, the CLI) decides what to do with all of them. Exceptions are kept for input that
 * cannot be looked at (unsafe or malformed XML) and for operating errors (a schema missing from the directory).
 */

/** Which layer produced a finding. The safety layer throws instead (see the parser). */
export type ValidationLayer = 'xsd' | 'builtin' | 'profile';

/**
 * 'error' makes the message invalid. 'warning' is reported but accepted: a value that describes rather than
 * instructs (a purpose, a party's identification scheme, an LEI check digit) or anything inside a bank-to-customer
 * report, which relays what was booked and is never rejected for it.
 */
export type Severity = 'error' | 'warning';

export interface Finding {
  readonly layer: ValidationLayer;
  readonly severity: Severity;
  /** Stable rule id, e.g. 'iban.checksum', 'xsd.schema', 'fednow.ccy.usd'. */
  readonly rule: string;
  /**
   * The official ISO 20022 status reason code (ExternalStatusReason1Code) that best describes the problem, so a
   * rejection can carry it unchanged: AC01 account, RC01 BIC, AM03 currency, CH21 missing element, FF01 format...
   */
  readonly code: string;
  /** Element path from the message part's root, e.g. '/Document/FIToFICstmrCdtTrf/CdtTrfTxInf[1]/DbtrAcct/Id/IBAN'. */
  readonly path: string;
  /** 1-based line in the input, where known. */
  readonly line?: number;
  readonly message: string;
}

export interface ValidationResult {
  readonly valid: boolean;
  readonly findings: readonly Finding[];
}

/** Builds a result; a message is valid when no finding is an error (warnings are kept and reported). */
export function toResult(findings: readonly Finding[]): ValidationResult {
  return { valid: !findings.some((f) => f.severity === 'error'), findings };
}

/** The findings that make a message invalid. */
export function errorsOf(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.severity === 'error');
}
