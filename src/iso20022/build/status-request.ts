/**
 * pacs.028 (FI to FI payment status request) about an original pacs.008, pacs.009 or pacs.004: the sender of the
 * original asks its receiver for the status of the whole message (OrgnlGrpInf alone) or of some of its
 * transactions (one TxInf each, quoting the original's ids, amount and settlement date).
 */
import type { SplitMessage } from '../message.js';
import { readAgent, type Agent } from '../models/common.js';
import { child, textAt, type XmlElement } from '../xml/tree.js';
import { finish, nodesFor, originalDocument, originalTransactions, originalTxIds, type BuiltMessage } from './common.js';
import { answerVersion } from './versions.js';

export interface StatusRequestOptions {
  msgId: string;
  creDtTm: string;
  /** Version such as '001.05'; default: the one of the original's release. */
  version?: string;
  /** 0-based positions of the transactions asked about (default: all); [] asks about the message as a whole. */
  transactions?: readonly number[];
  /** StsReqId per transaction asked about, in the order of `transactions`. */
  statusRequestIds?: readonly string[];
  /** GrpHdr agents; default: the original's instructing and instructed agents (the same direction). */
  instructingAgent?: Agent;
  instructedAgent?: Agent;
}

export function buildPacs028(original: SplitMessage, options: StatusRequestOptions): BuiltMessage {
  const doc = originalDocument(original, ['pacs.008', 'pacs.009', 'pacs.004'], 'pacs.028');
  const origId = original.documentId!;
  const id = answerVersion(origId, 'pacs.028', options.version);
  const n = nodesFor(id);
  const body = doc.children[0]!;
  const grp = child(body, 'GrpHdr');
  const all = originalTransactions(body, origId.family);
  const first = all[0];
  const picked = options.transactions ?? all.map((_tx, i) => i);
  const txs: XmlElement[] = picked.map((index, k) => {
    const tx = all[index];
    if (tx === undefined) throw new Error(`assertion failed: ${origId.id} has no transaction ${index}`);
    const ids = originalTxIds(tx, origId.family, grp);
    return n.el(
      'TxInf',
      n.leaf('StsReqId', options.statusRequestIds?.[k]),
      n.leaf('OrgnlInstrId', ids.instrId),
      n.leaf('OrgnlEndToEndId', ids.endToEndId),
      n.leaf('OrgnlTxId', ids.txId),
      n.leaf('OrgnlUETR', ids.uetr),
      n.opt('OrgnlTxRef', ids.amount !== undefined && n.adopt(ids.amount, 'IntrBkSttlmAmt'), n.leaf('IntrBkSttlmDt', ids.settlementDate)),
    );
  });
  const request = n.el(
    'FIToFIPmtStsReq',
    n.el(
      'GrpHdr',
      n.leaf('MsgId', options.msgId),
      n.leaf('CreDtTm', options.creDtTm),
      n.agent('InstgAgt', options.instructingAgent ?? readAgent(child(grp, 'InstgAgt') ?? child(first, 'InstgAgt'))),
      n.agent('InstdAgt', options.instructedAgent ?? readAgent(child(grp, 'InstdAgt') ?? child(first, 'InstdAgt'))),
    ),
    n.el(
      'OrgnlGrpInf',
      n.leaf('OrgnlMsgId', textAt(grp, 'MsgId') ?? ''),
      n.leaf('OrgnlMsgNmId', origId.id),
      n.leaf('OrgnlCreDtTm', textAt(grp, 'CreDtTm')),
    ),
    ...txs,
  );
  return finish(id, n, request);
}
