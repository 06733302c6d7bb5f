/**
 * The messages one process has handed out (IN FLIGHT, see queues.ts) and keeps alive on the server until their
 * visibility deadline, and what deletes and changes of visibility do to them. The receipt record in KV
 * (r.<key>.<seq>, records.ts) is what every process sees; the lease is what the receiving process knows besides:
 * the ack subject, and the revision of the record as it last wrote it.
 *
 * A lease, keyed <queue key>:<seq>:
 *
 *   hand out (record put, revision R) ──► HELD ──every half ack wait──► +WPI ──► HELD
 *   HELD ──delete here, record still at R──► conditional delete of the record ──► ACKING ──+ACK confirmed──► gone
 *   HELD ──delete, record changed (or a handle from another process)──► read, token checked, +ACK ──► gone
 *   HELD ──visibility changed here──► HELD with the new deadline and revision;  to 0: -NAK ──► gone
 *   HELD ──deadline passed (Clock)──► record still ours: marked released, -NAK ──► gone
 *                                 └─► record gone, released or re-received elsewhere ──► gone (nothing to do)
 *   ACKING ──+ACK failed──► ACKING: a retry of the delete only repeats the +ACK; at the deadline the lease is
 *                           dropped (no record) and the server delivers the message again after its ack wait
 *
 * A local receive's first delivery (ReceiveOptions.local, the workflow's stages) starts UNRECORDED: a delete is
 * the +ACK alone and its deadline a -NAK, with no record written or deleted, which saves two JetStream writes per
 * message. Held LOCAL_RECORD_AFTER_MS, or given a new visibility, it is recorded and becomes HELD. Other processes
 * meanwhile see it as any delivered message: not in flight in the queue's metrics, its handle unknown to them. A
 * crash loses nothing the record would have kept: the server delivers the message again after its ack wait, which
 * is longer than the visibility timeout, counted from the delivery count alone.
 */
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { MxError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Clock } from '../../ports/clock.js';
import type { QueueAttributes } from '../../ports/queues.js';
import type { NatsNames, QueueRef } from './names.js';
import { encoder, json, parseReceiptHandle, type Receipt } from './records.js';

/** How long a local receive's message is held before its receipt record is written (see the module comment). */
export const LOCAL_RECORD_AFTER_MS = 1000;

/** JetStream's answer to a write whose expected last revision of the key does not match. */
const WRONG_LAST_SEQUENCE = 10071;

export interface Lease {
  key: string;
  seq: number;
  token: string;
  reply: string;
  /**
   * KV revision of the receipt record as this process last wrote it: while the record still has it, no other
   * process has touched the receipt, and a delete needs no read. Null once this process deleted the record for a
   * delete whose +ACK has not been confirmed yet (ACKING).
   */
  revision: number | null;
  /**
   * The receipt record not written yet: a local receive's first delivery (ReceiveOptions.local) is recorded only
   * when something needs the record (a change of visibility) or once held LOCAL_RECORD_AFTER_MS; deleted before,
   * it is never written. Null once written, and for every other lease.
   */
  unrecorded: Receipt | null;
  /** The write of `unrecorded` in progress, if any. */
  recording?: Promise<void> | undefined;
  /** When it was handed out (real time). */
  heldSince: number;
  dl: number;
  ackWaitMs: number;
  progressAt: number;
  busy: boolean;
}

/** The consumer's ack wait: the server's crash fallback for a process that stops keeping its messages alive. */
export function ackWaitMs(attrs: QueueAttributes, graceS: number): number {
  return (Math.max(attrs.visibilityTimeoutS, 1) + graceS) * 1000;
}

/** Acknowledges a delivery; resolves once the server has removed the message. */
export async function ack(nc: NatsConnection, reply: string, timeoutMs: number): Promise<void> {
  await nc.request(reply, '+ACK', { timeout: timeoutMs });
}

/** Gives a delivery back to the server, to be delivered again after `delayMs` (server time). */
export async function nak(nc: NatsConnection, reply: string, delayMs: number, timeoutMs: number): Promise<void> {
  const payload = delayMs > 0 ? `-NAK ${JSON.stringify({ delay: nanos(delayMs) })}` : '-NAK';
  await nc.request(reply, payload, { timeout: timeoutMs });
}

export interface LeasesOptions {
  connection: NatsConnection;
  stateKv: KV;
  names: NatsNames;
  clock: Clock;
  logger: Logger;
  requestTimeoutMs: number;
  /** A message of the queue was released or deleted (wakes receives waiting on it). */
  notify(key: string): void;
}

export class Leases {
  readonly #o: LeasesOptions;
  readonly #leases = new Map<string, Lease>();

  constructor(options: LeasesOptions) {
    this.#o = options;
  }

  add(lease: Lease): void {
    this.#leases.set(`${lease.key}:${lease.seq}`, lease);
  }

  /** Forgets a message that left the stream another way (swept, redriven). */
  drop(key: string, seq: number): void {
    this.#leases.delete(`${key}:${seq}`);
  }

  /** Forgets every message of a queue (deleted or purged). */
  dropQueue(key: string): void {
    for (const [id, lease] of this.#leases) if (lease.key === key) this.#leases.delete(id);
  }

  /**
   * A delete through the process that received the message (the usual case) is two requests: the receipt record
   * is deleted on condition that it still has the revision this process wrote (so no other process released,
   * changed or received the message since), then the delivery is acknowledged. Anything else (another process's
   * handle, a record changed meanwhile) reads the record and checks the token first.
   */
  async delete(q: QueueRef, handle: string): Promise<void> {
    const { seq, token } = parseReceiptHandle(handle);
    const id = `${q.key}:${seq}`;
    const rk = this.#o.names.receiptKey(q.key, seq);
    const lease = this.#leases.get(id);
    if (lease?.recording) await lease.recording.catch(() => undefined);
    // Unrecorded, or ACKING: there is no record of this lease to delete.
    if (lease && lease.token === token && (lease.revision === null || (await this.#deleteRecord(rk, lease.revision)))) {
      // A crash from here to the +ACK loses the record: the message comes back after the ack wait, counted from
      // the server's delivery count alone (as after any crash).
      lease.revision = null;
      lease.unrecorded = null; // never written from now on
      await ack(this.#o.connection, lease.reply, this.#o.requestTimeoutMs); // confirmed once the message is removed
      if (this.#leases.get(id) === lease) this.#leases.delete(id);
      this.#o.notify(q.key);
      return;
    }
    const entry = await this.#o.stateKv.get(rk);
    const rec = json<Receipt>(entry);
    if (!entry || !rec || rec.t !== token || rec.rs === null) {
      throw new MxError('RECEIPT_HANDLE_INVALID', 'no message of this queue holds that receipt handle (deleted, or received again since)');
    }
    await ack(this.#o.connection, rec.rs, this.#o.requestTimeoutMs); // confirmed once the message is removed
    this.#leases.delete(id);
    await this.#o.stateKv.delete(rk, { previousSeq: entry.revision }).catch(() => undefined);
    this.#o.notify(q.key);
  }

  /** Deletes a receipt record if it still has `revision`; false when it has changed (or is gone). */
  async #deleteRecord(rk: string, revision: number): Promise<boolean> {
    try {
      await this.#o.stateKv.delete(rk, { previousSeq: revision });
      return true;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) return false;
      throw error;
    }
  }

  /**
   * Works from any process: the record holds the token and the ack subject. A holder in another process learns a
   * new deadline from the record when its own deadline comes.
   */
  /** `reason`: the consumer's failure, kept in the receipt record as the message's last one (null keeps the one it has). */
  async changeVisibility(q: QueueRef, handle: string, visibilityTimeoutS: number, reason: string | null = null): Promise<void> {
    const { seq, token } = parseReceiptHandle(handle);
    const rk = this.#o.names.receiptKey(q.key, seq);
    const own = this.#leases.get(`${q.key}:${seq}`);
    if (own && own.token === token && own.dl > this.#o.clock.now()) await this.#record(own);
    const entry = await this.#o.stateKv.get(rk);
    const rec = json<Receipt>(entry);
    const now = this.#o.clock.now();
    if (!entry || !rec || rec.t !== token || rec.st !== 'h' || rec.dl <= now || rec.rs === null) {
      throw new MxError('RECEIPT_HANDLE_INVALID', 'no in-flight message of this queue holds that receipt handle');
    }
    const dl = now + visibilityTimeoutS * 1000;
    const release = visibilityTimeoutS === 0;
    const next: Receipt = { ...rec, dl, st: release ? 'r' : 'h', ...(reason === null ? {} : { lf: reason }) };
    const revision = await this.#o.stateKv.update(rk, encoder.encode(JSON.stringify(next)), entry.revision);
    const id = `${q.key}:${seq}`;
    const lease = this.#leases.get(id);
    if (release) {
      this.#leases.delete(id);
      await nak(this.#o.connection, rec.rs, 0, this.#o.requestTimeoutMs);
    } else if (lease && lease.token === token) {
      lease.dl = dl;
      if (lease.revision !== null) lease.revision = revision;
    }
    this.#o.notify(q.key);
  }

  /** Makes visible again every handed-out message of this process whose visibility deadline (Clock) passed. */
  async reap(): Promise<void> {
    const now = this.#o.clock.now();
    const due = [...this.#leases.entries()].filter(([, l]) => l.dl <= now && !l.busy);
    await Promise.all(due.map(([id, lease]) => this.#expire(id, lease, now)));
  }

  async #expire(id: string, lease: Lease, now: number): Promise<void> {
    lease.busy = true;
    try {
      if (lease.recording) await lease.recording;
      if (lease.unrecorded !== null) {
        lease.unrecorded = null; // released: never written from now on
        this.#leases.delete(id);
        await nak(this.#o.connection, lease.reply, 0, this.#o.requestTimeoutMs);
        this.#o.notify(lease.key);
        return;
      }
      const rk = this.#o.names.receiptKey(lease.key, lease.seq);
      const entry = await this.#o.stateKv.get(rk);
      const rec = json<Receipt>(entry);
      if (!entry || !rec || rec.t !== lease.token || rec.st !== 'h') {
        this.#leases.delete(id); // deleted or released through another process
        return;
      }
      if (rec.dl > now) {
        lease.dl = rec.dl; // changed through another process
        return;
      }
      await this.#o.stateKv.update(rk, encoder.encode(JSON.stringify({ ...rec, st: 'r' })), entry.revision);
      this.#leases.delete(id);
      await nak(this.#o.connection, lease.reply, 0, this.#o.requestTimeoutMs);
      this.#o.notify(lease.key);
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'could not release an expired message; retrying');
    } finally {
      lease.busy = false;
    }
  }

  /** Keeps every lease alive on the server: +WPI once half its ack wait has passed since the last one. */
  heartbeat(realNow: number): void {
    for (const lease of this.#leases.values()) {
      if (lease.unrecorded !== null && !lease.recording && !lease.busy && realNow - lease.heldSince >= LOCAL_RECORD_AFTER_MS) {
        void this.#record(lease).catch((error: unknown) => this.#o.logger.warn({ err: error }, 'could not record a held message; will retry'));
      }
      if (realNow - lease.progressAt >= lease.ackWaitMs / 2) {
        lease.progressAt = realNow;
        this.#o.connection.publish(lease.reply, '+WPI');
      }
    }
  }

  /** Writes an unrecorded lease's receipt record (once; concurrent callers share the write). */
  #record(lease: Lease): Promise<void> {
    if (lease.unrecorded === null) return Promise.resolve();
    lease.recording ??= (async () => {
      const rec: Receipt = { ...lease.unrecorded!, dl: lease.dl };
      const revision = await this.#o.stateKv.put(this.#o.names.receiptKey(lease.key, lease.seq), encoder.encode(JSON.stringify(rec)));
      lease.revision = revision;
      lease.unrecorded = null;
    })().finally(() => (lease.recording = undefined));
    return lease.recording;
  }

  /** Clock milliseconds until the next deadline of a lease of this queue; Infinity without one. */
  nextDueMs(key: string, now: number): number {
    let next = Infinity;
    for (const lease of this.#leases.values()) if (lease.key === key) next = Math.min(next, lease.dl - now);
    return next;
  }
}
