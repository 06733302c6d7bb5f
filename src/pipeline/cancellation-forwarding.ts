/**
 * Cancellation requests for payments a downstream system has (PDCR, cancellation.ts). The hub stands in front of
 * that system: it passes the camt.056 on, as it passed the payments, and relays the system's camt.029 to the client.
 *
 *  - The commit that answers the client with PDCR also sends one forwarding message, in the FIFO group of the first
 *    payment pending downstream: the request reaches the system after that payment's own forwarding (a group's
 *    messages go in order), and only once the hub's answer is committed.
 *  - The forwarding stage POSTs the camt.056 as the client sent it (X-Transaction-Id: the request's transaction,
 *    X-Message-Type), at least once, as it does a payment. A refusal (4xx) is recorded in the request's audit
 *    trail; failures and 5xx are retried, then dead-lettered.
 *  - The system's camt.029, in the response (sync mode; optional there) or posted to the inbox later by a client of
 *    `downstream.answerClientIds` with X-Transaction-Id naming the request, is kept with the request (its
 *    downstream message, the latest one) and sent to the requesting client's participant queue (attributes
 *    transaction_id, message_type, status of the request, and source "downstream").
 *  - Each payment is still decided by the system's answer to it (its pacs.002), or by its deadline.
 */
import { MxError } from '../errors.js';
import { parseMessage } from '../iso20022/index.js';
import type { Tx } from '../ports/store.js';
import type { TransactionRecord } from '../ports/transactions.js';
import type { WorkflowContext } from './context.js';
import { forward } from './downstream.js';
import { ack, settled, type Outcome as StageOutcome } from './runner.js';

const isCancellation = (messageType: string | null) => messageType !== null && messageType.startsWith('camt.056.');

/** A camt.029 from the downstream system, read enough to be sure it is one; MESSAGE_UNSUPPORTED otherwise. */
function readResolutionXml(xml: string): { messageType: string; xml: string } {
  const id = parseMessage(xml).documentId;
  if (id?.family !== 'camt.029') throw new MxError('MESSAGE_UNSUPPORTED', `the downstream answer to a cancellation request is a camt.029, not ${id?.id ?? 'a message without a Document'}`);
  return { messageType: id.id, xml };
}

/** Keeps the system's camt.029 with the request and sends it to the requesting client's participant queue. */
async function relay(ctx: WorkflowContext, tx: Tx, request: TransactionRecord, resolution: { messageType: string; xml: string }, queue: string): Promise<void> {
  const now = ctx.deps.clock.now();
  await tx.transactions.putMessage(request.id, { kind: 'downstream', messageType: resolution.messageType, xml: resolution.xml, createdAt: now });
  await tx.queues.send(queue, {
    body: resolution.xml,
    attributes: { transaction_id: request.id, message_type: resolution.messageType, status: request.status, source: 'downstream' },
  });
  await tx.transactions.audit(request.id, 'downstream_resolution', { message_type: resolution.messageType }, now);
}

/**
 * The forwarding stage's handling of a cancellation request: POSTs it downstream and relays an answer given in
 * the response. `within` settles the stage message in the transaction that records the outcome.
 */
export async function forwardCancellation(ctx: WorkflowContext, id: string, within: (tx: Tx) => Promise<boolean>): Promise<StageOutcome> {
  const loaded = await ctx.deps.store.read((tx) => tx.transactions.load(id, 'in'));
  if (!loaded?.message || !isCancellation(loaded.transaction.messageType)) return ack;
  const request = loaded.transaction;
  const result = await forward(ctx.deps.downstream, { transactionId: id, messageType: request.messageType!, xml: loaded.message.xml }, { answerRequired: false });
  let resolution: { messageType: string; xml: string } | null = null;
  let unreadable: string | null = null;
  if (result.kind === 'answered') {
    try {
      resolution = readResolutionXml(result.xml);
    } catch (error) {
      unreadable = error instanceof Error ? error.message : String(error);
    }
  }
  const queue = resolution === null ? null : await ctx.participants.ensure(request.clientId);
  let done = false;
  await ctx.deps.store.transaction(async (tx) => {
    done = await within(tx);
    const now = ctx.deps.clock.now();
    const outcome = result.kind === 'refused' ? { refused: result.status, text: result.text } : unreadable !== null ? { unreadable } : {};
    await tx.transactions.audit(id, 'cancellation_forwarded', { result: result.kind, ...outcome }, now);
    if (resolution !== null) await relay(ctx, tx, request, resolution, queue!);
  });
  if (result.kind === 'refused') ctx.deps.logger.warn({ transactionId: id, status: result.status }, 'the downstream system refused a cancellation request');
  if (unreadable !== null) ctx.deps.logger.warn({ transactionId: id, reason: unreadable }, 'the downstream answer to a cancellation request was not a camt.029');
  return done ? settled : ack;
}

/**
 * A camt.029 posted to the inbox by the downstream system: the resolution of a cancellation request the hub
 * forwarded, named by X-Transaction-Id. Relayed to the requesting client; it changes no status (the payments are
 * decided by their own answers).
 */
export async function applyResolution(
  ctx: WorkflowContext,
  input: { clientId: string; xml: string; messageType: string; transactionId?: string },
): Promise<{ transactionId: string; status: string; applied: boolean }> {
  if (!ctx.deps.downstream.answerClientIds.includes(input.clientId)) {
    throw new MxError('FORBIDDEN', 'this client is not configured to answer for the downstream system (downstream.answerClientIds)');
  }
  const id = input.transactionId;
  if (id === undefined) {
    throw new MxError('ORIGINAL_NOT_FOUND', 'a camt.029 names the cancellation request it answers by X-Transaction-Id, as the hub forwarded it');
  }
  const request = await ctx.deps.store.read((tx) => tx.transactions.get(id));
  if (request === null || !isCancellation(request.messageType)) {
    throw new MxError('ORIGINAL_NOT_FOUND', `no cancellation request ${id} (X-Transaction-Id) was forwarded`);
  }
  const queue = await ctx.participants.ensure(request.clientId);
  await ctx.deps.store.transaction((tx) => relay(ctx, tx, request, { messageType: input.messageType, xml: input.xml }, queue));
  return { transactionId: id, status: request.status, applied: false };
}
