/**
 * One JetStream pull request on a durable consumer, without the client's consumer machinery: the request is
 * published with a reply inbox, and every message that comes back is handed to `onMessage` as it arrives.
 * `expiresMs` null asks for what is there now (no_wait); a number makes it a long poll of that length.
 * Resolves with the number of messages that arrived, once the batch is full, the server ends the request, or
 * the expiry plus `requestTimeoutMs` passes. Aborting `signal` ends the request early: the reply inbox is drained,
 * so that what the server sent before it saw the interest go still reaches `onMessage` (a message dropped there
 * would come back only after the consumer's ack wait).
 */
import { createInbox, nanos, type Msg, type NatsConnection } from '@nats-io/transport-node';

export interface PullOptions {
  connection: NatsConnection;
  /** `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` */
  subject: string;
  batch: number;
  expiresMs: number | null;
  requestTimeoutMs: number;
  signal?: AbortSignal | undefined;
  onMessage(msg: Msg): void;
  /** The server ended the request early (409: the consumer went away or a limit was hit). */
  onEnd(description: string | undefined): void;
  /** The server never ended the request: it was given up locally after the expiry plus `requestTimeoutMs`. */
  onUnanswered?(received: number): void;
}

export function pull(o: PullOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    let count = 0;
    const inbox = createInbox();
    const timer = setTimeout(() => {
      o.onUnanswered?.(count);
      finish();
    }, (o.expiresMs ?? 0) + o.requestTimeoutMs);
    timer.unref();
    const sub = o.connection.subscribe(inbox, {
      callback: (error, msg) => {
        if (error) {
          finish();
          return;
        }
        const code = msg.headers?.code ?? 0;
        if (code >= 100 && !msg.reply) {
          // 404/408: nothing more for this request; 409: the consumer went away or limits were hit.
          if (code === 409) o.onEnd(msg.headers?.description);
          finish();
          return;
        }
        count += 1;
        o.onMessage(msg);
        if (count >= o.batch) finish();
      },
    });
    const finish = () => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', abort);
      if (!sub.isClosed()) sub.unsubscribe();
      resolve(count);
    };
    const abort = () => {
      clearTimeout(timer);
      if (sub.isClosed()) return;
      sub.drain().then(
        () => resolve(count),
        () => resolve(count),
      );
    };
    if (o.signal?.aborted) {
      finish();
      return;
    }
    o.signal?.addEventListener('abort', abort, { once: true });
    const request = o.expiresMs === null ? { batch: o.batch, no_wait: true } : { batch: o.batch, expires: nanos(Math.max(o.expiresMs, 10)) };
    try {
      o.connection.publish(o.subject, JSON.stringify(request), { reply: inbox });
    } catch (error) {
      clearTimeout(timer);
      sub.unsubscribe();
      reject(error as Error);
    }
  });
}
