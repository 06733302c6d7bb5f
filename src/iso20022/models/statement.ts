/**
 * Typed views of cash management reports, read only: account report (camt.052 Rpt), statement (camt.053 Stmt)
 * and debit/credit notification (camt.054 Ntfctn). All three share the account / balance / entry shape.
 */
import { child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';
import type { MessageId } from '../identify.js';
import { readAccount, readAgent, readAmount, set, texts, type Account, type Agent, type Amount } from './common.js';

export interface Balance {
  /** Tp/CdOrPrtry/Cd (OPBD, CLBD, ITBD, ...) or Prtry. */
  type?: string;
  amount: Amount;
  creditDebit?: string;
  date?: string;
}

export interface EntryTx {
  msgId?: string;
  instrId?: string;
  endToEndId?: string;
  txId?: string;
  uetr?: string;
  amount?: Amount;
  creditDebit?: string;
  debtorName?: string;
  creditorName?: string;
  returnReason?: string;
  remittance: string[];
}

export interface Entry {
  ref?: string;
  amount: Amount;
  creditDebit?: string;
  reversal?: string;
  /** Sts as text (versions 02, 04) or Sts/Cd (08 onward): BOOK, PDNG, INFO. */
  status?: string;
  bookingDate?: string;
  valueDate?: string;
  servicerRef?: string;
  /** Bank transaction code as Domn/Fmly/SubFmly ('PMNT/RCDT/ESCT') or the proprietary code. */
  bankTxCode?: string;
  details: EntryTx[];
}

export interface CashReport {
  id?: string;
  electronicSequence?: string;
  creDtTm?: string;
  account?: Account;
  servicer?: Agent;
  balances: Balance[];
  entries: Entry[];
}

export interface CashManagementReport {
  family: 'camt.052' | 'camt.053' | 'camt.054';
  id: MessageId;
  msgId: string;
  creDtTm: string;
  /** Rpt, Stmt or Ntfctn blocks. */
  reports: CashReport[];
}

const BODY: Record<string, [string, string]> = {
  'camt.052': ['BkToCstmrAcctRpt', 'Rpt'],
  'camt.053': ['BkToCstmrStmt', 'Stmt'],
  'camt.054': ['BkToCstmrDbtCdtNtfctn', 'Ntfctn'],
};

/** A date choice (Dt or DtTm) or plain text. */
function dateOf(el: XmlElement | undefined): string | undefined {
  if (el === undefined) return undefined;
  return textAt(el, 'Dt') ?? textAt(el, 'DtTm') ?? el.text;
}

function readEntryTx(tx: XmlElement): EntryTx {
  const refs = child(tx, 'Refs');
  const parties = child(tx, 'RltdPties');
  const out: EntryTx = { remittance: texts(child(tx, 'RmtInf'), 'Ustrd') };
  set(out, 'msgId', textAt(refs, 'MsgId'));
  set(out, 'instrId', textAt(refs, 'InstrId'));
  set(out, 'endToEndId', textAt(refs, 'EndToEndId'));
  set(out, 'txId', textAt(refs, 'TxId'));
  set(out, 'uetr', textAt(refs, 'UETR'));
  set(out, 'amount', readAmount(child(tx, 'Amt')) ?? readAmount(child(child(child(tx, 'AmtDtls'), 'TxAmt'), 'Amt')));
  set(out, 'creditDebit', textAt(tx, 'CdtDbtInd'));
  set(out, 'debtorName', textAt(parties, 'Dbtr/Nm') ?? textAt(parties, 'Dbtr/Pty/Nm'));
  set(out, 'creditorName', textAt(parties, 'Cdtr/Nm') ?? textAt(parties, 'Cdtr/Pty/Nm'));
  set(out, 'returnReason', textAt(tx, 'RtrInf/Rsn/Cd') ?? textAt(tx, 'RtrInf/Rsn/Prtry'));
  return out;
}

function readEntry(e: XmlElement): Entry {
  const out: Entry = {
    amount: readAmount(child(e, 'Amt')) ?? { value: '', currency: '' },
    details: childrenNamed(e, 'NtryDtls').flatMap((d) => childrenNamed(d, 'TxDtls').map(readEntryTx)),
  };
  set(out, 'ref', textAt(e, 'NtryRef'));
  set(out, 'creditDebit', textAt(e, 'CdtDbtInd'));
  set(out, 'reversal', textAt(e, 'RvslInd'));
  const sts = child(e, 'Sts');
  if (sts !== undefined) set(out, 'status', textAt(sts, 'Cd') ?? textAt(sts, 'Prtry') ?? sts.text);
  set(out, 'bookingDate', dateOf(child(e, 'BookgDt')));
  set(out, 'valueDate', dateOf(child(e, 'ValDt')));
  set(out, 'servicerRef', textAt(e, 'AcctSvcrRef'));
  const bk = child(e, 'BkTxCd');
  const domain = textAt(bk, 'Domn/Cd');
  if (domain !== undefined) {
    out.bankTxCode = [domain, textAt(bk, 'Domn/Fmly/Cd'), textAt(bk, 'Domn/Fmly/SubFmlyCd')].filter((x) => x !== undefined).join('/');
  } else {
    set(out, 'bankTxCode', textAt(bk, 'Prtry/Cd'));
  }
  return out;
}

function readReport(r: XmlElement): CashReport {
  const out: CashReport = {
    balances: childrenNamed(r, 'Bal').map((b) => {
      const bal: Balance = { amount: readAmount(child(b, 'Amt')) ?? { value: '', currency: '' } };
      set(bal, 'type', textAt(b, 'Tp/CdOrPrtry/Cd') ?? textAt(b, 'Tp/CdOrPrtry/Prtry'));
      set(bal, 'creditDebit', textAt(b, 'CdtDbtInd'));
      set(bal, 'date', dateOf(child(b, 'Dt')));
      return bal;
    }),
    entries: childrenNamed(r, 'Ntry').map(readEntry),
  };
  set(out, 'id', textAt(r, 'Id'));
  set(out, 'electronicSequence', textAt(r, 'ElctrncSeqNb'));
  set(out, 'creDtTm', textAt(r, 'CreDtTm'));
  const acct = child(r, 'Acct');
  set(out, 'account', readAccount(acct));
  set(out, 'servicer', readAgent(child(acct, 'Svcr')));
  return out;
}

export function readCashManagementReport(document: XmlElement, id: MessageId): CashManagementReport {
  const [bodyName, reportName] = BODY[id.family] ?? BODY['camt.053']!;
  const body = child(document, bodyName);
  return {
    family: id.family as CashManagementReport['family'],
    id,
    msgId: textAt(body, 'GrpHdr/MsgId') ?? '',
    creDtTm: textAt(body, 'GrpHdr/CreDtTm') ?? '',
    reports: childrenNamed(body, reportName).map(readReport),
  };
}
