/**
 * Sending to a queue on NATS JetStream: the checks of the port's rules, deduplication, and the publish of each
 * entry to the queue's stream (names.ts says which subject). Stateless between calls: everything it knows of
 * earlier sends is in the dedup bucket and in the stream's own record of recent `Nats-Msg-Id`s.
 */
import { errors as natsErrors, headers as newHeaders } from '@nats-io/transport-node';
import { JetStreamApiError, type JetStreamClient, type JetStreamManager, type PubAck } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import { MxError, isMxError } from '../../errors.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/ids.js';
import type { BatchOutcome, SendInput, SendResult } from '../../ports/queues.js';
import { checkMessage, type CheckedMessage } from '../../queues/rules.js';
import { groupToken, STANDARD_GROUP, type NatsNames, type QueueRef } from './names.js';
import { encodeAttributes, encoder, H, isStreamNotFound, json, type DedupRecord } from './records.js';

export interface NatsSenderOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dedupKv: KV;
  names: NatsNames;
  clock: Clock;
  ids: IdGenerator;
  dedupWindowS: number;
  /** Something was published to the queue (wakes receives waiting on it). */
  onSent(key: string): void;
  /** The queue's stream is gone (its cached attributes are stale). */
  onQueueGone(name: string): void;
}

/** The dedup key of a send: its KV record as read before publishing, or none when the send keeps no record. */
interface Dedup {
  key: string;
  entry: KvEntry | null;
  recorded: boolean;
}

export class NatsSender {
  readonly #o: NatsSenderOptions;

  constructor(options: NatsSenderOptions) {
    this.#o = options;
  }

  /**
   * Sends a batch in three pipelined rounds rather than three round trips per entry: the dedup records of every
   * entry are read at once, every new entry is published at once (the publishes leave this connection in entry
   * order, and JetStream stores one connection's publishes in the order they arrive, so sequence numbers follow
   * the entries), then the dedup records are written at once. An entry the rules refuse, or that the server
   * refuses (too large, queue gone), gets its own failed outcome; any other failure fails the whole call, and a
   * retry of it publishes under the same `Nats-Msg-Id`s, which the stream drops as duplicates.
   */
  async sendAll(q: QueueRef, inputs: SendInput[]): Promise<BatchOutcome<SendResult>[]> {
    const outcomes: Array<BatchOutcome<SendResult> | null> = inputs.map(() => null);
    const checked = inputs.map((input, i) => {
      try {
        return checkMessage(q.attrs, input);
      } catch (error) {
        if (!isMxError(error)) throw error;
        outcomes[i] = { ok: false, error };
        return null;
      }
    });
    const keys = checked.flatMap((c) => (c?.dedupKey !== null && c?.dedupKey !== undefined ? [c.dedupKey] : []));
    if (new Set(keys).size !== keys.length) {
      // The same dedup key twice in one batch: one entry after the other, so that the later sees the earlier.
      for (let i = 0; i < inputs.length; i++) outcomes[i] ??= (await this.sendAll(q, [inputs[i]!]))[0]!;
      return outcomes as BatchOutcome<SendResult>[];
    }
    const now = this.#o.clock.now();
    type Pending = { i: number; checked: CheckedMessage; messageId: string; dedup: Dedup | null };
    const pending: Pending[] = [];
    await Promise.all(
      checked.map(async (c, i) => {
        if (!c) return;
        let dedup: Pending['dedup'] = null;
        if (c.dedupKey !== null && inputs[i]!.dedupScope === 'retry') {
          // The stream's own dedup of the Nats-Msg-Id is enough: no record to read or write (see #publish).
          dedup = { key: this.#o.names.dedupKey(q.key, c.dedupKey), entry: null, recorded: false };
        } else if (c.dedupKey !== null) {
          const key = this.#o.names.dedupKey(q.key, c.dedupKey);
          const entry = await this.#o.dedupKv.get(key);
          const seen = json<DedupRecord>(entry);
          if (seen && seen.exp > now) {
            outcomes[i] = { ok: true, value: { messageId: seen.id, sequenceNumber: String(seen.seq), duplicate: true } };
            return;
          }
          dedup = { key, entry, recorded: true };
        }
        pending.push({ i, checked: c, messageId: this.#o.ids.uuid(), dedup });
      }),
    );
    pending.sort((a, b) => a.i - b.i);
    // Published in entry order, without waiting between them.
    const published = await Promise.allSettled(pending.map((p) => this.#publish(q, p.checked, p.messageId, p.dedup, now)));
    const failure = published.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !isMxError(r.reason));
    if (failure) throw failure.reason;
    await Promise.all(
      pending.map(async (p, n) => {
        const result = published[n]!;
        if (result.status === 'rejected') {
          outcomes[p.i] = { ok: false, error: result.reason as MxError };
          return;
        }
        outcomes[p.i] = { ok: true, value: await this.#recordSend(q, p.messageId, p.dedup, result.value, now) };
      }),
    );
    if (pending.length > 0) this.#o.onSent(q.key);
    return outcomes as BatchOutcome<SendResult>[];
  }

  async #publish(q: QueueRef, checked: CheckedMessage, messageId: string, dedup: Dedup | null, now: number): Promise<PubAck> {
    const h = newHeaders();
    h.set(H.messageId, messageId);
    h.set(H.sentAt, String(now));
    const visibleAt = checked.delayS > 0 ? now + checked.delayS * 1000 : null;
    if (visibleAt !== null) h.set(H.visibleAt, String(visibleAt));
    if (checked.groupId !== null) h.set(H.group, checked.groupId);
    if (checked.attributes !== null) h.set(H.attributes, encodeAttributes(checked.attributes));
    const group = q.attrs.fifo && checked.groupId !== null ? groupToken(checked.groupId) : STANDARD_GROUP;
    // The same dedup key in the same window state publishes under the same Nats-Msg-Id, so that a retry after a
    // failure between the publish and the dedup record is deduplicated by the stream itself. A send with no record
    // (scope 'retry') uses the id of a key's first window: the stream drops its repeats, and those of a 'window'
    // send of the same key in its first window, for the stream's duplicate window.
    const msgID = dedup ? `${dedup.key}.${dedup.entry?.revision ?? 0}` : messageId;
    try {
      return await this.#o.js.publish(this.#o.names.subject(q.key, group, visibleAt), encoder.encode(checked.body), { headers: h, msgID });
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === 10054) {
        throw new MxError('MESSAGE_TOO_LARGE', `message is larger than the server takes`, { cause: error });
      }
      if (error instanceof natsErrors.NoRespondersError || isStreamNotFound(error)) {
        this.#o.onQueueGone(q.attrs.name);
        throw new MxError('QUEUE_NOT_FOUND', `queue ${q.attrs.name} does not exist`, { cause: error });
      }
      throw error;
    }
  }

  /** The result of a publish, after writing its dedup record (when it has a dedup key). */
  async #recordSend(q: QueueRef, messageId: string, dedup: Dedup | null, ack: PubAck, now: number): Promise<SendResult> {
    let id = messageId;
    if (ack.duplicate) {
      const original = await this.#o.jsm.direct.getMessage(q.stream, { seq: ack.seq });
      id = original?.header.get(H.messageId) || messageId;
    }
    if (dedup?.recorded) {
      const record = encoder.encode(JSON.stringify({ id, seq: ack.seq, exp: now + this.#o.dedupWindowS * 1000 } satisfies DedupRecord));
      try {
        if (dedup.entry) await this.#o.dedupKv.update(dedup.key, record, dedup.entry.revision);
        else await this.#o.dedupKv.create(dedup.key, record);
      } catch (error) {
        // Another sender of the same key won: the stream deduplicated ours to the same message.
        const seen = json<DedupRecord>(await this.#o.dedupKv.get(dedup.key));
        if (!seen) throw error;
        return { messageId: seen.id, sequenceNumber: String(seen.seq), duplicate: true };
      }
    }
    return { messageId: id, sequenceNumber: String(ack.seq), duplicate: ack.duplicate };
  }
}
