/**
 * Making a transaction final: the status step (compare-and-set from the status the caller saw), the status
 * report, the lifecycle event (unless `workflow.lifecycleEvents` is off), the delivery to the client's
 * participant queue and, when the client has a webhook or a bridge, the push of the report (delivery.ts), in one
 * store transaction.
 *
 * Every path to a final status goes through here (processing rejects, releasing, timeouts, downstream answers),
 * so "final status" and "exactly one status report" always go together, and when two paths race (a late
 * downstream answer and the timeout sweeper) the compare-and-set lets exactly one of them win.
 *
 * `finalize` runs the step in a store transaction of its own; `prepareFinal` builds what it writes ahead of a
 * transaction that does more (processing releasing in its own transaction, see stages.ts).
 */
import type { TransactionStatus } from '../domain/status.js';
import type { Tx } from '../ports/store.js';
import type { TransactionRecord } from '../ports/transactions.js';
import type { WorkflowContext } from './context.js';
import { EVENTS_QUEUE } from './queues.js';
import { deliveryChannels, queueDeliveries } from './delivery.js';
import type { Outcome } from './report.js';
import type { Submission } from './submission.js';

export interface FinalizeInput {
  transaction: Pick<TransactionRecord, 'id' | 'clientId' | 'messageType'>;
  /** The status the caller saw; the step applies only if the transaction is still in it. */
  from: TransactionStatus;
  /** A status the step passes through on its way, recorded in the history (StatusChange.via). */
  via?: TransactionStatus;
  /** The message the report answers. */
  original: Submission;
  outcome: Outcome;
  /** Runs first inside the transaction, whether or not the step applies (a stage settles its message there). */
  within?: (tx: Tx) => Promise<void>;
  /**
   * False for a workflow stage: the report reaches the outside only through later transactions (a client's
   * receive, an outbox fetch), and a crash that undoes this one brings the stage message back (TransactionOptions).
   */
  untilDurable?: boolean;
}

/** Returns whether this call made the transaction final (false: another path already did, or the step was refused). */
export async function finalize(ctx: WorkflowContext, input: FinalizeInput): Promise<boolean> {
  const apply = await prepareFinal(ctx, input);
  const made = await ctx.deps.store.transaction(async (tx) => {
    await input.within?.(tx);
    return apply(tx);
  }, input.untilDurable === false ? { untilDurable: false } : undefined);
  if (made) ctx.forget(input.transaction.id);
  return made;
}

/**
 * Builds the status report of the step (and makes sure the participant queue exists), and answers the step itself,
 * to run inside a store transaction: it answers whether it made the transaction final. The caller forgets the
 * parsed message (`ctx.forget`) once that transaction has committed with true.
 */
export async function prepareFinal(ctx: WorkflowContext, input: Omit<FinalizeInput, 'within' | 'untilDurable'>): Promise<(tx: Tx) => Promise<boolean>> {
  const t = input.transaction;
  const participant = await ctx.participants.ensure(t.clientId);
  const now = ctx.deps.clock.now();
  const report = await ctx.report(input.original, input.outcome, { msgId: ctx.messageId(), now });
  const channels = await deliveryChannels(ctx, t.clientId);
  return async (tx) => {
    const moved = await tx.transactions.move(t.id, {
      from: input.from,
      ...(input.via !== undefined ? { via: input.via } : {}),
      to: input.outcome.status,
      reasonCode: input.outcome.reasonCode,
      reasonText: input.outcome.reasonText,
      payments: input.outcome.payments.map((p) => ({ index: p.index, status: p.status, reasonCode: p.reasonCode, reasonText: p.reasonText })),
      at: now,
    });
    if (!moved) return false;
    await tx.transactions.putMessage(t.id, { kind: 'out', messageType: report.messageType, xml: report.xml, createdAt: now });
    await tx.queues.send(participant, {
      body: report.xml,
      attributes: { transaction_id: t.id, message_type: report.messageType, status: input.outcome.status },
    });
    await queueDeliveries(tx, t.id, channels);
    if (ctx.deps.config.lifecycleEvents) {
      await tx.queues.send(EVENTS_QUEUE, {
        body: JSON.stringify({
          type: 'transaction.final',
          transaction_id: t.id,
          client_id: t.clientId,
          status: input.outcome.status,
          reason_code: input.outcome.reasonCode,
          message_type: t.messageType,
          report_type: report.messageType,
          at: new Date(now).toISOString(),
        }),
        attributes: { type: 'transaction.final', status: input.outcome.status },
      });
    }
    return true;
  };
}
