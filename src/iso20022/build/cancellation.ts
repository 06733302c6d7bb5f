/**
 * camt.056 (FI to FI payment cancellation request) for an original pacs.008 or pacs.009: the sender of the original
 * asks its receiver to cancel some or all of its transactions, with a reason from the external cancellation reason
 * code set (DUPL duplicate, CUST requested by the customer, FRAD fraud, TECH technical problem, ...).
 */
import { MxError } from '../../errors.js';
import { CODE_SETS } from '../codes/index.js';
import type { SplitMessage } from '../message.js';
import { readAgent, type Agent } from '../models/common.js';
import { child, textAt, type XmlElement } from '../xml/tree.js';
import { finish, nodesFor, originalDocument, originalTransactions, originalTxIds, type BuiltMessage } from './common.js';
import type { ReasonInput } from './nodes.js';
import { answerVersion } from './versions.js';

export interface CancellationRequestOptions {
  /** Assgnmt/Id of the request. */
  assignmentId: string;
  creDtTm: string;
  /** Version such as '001.10'; default: the one of the original's release. */
  version?: string;
  /** CxlRsnInf of every transaction: `code` from ExternalCancellationReason1Code, or a proprietary reason. */
  reason: ReasonInput;
  /** Case/Id of the investigation, when one is open (its creator is the assigner). */
  caseId?: string;
  /** 0-based positions of the transactions to cancel (default: all). */
  transactions?: readonly number[];
  /** CxlId per cancelled transaction, in the order of `transactions`. */
  cancellationIds?: readonly string[];
  /**
   * Assgnr and Assgne; default: the original's instructing agent asks its instructed agent (or, when the original
   * names neither, its debtor agent asks its creditor agent).
   */
  assigner?: Agent;
  assignee?: Agent;
}

export function buildCamt056(original: SplitMessage, options: CancellationRequestOptions): BuiltMessage {
  const doc = originalDocument(original, ['pacs.008', 'pacs.009'], 'camt.056');
  const code = options.reason.code;
  if (code !== undefined && !CODE_SETS['cancellation-reason'].codes.has(code)) {
    throw new MxError('BAD_REQUEST', `${code} is not a cancellation reason code (${CODE_SETS['cancellation-reason'].name})`);
  }
  if (code === undefined && options.reason.proprietary === undefined) {
    throw new MxError('BAD_REQUEST', 'a cancellation request needs a reason code or a proprietary reason');
  }
  const origId = original.documentId!;
  const id = answerVersion(origId, 'camt.056', options.version);
  const n = nodesFor(id);
  const body = doc.children[0]!;
  const grp = child(body, 'GrpHdr');
  const all = originalTransactions(body, origId.family);
  const first = all[0];
  // Without instructing and instructed agents the original went straight from the debtor's to the creditor's agent.
  const assigner = options.assigner ?? readAgent(child(grp, 'InstgAgt') ?? child(first, 'InstgAgt') ?? child(first, 'DbtrAgt'));
  const assignee = options.assignee ?? readAgent(child(grp, 'InstdAgt') ?? child(first, 'InstdAgt') ?? child(first, 'CdtrAgt'));
  if (assigner === undefined || assignee === undefined) {
    throw new MxError('BAD_REQUEST', `the ${origId.id} names no instructing or instructed agent; give the assigner and assignee`);
  }
  const picked = options.transactions ?? all.map((_tx, i) => i);
  const txs: XmlElement[] = picked.map((index, k) => {
    const tx = all[index];
    if (tx === undefined) throw new Error(`assertion failed: ${origId.id} has no transaction ${index}`);
    const ids = originalTxIds(tx, origId.family, grp);
    return n.el(
      'TxInf',
      n.leaf('CxlId', options.cancellationIds?.[k]),
      n.leaf('OrgnlInstrId', ids.instrId),
      n.leaf('OrgnlEndToEndId', ids.endToEndId),
      n.leaf('OrgnlTxId', ids.txId),
      n.leaf('OrgnlUETR', ids.uetr),
      ids.amount !== undefined && n.adopt(ids.amount, 'OrgnlIntrBkSttlmAmt'),
      n.leaf('OrgnlIntrBkSttlmDt', ids.settlementDate),
      n.reason('CxlRsnInf', options.reason),
    );
  });
  const request = n.el(
    'FIToFIPmtCxlReq',
    n.el(
      'Assgnmt',
      n.leaf('Id', options.assignmentId),
      n.el('Assgnr', n.agent('Agt', assigner)),
      n.el('Assgne', n.agent('Agt', assignee)),
      n.leaf('CreDtTm', options.creDtTm),
    ),
    options.caseId !== undefined && n.el('Case', n.leaf('Id', options.caseId), n.el('Cretr', n.agent('Agt', assigner))),
    n.el(
      'Undrlyg',
      n.el(
        'OrgnlGrpInfAndCxl',
        n.leaf('OrgnlMsgId', textAt(grp, 'MsgId') ?? ''),
        n.leaf('OrgnlMsgNmId', origId.id),
        n.leaf('OrgnlCreDtTm', textAt(grp, 'CreDtTm')),
      ),
      ...txs,
    ),
  );
  return finish(id, n, request);
}
