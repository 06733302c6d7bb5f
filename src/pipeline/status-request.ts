/**
 * Status requests (pacs.028) of a client, answered by the hub from the payments it holds for that client. The
 * processing stage hands over a request that passed its checks; this module looks up what each of its
 * transactions (TxInf) asks after and answers with a pacs.002 about those payments.
 *
 * Each TxInf names a payment by its references (OrgnlUETR, OrgnlEndToEndId, OrgnlTxId, OrgnlInstrId, OrgnlMsgId,
 * OrgnlMsgNmId; every one given must match), looked for in the client's own pacs.008 and pacs.009 as a
 * cancellation request's are (cancellation.ts), or in its returns (pacs.004) when OrgnlMsgNmId names one. Its TxInfAndSts in the answer gives:
 *
 *   the payment named          TxSts, StsRsnInf                      the request's TxInf
 *   found                      its status now (ACTC, ACSP, ACSC,     ACSC
 *                              RJCT with its reason)
 *   none                       RJCT, AG09 (original payment never    RJCT, AG09
 *                              received)
 *
 * and names the payment as the hub holds it: its message in OrgnlGrpInf (OrgnlMsgId, OrgnlMsgNmId) and its ids.
 * A request with no TxInf asks after the message its OrgnlGrpInf names: the answer gives that message's status in
 * OrgnlGrpInfAndSts (GrpSts: ACTC, ACSP, ACSC, RJCT or PART), or RJCT AG09 when the client has no such message.
 *
 * The request ends ACSC when every TxInf was answered, RJCT (with the first reason) when none was, PART otherwise.
 * It changes nothing but itself: the answer is what the store held when the request was processed, read in one
 * snapshot, and the request's step commits with the acknowledgement of its stage message.
 */
import type { StatusRequest } from '../iso20022/index.js';
import type { ReadTx } from '../ports/store.js';
import type { TransactionRecord } from '../ports/transactions.js';
import { familiesOf, given, MATCHES_MAX, MESSAGE_MATCHES_MAX, pick, refsOf, type RequestInput } from './cancellation.js';
import type { WorkflowContext } from './context.js';
import { prepareFinal } from './finalize.js';
import { outcomeOf, type Outcome, type PaymentOutcome, type StatusAnswer } from './report.js';

/**
 * What a status request may ask after: credit transfers, and returns (pacs.004) when its OrgnlMsgNmId names one
 * (a return shares its original's UETR and end-to-end id: without the name, the transfer is meant).
 */
export const ASKABLE_FAMILIES: readonly string[] = ['pacs.008', 'pacs.009', 'pacs.004'];

/** The ExternalStatusReason1Code for a payment the hub never received: "original payment never received". */
export const UNKNOWN_ORIGINAL = 'AG09';

const unknown = (what: string): StatusAnswer => ({ status: 'RJCT', reasonCode: UNKNOWN_ORIGINAL, reasonText: `no ${what} of this client matches the original references` });

type Transactions = Pick<ReadTx, 'transactions'>['transactions'];

/** What the request's TxInf asks after, answered from the store (found: false with RJCT AG09 when nothing matched). */
async function answerTx(transactions: Transactions, clientId: string, model: StatusRequest, index: number): Promise<{ found: boolean; answer: StatusAnswer }> {
  const match = pick(await transactions.findCancellable({ clientId, ...refsOf(model, index, ASKABLE_FAMILIES) }, MATCHES_MAX));
  const t = match === undefined ? null : await transactions.get(match.transactionId);
  const p = t === null ? undefined : (await transactions.payments(t.id)).find((x) => x.index === match!.index);
  if (t === null || p === undefined) return { found: false, answer: unknown('payment') };
  const answer: StatusAnswer = {
    status: p.status,
    reasonCode: p.reasonCode,
    reasonText: p.reasonText,
    original: {
      ...messageRefs(t),
      ...(p.instrId !== null ? { originalInstrId: p.instrId } : {}),
      ...(p.endToEndId !== null ? { originalEndToEndId: p.endToEndId } : {}),
      ...(p.txId !== null ? { originalTxId: p.txId } : {}),
      ...(p.uetr !== null ? { originalUetr: p.uetr } : {}),
    },
  };
  return { found: true, answer };
}

function messageRefs(t: TransactionRecord): { originalMsgId?: string; originalMsgNmId?: string } {
  return { ...(t.msgId !== null ? { originalMsgId: t.msgId } : {}), ...(t.messageType !== null ? { originalMsgNmId: t.messageType } : {}) };
}

/** A request with no TxInf: the status of the message its OrgnlGrpInf names. */
async function answerMessage(transactions: Transactions, clientId: string, model: StatusRequest): Promise<{ found: boolean; answer: StatusAnswer }> {
  const asked = model.original;
  const refs = { clientId, msgId: asked.originalMsgId!, families: familiesOf(given(asked.originalMsgNmId), ASKABLE_FAMILIES) };
  const match = pick(await transactions.findCancellable(refs, MESSAGE_MATCHES_MAX));
  const t = match === undefined ? null : await transactions.get(match.transactionId);
  if (t === null) {
    const quoted = { originalMsgId: asked.originalMsgId!, ...(asked.originalMsgNmId !== undefined ? { originalMsgNmId: asked.originalMsgNmId } : {}) };
    return { found: false, answer: { ...unknown('message'), original: quoted } };
  }
  return { found: true, answer: { status: t.status, reasonCode: t.reasonCode, reasonText: t.reasonText, original: messageRefs(t) } };
}

/**
 * The request's outcome from what the store holds now (pure but for the reads). A TxInf the processing stage
 * rejected (a rule it broke) stays rejected and is not looked up.
 */
export async function planAnswers(tx: Pick<ReadTx, 'transactions'>, input: { clientId: string; model: StatusRequest; outcomes: readonly PaymentOutcome[] }): Promise<Outcome> {
  const { model } = input;
  if (model.transactions.length === 0) {
    if (given(model.original.originalMsgId) === undefined) {
      return { status: 'RJCT', reasonCode: 'NARR', reasonText: 'the request names no payment (TxInf) and no message (OrgnlGrpInf/OrgnlMsgId)', payments: [] };
    }
    const { found, answer } = await answerMessage(tx.transactions, input.clientId, model);
    return {
      status: found ? 'ACSC' : 'RJCT',
      reasonCode: found ? null : answer.reasonCode,
      reasonText: found ? null : answer.reasonText,
      payments: [],
      groupAnswer: answer,
    };
  }
  const payments: PaymentOutcome[] = [];
  for (const o of input.outcomes) {
    if (o.status === 'RJCT') {
      payments.push(o);
      continue;
    }
    const { found, answer } = await answerTx(tx.transactions, input.clientId, model, o.index);
    payments.push({
      index: o.index,
      status: found ? 'ACSC' : 'RJCT',
      reasonCode: found ? null : answer.reasonCode,
      reasonText: found ? null : answer.reasonText,
      answer,
    });
  }
  return outcomeOf(payments);
}

/**
 * Answers the request and makes it final with its pacs.002, in one store transaction with `within` (the stage's
 * acknowledgement). Returns whether this call made the request final (false: another delivery of its stage
 * message did).
 */
export async function answerStatusRequest(ctx: WorkflowContext, input: RequestInput): Promise<boolean> {
  const model = input.submission.model;
  if (model.family !== 'pacs.028') throw new Error(`assertion failed: a status request is a pacs.028, not ${model.family}`);
  const t = input.transaction;
  const outcome = await ctx.deps.store.read((tx) => planAnswers(tx, { clientId: t.clientId, model, outcomes: input.outcomes }));
  const resolve = await prepareFinal(ctx, { transaction: t, from: 'ACTC', via: 'ACSP', original: input.submission, outcome });
  const made = await ctx.deps.store.transaction(async (tx) => {
    await input.within(tx);
    return resolve(tx);
  }, { untilDurable: false });
  if (made) ctx.forget(t.id);
  return made;
}
