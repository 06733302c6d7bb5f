/**
 * Status reports pushed to a client's webhook (its `webhook` setting: `{url, secret}`), besides its outbox and its
 * participant queue; the delivering stage (delivery.ts) calls it.
 *
 *  - The delivering stage POSTs the report (the stored XML) to the URL with the headers X-Transaction-Id,
 *    X-Message-Type, X-Mxgate-Status, X-Mxgate-Timestamp (Unix seconds) and X-Mxgate-Signature:
 *    `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>` under the client's secret. A receiver checks the
 *    signature and refuses old timestamps.
 *  - A 2xx answer is a delivery: the first one adds RCVD to the history, as a first outbox fetch does, and each is
 *    recorded in the audit trail. Network failures, timeouts (`webhooks.timeoutMs`), 408, 429 and 5xx are retried
 *    with the stages' backoff, then dead-lettered to `mx.delivering.dlq.fifo` with the reason; any other 4xx is
 *    dead-lettered at once. Operators redrive that queue once the receiver is fixed.
 *  - Delivery is at least once (a crash between the POST and its commit pushes again): receivers key on
 *    X-Transaction-Id. Reports of different transactions are pushed in parallel, in no particular order.
 */
import { createHmac } from 'node:crypto';
import { MxError } from '../errors.js';
import type { Webhook } from '../auth/attributes.js';
import type { StoredMessage, TransactionRecord } from '../ports/transactions.js';
import type { WorkflowContext } from './context.js';
import type { Delivered } from './delivery.js';

/** How long one push may take when the configuration says nothing (`webhooks.timeoutMs`). */
const WEBHOOK_TIMEOUT_MS = 5000;

/** The signature of a push: hex HMAC-SHA256 of `<timestamp>.<body>` under the client's secret. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** POSTs a report; a 2xx answer is returned, failures are thrown with whether they are worth retrying. */
async function push(webhook: Webhook, input: { transactionId: string; messageType: string; status: string; xml: string }, options: { timeoutMs: number; now: number }): Promise<number> {
  const timestamp = String(Math.floor(options.now / 1000));
  let response: Response;
  try {
    response = await fetch(webhook.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/xml; charset=utf-8',
        'x-transaction-id': input.transactionId,
        'x-message-type': input.messageType,
        'x-mxgate-status': input.status,
        'x-mxgate-timestamp': timestamp,
        'x-mxgate-signature': signature(webhook.secret, timestamp, input.xml),
      },
      body: input.xml,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    await response.arrayBuffer();
  } catch (cause) {
    throw new MxError('WEBHOOK_UNAVAILABLE', `the webhook did not answer: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  if (response.status >= 200 && response.status < 300) return response.status;
  if (response.status >= 500 || response.status === 408 || response.status === 429) {
    throw new MxError('WEBHOOK_UNAVAILABLE', `the webhook answered HTTP ${response.status}`);
  }
  throw new MxError('WEBHOOK_REFUSED', `the webhook answered HTTP ${response.status}`);
}

/**
 * Pushes a report to the client's webhook; the audit record of the delivery, or null when the client has no webhook
 * any more (its reports wait in its outbox and queue).
 */
export async function deliverToWebhook(ctx: WorkflowContext, t: TransactionRecord, out: StoredMessage): Promise<Delivered | null> {
  const webhook = (await ctx.deps.clientWebhook?.(t.clientId)) ?? null;
  if (webhook === null) return null;
  const status = await push(webhook, { transactionId: t.id, messageType: out.messageType, status: t.status, xml: out.xml }, { timeoutMs: ctx.deps.webhooks?.timeoutMs ?? WEBHOOK_TIMEOUT_MS, now: ctx.deps.clock.now() });
  return { action: 'webhook_delivered', detail: { url: webhook.url, http_status: status } };
}
