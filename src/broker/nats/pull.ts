/**
 * One JetStream pull request on a durable consumer, without the client's consumer machinery: the request is
 * published with a reply inbox, and every message that comes back is handed to `onMessage` as it arrives.
 * `expiresMs` null asks for what is there now (no_wait); a number makes it a long poll of that length.
 * Resolves with the number of messages that arrived so far once the batch is full, the server ends the request,
 * or, for a long poll, `EXPIRED_GRACE_MS` after its expiry: the server sends a status when a request expires, but
 * not always (seen with nats-server 2.9 after part of a batch was delivered, on a loaded machine), and the caller
 * must not wait on a request the server has already forgotten. The reply inbox stays subscribed until the expiry
 * plus `requestTimeoutMs` or the server's status, whichever comes first, so that a message the server sent late
 * still reaches `onMessage` (a message dropped there would come back only after the consumer's ack wait).
 * Aborting `signal` ends the request early: the reply inbox is drained, so that what the server sent before it saw
 * the interest go still reaches `onMessage`.
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

/** How long after a long poll's expiry its caller stops waiting for the server to end it (see `pull`). */
export const EXPIRED_GRACE_MS = 200;

export function pull(o: PullOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    let count = 0;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      resolve(count);
    };
    const inbox = createInbox();
    const timer = setTimeout(() => {
      o.onUnanswered?.(count);
      finish();
    }, (o.expiresMs ?? 0) + o.requestTimeoutMs);
    timer.unref();
    const expired = o.expiresMs === null ? undefined : setTimeout(settle, o.expiresMs + EXPIRED_GRACE_MS);
    expired?.unref();
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
      clearTimeout(expired);
      o.signal?.removeEventListener('abort', abort);
      if (!sub.isClosed()) sub.unsubscribe();
      settle();
    };
    const abort = () => {
      clearTimeout(timer);
      clearTimeout(expired);
      if (sub.isClosed()) return;
      sub.drain().then(settle, settle);
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
      clearTimeout(expired);
      sub.unsubscribe();
      reject(error as Error);
    }
  });
}
