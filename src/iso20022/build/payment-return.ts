/**
 * pacs.004 (payment return) of a pacs.008: returns some or all of its transactions with a return reason. The
 * return chain is the original's reversed: the original creditor becomes the debtor, and so on.
 */
import type { SplitMessage } from '../message.js';
import { readAmount, type Agent } from '../models/common.js';
import { child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';
import { carry, carryAgent, carryParty } from './carry.js';
import { finish, nodesFor, originalDocument, type BuiltMessage } from './common.js';
import type { ReasonInput } from './nodes.js';
import { answerVersion } from './versions.js';

export interface PaymentReturnOptions {
  msgId: string;
  creDtTm: string;
  version?: string;
  /** IntrBkSttlmDt of the return. */
  settlementDate: string;
  reason: ReasonInput;
  /** 0-based positions of the transactions to return (default: all). */
  transactions?: readonly number[];
  /** RtrId per returned transaction, in the order returned. */
  returnIds?: readonly string[];
  /** Returned amount per position when less than the original IntrBkSttlmAmt (decimal strings). */
  returnedAmounts?: Readonly<Record<number, string>>;
  chargeBearer?: string;
  instructingAgent?: Agent;
  instructedAgent?: Agent;
}

export function buildPacs004(original: SplitMessage, options: PaymentReturnOptions): BuiltMessage {
  const doc = originalDocument(original, ['pacs.008'], 'pacs.004');
  const origId = original.documentId!;
  const id = answerVersion(origId, 'pacs.004', options.version);
  const n = nodesFor(id);
  const body = doc.children[0]!;
  const grp = child(body, 'GrpHdr');
  const from = (path: string) => ({ id: origId, path: `FIToFICstmrCdtTrf/${path}` });
  const to = (path: string) => ({ id, path: `PmtRtr/${path}` });
  const all = childrenNamed(body, 'CdtTrfTxInf');
  const picked = options.transactions ?? all.map((_tx, i) => i);
  const txs: XmlElement[] = picked.map((index, k) => {
    const tx = all[index];
    if (tx === undefined) throw new Error(`assertion failed: pacs.008 has no transaction ${index}`);
    const amount = readAmount(child(tx, 'IntrBkSttlmAmt'))!;
    const returned = { value: options.returnedAmounts?.[index] ?? amount.value, currency: amount.currency };
    const src = (name: string) => from(`CdtTrfTxInf/${name}`);
    const chain = (path: string) => to(`TxInf/RtrChain/${path}`);
    return n.el(
      'TxInf',
      n.leaf('RtrId', options.returnIds?.[k]),
      n.leaf('OrgnlInstrId', textAt(tx, 'PmtId/InstrId')),
      n.leaf('OrgnlEndToEndId', textAt(tx, 'PmtId/EndToEndId')),
      n.leaf('OrgnlTxId', textAt(tx, 'PmtId/TxId')),
      n.leaf('OrgnlUETR', textAt(tx, 'PmtId/UETR')),
      n.amount('OrgnlIntrBkSttlmAmt', amount),
      n.leaf('OrgnlIntrBkSttlmDt', textAt(tx, 'IntrBkSttlmDt') ?? textAt(grp, 'IntrBkSttlmDt')),
      n.amount('RtrdIntrBkSttlmAmt', returned),
      n.leaf('IntrBkSttlmDt', options.settlementDate),
      n.leaf('ChrgBr', options.chargeBearer ?? textAt(tx, 'ChrgBr')),
      n.agent('InstgAgt', options.instructingAgent) ?? carryAgent(n, child(tx, 'InstdAgt'), src('InstdAgt'), to('TxInf/InstgAgt'), 'InstgAgt'),
      n.agent('InstdAgt', options.instructedAgent) ?? carryAgent(n, child(tx, 'InstgAgt'), src('InstgAgt'), to('TxInf/InstdAgt'), 'InstdAgt'),
      n.opt(
        'RtrChain',
        n.opt('Dbtr', carryParty(n, child(tx, 'Cdtr'), src('Cdtr'), chain('Dbtr/Pty'), 'Pty')),
        carryAgent(n, child(tx, 'CdtrAgt'), src('CdtrAgt'), chain('DbtrAgt'), 'DbtrAgt'),
        carryAgent(n, child(tx, 'DbtrAgt'), src('DbtrAgt'), chain('CdtrAgt'), 'CdtrAgt'),
        n.opt('Cdtr', carryParty(n, child(tx, 'Dbtr'), src('Dbtr'), chain('Cdtr/Pty'), 'Pty')),
      ),
      n.reason('RtrRsnInf', options.reason),
    );
  });
  const pmtRtr = n.el(
    'PmtRtr',
    n.el(
      'GrpHdr',
      n.leaf('MsgId', options.msgId),
      n.leaf('CreDtTm', options.creDtTm),
      n.leaf('NbOfTxs', String(txs.length)),
      carry(n, child(grp, 'SttlmInf'), from('GrpHdr/SttlmInf'), to('GrpHdr/SttlmInf'), 'SttlmInf', (s) =>
        n.el('SttlmInf', n.leaf('SttlmMtd', textAt(s, 'SttlmMtd'))),
      ),
    ),
    n.el(
      'OrgnlGrpInf',
      n.leaf('OrgnlMsgId', textAt(grp, 'MsgId') ?? ''),
      n.leaf('OrgnlMsgNmId', origId.id),
      n.leaf('OrgnlCreDtTm', textAt(grp, 'CreDtTm')),
    ),
    ...txs,
  );
  return finish(id, n, pmtRtr);
}
