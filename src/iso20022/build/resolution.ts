/**
 * camt.029 (resolution of investigation) answering a camt.056 (cancellation request). Two code lists meet here:
 *  - Sts/Conf, the case as a whole, is external (ExternalInvestigationExecutionConfirmation1Code): CNCL cancelled,
 *    RJCR rejected, PDCR pending, PECR partly executed, ...;
 *  - TxCxlSts, each transaction, is an XSD enumeration (CancellationIndividualStatus1Code): ACCR accepted, RJCR
 *    rejected, PDCR pending, nothing else. CNCL in TxCxlSts makes the message invalid.
 * Reasons (CxlStsRsnInf) come from ExternalPaymentCancellationRejection1Code (ARDT, AGNT, CUST, LEGL, NOOR, ...),
 * not from the status reasons of a pacs.002: a code outside it is refused here, and the caller maps its own first.
 */
import { MxError } from '../../errors.js';
import { CODE_SETS } from '../codes/index.js';
import type { SplitMessage } from '../message.js';
import { readAgent, readParty } from '../models/common.js';
import { child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';
import { carry } from './carry.js';
import { answerFor, finish, nodesFor, originalDocument, type BuiltMessage, type TransactionAnswer } from './common.js';
import type { ReasonInput } from './nodes.js';
import { answerVersion } from './versions.js';

/** TxCxlSts (CancellationIndividualStatus1Code) in every version of camt.029. */
export const CANCELLATION_STATUSES = ['ACCR', 'RJCR', 'PDCR'] as const;
export type CancellationStatus = (typeof CANCELLATION_STATUSES)[number];

/** GrpCxlSts (GroupCancellationStatus1Code): the answer to a request for a whole message. */
export const GROUP_CANCELLATION_STATUSES = ['ACCR', 'RJCR', 'PDCR', 'PACR'] as const;
export type GroupCancellationStatus = (typeof GROUP_CANCELLATION_STATUSES)[number];

/** The TxCxlSts a confirmation stands for when every transaction shares it. */
const STATUS_OF_CONFIRMATION: Readonly<Record<string, CancellationStatus>> = { CNCL: 'ACCR', RJCR: 'RJCR', PDCR: 'PDCR' };

export interface ResolutionOptions {
  /** Assgnmt/Id of the resolution. */
  assignmentId: string;
  creDtTm: string;
  version?: string;
  /** Sts/Conf: CNCL, RJCR, PDCR, PECR, ... (ExternalInvestigationExecutionConfirmation1Code). */
  confirmation: string;
  /** TxCxlSts of every transaction without an answer of its own (default: the one the confirmation stands for). */
  transactionStatus?: CancellationStatus;
  /** CxlStsRsnInf of those transactions. */
  reasons?: ReasonInput[];
  /** Per transaction (0-based over every Undrlyg/TxInf): TxCxlSts and its reasons. */
  transactions?: readonly TransactionAnswer[];
  /**
   * The answer for the original message as a whole (OrgnlGrpInfAndSts with GrpCxlSts), to a request that cancels
   * a whole message (GrpCxl, or no TxInf).
   */
  group?: { status: GroupCancellationStatus; reasons?: ReasonInput[] };
}

/** Whether a code may stand in CxlStsRsnInf/Rsn/Cd (ExternalPaymentCancellationRejection1Code). */
export function isCancellationStatusReason(code: string): boolean {
  return CODE_SETS['payment-cancellation-rejection'].codes.has(code);
}

function checkCodes(options: ResolutionOptions): void {
  const confirmations = CODE_SETS['investigation-execution-confirmation'];
  if (!confirmations.codes.has(options.confirmation)) {
    throw new MxError('BAD_REQUEST', `${options.confirmation} is not an investigation confirmation code (${confirmations.name})`);
  }
  const rejections = CODE_SETS['payment-cancellation-rejection'];
  if (options.group !== undefined && !(GROUP_CANCELLATION_STATUSES as readonly string[]).includes(options.group.status)) {
    throw new MxError('BAD_REQUEST', `${options.group.status} is not a group cancellation status (${GROUP_CANCELLATION_STATUSES.join(', ')})`);
  }
  const answers = [{ status: options.transactionStatus, reasons: options.reasons }, { reasons: options.group?.reasons }, ...(options.transactions ?? [])];
  for (const answer of answers) {
    if (answer.status !== undefined && !(CANCELLATION_STATUSES as readonly string[]).includes(answer.status)) {
      throw new MxError('BAD_REQUEST', `${answer.status} is not a transaction cancellation status (${CANCELLATION_STATUSES.join(', ')})`);
    }
    for (const r of answer.reasons ?? []) {
      if (r.code !== undefined && !isCancellationStatusReason(r.code)) {
        throw new MxError('BAD_REQUEST', `${r.code} is not a cancellation status reason code (${rejections.name})`);
      }
    }
  }
}

export function buildCamt029(original: SplitMessage, options: ResolutionOptions): BuiltMessage {
  const doc = originalDocument(original, ['camt.056'], 'camt.029');
  checkCodes(options);
  const defaultStatus = options.transactionStatus ?? STATUS_OF_CONFIRMATION[options.confirmation];
  const origId = original.documentId!;
  const id = answerVersion(origId, 'camt.029', options.version);
  const n = nodesFor(id);
  const body = doc.children[0]!;
  const assignment = child(body, 'Assgnmt');
  const from = (path: string) => ({ id: origId, path: `FIToFIPmtCxlReq/${path}` });
  const to = (path: string) => ({ id, path: `RsltnOfInvstgtn/${path}` });
  // The answer goes back: the request's assignee assigns the resolution to the request's assigner.
  const caseParty = (name: string) => (src: XmlElement) => {
    const agt = child(src, 'Agt');
    return agt !== undefined ? n.el(name, n.agent('Agt', readAgent(agt))) : n.el(name, n.el('Pty', n.leaf('Nm', readParty(child(src, 'Pty'))?.name)));
  };
  const assgnr = carry(n, child(assignment, 'Assgne'), from('Assgnmt/Assgne'), to('Assgnmt/Assgnr'), 'Assgnr', caseParty('Assgnr'));
  const assgne = carry(n, child(assignment, 'Assgnr'), from('Assgnmt/Assgnr'), to('Assgnmt/Assgne'), 'Assgne', caseParty('Assgne'));
  const caseEl = child(body, 'Case');
  const resolved = carry(n, caseEl, from('Case'), to('RslvdCase'), 'RslvdCase', (c) => {
    const creator = child(c, 'Cretr');
    return n.el('RslvdCase', n.leaf('Id', textAt(c, 'Id')), creator !== undefined && caseParty('Cretr')(creator));
  });
  const txs: XmlElement[] = [];
  let position = 0;
  for (const undrlyg of childrenNamed(body, 'Undrlyg')) {
    const grp = child(undrlyg, 'OrgnlGrpInfAndCxl');
    for (const tx of childrenNamed(undrlyg, 'TxInf')) {
      const answer = answerFor(position++, options.transactions, defaultStatus, options.reasons);
      if (answer === undefined) continue;
      const msgId = textAt(tx, 'OrgnlGrpInf/OrgnlMsgId') ?? textAt(grp, 'OrgnlMsgId');
      const msgNmId = textAt(tx, 'OrgnlGrpInf/OrgnlMsgNmId') ?? textAt(grp, 'OrgnlMsgNmId');
      txs.push(
        n.el(
          'TxInfAndSts',
          n.leaf('CxlStsId', textAt(tx, 'CxlId')),
          msgId !== undefined && msgNmId !== undefined && n.el('OrgnlGrpInf', n.leaf('OrgnlMsgId', msgId), n.leaf('OrgnlMsgNmId', msgNmId)),
          n.leaf('OrgnlInstrId', textAt(tx, 'OrgnlInstrId')),
          n.leaf('OrgnlEndToEndId', textAt(tx, 'OrgnlEndToEndId')),
          n.leaf('OrgnlTxId', textAt(tx, 'OrgnlTxId')),
          n.leaf('OrgnlUETR', textAt(tx, 'OrgnlUETR')),
          n.leaf('TxCxlSts', answer.status),
          ...answer.reasons.map((r) => n.reason('CxlStsRsnInf', r)),
          child(tx, 'OrgnlIntrBkSttlmAmt') !== undefined && n.adopt(child(tx, 'OrgnlIntrBkSttlmAmt')!),
          n.leaf('OrgnlIntrBkSttlmDt', textAt(tx, 'OrgnlIntrBkSttlmDt')),
        ),
      );
    }
  }
  const grp = child(childrenNamed(body, 'Undrlyg')[0], 'OrgnlGrpInfAndCxl');
  const group =
    options.group !== undefined &&
    grp !== undefined &&
    n.el(
      'OrgnlGrpInfAndSts',
      n.leaf('OrgnlGrpCxlId', textAt(grp, 'GrpCxlId')),
      n.leaf('OrgnlMsgId', textAt(grp, 'OrgnlMsgId')),
      n.leaf('OrgnlMsgNmId', textAt(grp, 'OrgnlMsgNmId')),
      n.leaf('OrgnlCreDtTm', textAt(grp, 'OrgnlCreDtTm')),
      n.leaf('OrgnlNbOfTxs', textAt(grp, 'NbOfTxs')),
      n.leaf('OrgnlCtrlSum', textAt(grp, 'CtrlSum')),
      n.leaf('GrpCxlSts', options.group.status),
      ...(options.group.reasons ?? []).map((r) => n.reason('CxlStsRsnInf', r)),
    );
  const resolution = n.el(
    'RsltnOfInvstgtn',
    n.el('Assgnmt', n.leaf('Id', options.assignmentId), assgnr, assgne, n.leaf('CreDtTm', options.creDtTm)),
    resolved,
    n.el('Sts', n.leaf('Conf', options.confirmation)),
    (group || txs.length > 0) && n.el('CxlDtls', group, ...txs),
  );
  return finish(id, n, resolution);
}
