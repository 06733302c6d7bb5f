/**
 * Which element holds which external code, as data: the built-in rules look each coded element up here.
 *
 * An entry names the element (`leaf`), the names of its nearest ancestors (`within`, nearest last; a leading '*'
 * matches any name ending with the rest, so '*Acct' is DbtrAcct, CdtrAcct, Acct...), the code set its value must be
 * in, the rule id reported, the ISO reason code that describes the problem, and the severity. Proprietary values
 * (Prtry) are never checked: they are by definition outside the lists.
 */
import type { CodeSetId } from '../codes/index.js';
import type { Severity } from './types.js';

export interface CodeField {
  readonly leaf: string;
  readonly within: readonly string[];
  readonly set: CodeSetId;
  readonly rule: string;
  readonly code: string;
  readonly severity: Severity;
}

export const CODE_FIELDS: readonly CodeField[] = [
  // Statuses and reasons: the workflow acts on them, so an unknown value is an error.
  { leaf: 'TxSts', within: [], set: 'payment-transaction-status', rule: 'code.status', code: 'CH16', severity: 'error' },
  { leaf: 'GrpSts', within: [], set: 'payment-group-status', rule: 'code.status', code: 'CH16', severity: 'error' },
  { leaf: 'PmtInfSts', within: [], set: 'payment-group-status', rule: 'code.status', code: 'CH16', severity: 'error' },
  { leaf: 'Cd', within: ['StsRsnInf', 'Rsn'], set: 'status-reason', rule: 'code.status-reason', code: 'CH16', severity: 'error' },
  { leaf: 'Cd', within: ['RtrRsnInf', 'Rsn'], set: 'return-reason', rule: 'code.return-reason', code: 'CH16', severity: 'error' },
  { leaf: 'Cd', within: ['RtrInf', 'Rsn'], set: 'return-reason', rule: 'code.return-reason', code: 'CH16', severity: 'error' },
  { leaf: 'Cd', within: ['CxlRsnInf', 'Rsn'], set: 'cancellation-reason', rule: 'code.cancellation-reason', code: 'CH16', severity: 'error' },
  { leaf: 'Cd', within: ['CxlStsRsnInf', 'Rsn'], set: 'payment-cancellation-rejection', rule: 'code.cancellation-rejection-reason', code: 'CH16', severity: 'error' },
  { leaf: 'Conf', within: ['Sts'], set: 'investigation-execution-confirmation', rule: 'code.investigation-status', code: 'CH16', severity: 'error' },
  // Payment type: how the payment is to be processed.
  { leaf: 'Cd', within: ['SvcLvl'], set: 'service-level', rule: 'code.service-level', code: 'FF04', severity: 'error' },
  { leaf: 'Cd', within: ['LclInstrm'], set: 'local-instrument', rule: 'code.local-instrument', code: 'FF05', severity: 'error' },
  { leaf: 'Cd', within: ['CtgyPurp'], set: 'category-purpose', rule: 'code.category-purpose', code: 'FF06', severity: 'error' },
  // Routing and settlement.
  { leaf: 'Cd', within: ['ClrSys'], set: 'cash-clearing-system', rule: 'code.clearing-system', code: 'CH16', severity: 'error' },
  { leaf: 'Cd', within: ['ClrSysMmbId', 'ClrSysId'], set: 'clearing-system-identification', rule: 'code.clearing-system-id', code: 'RC08', severity: 'error' },
  // Accounts.
  { leaf: 'Cd', within: ['*Acct', 'Tp'], set: 'cash-account-type', rule: 'code.account-type', code: 'AC12', severity: 'error' },
  { leaf: 'Cd', within: ['Prxy', 'Tp'], set: 'proxy-account-type', rule: 'code.proxy-type', code: 'BE23', severity: 'error' },
  { leaf: 'Cd', within: ['*Acct', 'Id', 'Othr', 'SchmeNm'], set: 'account-identification', rule: 'code.account-id-scheme', code: 'AC01', severity: 'error' },
  // Descriptive data: reported, not rejected (the agents in the chain do not act on it).
  { leaf: 'Cd', within: ['Purp'], set: 'purpose', rule: 'code.purpose', code: 'FF07', severity: 'warning' },
  { leaf: 'Cd', within: ['OrgId', 'Othr', 'SchmeNm'], set: 'organisation-identification', rule: 'code.org-id-scheme', code: 'BE15', severity: 'warning' },
  { leaf: 'Cd', within: ['PrvtId', 'Othr', 'SchmeNm'], set: 'person-identification', rule: 'code.person-id-scheme', code: 'BE15', severity: 'warning' },
];

/** Message families that report bookings to a customer; their code findings are warnings (see types.ts). */
export const REPORT_FAMILIES: ReadonlySet<string> = new Set(['camt.052', 'camt.053', 'camt.054']);

/** Entries grouped by leaf name, so the walk does one map lookup per element. */
export function indexCodeFields(fields: readonly CodeField[]): ReadonlyMap<string, readonly CodeField[]> {
  const index = new Map<string, CodeField[]>();
  for (const field of fields) {
    const list = index.get(field.leaf) ?? [];
    list.push(field);
    index.set(field.leaf, list);
  }
  return index;
}
