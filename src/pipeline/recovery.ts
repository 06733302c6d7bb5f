/**
 * Recovery of payments stranded in flight. After a site fails over, the queues are lost (a JetStream cluster, or a
 * PostgreSQL restored onto empty streams) or an older database is restored, transactions in ACTC or ACSP may have
 * no stage message left to move them: the sweeper would reject them at their deadline (AB06), which for a client
 * with a long SLA may be hours away. A recovery takes those that have not changed for a while (`quietMs`: work
 * still moving is left alone) and either hands each to its stage again or cancels it:
 *
 *   the transaction                           redrive                                 cancel
 *   ACTC                                      to processing                           CANC, with its report
 *   ACSP, never forwarded downstream          to forwarding (downstream configured),  CANC, with its report
 *                                             else to releasing (ACSC)
 *   ACSP, forwarded, its answer kept          to releasing with that answer           skipped: the answer decides
 *   ACSP, forwarded, no answer yet            skipped: the downstream system has it; its answer (or the deadline,
 *                                             AB05) decides
 *
 * Never doubled. A recovery cannot know whether a stage message survived somewhere, so its own may come beside
 * it, in the same FIFO group: the two are taken one after the other, and every stage step is a compare-and-set on
 * the status, so the second finds the step done and changes nothing. A redriven forwarding is dropped once the
 * forwarding has started (the message it stood in for did it), so a payment is not sent downstream twice. The
 * redrive's deduplication id is its own (`<id>:<stage>:recovery:<version>`): the queues may remember the lost
 * message's id (JetStream does, for its duplicate window) and would drop a send under it; two recoveries of an
 * unchanged transaction share it. A cancellation is such a step too (from the status it read), with the
 * transaction's status report (pacs.002 TxSts CANC, reason NARR) to the client as any final status; payments
 * rejected earlier in the message stay rejected (the group status is then PART). Nothing that left the hub is
 * cancelled by it: what a downstream system has, it decides. Requests about payments (camt.056, pacs.028) move no
 * money and are only redriven.
 *
 * Each recovery works through one page (RECOVERY_PAGE_MAX) of the candidates, by deadline; the caller passes the
 * position back for the next. Every redrive and cancellation is in the transaction's audit trail. A dry run says
 * what it would do, and changes nothing.
 */
import type { Tx } from '../ports/store.js';
import type { StrandedPosition, TransactionRecord } from '../ports/transactions.js';
import type { WorkflowContext } from './context.js';
import { decisionFromReport, readAnswer } from './downstream.js';
import { prepareFinal } from './finalize.js';
import { outcomeOf, type PaymentOutcome } from './report.js';
import { stageQueue, type StageMessage } from './queues.js';
import { sendRelease } from './stages.js';

export type RecoveryAction = 'redrive' | 'cancel';

/** Most transactions one recovery call takes. */
export const RECOVERY_PAGE_MAX = 100;

/** The messages whose payments a recovery cancels; requests about payments (camt.056, pacs.028) are redriven only. */
const MONEY_FAMILIES = ['pacs.008', 'pacs.009', 'pacs.004', 'pain.001'];

/** The reason of a payment cancelled by a recovery (ExternalStatusReason1Code has no code for it). */
export const RECOVERY_CANCELLED = { code: 'NARR', text: 'cancelled by an operator recovery: the work in flight for it was lost' } as const;

export interface RecoveryResult {
  action: RecoveryAction;
  /** Nothing was changed: `redriven` and `cancelled` say what the recovery would do. */
  dryRun: boolean;
  /** Candidates looked at in this page. */
  examined: number;
  /** Handed to their stage again. */
  redriven: string[];
  /** Made final as CANC. */
  cancelled: string[];
  /** Left as they are, and why. */
  skipped: Array<{ transactionId: string; reason: string }>;
  /** Where the next page starts; null when this was the last. */
  next: StrandedPosition | null;
}

export async function recoverPage(
  ctx: WorkflowContext,
  input: { action: RecoveryAction; quietMs: number; after: StrandedPosition | null; limit: number; dryRun?: boolean },
): Promise<RecoveryResult> {
  const { store, clock } = ctx.deps;
  const limit = Math.max(1, Math.min(input.limit, RECOVERY_PAGE_MAX));
  const candidates = await store.read((tx) => tx.transactions.stranded({ quietSince: clock.now() - input.quietMs, after: input.after, limit }));
  const result: RecoveryResult = { action: input.action, dryRun: input.dryRun === true, examined: candidates.length, redriven: [], cancelled: [], skipped: [], next: null };
  for (const candidate of candidates) {
    const outcome = await recoverOne(ctx, input.action, candidate.id, input.dryRun === true);
    if (outcome === 'redriven') result.redriven.push(candidate.id);
    else if (outcome === 'cancelled') result.cancelled.push(candidate.id);
    else result.skipped.push({ transactionId: candidate.id, reason: outcome.skipped });
  }
  if (candidates.length === limit) result.next = candidates[candidates.length - 1]!;
  return result;
}

type One = 'redriven' | 'cancelled' | { skipped: string };

async function recoverOne(ctx: WorkflowContext, action: RecoveryAction, id: string, dryRun: boolean): Promise<One> {
  const { store, clock, downstream } = ctx.deps;
  const loaded = await store.read(async (tx) => {
    const found = await tx.transactions.load(id, 'in');
    if (!found?.message) return null;
    const answer = found.transaction.forwardedAt !== null ? await tx.transactions.getMessage(id, 'downstream') : null;
    return { t: found.transaction, xml: found.message.xml, payments: found.payments, answer };
  });
  if (loaded === null) return { skipped: 'no stored message' };
  const { t, xml, payments, answer } = loaded;
  if (t.status !== 'ACTC' && t.status !== 'ACSP') return { skipped: `moved on: ${t.status}` };

  if (t.forwardedAt !== null) {
    const decision = answer === null ? null : decisionFromReport(readAnswer(answer.xml), payments);
    if (decision === null) return { skipped: 'forwarded downstream and not answered: its answer or the deadline decides' };
    if (action === 'cancel') return { skipped: 'the downstream system answered: a redrive applies its answer' };
    if (dryRun) return 'redriven';
    return redrive(ctx, t, async (tx) => sendRelease(tx, t, decision, payments, recoveryDedupId(t, 'releasing')), 'releasing');
  }

  if (action === 'redrive') {
    if (dryRun) return 'redriven';
    const stage = t.status === 'ACTC' ? 'processing' : downstream.url !== null ? 'forwarding' : 'releasing';
    if (stage === 'releasing') return redrive(ctx, t, (tx) => sendRelease(tx, t, undefined, payments, recoveryDedupId(t, stage)), stage);
    return redrive(
      ctx,
      t,
      async (tx) => {
        const next: StageMessage = { transaction_id: id, recovery: true };
        await tx.queues.send(stageQueue(stage), { body: JSON.stringify(next), groupId: t.groupKey ?? id, dedupId: recoveryDedupId(t, stage), dedupScope: 'retry' });
      },
      stage,
    );
  }

  if (!MONEY_FAMILIES.some((f) => t.messageType?.startsWith(`${f}.`))) return { skipped: `a ${t.messageType ?? 'message'} moves no money: redrive it` };
  if (dryRun) return 'cancelled';
  const cancelled: PaymentOutcome[] = payments.map((p) =>
    p.status === 'RJCT'
      ? { index: p.index, status: 'RJCT', reasonCode: p.reasonCode, reasonText: p.reasonText }
      : { index: p.index, status: 'CANC', reasonCode: RECOVERY_CANCELLED.code, reasonText: RECOVERY_CANCELLED.text },
  );
  const group = outcomeOf(cancelled);
  const outcome = group.status === 'CANC' ? { ...group, reasonCode: RECOVERY_CANCELLED.code, reasonText: RECOVERY_CANCELLED.text } : group;
  const apply = await prepareFinal(ctx, { transaction: t, from: t.status, original: ctx.submissionOf(id, xml), outcome });
  const made = await store.transaction(async (tx) => {
    if (!(await apply(tx))) return false;
    await tx.transactions.audit(id, 'recovery', { action: 'cancel', from: t.status }, clock.now());
    return true;
  });
  if (!made) return { skipped: 'moved on while being cancelled' };
  ctx.forget(id);
  return 'cancelled';
}

const recoveryDedupId = (t: TransactionRecord, stage: string) => `${t.id}:${stage}:recovery:${t.version}`;

/** Sends the stage message if the transaction has not changed since it was read, with an audit record, in one store transaction. */
async function redrive(ctx: WorkflowContext, t: TransactionRecord, send: (tx: Tx) => Promise<void>, stage: string): Promise<One> {
  const sent = await ctx.deps.store.transaction(async (tx) => {
    const now = await tx.transactions.get(t.id);
    if (now === null || now.version !== t.version) return false;
    await send(tx);
    await tx.transactions.audit(t.id, 'recovery', { action: 'redrive', from: t.status, stage }, ctx.deps.clock.now());
    return true;
  });
  return sent ? 'redriven' : { skipped: 'moved on while being redriven' };
}
