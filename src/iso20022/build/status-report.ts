/**
 * Status reports built from the message they answer: pacs.002 from a pacs.008, pacs.009 or pacs.004, and pain.002
 * from a pain.001. The report quotes the original's ids (OrgnlMsgId, OrgnlMsgNmId, OrgnlInstrId, OrgnlEndToEndId,
 * OrgnlTxId, OrgnlUETR) and gives a group status, transaction statuses, or both, with reason codes and texts.
 *
 * A status request (pacs.028) is answered by a pacs.002 about the payments it asks after, not about itself: each
 * TxInfAndSts names its payment's message in its own OrgnlGrpInf (buildStatusRequestAnswer).
 */
import { assert } from '../../errors.js';
import type { SplitMessage } from '../message.js';
import { readAgent, type Agent } from '../models/common.js';
import { readOriginalRefs, type OriginalRefs } from '../models/status.js';
import { child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';
import {
  answerFor,
  finish,
  nodesFor,
  originalDocument,
  originalTransactions,
  originalTxIds,
  type BuiltMessage,
  type TransactionAnswer,
} from './common.js';
import { typeAt, allowsChild } from './order.js';
import type { ReasonInput } from './nodes.js';
import { answerVersion } from './versions.js';

export interface StatusReportOptions {
  msgId: string;
  creDtTm: string;
  /** Version of the report ('001.12'); default: the one of the original's release. */
  version?: string;
  groupStatus?: string;
  groupReasons?: ReasonInput[];
  /** Status given to every transaction of the original (unless `transactions` names it). */
  transactionStatus?: string;
  transactionReasons?: ReasonInput[];
  transactions?: readonly TransactionAnswer[];
  acceptanceDateTime?: string;
  /**
   * GrpHdr agents of the report; default: the original's instructed and instructing agents, swapped. null leaves
   * them out (for an original that failed its schema, whose agents cannot be quoted safely).
   */
  instructingAgent?: Agent | null;
  instructedAgent?: Agent | null;
}

/** pacs.002 answering a pacs.008, pacs.009 or pacs.004. */
export function buildPacs002(original: SplitMessage, options: StatusReportOptions): BuiltMessage {
  const doc = originalDocument(original, ['pacs.008', 'pacs.009', 'pacs.004'], 'pacs.002');
  requireSomeStatus(options);
  const origId = original.documentId!;
  const id = answerVersion(origId, 'pacs.002', options.version);
  const n = nodesFor(id);
  const body = doc.children[0]!;
  const grp = child(body, 'GrpHdr');
  const txs = originalTransactions(body, origId.family);
  const firstTx = txs[0];
  const instg = options.instructingAgent === null ? undefined : (options.instructingAgent ?? readAgent(child(grp, 'InstdAgt') ?? child(firstTx, 'InstdAgt')));
  const instd = options.instructedAgent === null ? undefined : (options.instructedAgent ?? readAgent(child(grp, 'InstgAgt') ?? child(firstTx, 'InstgAgt')));
  const txType = typeAt(id.id, 'FIToFIPmtStsRpt/TxInfAndSts');
  const statusTxs: XmlElement[] = [];
  txs.forEach((tx, i) => {
    const answer = answerFor(i, options.transactions, options.transactionStatus, options.transactionReasons);
    if (answer === undefined) return;
    const ids = originalTxIds(tx, origId.family, grp);
    statusTxs.push(
      n.el(
        'TxInfAndSts',
        n.leaf('OrgnlInstrId', ids.instrId),
        n.leaf('OrgnlEndToEndId', ids.endToEndId),
        n.leaf('OrgnlTxId', ids.txId),
        n.leaf('OrgnlUETR', ids.uetr),
        n.leaf('TxSts', answer.status),
        ...answer.reasons.map((r) => n.reason('StsRsnInf', r)),
        allowsChild(txType, 'AccptncDtTm') && n.leaf('AccptncDtTm', options.acceptanceDateTime),
      ),
    );
  });
  const report = n.el(
    'FIToFIPmtStsRpt',
    n.el('GrpHdr', n.leaf('MsgId', options.msgId), n.leaf('CreDtTm', options.creDtTm), n.agent('InstgAgt', instg), n.agent('InstdAgt', instd)),
    n.el(
      'OrgnlGrpInfAndSts',
      n.leaf('OrgnlMsgId', textAt(grp, 'MsgId') ?? ''),
      n.leaf('OrgnlMsgNmId', origId.id),
      n.leaf('OrgnlCreDtTm', textAt(grp, 'CreDtTm')),
      n.leaf('GrpSts', options.groupStatus),
      ...(options.groupReasons ?? []).map((r) => n.reason('StsRsnInf', r)),
    ),
    ...statusTxs,
  );
  return finish(id, n, report);
}

/** One payment a status request asks after, with the status the answer gives it. */
export interface RequestedStatus {
  /** 0-based position of the request's TxInf. */
  index: number;
  status: string;
  reasons?: ReasonInput[];
  /** The payment as the answering party holds it; absent: the references the request gave are quoted. */
  original?: OriginalRefs;
}

export interface StatusRequestAnswerOptions {
  msgId: string;
  creDtTm: string;
  /** Version of the report ('001.12'); default: the one of the request's release. */
  version?: string;
  /**
   * A status for a whole message (OrgnlGrpInfAndSts): the message `original` names, or, without it, the request
   * itself (a request rejected whole).
   */
  group?: { status: string; reasons?: ReasonInput[]; original?: Pick<OriginalRefs, 'originalMsgId' | 'originalMsgNmId' | 'originalCreDtTm'> };
  transactions?: readonly RequestedStatus[];
  /** As for buildPacs002: default the request's agents, swapped; null leaves them out. */
  instructingAgent?: Agent | null;
  instructedAgent?: Agent | null;
}

/** pacs.002 answering a status request (pacs.028): the status of each payment it asks after, or of a message. */
export function buildStatusRequestAnswer(request: SplitMessage, options: StatusRequestAnswerOptions): BuiltMessage {
  const doc = originalDocument(request, ['pacs.028'], 'pacs.002');
  assert(options.group !== undefined || (options.transactions?.length ?? 0) > 0, 'an answer to a status request needs a group status or transaction statuses');
  const reqId = request.documentId!;
  const id = answerVersion(reqId, 'pacs.002', options.version);
  const n = nodesFor(id);
  const body = doc.children[0]!;
  const grp = child(body, 'GrpHdr');
  const txs = childrenNamed(body, 'TxInf');
  const asked: OriginalRefs = {};
  readOriginalRefs(body, asked);
  const instg = options.instructingAgent === null ? undefined : (options.instructingAgent ?? readAgent(child(grp, 'InstdAgt') ?? child(txs[0], 'InstdAgt')));
  const instd = options.instructedAgent === null ? undefined : (options.instructedAgent ?? readAgent(child(grp, 'InstgAgt') ?? child(txs[0], 'InstgAgt')));
  // OriginalGroupInformation29 needs both the id and the name of the message.
  const groupInfo = (refs: OriginalRefs) =>
    refs.originalMsgId !== undefined && refs.originalMsgNmId !== undefined
      ? n.el('OrgnlGrpInf', n.leaf('OrgnlMsgId', refs.originalMsgId), n.leaf('OrgnlMsgNmId', refs.originalMsgNmId), n.leaf('OrgnlCreDtTm', refs.originalCreDtTm))
      : undefined;
  const statusTxs = (options.transactions ?? []).map((answer) => {
    let refs = answer.original;
    if (refs === undefined) {
      const tx = txs[answer.index];
      assert(tx !== undefined, `the request has no TxInf at position ${answer.index}`);
      refs = {};
      readOriginalRefs(tx, refs);
      if (refs.originalMsgId === undefined) Object.assign(refs, { originalMsgId: asked.originalMsgId, originalMsgNmId: asked.originalMsgNmId, originalCreDtTm: asked.originalCreDtTm });
    }
    return n.el(
      'TxInfAndSts',
      groupInfo(refs),
      n.leaf('OrgnlInstrId', refs.originalInstrId),
      n.leaf('OrgnlEndToEndId', refs.originalEndToEndId),
      n.leaf('OrgnlTxId', refs.originalTxId),
      n.leaf('OrgnlUETR', refs.originalUetr),
      n.leaf('TxSts', answer.status),
      ...(answer.reasons ?? []).map((r) => n.reason('StsRsnInf', r)),
    );
  });
  const group = options.group;
  const quoted = group?.original ?? { originalMsgId: textAt(grp, 'MsgId') ?? '', originalMsgNmId: reqId.id, originalCreDtTm: textAt(grp, 'CreDtTm') };
  const report = n.el(
    'FIToFIPmtStsRpt',
    n.el('GrpHdr', n.leaf('MsgId', options.msgId), n.leaf('CreDtTm', options.creDtTm), n.agent('InstgAgt', instg), n.agent('InstdAgt', instd)),
    group &&
      n.el(
        'OrgnlGrpInfAndSts',
        n.leaf('OrgnlMsgId', quoted.originalMsgId ?? ''),
        n.leaf('OrgnlMsgNmId', quoted.originalMsgNmId ?? ''),
        n.leaf('OrgnlCreDtTm', quoted.originalCreDtTm),
        n.leaf('GrpSts', group.status),
        ...(group.reasons ?? []).map((r) => n.reason('StsRsnInf', r)),
      ),
    ...statusTxs,
  );
  return finish(id, n, report);
}

export interface PaymentInfoAnswer {
  /** 0-based position of the PmtInf block in the original. */
  index: number;
  status: string;
  reasons?: ReasonInput[];
}

export interface CustomerStatusReportOptions extends StatusReportOptions {
  paymentInfos?: readonly PaymentInfoAnswer[];
}

/** pain.002 answering a pain.001. Transaction positions count across all PmtInf blocks, in document order. */
export function buildPain002(original: SplitMessage, options: CustomerStatusReportOptions): BuiltMessage {
  const doc = originalDocument(original, ['pain.001'], 'pain.002');
  if (options.groupStatus === undefined && options.paymentInfos === undefined) requireSomeStatus(options);
  const origId = original.documentId!;
  const id = answerVersion(origId, 'pain.002', options.version);
  const n = nodesFor(id);
  const body = doc.children[0]!;
  const grp = child(body, 'GrpHdr');
  const txType = typeAt(id.id, 'CstmrPmtStsRpt/OrgnlPmtInfAndSts/TxInfAndSts');
  let position = 0;
  const infos: XmlElement[] = [];
  childrenNamed(body, 'PmtInf').forEach((pmtInf, p) => {
    const infoAnswer = options.paymentInfos?.find((a) => a.index === p);
    const txs: XmlElement[] = [];
    for (const tx of childrenNamed(pmtInf, 'CdtTrfTxInf')) {
      const answer = answerFor(position++, options.transactions, options.transactionStatus, options.transactionReasons);
      if (answer === undefined) continue;
      txs.push(
        n.el(
          'TxInfAndSts',
          n.leaf('OrgnlInstrId', textAt(tx, 'PmtId/InstrId')),
          n.leaf('OrgnlEndToEndId', textAt(tx, 'PmtId/EndToEndId')),
          allowsChild(txType, 'OrgnlUETR') && n.leaf('OrgnlUETR', textAt(tx, 'PmtId/UETR')),
          n.leaf('TxSts', answer.status),
          ...answer.reasons.map((r) => n.reason('StsRsnInf', r)),
          n.leaf('AccptncDtTm', options.acceptanceDateTime),
        ),
      );
    }
    if (infoAnswer === undefined && txs.length === 0) return;
    infos.push(
      n.el(
        'OrgnlPmtInfAndSts',
        n.leaf('OrgnlPmtInfId', textAt(pmtInf, 'PmtInfId') ?? ''),
        n.leaf('PmtInfSts', infoAnswer?.status),
        ...(infoAnswer?.reasons ?? []).map((r) => n.reason('StsRsnInf', r)),
        ...txs,
      ),
    );
  });
  const report = n.el(
    'CstmrPmtStsRpt',
    n.el('GrpHdr', n.leaf('MsgId', options.msgId), n.leaf('CreDtTm', options.creDtTm)),
    n.el(
      'OrgnlGrpInfAndSts',
      n.leaf('OrgnlMsgId', textAt(grp, 'MsgId') ?? ''),
      n.leaf('OrgnlMsgNmId', origId.id),
      n.leaf('OrgnlCreDtTm', textAt(grp, 'CreDtTm')),
      n.leaf('OrgnlNbOfTxs', textAt(grp, 'NbOfTxs')),
      n.leaf('OrgnlCtrlSum', textAt(grp, 'CtrlSum')),
      n.leaf('GrpSts', options.groupStatus),
      ...(options.groupReasons ?? []).map((r) => n.reason('StsRsnInf', r)),
    ),
    ...infos,
  );
  return finish(id, n, report);
}

function requireSomeStatus(options: StatusReportOptions): void {
  assert(
    options.groupStatus !== undefined || options.transactionStatus !== undefined || (options.transactions?.length ?? 0) > 0,
    'a status report needs a group status or transaction statuses',
  );
}
