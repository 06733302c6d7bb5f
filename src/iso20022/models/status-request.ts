/** Typed view of a payment status request (pacs.028 FIToFIPmtStsReq). */
import { child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';
import type { MessageId } from '../identify.js';
import { readAgent, readAmount, set, type Agent, type Amount } from './common.js';
import { readOriginalRefs, type OriginalRefs } from './status.js';

export interface StatusRequestTx extends OriginalRefs {
  statusRequestId?: string;
  instructingAgent?: Agent;
  instructedAgent?: Agent;
  originalAmount?: Amount;
}

export interface StatusRequest {
  family: 'pacs.028';
  id: MessageId;
  msgId: string;
  creDtTm: string;
  instructingAgent?: Agent;
  instructedAgent?: Agent;
  original: OriginalRefs;
  transactions: StatusRequestTx[];
}

export function readStatusRequest(document: XmlElement, id: MessageId): StatusRequest {
  const body = child(document, 'FIToFIPmtStsReq');
  const grp = child(body, 'GrpHdr');
  const orig = child(body, 'OrgnlGrpInf');
  const original: OriginalRefs = {};
  set(original, 'originalMsgId', textAt(orig, 'OrgnlMsgId'));
  set(original, 'originalMsgNmId', textAt(orig, 'OrgnlMsgNmId'));
  set(original, 'originalCreDtTm', textAt(orig, 'OrgnlCreDtTm'));
  const out: StatusRequest = {
    family: 'pacs.028',
    id,
    msgId: textAt(grp, 'MsgId') ?? '',
    creDtTm: textAt(grp, 'CreDtTm') ?? '',
    original,
    transactions: childrenNamed(body, 'TxInf').map((tx) => {
      const t: StatusRequestTx = {};
      set(t, 'statusRequestId', textAt(tx, 'StsReqId'));
      readOriginalRefs(tx, t);
      set(t, 'instructingAgent', readAgent(child(tx, 'InstgAgt')));
      set(t, 'instructedAgent', readAgent(child(tx, 'InstdAgt')));
      set(t, 'originalAmount', readAmount(child(child(tx, 'OrgnlTxRef'), 'IntrBkSttlmAmt')));
      return t;
    }),
  };
  set(out, 'instructingAgent', readAgent(child(grp, 'InstgAgt')));
  set(out, 'instructedAgent', readAgent(child(grp, 'InstdAgt')));
  return out;
}
