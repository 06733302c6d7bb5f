/**
 * The delivering stage: status reports pushed to where a client takes them besides its outbox and its participant
 * queue: its webhook (webhooks.ts) and the broker the hub is bridged to (its `bridge` setting, bridges/amqp.ts).
 *
 *  - The commit that makes a transaction final also sends one message per channel of its client to
 *    `mx.delivering.fifo` (finalize.ts): a report is pushed only once it is committed, every committed report is
 *    pushed, and a channel that fails is retried alone.
 *  - A push that the receiver took (a 2xx answer, a broker's confirm) is a delivery: the first one adds RCVD to the
 *    history, as a first outbox fetch does, and each is recorded in the audit trail. A push that fails for a while
 *    (WEBHOOK_UNAVAILABLE, BRIDGE_UNAVAILABLE) is retried with the stages' backoff up to `webhooks.attemptsMax`
 *    times, then dead-lettered to `mx.delivering.dlq.fifo` with the reason; one refused for good (WEBHOOK_REFUSED,
 *    BRIDGE_REFUSED) is dead-lettered at once. Operators redrive that queue once the receiver is fixed.
 *  - Delivery is at least once (a crash between the push and its commit pushes again).
 */
import { MxError } from '../errors.js';
import type { ReceivedMessage } from '../ports/queues.js';
import type { Tx } from '../ports/store.js';
import type { StoredMessage, TransactionRecord } from '../ports/transactions.js';
import type { WorkflowContext } from './context.js';
import { parseStageMessage, settleIn, stageQueue, type StageMessage } from './queues.js';
import { ack, settled, type Outcome as StageOutcome } from './runner.js';
import { deliverToWebhook } from './webhooks.js';

export type DeliveryChannel = 'webhook' | 'amqp';

/** What a delivery records in the audit trail. */
export interface Delivered {
  action: string;
  detail: Record<string, unknown>;
}

/** Queues the push of transaction `id`'s report to each channel, in the commit that makes it final. */
export async function queueDeliveries(tx: Tx, id: string, channels: readonly DeliveryChannel[]): Promise<void> {
  for (const channel of channels) {
    const next: StageMessage = channel === 'webhook' ? { transaction_id: id } : { transaction_id: id, channel };
    const dedupId = channel === 'webhook' ? `${id}:delivering` : `${id}:delivering:${channel}`;
    await tx.queues.send(stageQueue('delivering'), { body: JSON.stringify(next), groupId: id, dedupId, dedupScope: 'retry' });
  }
}

/** The channels a client's reports are pushed to, from its settings. */
export async function deliveryChannels(ctx: WorkflowContext, clientId: string): Promise<DeliveryChannel[]> {
  const channels: DeliveryChannel[] = [];
  if (((await ctx.deps.clientWebhook?.(clientId)) ?? null) !== null) channels.push('webhook');
  if (((await ctx.deps.clientBridge?.(clientId)) ?? null) !== null) channels.push('amqp');
  return channels;
}

/** Publishes a report to the AMQP broker with the client's routing key; null when the client has no bridge any more. */
async function deliverToAmqp(ctx: WorkflowContext, t: TransactionRecord, out: StoredMessage): Promise<Delivered | null> {
  const bridge = (await ctx.deps.clientBridge?.(t.clientId)) ?? null;
  if (bridge === null) return null;
  const amqp = ctx.deps.bridges?.amqp;
  if (amqp === undefined) {
    throw new MxError('BRIDGE_REFUSED', `client ${t.clientId} has its reports bridged to AMQP, and this hub has no AMQP broker configured (bridges.amqp.url)`);
  }
  const messageId = `${t.id}:${out.messageType}`;
  await amqp.publish({
    address: bridge.amqp,
    body: out.xml,
    messageId,
    headers: { 'x-transaction-id': t.id, 'x-message-type': out.messageType, 'x-mxgate-status': t.status },
    timestamp: out.createdAt,
  });
  return { action: 'bridge_delivered', detail: { broker: 'amqp', routing_key: bridge.amqp, message_id: messageId } };
}

/** The delivering stage: pushes the report of the transaction its message names to the channel it names. */
export async function deliverStage(ctx: WorkflowContext, message: ReceivedMessage): Promise<StageOutcome> {
  const { transaction_id: id, channel = 'webhook' } = parseStageMessage(message);
  const found = await ctx.deps.store.read(async (tx) => {
    const t = await tx.transactions.get(id);
    return t === null ? null : { t, out: await tx.transactions.getMessage(id, 'out') };
  });
  if (found === null || found.out === null) return ack;
  const delivered = channel === 'amqp' ? await deliverToAmqp(ctx, found.t, found.out) : await deliverToWebhook(ctx, found.t, found.out);
  if (delivered === null) {
    // The client's setting was removed since: nothing to push; the report waits in its outbox and queue.
    const action = channel === 'amqp' ? 'bridge_skipped' : 'webhook_skipped';
    await ctx.deps.store.transaction((tx) => tx.transactions.audit(id, action, { reason: `no ${channel === 'amqp' ? 'bridge' : 'webhook'} configured` }, ctx.deps.clock.now()));
    return ack;
  }
  let done = false;
  await ctx.deps.store.transaction(async (tx) => {
    done = await settleIn(tx, 'delivering', message);
    const now = ctx.deps.clock.now();
    await tx.transactions.markReceived(id, now);
    await tx.transactions.audit(id, delivered.action, delivered.detail, now);
  });
  return done ? settled : ack;
}
