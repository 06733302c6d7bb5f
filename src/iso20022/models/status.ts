/**
 * Typed views of status reports: pacs.002 (FIToFIPmtStsRpt) and pain.002 (CstmrPmtStsRpt, which adds a payment
 * information level between group and transaction).
 */
import { child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';
import type { MessageId } from '../identify.js';
import { readAgent, readAmount, readReasons, set, type Agent, type Amount, type Reason } from './common.js';

/** The ids a report, return or cancellation uses to point at the original transaction. */
export interface OriginalRefs {
  originalMsgId?: string;
  originalMsgNmId?: string;
  originalCreDtTm?: string;
  originalInstrId?: string;
  originalEndToEndId?: string;
  originalTxId?: string;
  originalUetr?: string;
}

export interface TransactionStatus extends OriginalRefs {
  statusId?: string;
  status?: string;
  reasons: Reason[];
  acceptanceDateTime?: string;
  instructingAgent?: Agent;
  instructedAgent?: Agent;
  /** OrgnlTxRef/IntrBkSttlmAmt (pacs.002) or OrgnlTxRef/Amt/InstdAmt (pain.002), when the report repeats it. */
  originalAmount?: Amount;
}

export interface PaymentInfoStatus {
  originalPmtInfId: string;
  status?: string;
  reasons: Reason[];
  transactions: TransactionStatus[];
}

export interface StatusReport {
  family: 'pacs.002' | 'pain.002';
  id: MessageId;
  msgId: string;
  creDtTm: string;
  instructingAgent?: Agent;
  instructedAgent?: Agent;
  original: OriginalRefs & { originalNbOfTxs?: string; originalCtrlSum?: string };
  groupStatus?: string;
  groupReasons: Reason[];
  /** pain.002 only: statuses per original payment information block. */
  paymentInfos: PaymentInfoStatus[];
  /** pacs.002: TxInfAndSts of the report; pain.002: [] (transactions sit under paymentInfos). */
  transactions: TransactionStatus[];
}

/** Reads OrgnlGrpInf (or the transaction's own Orgnl* elements) into OriginalRefs fields of `out`. */
export function readOriginalRefs(el: XmlElement | undefined, out: OriginalRefs): void {
  const grp = child(el, 'OrgnlGrpInf');
  set(out, 'originalMsgId', textAt(grp, 'OrgnlMsgId'));
  set(out, 'originalMsgNmId', textAt(grp, 'OrgnlMsgNmId'));
  set(out, 'originalCreDtTm', textAt(grp, 'OrgnlCreDtTm'));
  set(out, 'originalInstrId', textAt(el, 'OrgnlInstrId'));
  set(out, 'originalEndToEndId', textAt(el, 'OrgnlEndToEndId'));
  set(out, 'originalTxId', textAt(el, 'OrgnlTxId'));
  set(out, 'originalUetr', textAt(el, 'OrgnlUETR'));
}

function readTransactionStatus(tx: XmlElement): TransactionStatus {
  const out: TransactionStatus = { reasons: readReasons(tx, 'StsRsnInf') };
  set(out, 'statusId', textAt(tx, 'StsId'));
  readOriginalRefs(tx, out);
  set(out, 'status', textAt(tx, 'TxSts'));
  set(out, 'acceptanceDateTime', textAt(tx, 'AccptncDtTm'));
  set(out, 'instructingAgent', readAgent(child(tx, 'InstgAgt')));
  set(out, 'instructedAgent', readAgent(child(tx, 'InstdAgt')));
  const ref = child(tx, 'OrgnlTxRef');
  set(out, 'originalAmount', readAmount(child(ref, 'IntrBkSttlmAmt')) ?? readAmount(child(child(ref, 'Amt'), 'InstdAmt')));
  return out;
}

export function readStatusReport(document: XmlElement, id: MessageId): StatusReport {
  const body = child(document, 'FIToFIPmtStsRpt') ?? child(document, 'CstmrPmtStsRpt');
  const grp = child(body, 'GrpHdr');
  const orig = child(body, 'OrgnlGrpInfAndSts');
  const out: StatusReport = {
    family: id.family === 'pain.002' ? 'pain.002' : 'pacs.002',
    id,
    msgId: textAt(grp, 'MsgId') ?? '',
    creDtTm: textAt(grp, 'CreDtTm') ?? '',
    original: {},
    groupReasons: readReasons(orig, 'StsRsnInf'),
    paymentInfos: childrenNamed(body, 'OrgnlPmtInfAndSts').map((p) => {
      const info: PaymentInfoStatus = {
        originalPmtInfId: textAt(p, 'OrgnlPmtInfId') ?? '',
        reasons: readReasons(p, 'StsRsnInf'),
        transactions: childrenNamed(p, 'TxInfAndSts').map(readTransactionStatus),
      };
      set(info, 'status', textAt(p, 'PmtInfSts'));
      return info;
    }),
    transactions: childrenNamed(body, 'TxInfAndSts').map(readTransactionStatus),
  };
  set(out, 'instructingAgent', readAgent(child(grp, 'InstgAgt')));
  set(out, 'instructedAgent', readAgent(child(grp, 'InstdAgt')));
  set(out.original, 'originalMsgId', textAt(orig, 'OrgnlMsgId'));
  set(out.original, 'originalMsgNmId', textAt(orig, 'OrgnlMsgNmId'));
  set(out.original, 'originalCreDtTm', textAt(orig, 'OrgnlCreDtTm'));
  set(out.original, 'originalNbOfTxs', textAt(orig, 'OrgnlNbOfTxs'));
  set(out.original, 'originalCtrlSum', textAt(orig, 'OrgnlCtrlSum'));
  set(out, 'groupStatus', textAt(orig, 'GrpSts'));
  return out;
}
