/**
 * The downstream connector: the hub as a proxy in front of an existing payment system. Accepted payments are
 * forwarded (HTTP POST of the original message) and the system's pacs.002 decides their final status, either in
 * the response (sync) or posted back to the inbox later (async), correlated by OrgnlMsgId / OrgnlEndToEndId /
 * OrgnlUETR. Until the answer comes the payment stays ACSP, and the deadline still applies.
 */
import { MxError } from '../errors.js';
import { parseMessage, readStatusReport, type StatusReport } from '../iso20022/index.js';
import type { PaymentRecord } from '../ports/transactions.js';
import type { StageMessage } from './queues.js';

export interface DownstreamConfig {
  url: string | null;
  mode: 'sync' | 'async';
  timeoutMs: number;
  authorization: string | null;
  answerClientIds: readonly string[];
}

export type Decision = NonNullable<StageMessage['decision']>;

/**
 * Statuses that settle a payment as accepted (settlement completed) or rejected. Every other status (ACSP, ACWC,
 * ACWP, ACTC, PDNG, ...) is interim: the payment stays ACSP and waits for the final answer or its deadline.
 */
const ACCEPTED = new Set(['ACSC', 'ACCC']);
const REJECTED = new Set(['RJCT', 'CANC']);

/** Reads a pacs.002 into a decision for the original's payments; null when it holds no final status. */
export function decisionFromReport(report: StatusReport, payments: readonly PaymentRecord[]): Decision | null {
  const perPayment: NonNullable<Decision['payments']> = [];
  for (const tx of report.transactions) {
    const status = tx.status ?? '';
    if (!ACCEPTED.has(status) && !REJECTED.has(status)) continue;
    const payment = payments.find(
      (p) => (tx.originalUetr !== undefined && p.uetr === tx.originalUetr) || (tx.originalEndToEndId !== undefined && p.endToEndId === tx.originalEndToEndId),
    );
    if (!payment) continue;
    const reject = REJECTED.has(status);
    perPayment.push({ index: payment.index, status: reject ? 'RJCT' : 'ACSC', ...(reject ? { reason_code: tx.reasons[0]?.code ?? 'NARR' } : {}) });
  }
  const group = report.groupStatus ?? '';
  const groupReason = report.groupReasons[0];
  if (ACCEPTED.has(group) || REJECTED.has(group)) {
    const reject = REJECTED.has(group);
    return {
      status: reject ? 'RJCT' : 'ACSC',
      ...(reject ? { reason_code: groupReason?.code ?? 'NARR', reason_text: groupReason?.additionalInfo.join(' ').slice(0, 210) || 'rejected downstream' } : {}),
      ...(perPayment.length > 0 ? { payments: perPayment } : {}),
    };
  }
  if (perPayment.length === 0) return null;
  // Without a final group status every payment must have its own.
  if (perPayment.length < payments.filter((p) => p.status !== 'RJCT').length) return null;
  const rejected = perPayment.find((p) => p.status === 'RJCT');
  return { status: perPayment.every((p) => p.status === 'RJCT') ? 'RJCT' : 'ACSC', ...(rejected?.reason_code ? { reason_code: rejected.reason_code } : {}), payments: perPayment };
}

export function readAnswer(xml: string): StatusReport {
  const message = parseMessage(xml);
  if (message.document === undefined || message.documentId?.family !== 'pacs.002') {
    throw new MxError('MESSAGE_UNSUPPORTED', 'the downstream answer is not a pacs.002');
  }
  return readStatusReport(message.document, message.documentId);
}

export type ForwardResult = { kind: 'answered'; xml: string } | { kind: 'accepted' } | { kind: 'refused'; status: number; text: string };

/**
 * Forwards a message downstream. Network failures and 5xx are retryable errors; 4xx is a refusal. In sync mode the
 * answer is in the response: required for a payment (its pacs.002), optional for a cancellation request (its
 * camt.029 may come later, posted to the inbox).
 */
export async function forward(
  config: DownstreamConfig,
  input: { transactionId: string; messageType: string; xml: string },
  options: { answerRequired: boolean } = { answerRequired: true },
): Promise<ForwardResult> {
  if (config.url === null) throw new Error('assertion failed: forward without a downstream url');
  let response: Response;
  try {
    response = await fetch(config.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/xml; charset=utf-8',
        'x-transaction-id': input.transactionId,
        'x-message-type': input.messageType,
        ...(config.authorization ? { authorization: config.authorization } : {}),
      },
      body: input.xml,
      signal: AbortSignal.timeout(config.timeoutMs),
    });
  } catch (cause) {
    throw new MxError('DOWNSTREAM_UNAVAILABLE', `downstream did not answer: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const text = await response.text();
  if (response.status >= 500 || response.status === 429) {
    throw new MxError('DOWNSTREAM_UNAVAILABLE', `downstream answered HTTP ${response.status}`);
  }
  if (response.status >= 400) return { kind: 'refused', status: response.status, text: text.slice(0, 200) };
  if (config.mode === 'sync' && (options.answerRequired || text.trim() !== '')) {
    if (text.trim() === '') throw new MxError('DOWNSTREAM_UNAVAILABLE', 'downstream answered without the pacs.002 that sync mode expects');
    return { kind: 'answered', xml: text };
  }
  return { kind: 'accepted' };
}
