/**
 * The status report that answers a transaction's message: pacs.002 for pacs.008/009/004, pain.002 for pain.001,
 * camt.029 for camt.056, built from the original through the message layer's builders (real XML, original ids).
 * A status request (pacs.028) is answered by a pacs.002 about the payments it asks after (status-request.ts), or,
 * when the workflow rejected the request itself, by a pacs.002 that rejects the request.
 *
 * A camt.029 speaks in its own codes: each transaction's TxCxlSts is ACCR, RJCR or PDCR (the cancellation stage
 * decides it, PaymentOutcome.cancellation), Sts/Conf sums them up (CNCL, RJCR, PDCR, PECR), and the reasons of a
 * rejection come from the cancellation rejection list; a workflow reason outside it (FF01 of a schema failure,
 * AB06 of a timeout, AM05 of a duplicate) is given as NARR with the code and its text in AddtlInf.
 */
import {
  buildCamt029,
  buildPacs002,
  buildPain002,
  buildStatusRequestAnswer,
  isCancellationStatusReason,
  toXml,
  type BuiltMessage,
  type CancellationStatus,
  type OriginalRefs,
  type ReasonInput,
  type SplitMessage,
} from '../iso20022/index.js';
import { groupStatus, type PaymentStatus, type TransactionStatus } from '../domain/status.js';

export interface PaymentOutcome {
  index: number;
  status: PaymentStatus;
  reasonCode: string | null;
  reasonText: string | null;
  /**
   * camt.056 only: what became of the cancellation of this transaction (TxCxlSts), as the cancellation stage
   * decided it. Without it a rejected transaction is RJCR and any other PDCR: the report claims nothing undone.
   */
  cancellation?: CancellationStatus;
  /** pacs.028 only: the status of the payment this TxInf asks after, as the hub holds it. */
  answer?: StatusAnswer;
}

/** What a status request is told of a payment or a message: its status now, or RJCT AG09 when the hub has none. */
export interface StatusAnswer {
  status: string;
  reasonCode: string | null;
  reasonText: string | null;
  /** The payment or message as the hub holds it; absent when none matched (the request's references are quoted). */
  original?: OriginalRefs;
}

export interface Outcome {
  /** Group status: ACSC, RJCT, CANC or PART. */
  status: TransactionStatus;
  reasonCode: string | null;
  reasonText: string | null;
  payments: PaymentOutcome[];
  /** The original failed its schema: quote only its ids, not its agents. */
  originalInvalid?: boolean;
  /**
   * camt.056 for a whole message only: what became of the cancellation of that message (GrpCxlSts), with the
   * outcome's reason when rejected.
   */
  groupCancellation?: CancellationStatus;
  /** pacs.028 for a whole message only: the status of that message. */
  groupAnswer?: StatusAnswer;
}

/**
 * A transaction's outcome from its payments' outcomes: the group status (ACSC or RJCT when all agree, PART
 * otherwise), with the first rejection's reason when it is RJCT.
 */
export function outcomeOf(payments: PaymentOutcome[]): Outcome {
  const status = groupStatus(payments.map((p) => p.status));
  const rejected = payments.find((p) => p.status === 'RJCT');
  return {
    status,
    reasonCode: status === 'RJCT' ? (rejected?.reasonCode ?? 'NARR') : null,
    reasonText: status === 'RJCT' ? (rejected?.reasonText ?? null) : null,
    payments,
  };
}

const reasons = (code: string | null, text: string | null) =>
  code === null ? [] : [{ code, ...(text ? { additionalInfo: splitText(text) } : {}) }];

/** AddtlInf lines are at most 105 characters; keep two lines. */
function splitText(text: string): string[] {
  const lines: string[] = [];
  for (let i = 0; i < text.length && lines.length < 2; i += 105) lines.push(text.slice(i, i + 105));
  return lines;
}

function cancellationStatus(p: PaymentOutcome): CancellationStatus {
  return p.cancellation ?? (p.status === 'RJCT' || p.status === 'CANC' ? 'RJCR' : 'PDCR');
}

/** CxlStsRsnInf: the code when the cancellation rejection list has it, else NARR with the code in the text. */
function cancellationReasons(status: CancellationStatus, code: string | null, text: string | null): ReasonInput[] {
  if (status === 'ACCR') return [];
  if (code === null) return text ? [{ additionalInfo: splitText(text) }] : [];
  if (isCancellationStatusReason(code)) return reasons(code, text);
  return [{ code: 'NARR', additionalInfo: splitText(text ? `${code} ${text}` : code) }];
}

/** Sts/Conf of the case from its transactions' statuses (the group status when it has none). */
function confirmation(statuses: readonly CancellationStatus[], group: TransactionStatus): string {
  if (statuses.length === 0) return group === 'RJCT' || group === 'CANC' ? 'RJCR' : 'PDCR';
  if (statuses.every((s) => s === 'ACCR')) return 'CNCL';
  if (statuses.every((s) => s === 'RJCR')) return 'RJCR';
  return statuses.includes('PDCR') ? 'PDCR' : 'PECR';
}

/**
 * A status request's answers: the statuses it asked after; or, when the workflow rejected the request itself (no
 * answer was looked up: schema, rules of the whole message, timeout), the request rejected with its reason. A TxInf
 * that a rule rejected while others were answered is RJCT with that rule's reason, said to be the request's.
 */
function statusRequestAnswers(outcome: Outcome, groupReasons: ReasonInput[]) {
  const answer = (a: StatusAnswer) => ({ status: a.status, reasons: reasons(a.reasonCode, a.reasonText), ...(a.original ? { original: a.original } : {}) });
  if (outcome.groupAnswer === undefined && !outcome.payments.some((p) => p.answer !== undefined)) {
    return { group: { status: 'RJCT', reasons: groupReasons } };
  }
  return {
    ...(outcome.groupAnswer ? { group: answer(outcome.groupAnswer) } : {}),
    transactions: outcome.payments.map((p) =>
      p.answer
        ? { index: p.index, ...answer(p.answer) }
        : { index: p.index, status: 'RJCT', reasons: reasons(p.reasonCode, `status request rejected: ${p.reasonText ?? ''}`) },
    ),
  };
}

export function buildReport(original: SplitMessage, outcome: Outcome, ids: { msgId: string; now: number }): { messageType: string; xml: string } {
  const family = original.documentId?.family;
  const creDtTm = new Date(ids.now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const transactions = outcome.payments.map((p) => ({ index: p.index, status: p.status, reasons: reasons(p.reasonCode, p.reasonText) }));
  const groupReasons = outcome.status === 'RJCT' || outcome.status === 'CANC' ? reasons(outcome.reasonCode, outcome.reasonText) : [];
  const agents = outcome.originalInvalid ? { instructingAgent: null, instructedAgent: null } : {};
  let built: BuiltMessage;
  if (family === 'pain.001') {
    built = buildPain002(original, { msgId: ids.msgId, creDtTm, groupStatus: outcome.status, groupReasons, transactions, ...agents });
  } else if (family === 'camt.056') {
    const answers = outcome.payments.map((p) => {
      const status = cancellationStatus(p);
      return { index: p.index, status, reasons: cancellationReasons(status, p.reasonCode, p.reasonText) };
    });
    // A request for a whole message has no transaction to answer: the message is answered (GrpCxlSts), also when
    // the workflow rejected the request itself (schema, timeout).
    const rejected = outcome.status === 'RJCT' || outcome.status === 'CANC';
    const group = outcome.groupCancellation ?? (outcome.payments.length === 0 && rejected ? 'RJCR' : undefined);
    built = buildCamt029(original, {
      assignmentId: ids.msgId,
      creDtTm,
      confirmation: confirmation(group !== undefined ? [group] : answers.map((a) => a.status), outcome.status),
      transactionStatus: rejected ? 'RJCR' : 'PDCR',
      reasons: cancellationReasons('RJCR', outcome.reasonCode, outcome.reasonText),
      transactions: answers,
      ...(group !== undefined ? { group: { status: group, reasons: cancellationReasons(group, outcome.reasonCode, outcome.reasonText) } } : {}),
    });
  } else if (family === 'pacs.028') {
    built = buildStatusRequestAnswer(original, { msgId: ids.msgId, creDtTm, ...statusRequestAnswers(outcome, groupReasons), ...agents });
  } else {
    built = buildPacs002(original, { msgId: ids.msgId, creDtTm, groupStatus: outcome.status, groupReasons, transactions, ...agents });
  }
  return { messageType: built.id.id, xml: toXml(built) };
}
