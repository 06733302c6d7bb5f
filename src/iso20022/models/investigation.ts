/**
 * Typed views of the cancellation exchange: the request (camt.056 FIToFIPmtCxlReq) and its resolution
 * (camt.029 RsltnOfInvstgtn).
 */
import { child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';
import type { MessageId } from '../identify.js';
import { readAgent, readAmount, readParty, readReasons, set, type Agent, type Amount, type Party, type Reason } from './common.js';
import { readOriginalRefs, type OriginalRefs } from './status.js';

/** Assgnr / Assgne: an agent (Agt) or a party (Pty). */
export interface CaseParty {
  agent?: Agent;
  party?: Party;
}

export interface Assignment {
  id: string;
  assigner?: CaseParty;
  assignee?: CaseParty;
  creDtTm: string;
}

export interface CancellationTx extends OriginalRefs {
  cancellationId?: string;
  caseId?: string;
  originalAmount?: Amount;
  originalSettlementDate?: string;
  reasons: Reason[];
}

export interface CancellationRequest {
  family: 'camt.056';
  id: MessageId;
  assignment: Assignment;
  caseId?: string;
  /** OrgnlGrpInfAndCxl of the first Undrlyg. */
  original: OriginalRefs;
  /** Its GrpCxl: true asks to cancel the whole original message, false only the transactions named. */
  groupCancellation?: boolean;
  /** Its GrpCxlId. */
  groupCancellationId?: string;
  transactions: CancellationTx[];
}

export interface CancellationStatusTx extends OriginalRefs {
  cancellationStatusId?: string;
  status?: string;
  reasons: Reason[];
  originalAmount?: Amount;
}

export interface InvestigationResolution {
  family: 'camt.029';
  id: MessageId;
  assignment: Assignment;
  resolvedCaseId?: string;
  /** Sts/Conf: CNCL, RJCR, PDCR, ... */
  confirmation?: string;
  original: OriginalRefs & { groupCancellationId?: string; groupCancellationStatus?: string; groupReasons?: Reason[] };
  transactions: CancellationStatusTx[];
}

function readCaseParty(el: XmlElement | undefined): CaseParty | undefined {
  if (el === undefined) return undefined;
  const out: CaseParty = {};
  // camt.056 v08+ carries agents directly (FinInstnId); older shapes wrap them in Agt or Pty.
  set(out, 'agent', readAgent(child(el, 'Agt')) ?? readAgent(el));
  set(out, 'party', readParty(child(el, 'Pty')));
  return out;
}

export function readAssignment(el: XmlElement | undefined): Assignment {
  const out: Assignment = { id: textAt(el, 'Id') ?? '', creDtTm: textAt(el, 'CreDtTm') ?? '' };
  set(out, 'assigner', readCaseParty(child(el, 'Assgnr')));
  set(out, 'assignee', readCaseParty(child(el, 'Assgne')));
  return out;
}

export function readCancellationRequest(document: XmlElement, id: MessageId): CancellationRequest {
  const body = child(document, 'FIToFIPmtCxlReq');
  const undrlyg = childrenNamed(body, 'Undrlyg');
  const orig = child(undrlyg[0], 'OrgnlGrpInfAndCxl');
  const original: OriginalRefs = {};
  set(original, 'originalMsgId', textAt(orig, 'OrgnlMsgId'));
  set(original, 'originalMsgNmId', textAt(orig, 'OrgnlMsgNmId'));
  set(original, 'originalCreDtTm', textAt(orig, 'OrgnlCreDtTm'));
  const out: CancellationRequest = {
    family: 'camt.056',
    id,
    assignment: readAssignment(child(body, 'Assgnmt')),
    original,
    transactions: undrlyg.flatMap((u) =>
      childrenNamed(u, 'TxInf').map((tx) => {
        const t: CancellationTx = { reasons: readReasons(tx, 'CxlRsnInf') };
        set(t, 'cancellationId', textAt(tx, 'CxlId'));
        set(t, 'caseId', textAt(tx, 'Case/Id'));
        readOriginalRefs(tx, t);
        set(t, 'originalAmount', readAmount(child(tx, 'OrgnlIntrBkSttlmAmt')));
        set(t, 'originalSettlementDate', textAt(tx, 'OrgnlIntrBkSttlmDt'));
        return t;
      }),
    ),
  };
  set(out, 'caseId', textAt(body, 'Case/Id'));
  const groupCancellation = textAt(orig, 'GrpCxl');
  if (groupCancellation !== undefined) out.groupCancellation = groupCancellation === 'true' || groupCancellation === '1';
  set(out, 'groupCancellationId', textAt(orig, 'GrpCxlId'));
  return out;
}

export function readResolution(document: XmlElement, id: MessageId): InvestigationResolution {
  const body = child(document, 'RsltnOfInvstgtn');
  const details = childrenNamed(body, 'CxlDtls');
  const orig = child(details[0], 'OrgnlGrpInfAndSts');
  const original: InvestigationResolution['original'] = {};
  set(original, 'originalMsgId', textAt(orig, 'OrgnlMsgId'));
  set(original, 'originalMsgNmId', textAt(orig, 'OrgnlMsgNmId'));
  set(original, 'originalCreDtTm', textAt(orig, 'OrgnlCreDtTm'));
  set(original, 'groupCancellationId', textAt(orig, 'OrgnlGrpCxlId'));
  set(original, 'groupCancellationStatus', textAt(orig, 'GrpCxlSts'));
  const groupReasons = readReasons(orig, 'CxlStsRsnInf');
  if (groupReasons.length > 0) original.groupReasons = groupReasons;
  const out: InvestigationResolution = {
    family: 'camt.029',
    id,
    assignment: readAssignment(child(body, 'Assgnmt')),
    original,
    transactions: details.flatMap((d) =>
      childrenNamed(d, 'TxInfAndSts').map((tx) => {
        const t: CancellationStatusTx = { reasons: readReasons(tx, 'CxlStsRsnInf') };
        set(t, 'cancellationStatusId', textAt(tx, 'CxlStsId'));
        readOriginalRefs(tx, t);
        set(t, 'status', textAt(tx, 'TxCxlSts'));
        set(t, 'originalAmount', readAmount(child(tx, 'OrgnlIntrBkSttlmAmt')));
        return t;
      }),
    ),
  };
  set(out, 'resolvedCaseId', textAt(body, 'RslvdCase/Id'));
  set(out, 'confirmation', textAt(body, 'Sts/Conf'));
  return out;
}
