/**
 * What one process fetched from JetStream and has not handed out yet (the POOL, see queues.ts): delivered to this
 * process and unacked on the server, kept alive with +WPI, and handed out to receives as SQS semantics allow:
 * standard queues in sequence order once visible, FIFO queues only at their group's head (see #takeGroup). The
 * pull requests that fill it are queues.ts's feeds; what it hands out becomes a lease (leases.ts).
 *
 * A fetched message, keyed <queue key> then <seq>:
 *
 *   pulled ──add──► HELD (the port's VISIBLE, or DELAYED until Mx-Visible-At; +WPI every 2 s)
 *   HELD ──take──► CLAIMED ──receipt record put──► handed out: a lease (leases.ts) ──► gone from the pool
 *                  CLAIMED ──over max_receive_count──► published to the dead-letter queue with its reason, +ACK ──► gone
 *                  CLAIMED ──failed, or its FIFO head still in flight for another holder──► HELD
 *   HELD ──past retention (at a take)──► +ACK ──► gone
 *   HELD ──held holdMaxMs (tick), or the engine closed──► given back: -NAK, not counted as a receive ──► gone
 *   HELD ──queue deleted or purged, message swept or redriven, or found gone from the stream──► dropped ──► gone
 */
import { headers as newHeaders, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { Logger } from '../../log.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/ids.js';
import { DEAD_LETTER_REASON, QUEUE_LIMITS, deadLetterReason, type MessageAttributes, type ReceivedMessage } from '../../ports/queues.js';
import { STANDARD_GROUP, type NatsNames, type QueueRef } from './names.js';
import { ack, ackWaitMs, nak, type Leases } from './leases.js';
import { decodeAttributes, encodeAttributes, encoder, decoder, H, json, receiptHandle, type Receipt } from './records.js';

export interface PoolOptions {
  connection: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  stateKv: KV;
  names: NatsNames;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  /** Where a handed-out message goes. */
  leases: Leases;
  requestTimeoutMs: number;
  ackGraceS: number;
  holdMaxMs: number;
  /** The queue of a name (a dead-letter queue to move a message to). */
  queue(name: string): Promise<QueueRef>;
  /** A queue has messages to take: wakes up to `count` receives waiting on it (every one by default). */
  notify(key: string, count?: number): void;
}

interface Fetched {
  key: string;
  seq: number;
  dc: number;
  reply: string;
  group: string;
  groupId: string | null;
  messageId: string;
  sentAt: number;
  visibleAt: number;
  attributes: MessageAttributes;
  body: string;
  heldSince: number;
  progressAt: number;
  claimed: boolean;
}

export class Pool {
  readonly #o: PoolOptions;
  readonly #pool = new Map<string, Map<number, Fetched>>();
  readonly #busyGroups = new Set<string>();

  constructor(options: PoolOptions) {
    this.#o = options;
  }

  /** Messages of the queue in the pool, claimed or not. */
  size(key: string): number {
    return this.#pool.get(key)?.size ?? 0;
  }

  /** Messages of the queue in the pool that no receive is taking. */
  unclaimed(key: string): number {
    const pool = this.#pool.get(key);
    return pool ? [...pool.values()].filter((e) => !e.claimed).length : 0;
  }

  /** Forgets a message that left the stream another way (swept, redriven). */
  drop(key: string, seq: number): void {
    this.#pool.get(key)?.delete(seq);
  }

  /** Forgets every message of a queue (deleted or purged). */
  dropQueue(key: string): void {
    this.#pool.delete(key);
  }

  /** Gives back every fetched message not handed out (the engine is closing). */
  async giveBackAll(): Promise<void> {
    const held = [...this.#pool.values()].flatMap((m) => [...m.values()]).filter((e) => !e.claimed);
    await Promise.allSettled(held.map((e) => this.#giveBack(e, 0)));
  }

  /** A message a pull request delivered (pull.ts): held until handed out, given back or dropped; wakes one receive. */
  add(q: QueueRef, msg: Msg): void {
    const parts = msg.reply!.split('.');
    // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending> (domain form: 2 more)
    const offset = parts.length >= 11 ? 4 : 2;
    const dc = Number(parts[offset + 2]);
    const seq = Number(parts[offset + 3]);
    const h: MsgHdrs | undefined = msg.headers;
    const sentAt = Number(h?.get(H.sentAt) ?? 0);
    const visibleAt = Number(h?.get(H.visibleAt) || sentAt);
    const encoded = h?.get(H.attributes);
    const entry: Fetched = {
      key: q.key,
      seq,
      dc,
      reply: msg.reply!,
      group: msg.subject.split('.')[2] ?? STANDARD_GROUP,
      groupId: h?.get(H.group) || null,
      messageId: h?.get(H.messageId) ?? '',
      sentAt,
      visibleAt,
      attributes: decodeAttributes(encoded),
      body: decoder.decode(msg.data),
      heldSince: Date.now(),
      progressAt: Date.now(),
      claimed: false,
    };
    let pool = this.#pool.get(q.key);
    if (!pool) this.#pool.set(q.key, (pool = new Map()));
    pool.set(seq, entry);
    this.#o.notify(q.key, 1);
  }

  /**
   * Hands out up to `want` messages of the queue that the pool holds, with a visibility timeout of `visMs`; `local`
   * for a receive whose handles stay in this process (ReceiveOptions.local: the receipt record waits, leases.ts).
   */
  async take(q: QueueRef, want: number, visMs: number, local = false): Promise<ReceivedMessage[]> {
    if (want <= 0) return [];
    const pool = this.#pool.get(q.key);
    if (!pool || pool.size === 0) return [];
    const now = this.#o.clock.now();
    const retentionMs = q.attrs.retentionS * 1000;
    const expired = [...pool.values()].filter((e) => !e.claimed && e.sentAt + retentionMs <= now);
    for (const e of expired) e.claimed = true;
    await Promise.all(expired.map((e) => this.#discard(e)));
    return q.attrs.fifo ? this.#takeFifo(q, want, visMs, now, local) : this.#takeStandard(q, want, visMs, now, local);
  }

  async #takeStandard(q: QueueRef, want: number, visMs: number, now: number, local: boolean): Promise<ReceivedMessage[]> {
    const out: ReceivedMessage[] = [];
    for (;;) {
      const pool = this.#pool.get(q.key);
      if (!pool) return out;
      const ready = [...pool.values()]
        .filter((e) => !e.claimed && e.visibleAt <= now)
        .sort((a, b) => a.seq - b.seq)
        .slice(0, want - out.length);
      if (ready.length === 0) return out;
      for (const e of ready) e.claimed = true;
      const handed = await Promise.all(
        ready.map(async (e) => {
          try {
            const checked = await this.#countOrDeadLetter(q, e, await this.#receiptOf(q, e));
            return checked ? await this.#handOut(q, e, checked, now + visMs, now, local) : null;
          } catch (error) {
            e.claimed = false;
            throw error;
          }
        }),
      );
      for (const m of handed) if (m) out.push(m);
      if (out.length >= want) return out;
    }
  }

  async #takeFifo(q: QueueRef, want: number, visMs: number, now: number, local: boolean): Promise<ReceivedMessage[]> {
    const pool = this.#pool.get(q.key);
    if (!pool) return [];
    const groups = new Map<string, Fetched[]>();
    for (const e of [...pool.values()].sort((a, b) => a.seq - b.seq)) {
      if (e.claimed) continue;
      let list = groups.get(e.group);
      if (!list) groups.set(e.group, (list = []));
      list.push(e);
    }
    // Each free group gets a share of `want` (as many as it has waiting, oldest group first), and the groups are
    // taken at the same time: their server round trips overlap. Results keep the order of the groups.
    const shares: Array<{ group: string; entries: Fetched[]; share: number }> = [];
    let left = want;
    for (const [group, entries] of groups) {
      if (left <= 0) break;
      if (this.#busyGroups.has(`${q.key}:${group}`)) continue;
      const share = Math.min(entries.length, left);
      shares.push({ group, entries, share });
      left -= share;
    }
    for (const s of shares) this.#busyGroups.add(`${q.key}:${s.group}`);
    const taken = await Promise.allSettled(
      shares.map(async (s) => {
        try {
          return await this.#takeGroup(q, s.group, s.entries, s.share, now + visMs, now, local);
        } finally {
          this.#busyGroups.delete(`${q.key}:${s.group}`);
        }
      }),
    );
    const out = taken.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    const failed = taken.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed && out.length === 0) throw failed.reason;
    if (failed) this.#o.logger.warn({ err: failed.reason, queue: q.attrs.name }, 'could not take a FIFO group; its messages wait for the next receive');
    return out;
  }

  /**
   * Hands out the group's head and the messages right after it that are in the pool. The head is the group's first
   * message still in the stream, and a message in flight stays in the stream until it is deleted: so while one of
   * the group's messages is in flight in any process, no other message of the group is a head, and the head itself
   * is delivered to one process at a time. That holds FIFO order across processes without a lock to read and
   * write per message. A head the server delivered again while its receipt still says it is in flight (the holder
   * stopped keeping it alive: crashed or stalled) waits for that deadline, as a lock would have made it.
   */
  async #takeGroup(q: QueueRef, group: string, entries: Fetched[], want: number, dl: number, now: number, local: boolean): Promise<ReceivedMessage[]> {
    const pool = this.#pool.get(q.key);
    let expected = await this.#nextInGroup(q, group, 0);
    const taken: Array<{ e: Fetched; counted: { count: number; rec: Receipt | null } }> = [];
    for (const e of entries) {
      if (taken.length >= want || expected === null) break;
      if (e.claimed) break;
      if (e.seq < expected) {
        pool?.delete(e.seq); // no longer in the stream (deleted, purged or expired)
        continue;
      }
      if (e.seq > expected || e.visibleAt > now) break;
      e.claimed = true;
      let counted;
      try {
        const rec = await this.#receiptOf(q, e);
        if (rec?.st === 'h' && rec.dl > now) {
          e.claimed = false; // still in flight for the process that received it before
          break;
        }
        counted = await this.#countOrDeadLetter(q, e, rec);
      } catch (error) {
        e.claimed = false;
        throw error;
      }
      if (counted) taken.push({ e, counted });
      if (taken.length < want) expected = await this.#nextInGroup(q, group, e.seq + 1);
    }
    return Promise.all(taken.map((t) => this.#handOut(q, t.e, t.counted, dl, now, local)));
  }

  async #nextInGroup(q: QueueRef, group: string, fromSeq: number): Promise<number | null> {
    const stored = await this.#o.jsm.direct.getMessage(q.stream, { next_by_subj: this.#o.names.groupSubjects(q.key, group), seq: fromSeq });
    return stored ? stored.seq : null;
  }

  /** The receipt record an earlier delivery of the message left; none on a first delivery. */
  async #receiptOf(q: QueueRef, e: Fetched): Promise<Receipt | null> {
    return e.dc > 1 ? json<Receipt>(await this.#o.stateKv.get(this.#o.names.receiptKey(q.key, e.seq))) : null;
  }

  /** The receive count this delivery would have; null after moving it to the dead-letter queue instead. */
  async #countOrDeadLetter(q: QueueRef, e: Fetched, rec: Receipt | null): Promise<{ count: number; rec: Receipt | null } | null> {
    const count = e.dc - (rec?.sk ?? 0);
    const maxReceives = q.attrs.maxReceiveCount;
    if (maxReceives !== null && q.attrs.deadLetterQueue !== null && count > maxReceives) {
      await this.#deadLetter(q, e, deadLetterReason(count - 1, rec?.lf ?? null));
      return null;
    }
    return { count, rec };
  }

  /**
   * Makes the message a lease. Its receipt record is written now, except for a local receive of a message that has
   * none yet (a first delivery): that one waits in the lease until it is needed or the lease is held a while.
   */
  async #handOut(q: QueueRef, e: Fetched, counted: { count: number; rec: Receipt | null }, dl: number, now: number, local: boolean): Promise<ReceivedMessage> {
    const token = this.#o.ids.token(12);
    const firstReceivedAt = counted.rec?.f ?? now;
    const rec: Receipt = { t: token, rs: e.reply, dc: e.dc, dl, f: firstReceivedAt, sk: counted.rec?.sk ?? 0, st: 'h', g: e.group };
    if (counted.rec?.lf !== undefined) rec.lf = counted.rec.lf;
    const unrecorded = local && counted.rec === null;
    const revision = unrecorded ? null : await this.#o.stateKv.put(this.#o.names.receiptKey(q.key, e.seq), encoder.encode(JSON.stringify(rec)));
    this.#pool.get(q.key)?.delete(e.seq);
    this.#o.leases.add({
      key: q.key,
      seq: e.seq,
      token,
      reply: e.reply,
      revision,
      unrecorded: unrecorded ? rec : null,
      heldSince: Date.now(),
      dl,
      ackWaitMs: ackWaitMs(q.attrs, this.#o.ackGraceS),
      progressAt: e.progressAt,
      busy: false,
    });
    return {
      messageId: e.messageId,
      receiptHandle: receiptHandle(e.seq, token),
      body: e.body,
      groupId: e.groupId,
      attributes: e.attributes,
      receiveCount: counted.count,
      sequenceNumber: String(e.seq),
      sentAt: e.sentAt,
      firstReceivedAt,
    };
  }

  /** Moves the message to the dead-letter queue, its attributes with DEAD_LETTER_REASON set to `reason`. */
  async #deadLetter(q: QueueRef, e: Fetched, reason: string): Promise<void> {
    const dlq = await this.#o.queue(q.attrs.deadLetterQueue!).catch(() => null);
    if (dlq) {
      const h = newHeaders();
      h.set(H.messageId, e.messageId);
      h.set(H.sentAt, String(e.sentAt));
      if (e.groupId !== null) h.set(H.group, e.groupId);
      h.set(H.attributes, encodeAttributes({ ...e.attributes, [DEAD_LETTER_REASON]: reason }));
      h.set(H.sourceQueue, q.attrs.name);
      // The id makes a retry after a failure between this publish and the ack a duplicate, not a second copy.
      await this.#o.js.publish(this.#o.names.subject(dlq.key, dlq.attrs.fifo ? e.group : STANDARD_GROUP, null), encoder.encode(e.body), {
        headers: h,
        msgID: `dlq:${q.stream}:${e.seq}`,
      });
      this.#o.notify(dlq.key);
    }
    await this.#discard(e);
  }

  /** Acknowledges a fetched message without handing it out (dead-lettered or past retention). */
  async #discard(e: Fetched): Promise<void> {
    await ack(this.#o.connection, e.reply, this.#o.requestTimeoutMs);
    this.#pool.get(e.key)?.delete(e.seq);
    await this.#o.stateKv.delete(this.#o.names.receiptKey(e.key, e.seq)).catch(() => undefined);
  }

  /** Gives a fetched message back to the stream without counting the delivery as a receive. */
  async #giveBack(e: Fetched, delayMs: number): Promise<void> {
    e.claimed = true;
    const rk = this.#o.names.receiptKey(e.key, e.seq);
    const entry = await this.#o.stateKv.get(rk);
    const rec = json<Receipt>(entry);
    // A record still in flight for an earlier delivery's holder (see #takeGroup) stays so until its deadline.
    const held = rec !== null && rec.st === 'h' && rec.dl > this.#o.clock.now();
    const next: Receipt = rec
      ? { ...rec, sk: rec.sk + 1, st: held ? 'h' : 'r' }
      : { t: null, rs: null, dc: e.dc, dl: 0, f: null, sk: 1, st: 'r', g: e.group };
    if (entry && rec) await this.#o.stateKv.update(rk, encoder.encode(JSON.stringify(next)), entry.revision);
    else await this.#o.stateKv.create(rk, encoder.encode(JSON.stringify(next)));
    this.#pool.get(e.key)?.delete(e.seq);
    await nak(this.#o.connection, e.reply, delayMs, this.#o.requestTimeoutMs);
  }

  /** Housekeeping of the pool (on the engine's timer): waking receives, +WPI heartbeats, giving back what was held too long. */
  tick(realNow: number): void {
    const now = this.#o.clock.now();
    for (const [key, pool] of this.#pool) {
      let takeable = false;
      for (const e of pool.values()) {
        if (e.claimed) continue;
        if (realNow - e.heldSince >= this.#o.holdMaxMs) {
          const delayMs = e.visibleAt > now ? Math.min(e.visibleAt - now, QUEUE_LIMITS.delaySMax * 1000) : 0;
          void this.#giveBack(e, delayMs).catch((error: unknown) => this.#o.logger.warn({ err: error }, 'could not give back a message'));
          continue;
        }
        takeable ||= e.visibleAt <= now;
        if (realNow - e.progressAt >= 2000) {
          e.progressAt = realNow;
          this.#o.connection.publish(e.reply, '+WPI');
        }
      }
      // A FIFO message waiting for its group's head to be deleted in another process hears nothing of that
      // delete: a waiting receive looks again each tick while the pool holds anything it could take.
      if (takeable) this.#o.notify(key, 1);
    }
  }

  /** Clock milliseconds until the next message of this queue in the pool becomes visible; Infinity without one. */
  nextDueMs(key: string, now: number): number {
    let next = Infinity;
    for (const e of this.#pool.get(key)?.values() ?? []) if (e.visibleAt > now) next = Math.min(next, e.visibleAt - now);
    return next;
  }
}
