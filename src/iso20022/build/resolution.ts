/**
 * camt.029 (resolution of investigation) answering a camt.056 (cancellation request): the case is resolved as
 * cancelled (CNCL), rejected (RJCR, with a reason such as LEGL, AC04, NOOR) or pending (PDCR).
 */
import type { SplitMessage } from '../message.js';
import { readAgent, readParty } from '../models/common.js';
import { child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';
import { carry } from './carry.js';
import { answerFor, finish, nodesFor, originalDocument, type BuiltMessage, type TransactionAnswer } from './common.js';
import type { ReasonInput } from './nodes.js';
import { answerVersion } from './versions.js';

export interface ResolutionOptions {
  /** Assgnmt/Id of the resolution. */
  assignmentId: string;
  creDtTm: string;
  version?: string;
  /** Sts/Conf: CNCL, RJCR or PDCR (ExternalInvestigationExecutionConfirmation1Code). */
  confirmation: string;
  /** TxCxlSts for every transaction (default: the confirmation). */
  transactionStatus?: string;
  reasons?: ReasonInput[];
  transactions?: readonly TransactionAnswer[];
}

export function buildCamt029(original: SplitMessage, options: ResolutionOptions): BuiltMessage {
  const doc = originalDocument(original, ['camt.056'], 'camt.029');
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
      const answer = answerFor(position++, options.transactions, options.transactionStatus ?? options.confirmation, options.reasons);
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
  const resolution = n.el(
    'RsltnOfInvstgtn',
    n.el('Assgnmt', n.leaf('Id', options.assignmentId), assgnr, assgne, n.leaf('CreDtTm', options.creDtTm)),
    resolved,
    n.el('Sts', n.leaf('Conf', options.confirmation)),
    txs.length > 0 && n.el('CxlDtls', ...txs),
  );
  return finish(id, n, resolution);
}
