/**
 * Cancellation requests (camt.056) of a client, decided by the hub against the payments it holds for that client.
 * The processing stage hands over a request that passed its checks; this module decides each of its transactions
 * (TxInf), stops the payments it can, and answers with the camt.029.
 *
 * Each TxInf names a payment by its references (OrgnlUETR, OrgnlEndToEndId, OrgnlTxId, OrgnlInstrId, OrgnlMsgId,
 * OrgnlMsgNmId; every one given must match), looked for in the client's own pacs.008 and pacs.009:
 *
 *   the payment named                               TxCxlSts  CxlStsRsnInf  the payment
 *   none                                            RJCR      NOOR          -
 *   rejected or cancelled already (RJCT, CANC)      RJCR      NARR          as it is (the list has no code for
 *                                                                           it: ARDT is "already returned")
 *   settled already (ACSC)                          RJCR      AGNT          as it is (a return, pacs.004, brings
 *                                                                           the money back; not the hub's call)
 *   in flight in the hub: ACTC, or ACSP with no     ACCR      -             RJCT with CUST, and its status report
 *     downstream system
 *   ACSP with a downstream system                   PDCR      -             as it is: the downstream system has it,
 *                                                                           or the forwarding stage may be sending
 *                                                                           it now; its answer decides the payment,
 *                                                                           and the request is forwarded to it
 *                                                                           (cancellation-forwarding.ts)
 *   in flight, but other payments of its message    RJCR      AGNT          as it is: a message in flight is
 *     not named                                                             stopped whole or not at all
 *
 * A request with no TxInf whose OrgnlGrpInfAndCxl does not say GrpCxl false asks to cancel the whole message it
 * names (OrgnlMsgId, OrgnlMsgNmId), among the client's own pacs.008 and pacs.009. It is decided as one payment that
 * names every payment of that message, and answered for the message (GrpCxlSts, with the reason of a rejection):
 * RJCR NOOR when no message matches, RJCR NARR when it is rejected already, RJCR AGNT when any of its payments is
 * settled, PDCR while a downstream system has it, ACCR when it is still in the hub (every payment it has in flight
 * becomes RJCT with CUST).
 *
 * The request ends ACSC when no transaction is RJCR, RJCT (with the first reason) when every one is, PART otherwise.
 *
 * Atomicity: the request's step (ACTC -> ACSP -> final, with the camt.029), the step of every payment it stops (a
 * compare-and-set from the status the decision saw, with the payment's pacs.002) and the acknowledgement of the
 * stage message commit in one store transaction. A payment that moved meanwhile (its own release, a downstream
 * answer, the timeout, another cancellation) makes the transaction roll back, and the decision is made again from
 * what is there now: of a cancellation and the payment's own completion exactly one wins, and the camt.029 says
 * which.
 */
import { isTerminal, type PaymentStatus } from '../domain/status.js';
import type { CancellationRequest, CancellationStatus, OriginalRefs } from '../iso20022/index.js';
import type { ReadTx, Tx } from '../ports/store.js';
import type { CancellablePayment, CancellationRefs, PaymentRecord, TransactionRecord } from '../ports/transactions.js';
import type { WorkflowContext } from './context.js';
import { prepareFinal } from './finalize.js';
import { stageQueue, type StageMessage } from './queues.js';
import { outcomeOf, type Outcome, type PaymentOutcome } from './report.js';
import type { Submission } from './submission.js';

/** The messages whose payments a camt.056 cancels (FI to FI credit transfers). */
export const CANCELLABLE_FAMILIES: readonly string[] = ['pacs.008', 'pacs.009'];
/** The ExternalStatusReason1Code of a payment stopped by its sender's cancellation request. */
export const CANCELLED_REASON = 'CUST';
/** Payments one reference may name (a resend rejected as a conflicting duplicate shares its ids). */
export const MATCHES_MAX = 10;
/** Payments read to find the message a whole-message request names (one row per payment of each match). */
export const MESSAGE_MATCHES_MAX = 1000;
/** Decisions made again when payments keep moving under them; each move is forward, so few are ever needed. */
const ATTEMPTS_MAX = 4;

type Refs = Omit<CancellationRefs, 'clientId' | 'families'> & { families: readonly string[] };

/** A request that names payments by their references: a cancellation (camt.056) or a status request (pacs.028). */
interface NamingRequest {
  /** The message-level references (OrgnlGrpInf), which a transaction's own may override. */
  original: OriginalRefs;
  transactions: readonly OriginalRefs[];
}

/** What one transaction of the request becomes. */
export interface TxDecision {
  index: number;
  cancellation: CancellationStatus;
  reasonCode: string | null;
  reasonText: string | null;
  /** The payment named, when found. */
  match?: CancellablePayment;
}

/** A payment in flight that the request stops, with what the decision saw of it. */
interface Stop {
  transaction: TransactionRecord;
  payments: PaymentRecord[];
  xml: string;
}

interface Pending {
  id: string;
  groupKey: string;
}

interface Plan {
  decisions: TxDecision[];
  /** A request for a whole message: what becomes of it (no decisions then). */
  group?: Omit<TxDecision, 'index'>;
  stops: Stop[];
  /** Transactions left pending downstream (PDCR), by the status the decision saw: ACSP; with their FIFO group. */
  pending: Pending[];
}

/** A request the processing stage hands over to be answered here: a camt.056 (or a pacs.028, status-request.ts). */
export interface RequestInput {
  /** The request's transaction, in ACTC. */
  transaction: Pick<TransactionRecord, 'id' | 'clientId' | 'messageType'>;
  submission: Submission;
  /** The processing stage's outcome per TxInf: a rejected one (a rule it broke) stays rejected. */
  outcomes: readonly PaymentOutcome[];
  /** Runs first inside the store transaction (the stage settles its message there). */
  within: (tx: Tx) => Promise<void>;
}

class Moved extends Error {
  constructor(id: string) {
    super(`payment ${id} moved while its cancellation was decided`);
  }
}

export const given = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

/**
 * The families an OrgnlMsgNmId names among those the request may name (`named`); the cancellable ones (pacs.008,
 * pacs.009) when none is given.
 */
export function familiesOf(messageType: string | undefined, named: readonly string[] = CANCELLABLE_FAMILIES): readonly string[] {
  return messageType === undefined ? CANCELLABLE_FAMILIES : named.filter((f) => messageType === f || messageType.startsWith(`${f}.`));
}

/** Whether the request asks to cancel a whole message: no TxInf, a message named, and GrpCxl not false. */
export function isWholeMessage(model: CancellationRequest): boolean {
  return model.transactions.length === 0 && model.groupCancellation !== false && given(model.original.originalMsgId) !== undefined;
}

/** What the request's TxInf at `index` says of the payment it names, among the families it may name. */
export function refsOf(model: NamingRequest, index: number, named: readonly string[] = CANCELLABLE_FAMILIES): Refs {
  const tx = model.transactions[index];
  const refs: Refs = { families: CANCELLABLE_FAMILIES };
  if (tx === undefined) return refs;
  const msgId = given(tx.originalMsgId ?? model.original.originalMsgId);
  const messageType = given(tx.originalMsgNmId ?? model.original.originalMsgNmId);
  const endToEndId = given(tx.originalEndToEndId);
  if (msgId !== undefined) refs.msgId = msgId;
  // NOTPROVIDED is the EndToEndId of every payment that has none: it names none of them.
  if (endToEndId !== undefined && endToEndId !== 'NOTPROVIDED') refs.endToEndId = endToEndId;
  if (given(tx.originalTxId) !== undefined) refs.txId = tx.originalTxId!;
  if (given(tx.originalInstrId) !== undefined) refs.instrId = tx.originalInstrId!;
  if (given(tx.originalUetr) !== undefined) refs.uetr = tx.originalUetr!;
  refs.families = familiesOf(messageType, named);
  return refs;
}

/** Of the payments a reference names, the one a cancellation is about: one in flight, else a settled one, newest first. */
export function pick(matches: readonly CancellablePayment[]): CancellablePayment | undefined {
  const rank = (m: CancellablePayment) => (!isTerminal(m.transactionStatus) ? 0 : m.paymentStatus === 'ACSC' ? 1 : 2);
  return [...matches].sort((a, b) => rank(a) - rank(b))[0];
}

const FINAL_PAYMENT: ReadonlySet<PaymentStatus> = new Set(['ACSC', 'RJCT', 'CANC']);

/**
 * Decides every transaction of the request from what the store holds now (pure but for the reads). `downstream`:
 * whether a downstream system is configured (an ACSP payment is then its to decide).
 */
export async function plan(tx: Pick<ReadTx, 'transactions'>, input: { clientId: string; model: CancellationRequest; outcomes: readonly PaymentOutcome[]; downstream: boolean }): Promise<Plan> {
  if (isWholeMessage(input.model)) return planMessage(tx, input);
  const decisions: TxDecision[] = [];
  const named = new Map<string, number[]>();
  for (const o of input.outcomes) {
    if (o.status === 'RJCT') {
      decisions.push({ index: o.index, cancellation: 'RJCR', reasonCode: o.reasonCode, reasonText: o.reasonText });
      continue;
    }
    const refs = refsOf(input.model, o.index);
    const match = pick(await tx.transactions.findCancellable({ clientId: input.clientId, ...refs }, MATCHES_MAX));
    if (match === undefined) {
      decisions.push({ index: o.index, cancellation: 'RJCR', reasonCode: 'NOOR', reasonText: 'no payment of this client matches the original references' });
      continue;
    }
    decisions.push({ index: o.index, cancellation: 'PDCR', reasonCode: null, reasonText: null, match });
    named.set(match.transactionId, [...(named.get(match.transactionId) ?? []), match.index]);
  }
  const stops: Stop[] = [];
  const pending = new Map<string, Pending>();
  // A payment final already is decided by its status; one in flight by its transaction as it stands now.
  const loaded = new Map<string, { transaction: TransactionRecord; payments: PaymentRecord[]; xml: string | null }>();
  for (const d of decisions) {
    const id = d.match?.transactionId;
    if (id === undefined || isTerminal(d.match!.transactionStatus) || loaded.has(id)) continue;
    const l = await tx.transactions.load(id, 'in');
    if (l) loaded.set(id, { transaction: l.transaction, payments: l.payments, xml: l.message?.xml ?? null });
  }
  const stopping = new Set<string>();
  for (const d of decisions) {
    if (d.match === undefined) continue;
    const original = loaded.get(d.match.transactionId);
    const payment = original?.payments.find((p) => p.index === d.match!.index);
    if (original === undefined || payment === undefined || FINAL_PAYMENT.has(payment.status) || isTerminal(original.transaction.status)) {
      Object.assign(d, finalDecision(payment?.status ?? d.match.paymentStatus, d.match.transactionId));
      continue;
    }
    const t = original.transaction;
    Object.assign(d, decide(t, { downstream: input.downstream, named: named.get(t.id)!, all: original.payments, hasMessage: original.xml !== null }));
    if (d.cancellation === 'PDCR') pending.set(t.id, { id: t.id, groupKey: t.groupKey ?? t.id });
    if (d.cancellation === 'ACCR' && !stopping.has(t.id)) {
      stopping.add(t.id);
      stops.push({ transaction: t, payments: original.payments, xml: original.xml! });
    }
  }
  return { decisions, stops, pending: [...pending.values()] };
}

/** A request for a whole message: decided as one transaction that names every payment of the message. */
async function planMessage(tx: Pick<ReadTx, 'transactions'>, input: { clientId: string; model: CancellationRequest; downstream: boolean }): Promise<Plan> {
  const original = input.model.original;
  const refs = { clientId: input.clientId, msgId: original.originalMsgId!, families: familiesOf(given(original.originalMsgNmId)) };
  const match = pick(await tx.transactions.findCancellable(refs, MESSAGE_MATCHES_MAX));
  const none = { decisions: [], stops: [], pending: [] };
  if (match === undefined) {
    return { ...none, group: { cancellation: 'RJCR', reasonCode: 'NOOR', reasonText: 'no message of this client matches the original references' } };
  }
  const loaded = isTerminal(match.transactionStatus) ? null : await tx.transactions.load(match.transactionId, 'in');
  if (loaded === null || isTerminal(loaded.transaction.status)) {
    const status = loaded?.transaction.status ?? match.transactionStatus;
    const ref = `transaction ${match.transactionId}`;
    const final: Omit<TxDecision, 'index'> =
      status === 'RJCT' || status === 'CANC'
        ? { cancellation: 'RJCR', reasonCode: 'NARR', reasonText: `the message is ${status === 'RJCT' ? 'rejected' : 'cancelled'} already (${ref})` }
        : { cancellation: 'RJCR', reasonCode: 'AGNT', reasonText: `payments of the message are settled (${ref}); only returns can bring them back` };
    return { ...none, group: { ...final, match } };
  }
  const { transaction: t, payments } = loaded;
  const xml = loaded.message?.xml ?? null;
  const decision = decide(t, { downstream: input.downstream, named: payments.map((p) => p.index), all: payments, hasMessage: xml !== null });
  return {
    decisions: [],
    group: { ...decision, match },
    stops: decision.cancellation === 'ACCR' ? [{ transaction: t, payments, xml: xml! }] : [],
    pending: decision.cancellation === 'PDCR' ? [{ id: t.id, groupKey: t.groupKey ?? t.id }] : [],
  };
}

/** A payment that is final: rejected (or cancelled) already, or settled. */
function finalDecision(status: PaymentStatus, transactionId: string): Pick<TxDecision, 'cancellation' | 'reasonCode' | 'reasonText'> {
  const ref = `transaction ${transactionId}`;
  if (status === 'RJCT' || status === 'CANC') {
    return { cancellation: 'RJCR', reasonCode: 'NARR', reasonText: `the payment is ${status === 'RJCT' ? 'rejected' : 'cancelled'} already (${ref})` };
  }
  return { cancellation: 'RJCR', reasonCode: 'AGNT', reasonText: `the payment is settled (${ref}); only a return can bring it back` };
}

/** A payment in flight. */
function decide(
  t: TransactionRecord,
  context: { downstream: boolean; named: readonly number[]; all: readonly PaymentRecord[]; hasMessage: boolean },
): Pick<TxDecision, 'cancellation' | 'reasonCode' | 'reasonText'> {
  if (t.status === 'ACSP' && (context.downstream || t.awaitingDownstream)) return { cancellation: 'PDCR', reasonCode: null, reasonText: null };
  const open = context.all.filter((p) => !FINAL_PAYMENT.has(p.status));
  if (!context.hasMessage || !open.every((p) => context.named.includes(p.index))) {
    const ref = `transaction ${t.id}`;
    return { cancellation: 'RJCR', reasonCode: 'AGNT', reasonText: `other payments of its message are in flight and not named (${ref}); it is stopped whole or not at all` };
  }
  return { cancellation: 'ACCR', reasonCode: null, reasonText: null };
}

/** The request's outcome: its transactions by their decisions, or the message it names by the group's. */
export function requestOutcome(decisions: readonly TxDecision[], group?: Omit<TxDecision, 'index'>): Outcome {
  if (group !== undefined) {
    const rejected = group.cancellation === 'RJCR';
    return {
      status: rejected ? 'RJCT' : 'ACSC',
      reasonCode: rejected ? group.reasonCode : null,
      reasonText: rejected ? group.reasonText : null,
      payments: [],
      groupCancellation: group.cancellation,
    };
  }
  if (decisions.length === 0) {
    return { status: 'RJCT', reasonCode: 'NARR', reasonText: 'the request names no transaction (TxInf) and no message to cancel whole (OrgnlMsgId, GrpCxl)', payments: [] };
  }
  const payments: PaymentOutcome[] = decisions.map((d) => ({
    index: d.index,
    status: d.cancellation === 'RJCR' ? 'RJCT' : 'ACSC',
    reasonCode: d.cancellation === 'RJCR' ? d.reasonCode : null,
    reasonText: d.cancellation === 'RJCR' ? d.reasonText : null,
    cancellation: d.cancellation,
  }));
  return outcomeOf(payments);
}

/** The outcome of a stopped payment: its open payments rejected with CUST, the others as they are. */
export function stoppedOutcome(payments: readonly PaymentRecord[], text: string): Outcome {
  return {
    status: 'RJCT',
    reasonCode: CANCELLED_REASON,
    reasonText: text,
    payments: payments.map((p) =>
      FINAL_PAYMENT.has(p.status)
        ? { index: p.index, status: p.status, reasonCode: p.reasonCode, reasonText: p.reasonText }
        : { index: p.index, status: 'RJCT', reasonCode: CANCELLED_REASON, reasonText: text },
    ),
  };
}

/**
 * Decides the request, stops what it can and makes the request final with its camt.029, in one store transaction.
 * Returns whether this call made the request final (false: another delivery of its stage message did).
 */
export async function resolveCancellation(ctx: WorkflowContext, input: RequestInput): Promise<boolean> {
  const model = input.submission.model;
  if (model.family !== 'camt.056') throw new Error(`assertion failed: a cancellation is a camt.056, not ${model.family}`);
  const t = input.transaction;
  const downstream = ctx.deps.downstream.url !== null;
  for (let attempt = 1; ; attempt++) {
    const decided = await ctx.deps.store.read((tx) => plan(tx, { clientId: t.clientId, model, outcomes: input.outcomes, downstream }));
    const text = `cancelled at the client's request: camt.056 ${model.assignment.id} (transaction ${t.id})`.slice(0, 210);
    const stops = await Promise.all(
      decided.stops.map(async (s) => ({
        id: s.transaction.id,
        apply: await prepareFinal(ctx, {
          transaction: s.transaction,
          from: s.transaction.status,
          original: ctx.submissionOf(s.transaction.id, s.xml),
          outcome: stoppedOutcome(s.payments, text),
        }),
      })),
    );
    const resolve = await prepareFinal(ctx, { transaction: t, from: 'ACTC', via: 'ACSP', original: input.submission, outcome: requestOutcome(decided.decisions, decided.group) });
    const now = ctx.deps.clock.now();
    try {
      const made = await ctx.deps.store.transaction(async (tx) => {
        await input.within(tx);
        if (!(await resolve(tx))) return false;
        for (const s of stops) if (!(await s.apply(tx))) throw new Moved(s.id);
        for (const p of decided.pending) if ((await tx.transactions.get(p.id))?.status !== 'ACSP') throw new Moved(p.id);
        // The downstream system has those payments: the request goes there too, behind the first one's own
        // forwarding in its FIFO group (cancellation-forwarding.ts).
        const first = decided.pending[0];
        if (first !== undefined && downstream) {
          const next: StageMessage = { transaction_id: t.id, forward: 'cancellation' };
          await tx.queues.send(stageQueue('forwarding'), { body: JSON.stringify(next), groupId: first.groupKey, dedupId: `${t.id}:forwarding`, dedupScope: 'retry' });
        }
        for (const d of decided.decisions) {
          if (d.match === undefined) continue;
          await tx.transactions.audit(d.match.transactionId, 'cancellation_request', { transaction_id: t.id, payment: d.match.index, status: d.cancellation, reason: d.reasonCode }, now);
        }
        const group = decided.group;
        if (group?.match !== undefined) {
          await tx.transactions.audit(group.match.transactionId, 'cancellation_request', { transaction_id: t.id, payment: null, status: group.cancellation, reason: group.reasonCode }, now);
        }
        return true;
      }, { untilDurable: false });
      if (made) {
        ctx.forget(t.id);
        for (const s of stops) ctx.forget(s.id);
      }
      return made;
    } catch (error) {
      if (!(error instanceof Moved) || attempt >= ATTEMPTS_MAX) throw error;
    }
  }
}
