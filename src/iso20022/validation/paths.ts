/**
 * Element paths in findings: local names from the message part's root ('/Document/...' or '/AppHdr/...'),
 * with a 1-based index on elements that may repeat, so a path names one element even in a batch.
 *
 * The index is written when the element is known to repeat in the ISO 20022 messages (a transaction, an entry,
 * a reason...) or when it has siblings of the same name, so '/Document/FIToFICstmrCdtTrf/CdtTrfTxInf[1]/...' reads
 * the same whether the message holds one transaction or many.
 */

/** Elements that repeat in the supported messages (data, not logic: extend when new messages are supported). */
export const REPEATABLE_ELEMENTS: ReadonlySet<string> = new Set([
  'CdtTrfTxInf', 'TxInf', 'TxInfAndSts', 'PmtInf', 'OrgnlPmtInfAndSts', 'OrgnlGrpInfAndSts', 'StsRsnInf',
  'RtrRsnInf', 'CxlRsnInf', 'CxlStsRsnInf', 'CxlDtls', 'Undrlyg', 'Stmt', 'Rpt', 'Ntfctn', 'Ntry', 'NtryDtls',
  'TxDtls', 'Bal', 'Ustrd', 'Strd', 'AdrLine', 'RgltryRptg', 'InstrForCdtrAgt', 'InstrForNxtAgt', 'RltdRmtInf',
  'ChrgsInf', 'SvcLvl', 'Othr', 'AddtlInf', 'TaxRcrd', 'RfrdDocInf', 'Avlbty', 'RltdDts',
]);

/** Formats one step of a path; `index` is 1-based and `siblingsSameName` counts the element itself. */
export function pathStep(name: string, index: number, siblingsSameName: number): string {
  return siblingsSameName > 1 || REPEATABLE_ELEMENTS.has(name) ? `${name}[${index}]` : name;
}
