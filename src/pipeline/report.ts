/**
 * The status report that answers a transaction's message: pacs.002 for pacs.008/009/004, pain.002 for pain.001,
 * camt.029 for camt.056, built from the original through the message layer's builders (real XML, original ids).
 */
import { buildCamt029, buildPacs002, buildPain002, toXml, type BuiltMessage, type SplitMessage } from '../iso20022/index.js';
import type { PaymentStatus, TransactionStatus } from '../domain/status.js';

export interface PaymentOutcome {
  index: number;
  status: PaymentStatus;
  reasonCode: string | null;
  reasonText: string | null;
}

export interface Outcome {
  /** Group status: ACSC, RJCT, CANC or PART. */
  status: TransactionStatus;
  reasonCode: string | null;
  reasonText: string | null;
  payments: PaymentOutcome[];
  /** The original failed its schema: quote only its ids, not its agents. */
  originalInvalid?: boolean;
}

const reasons = (code: string | null, text: string | null) =>
  code === null ? [] : [{ code, ...(text ? { additionalInfo: splitText(text) } : {}) }];

/** AddtlInf lines are at most 105 characters; keep two lines. */
function splitText(text: string): string[] {
  const lines: string[] = [];
  for (let i = 0; i < text.length && lines.length < 2; i += 105) lines.push(text.slice(i, i + 105));
  return lines;
}

/** camt.029 speaks of cancellations: a cancelled (ACSC) request is CNCL, a rejected one RJCR. */
const resolution = (status: string) => (status === 'RJCT' || status === 'CANC' ? 'RJCR' : 'CNCL');

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
    built = buildCamt029(original, {
      assignmentId: ids.msgId,
      creDtTm,
      confirmation: resolution(outcome.status),
      reasons: reasons(outcome.reasonCode, outcome.reasonText),
      transactions: outcome.payments.map((p) => ({ index: p.index, status: resolution(p.status), reasons: reasons(p.reasonCode, p.reasonText) })),
    });
  } else {
    built = buildPacs002(original, { msgId: ids.msgId, creDtTm, groupStatus: outcome.status, groupReasons, transactions, ...agents });
  }
  return { messageType: built.id.id, xml: toXml(built) };
}
