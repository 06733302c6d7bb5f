/**
 * The walks over a queue's stream, one stored message at a time by sequence (direct gets), that the queue port's
 * maintenance calls make: `redrive` moves a dead-letter queue's messages back to the queues they came from, and
 * `sweep` removes messages past their queue's retention. Both go in bounded steps, so a large stream is walked
 * without holding it in memory, and both leave alone a message in flight (its receipt record says so): a FIFO
 * message removed while in flight would make the next message of its group the head (see #takeGroup in pool.ts).
 */
import { headers as newHeaders } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Clock } from '../../ports/clock.js';
import { STANDARD_GROUP, type NatsNames, type QueueRef } from './names.js';
import { H, json, type Receipt } from './records.js';

export interface StreamWalks {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stateKv: KV;
  names: NatsNames;
  clock: Clock;
  /** Most messages one sweep removes per queue. */
  sweepBatchMax: number;
  /** The queue of a name (throws QUEUE_NOT_FOUND when it is gone). */
  queue(name: string): Promise<QueueRef>;
  /** A message left the stream: the process forgets it (pool and leases). */
  forget(key: string, seq: number): void;
  /** A queue received messages: wakes the receives waiting on it. */
  notify(key: string): void;
}

/**
 * Moves the dead-lettered messages of `dlq` (those that name their source queue) back to their source queues,
 * with their id, send time, group and attributes; `seen` counts the dead-lettered messages found, moved or not.
 */
export async function redrive(o: StreamWalks, dlq: QueueRef): Promise<{ moved: number; seen: number }> {
  let moved = 0;
  let seen = 0;
  let cursor = 0;
  const sources = new Map<string, QueueRef | null>();
  // One message at a time by sequence: a large dead-letter queue is moved in bounded steps.
  for (;;) {
    const stored = await o.jsm.direct.getMessage(dlq.stream, { next_by_subj: o.names.subjects(dlq.key), seq: cursor });
    if (!stored) break;
    cursor = stored.seq + 1;
    const source = stored.header.get(H.sourceQueue);
    if (!source) continue;
    const now = o.clock.now();
    const rec = json<Receipt>(await o.stateKv.get(o.names.receiptKey(dlq.key, stored.seq)));
    if (rec && rec.st === 'h' && rec.dl > now) continue; // in flight on the dead-letter queue
    seen += 1;
    if (!sources.has(source)) sources.set(source, await o.queue(source).catch(() => null));
    const target = sources.get(source);
    if (!target) continue;
    const h = newHeaders();
    for (const name of [H.messageId, H.sentAt, H.group, H.attributes]) {
      const value = stored.header.get(name);
      if (value) h.set(name, value);
    }
    const group = stored.subject.split('.')[2] ?? STANDARD_GROUP;
    await o.js.publish(o.names.subject(target.key, target.attrs.fifo ? group : STANDARD_GROUP, null), stored.data, {
      headers: h,
      msgID: `redrive:${dlq.stream}:${stored.seq}`,
    });
    await o.jsm.streams.deleteMessage(dlq.stream, stored.seq, false);
    o.forget(dlq.key, stored.seq);
    await o.stateKv.delete(o.names.receiptKey(dlq.key, stored.seq)).catch(() => undefined);
    o.notify(target.key);
    moved += 1;
  }
  return { moved, seen };
}

/** Removes the messages of the named queues past their retention (Clock time), at most sweepBatchMax per queue. */
export async function sweep(o: StreamWalks, names: string[]): Promise<number> {
  let messages = 0;
  const now = o.clock.now();
  for (const name of names) {
    const q = await o.queue(name).catch(() => null);
    if (!q) continue;
    let cursor = 0;
    for (let i = 0; i < o.sweepBatchMax; i++) {
      const stored = await o.jsm.direct.getMessage(q.stream, { next_by_subj: o.names.subjects(q.key), seq: cursor });
      if (!stored) break;
      const sentAt = Number(stored.header.get(H.sentAt));
      // Messages are in send order, so the expired ones come first (up to clock differences of senders).
      if (sentAt + q.attrs.retentionS * 1000 > now) break;
      cursor = stored.seq + 1;
      if (q.attrs.fifo) {
        // A FIFO message in flight stays until its deadline (see the module comment).
        const rec = json<Receipt>(await o.stateKv.get(o.names.receiptKey(q.key, stored.seq)));
        if (rec?.st === 'h' && rec.dl > now) continue;
      }
      await o.jsm.streams.deleteMessage(q.stream, stored.seq, false);
      o.forget(q.key, stored.seq);
      messages += 1;
    }
  }
  return messages;
}
