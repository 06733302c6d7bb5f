/**
 * Typed views of interbank credit transfers: pacs.008 (customer) and pacs.009 (financial institution, with its
 * cover variant). Every version the hub supports uses the same element names for what these views read.
 */
import { child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';
import type { MessageId } from '../identify.js';
import {
  readAccount,
  readAgent,
  readAmount,
  readParty,
  set,
  texts,
  type Account,
  type Agent,
  type Amount,
  type Party,
} from './common.js';

export interface GroupHeader {
  msgId: string;
  creDtTm: string;
  nbOfTxs?: string;
  ctrlSum?: string;
  totalInterbankSettlementAmount?: Amount;
  interbankSettlementDate?: string;
  settlementMethod?: string;
  /** SttlmInf/ClrSys/Cd or Prtry. */
  clearingSystem?: string;
  instructingAgent?: Agent;
  instructedAgent?: Agent;
}

export interface Remittance {
  unstructured: string[];
  /** Creditor references (Strd/CdtrRefInf/Ref). */
  references: string[];
}

export interface CreditTransferTx {
  instrId?: string;
  endToEndId: string;
  txId?: string;
  uetr?: string;
  clrSysRef?: string;
  serviceLevel?: string;
  localInstrument?: string;
  categoryPurpose?: string;
  amount: Amount;
  settlementDate?: string;
  instructedAmount?: Amount;
  exchangeRate?: string;
  chargeBearer?: string;
  instructingAgent?: Agent;
  instructedAgent?: Agent;
  intermediaryAgents: Agent[];
  ultimateDebtor?: Party;
  debtor?: Party;
  debtorAccount?: Account;
  debtorAgent?: Agent;
  creditorAgent?: Agent;
  creditor?: Party;
  creditorAccount?: Account;
  ultimateCreditor?: Party;
  purpose?: string;
  remittance?: Remittance;
  /** pacs.009: the debtor and creditor institutions in full (Dbtr/FinInstnId, Cdtr/FinInstnId); absent in pacs.008. */
  debtorInstitution?: Agent;
  creditorInstitution?: Agent;
  /** pacs.009 COV: the customer credit transfer this transfer covers. */
  underlying?: { debtor?: Party; creditor?: Party; debtorAgent?: Agent; creditorAgent?: Agent; instructedAmount?: Amount };
}

export interface CreditTransfer {
  family: 'pacs.008' | 'pacs.009';
  id: MessageId;
  groupHeader: GroupHeader;
  transactions: CreditTransferTx[];
  /** Whether the message carries SplmtryData (kept opaque in the tree, written back unchanged). */
  hasSupplementaryData: boolean;
}

export function readGroupHeader(grp: XmlElement | undefined): GroupHeader {
  const out: GroupHeader = { msgId: textAt(grp, 'MsgId') ?? '', creDtTm: textAt(grp, 'CreDtTm') ?? '' };
  set(out, 'nbOfTxs', textAt(grp, 'NbOfTxs'));
  set(out, 'ctrlSum', textAt(grp, 'CtrlSum'));
  set(out, 'totalInterbankSettlementAmount', readAmount(child(grp, 'TtlIntrBkSttlmAmt')));
  set(out, 'interbankSettlementDate', textAt(grp, 'IntrBkSttlmDt'));
  set(out, 'settlementMethod', textAt(grp, 'SttlmInf/SttlmMtd'));
  set(out, 'clearingSystem', textAt(grp, 'SttlmInf/ClrSys/Cd') ?? textAt(grp, 'SttlmInf/ClrSys/Prtry'));
  set(out, 'instructingAgent', readAgent(child(grp, 'InstgAgt')));
  set(out, 'instructedAgent', readAgent(child(grp, 'InstdAgt')));
  return out;
}

export function readRemittance(el: XmlElement | undefined): Remittance | undefined {
  if (el === undefined) return undefined;
  return {
    unstructured: texts(el, 'Ustrd'),
    references: childrenNamed(el, 'Strd').flatMap((s) => texts(child(s, 'CdtrRefInf'), 'Ref')),
  };
}

function codeOrPrtry(el: XmlElement | undefined): string | undefined {
  return textAt(el, 'Cd') ?? textAt(el, 'Prtry');
}

export function readCreditTransferTx(tx: XmlElement): CreditTransferTx {
  const out: CreditTransferTx = {
    endToEndId: textAt(tx, 'PmtId/EndToEndId') ?? '',
    amount: readAmount(child(tx, 'IntrBkSttlmAmt')) ?? { value: '', currency: '' },
    intermediaryAgents: [],
  };
  set(out, 'instrId', textAt(tx, 'PmtId/InstrId'));
  set(out, 'txId', textAt(tx, 'PmtId/TxId'));
  set(out, 'uetr', textAt(tx, 'PmtId/UETR'));
  set(out, 'clrSysRef', textAt(tx, 'PmtId/ClrSysRef'));
  const tp = child(tx, 'PmtTpInf');
  set(out, 'serviceLevel', codeOrPrtry(child(tp, 'SvcLvl')));
  set(out, 'localInstrument', codeOrPrtry(child(tp, 'LclInstrm')));
  set(out, 'categoryPurpose', codeOrPrtry(child(tp, 'CtgyPurp')));
  set(out, 'settlementDate', textAt(tx, 'IntrBkSttlmDt'));
  set(out, 'instructedAmount', readAmount(child(tx, 'InstdAmt')));
  set(out, 'exchangeRate', textAt(tx, 'XchgRate'));
  set(out, 'chargeBearer', textAt(tx, 'ChrgBr'));
  set(out, 'instructingAgent', readAgent(child(tx, 'InstgAgt')));
  set(out, 'instructedAgent', readAgent(child(tx, 'InstdAgt')));
  for (const name of ['IntrmyAgt1', 'IntrmyAgt2', 'IntrmyAgt3']) {
    const agent = readAgent(child(tx, name));
    if (agent !== undefined) out.intermediaryAgents.push(agent);
  }
  set(out, 'ultimateDebtor', readParty(child(tx, 'UltmtDbtr')));
  set(out, 'debtor', readParty(child(tx, 'Dbtr')));
  set(out, 'debtorInstitution', readAgent(child(tx, 'Dbtr')));
  set(out, 'creditorInstitution', readAgent(child(tx, 'Cdtr')));
  set(out, 'debtorAccount', readAccount(child(tx, 'DbtrAcct')));
  set(out, 'debtorAgent', readAgent(child(tx, 'DbtrAgt')));
  set(out, 'creditorAgent', readAgent(child(tx, 'CdtrAgt')));
  set(out, 'creditor', readParty(child(tx, 'Cdtr')));
  set(out, 'creditorAccount', readAccount(child(tx, 'CdtrAcct')));
  set(out, 'ultimateCreditor', readParty(child(tx, 'UltmtCdtr')));
  set(out, 'purpose', codeOrPrtry(child(tx, 'Purp')));
  set(out, 'remittance', readRemittance(child(tx, 'RmtInf')));
  const cov = child(tx, 'UndrlygCstmrCdtTrf');
  if (cov !== undefined) {
    const u: NonNullable<CreditTransferTx['underlying']> = {};
    set(u, 'debtor', readParty(child(cov, 'Dbtr')));
    set(u, 'creditor', readParty(child(cov, 'Cdtr')));
    set(u, 'debtorAgent', readAgent(child(cov, 'DbtrAgt')));
    set(u, 'creditorAgent', readAgent(child(cov, 'CdtrAgt')));
    set(u, 'instructedAmount', readAmount(child(cov, 'InstdAmt')));
    out.underlying = u;
  }
  return out;
}

/** Reads a pacs.008 (FIToFICstmrCdtTrf) or pacs.009 (FICdtTrf) Document. */
export function readCreditTransfer(document: XmlElement, id: MessageId): CreditTransfer {
  const body = child(document, 'FIToFICstmrCdtTrf') ?? child(document, 'FICdtTrf');
  return {
    family: id.family === 'pacs.009' ? 'pacs.009' : 'pacs.008',
    id,
    groupHeader: readGroupHeader(child(body, 'GrpHdr')),
    transactions: childrenNamed(body, 'CdtTrfTxInf').map(readCreditTransferTx),
    hasSupplementaryData: child(body, 'SplmtryData') !== undefined,
  };
}

/** The debtor agent BIC or member id, whichever the message uses (for display and routing). */
export function agentKey(agent: Agent | undefined): string | undefined {
  return agent?.bicfi ?? agent?.memberId ?? agent?.lei;
}

