/**
 * The NATS JetStream queue engine: the queue port (ports/queues.ts) on nats-server 2.9 or later.
 *
 * JetStream keeps the messages and delivers them; the adapter adds what SQS semantics need and JetStream
 * lacks, and takes every time it decides on from the Clock port (docs/DISTRIBUTED-QUEUES.md says what
 * differs from the embedded engine and why).
 *
 * Storage: one stream per queue (WorkQueue retention: an acknowledged message is removed), one durable pull
 * consumer on it, and three KV buckets: queue attributes, per-message state (receipts and FIFO group locks),
 * and dedup keys. Names: names.ts.
 *
 * A message as JetStream sees it, and as the port sees it:
 *
 *   stream, undelivered ──fetch──► delivered to a process of the hub (unacked on the server)
 *                                       │
 *     ┌─────────────────────────────────┤ in that process's POOL: the port calls it VISIBLE (or DELAYED while
 *     │                                 │ before Mx-Visible-At; a FIFO message waits there until it is its
 *     │                                 │ group's head and the group is free). Kept alive with +WPI.
 *     │ held too long (holdMaxMs):      ▼
 *     │ -NAK, not counted as a receive  handed out ──► IN FLIGHT: receipt record r.<key>.<seq> in KV
 *     ▼                                 │   (token, ack subject, delivery count, Clock deadline); a LEASE in
 *   redelivered later                   │   the receiving process keeps it alive with +WPI until the deadline
 *                                       │
 *            delete: +ACK (confirmed) ◄─┼─► deadline passed (Clock): -NAK ──► redelivered, counts a receive
 *            ──► gone                   │
 *                                       └─► receive count over max_receive_count at the next fetch:
 *                                           published to the dead-letter queue's stream, then +ACK
 *
 * receiveCount = server delivery count - deliveries the adapter did not hand out (recorded in the receipt
 * record as `sk`). A process that dies holds its pool and leases only until the consumer's ack wait
 * (visibility timeout + ackGraceS): then JetStream delivers them again, one delivery more than counted.
 */
import { createInbox, headers as newHeaders, nanos, errors as natsErrors, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, JetStreamApiError, JetStreamError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { MxError, isMxError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/ids.js';
import {
  QUEUE_LIMITS,
  type BatchOutcome,
  type CreateQueueInput,
  type MessageAttributes,
  type QueueAttributes,
  type QueueInfo,
  type QueueMetrics,
  type QueueService,
  type ReceiveOptions,
  type ReceivedMessage,
  type SendInput,
  type SendResult,
} from '../../ports/queues.js';
import { checkMessage, checkQueueName, normalizeQueue, sameAttributes, type QueueDefaults } from '../../queues/rules.js';
import { base32, CONSUMER, groupToken, NatsNames, STANDARD_GROUP, unbase32 } from './names.js';

export interface NatsQueuesOptions {
  connection: NatsConnection;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  defaults: QueueDefaults;
  maxQueues: number;
  dedupWindowS: number;
  /** Namespace of every stream, subject and bucket ([a-z][a-z0-9]{0,15}); default "mxq". */
  prefix?: string;
  /** Most messages one sweep removes per queue; default 1000. */
  sweepBatchMax?: number;
  /** The consumer's ack wait is the visibility timeout plus this (the crash fallback); default 10. */
  ackGraceS?: number;
  /** How long a process keeps a fetched message it cannot hand out before giving it back; default 5000. */
  holdMaxMs?: number;
  /** Period of the housekeeping timer (heartbeats, deadlines, giving back); default 500. */
  tickMs?: number;
  /** Timeout of one request to the server; default 5000. */
  requestTimeoutMs?: number;
}

const H = {
  messageId: 'Mx-Message-Id',
  sentAt: 'Mx-Sent-At',
  visibleAt: 'Mx-Visible-At',
  group: 'Mx-Group',
  attributes: 'Mx-Attributes',
  sourceQueue: 'Mx-Source-Queue',
} as const;

const RECEIPT = /^(\d{1,15})\.([A-Za-z0-9_-]{8,64})$/;
const PULL_ROUNDS = 10;
const POOL_MAX = 1000;
const SCAN_MAX = 10_000;
const MAX_ACK_PENDING = 20_000;
const STATE_MAX_AGE_S = QUEUE_LIMITS.retentionSMax + 86_400;
const CACHE_MS = 1000;

interface QueueRef {
  attrs: QueueAttributes;
  key: string;
  stream: string;
}

/** The state of one delivery that was handed out (or given back uncounted), in KV under r.<key>.<seq>. */
interface Receipt {
  /** Token of the receipt handle; null when the delivery was given back without being handed out. */
  t: string | null;
  /** Ack subject of that delivery. */
  rs: string | null;
  dc: number;
  /** Clock deadline of the visibility timeout. */
  dl: number;
  /** Clock time of the first receive; null before one. */
  f: number | null;
  /** Deliveries the adapter did not hand out (not receives). */
  sk: number;
  /** h: handed out and held; r: released (visible again or given back). */
  st: 'h' | 'r';
  /** The FIFO group token (subject token) of the message. */
  g: string;
}

/** A FIFO group's handed-out messages (seq -> Clock deadline), in KV under g.<key>.<group>. */
interface GroupLock {
  m: Record<string, number>;
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

interface Lease {
  key: string;
  seq: number;
  token: string;
  reply: string;
  dl: number;
  ackWaitMs: number;
  progressAt: number;
  busy: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function json<T>(entry: KvEntry | null): T | null {
  return entry && entry.operation === 'PUT' ? (JSON.parse(decoder.decode(entry.value)) as T) : null;
}

function ackWaitMs(attrs: QueueAttributes, graceS: number): number {
  return (Math.max(attrs.visibilityTimeoutS, 1) + graceS) * 1000;
}

function isNatsError(error: unknown): boolean {
  return (
    error instanceof JetStreamError ||
    error instanceof JetStreamApiError ||
    error instanceof natsErrors.TimeoutError ||
    error instanceof natsErrors.ConnectionError ||
    error instanceof natsErrors.ClosedConnectionError ||
    error instanceof natsErrors.RequestError ||
    error instanceof natsErrors.NoRespondersError
  );
}

function isStreamNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === 10059;
}

export class NatsQueues implements QueueService {
  readonly #o: Required<NatsQueuesOptions>;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #names: NatsNames;
  readonly #queuesKv: KV;
  readonly #stateKv: KV;
  readonly #dedupKv: KV;
  readonly #pool = new Map<string, Map<number, Fetched>>();
  readonly #leases = new Map<string, Lease>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #longPulls = new Map<string, Promise<void>>();
  readonly #busyGroups = new Set<string>();
  readonly #cache = new Map<string, { ref: QueueRef; at: number }>();
  readonly #timer: NodeJS.Timeout;
  #ticking = false;
  #closed = false;

  private constructor(o: Required<NatsQueuesOptions>, jsm: JetStreamManager, buckets: { queues: KV; state: KV; dedup: KV }) {
    this.#o = o;
    this.#nc = o.connection;
    this.#js = jetstream(o.connection);
    this.#jsm = jsm;
    this.#names = new NatsNames(o.prefix);
    this.#queuesKv = buckets.queues;
    this.#stateKv = buckets.state;
    this.#dedupKv = buckets.dedup;
    this.#timer = setInterval(() => void this.#tick(), o.tickMs);
    this.#timer.unref();
  }

  /** Creates (or binds to) the KV buckets of the prefix and starts the housekeeping timer. */
  static async open(options: NatsQueuesOptions): Promise<NatsQueues> {
    const o: Required<NatsQueuesOptions> = {
      prefix: 'mxq',
      sweepBatchMax: 1000,
      ackGraceS: 10,
      holdMaxMs: 5000,
      tickMs: 500,
      requestTimeoutMs: 5000,
      ...options,
    };
    const names = new NatsNames(o.prefix);
    const jsm = await jetstreamManager(o.connection, { timeout: o.requestTimeoutMs });
    const kvm = new Kvm(o.connection);
    const common = { history: 1, storage: 'file' as const, replicas: 1 };
    const queues = await kvm.create(names.queuesBucket, common);
    const state = await kvm.create(names.stateBucket, { ...common, ttl: STATE_MAX_AGE_S * 1000 });
    const dedup = await kvm.create(`${names.upper}_dedup`, { ...common, ttl: (o.dedupWindowS + 60) * 1000 });
    return new NatsQueues(o, jsm, { queues, state, dedup });
  }

  /** Stops the timer, gives back every fetched message not handed out, and ends long polls. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const key of [...this.#waiters.keys()]) this.#notify(key);
    const held = [...this.#pool.values()].flatMap((m) => [...m.values()]).filter((e) => !e.claimed);
    await Promise.allSettled(held.map((e) => this.#giveBack(e, 0)));
  }

  // ── queue management ───────────────────────────────────────────────────────────────────────────────────

  async createQueue(input: CreateQueueInput): Promise<{ queue: QueueAttributes; created: boolean }> {
    const attrs = normalizeQueue(input, this.#o.defaults);
    return this.#guard(async () => {
      const key = base32(attrs.name);
      const existing = json<QueueAttributes>(await this.#queuesKv.get(key));
      if (existing) return this.#existing(existing, attrs);
      if ((await this.#allQueueNames()).length >= this.#o.maxQueues) {
        throw new MxError('QUEUE_LIMIT_REACHED', `at most ${this.#o.maxQueues} queues may exist`);
      }
      if (attrs.deadLetterQueue !== null) {
        const dlq = json<QueueAttributes>(await this.#queuesKv.get(base32(attrs.deadLetterQueue)));
        if (!dlq) throw new MxError('QUEUE_NOT_FOUND', `dead_letter_queue ${attrs.deadLetterQueue} does not exist; create it first`);
        if (dlq.fifo !== attrs.fifo) {
          throw new MxError('INVALID_ATTRIBUTE', 'a dead_letter_queue must be of the same kind (FIFO or standard) as its queue');
        }
      }
      const queue: QueueAttributes = { ...attrs, createdAt: this.#o.clock.now() };
      // The stream first: a queue that is visible in the bucket always has its stream.
      await this.#ensureStream(key, queue);
      try {
        await this.#queuesKv.create(key, encoder.encode(JSON.stringify(queue)));
      } catch (error) {
        const raced = json<QueueAttributes>(await this.#queuesKv.get(key));
        if (raced) return this.#existing(raced, attrs);
        throw error;
      }
      return { queue, created: true };
    });
  }

  async getQueue(name: string): Promise<QueueInfo> {
    checkQueueName(name);
    return this.#guard(async () => {
      const q = await this.#queue(name, true);
      return { ...q.attrs, metrics: await this.#metrics(q) };
    });
  }

  async listQueues(): Promise<QueueInfo[]> {
    return this.#guard(async () => {
      const out: QueueInfo[] = [];
      for (const name of (await this.#allQueueNames()).sort()) {
        try {
          const q = await this.#queue(name, true);
          out.push({ ...q.attrs, metrics: await this.#metrics(q) });
        } catch (error) {
          if (!(isMxError(error) && error.code === 'QUEUE_NOT_FOUND')) throw error;
        }
      }
      return out;
    });
  }

  async deleteQueue(name: string): Promise<void> {
    checkQueueName(name);
    await this.#guard(async () => {
      const q = await this.#queue(name, true);
      const users: string[] = [];
      for (const other of await this.#allQueueNames()) {
        const attrs = json<QueueAttributes>(await this.#queuesKv.get(base32(other)));
        if (attrs?.deadLetterQueue === name) users.push(other);
      }
      if (users.length > 0) throw new MxError('QUEUE_IN_USE', `queue ${name} is the dead_letter_queue of ${users.join(', ')}`);
      await this.#queuesKv.delete(q.key);
      this.#cache.delete(name);
      this.#dropLocal(q.key);
      await this.#jsm.streams.delete(q.stream).catch((error: unknown) => {
        if (!isStreamNotFound(error)) throw error;
      });
      await this.#purgeState(q.key, ['r', 'g']);
      await this.#jsm.streams.purge(`KV_${this.#names.upper}_dedup`, { filter: `$KV.${this.#names.upper}_dedup.d.${q.key}.>` });
      this.#notify(q.key);
    });
  }

  async purgeQueue(name: string): Promise<{ purged: number }> {
    checkQueueName(name);
    return this.#guard(async () => {
      const q = await this.#queue(name, true);
      const { purged } = await this.#jsm.streams.purge(q.stream);
      this.#dropLocal(q.key);
      await this.#purgeState(q.key, ['r', 'g']);
      return { purged };
    });
  }

  // ── messages ───────────────────────────────────────────────────────────────────────────────────────────

  async send(queue: string, input: SendInput): Promise<SendResult> {
    checkQueueName(queue);
    return this.#guard(async () => this.#send(await this.#queue(queue), input));
  }

  async sendBatch(queue: string, entries: SendInput[]): Promise<BatchOutcome<SendResult>[]> {
    checkQueueName(queue);
    return this.#guard(async () => {
      const q = await this.#queue(queue);
      const outcomes: BatchOutcome<SendResult>[] = [];
      // One after the other, so that sequence numbers follow the order of the entries.
      for (const entry of entries) {
        try {
          outcomes.push({ ok: true, value: await this.#send(q, entry) });
        } catch (error) {
          if (!isMxError(error)) throw error;
          outcomes.push({ ok: false, error });
        }
      }
      return outcomes;
    });
  }

  async receive(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]> {
    checkQueueName(queue);
    const max = options.max;
    if (!Number.isInteger(max) || max < 1 || max > QUEUE_LIMITS.receiveMax) {
      throw new MxError('INVALID_ATTRIBUTE', `max must be an integer from 1 to ${QUEUE_LIMITS.receiveMax}`);
    }
    const waitMs = options.waitMs ?? 0;
    if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > QUEUE_LIMITS.waitSMax * 1000) {
      throw new MxError('INVALID_ATTRIBUTE', `the wait must be from 0 to ${QUEUE_LIMITS.waitSMax} s`);
    }
    const vis = options.visibilityTimeoutS;
    if (vis !== undefined && (!Number.isInteger(vis) || vis < 0 || vis > QUEUE_LIMITS.visibilityTimeoutSMax)) {
      throw new MxError('INVALID_ATTRIBUTE', `visibility must be an integer from 0 to ${QUEUE_LIMITS.visibilityTimeoutSMax} s`);
    }
    return this.#guard(async () => {
      const q = await this.#queue(queue);
      const visMs = (vis ?? q.attrs.visibilityTimeoutS) * 1000;
      const deadline = Date.now() + waitMs;
      const out: ReceivedMessage[] = [];
      for (;;) {
        // Register before looking, so that anything that happens after the look wakes this receive.
        const wake = waitMs > 0 ? this.#subscribe(q.key) : null;
        try {
          await this.#reap();
          out.push(...(await this.#take(q, max - out.length, visMs)));
          for (let round = 0; out.length < max && round < PULL_ROUNDS && !this.#closed; round++) {
            if ((this.#pool.get(q.key)?.size ?? 0) >= POOL_MAX) break;
            const want = max - out.length;
            const fetched = await this.#pull(q, want, null);
            if (fetched > 0) out.push(...(await this.#take(q, max - out.length, visMs)));
            if (fetched < want) break;
          }
          const remaining = deadline - Date.now();
          if (out.length > 0 || !wake || remaining <= 0 || this.#closed || options.signal?.aborted) return out;
          let longPull = this.#longPulls.get(q.key);
          if (!longPull) {
            longPull = this.#pull(q, 1, remaining).then(
              () => undefined,
              (error: unknown) => this.#o.logger.warn({ err: error, queue }, 'long poll failed'),
            );
            const started = longPull;
            this.#longPulls.set(q.key, started);
            void started.finally(() => {
              if (this.#longPulls.get(q.key) === started) this.#longPulls.delete(q.key);
            });
          }
          await wake.wait(Math.min(remaining, this.#nextDueMs(q.key)), options.signal, longPull);
        } finally {
          wake?.cancel();
        }
      }
    });
  }

  async delete(queue: string, receiptHandle: string): Promise<void> {
    checkQueueName(queue);
    await this.#guard(async () => this.#delete(await this.#queue(queue), receiptHandle));
  }

  async deleteBatch(queue: string, receiptHandles: string[]): Promise<BatchOutcome<void>[]> {
    checkQueueName(queue);
    return this.#guard(async () => {
      const q = await this.#queue(queue);
      return Promise.all(
        receiptHandles.map(async (handle): Promise<BatchOutcome<void>> => {
          try {
            await this.#delete(q, handle);
            return { ok: true, value: undefined };
          } catch (error) {
            if (!isMxError(error)) throw error;
            return { ok: false, error };
          }
        }),
      );
    });
  }

  async changeVisibility(queue: string, receiptHandle: string, visibilityTimeoutS: number): Promise<void> {
    checkQueueName(queue);
    if (!Number.isInteger(visibilityTimeoutS) || visibilityTimeoutS < 0 || visibilityTimeoutS > QUEUE_LIMITS.visibilityTimeoutSMax) {
      throw new MxError('INVALID_ATTRIBUTE', `visibility must be an integer from 0 to ${QUEUE_LIMITS.visibilityTimeoutSMax} s`);
    }
    await this.#guard(async () => {
      const q = await this.#queue(queue);
      const { seq, token } = parseReceiptHandle(receiptHandle);
      const rk = this.#names.receiptKey(q.key, seq);
      const entry = await this.#stateKv.get(rk);
      const rec = json<Receipt>(entry);
      const now = this.#o.clock.now();
      if (!entry || !rec || rec.t !== token || rec.st !== 'h' || rec.dl <= now || rec.rs === null) {
        throw new MxError('RECEIPT_HANDLE_INVALID', 'no in-flight message of this queue holds that receipt handle');
      }
      const dl = now + visibilityTimeoutS * 1000;
      const release = visibilityTimeoutS === 0;
      await this.#stateKv.update(rk, encoder.encode(JSON.stringify({ ...rec, dl, st: release ? 'r' : 'h' })), entry.revision);
      const lease = this.#leases.get(`${q.key}:${seq}`);
      if (release) {
        this.#leases.delete(`${q.key}:${seq}`);
        await this.#nak(rec.rs, 0);
      } else if (lease && lease.token === token) {
        lease.dl = dl;
      }
      // A holder in another process learns the new deadline from the record when its own deadline comes.
      if (q.attrs.fifo) await this.#updateGroup(q, rec.g, (m) => void (m[String(seq)] = dl));
      this.#notify(q.key);
    });
  }

  async redrive(deadLetterQueue: string): Promise<{ moved: number }> {
    checkQueueName(deadLetterQueue);
    return this.#guard(async () => {
      const dlq = await this.#queue(deadLetterQueue, true);
      let used = false;
      for (const other of await this.#allQueueNames()) {
        const attrs = json<QueueAttributes>(await this.#queuesKv.get(base32(other)));
        if (attrs?.deadLetterQueue === deadLetterQueue) used = true;
      }
      let moved = 0;
      let seen = 0;
      let cursor = 0;
      const sources = new Map<string, QueueRef | null>();
      // One message at a time by sequence: a large dead-letter queue is moved in bounded steps.
      for (;;) {
        const stored = await this.#jsm.direct.getMessage(dlq.stream, { next_by_subj: this.#names.subjects(dlq.key), seq: cursor });
        if (!stored) break;
        cursor = stored.seq + 1;
        const source = stored.header.get(H.sourceQueue);
        if (!source) continue;
        const now = this.#o.clock.now();
        const rec = json<Receipt>(await this.#stateKv.get(this.#names.receiptKey(dlq.key, stored.seq)));
        if (rec && rec.st === 'h' && rec.dl > now) continue; // in flight on the dead-letter queue
        seen += 1;
        if (!sources.has(source)) sources.set(source, await this.#queue(source).catch(() => null));
        const target = sources.get(source);
        if (!target) continue;
        const h = newHeaders();
        for (const name of [H.messageId, H.sentAt, H.group, H.attributes]) {
          const value = stored.header.get(name);
          if (value) h.set(name, value);
        }
        const group = stored.subject.split('.')[2] ?? STANDARD_GROUP;
        await this.#js.publish(this.#names.subject(target.key, target.attrs.fifo ? group : STANDARD_GROUP, null), stored.data, {
          headers: h,
          msgID: `redrive:${dlq.stream}:${stored.seq}`,
        });
        await this.#jsm.streams.deleteMessage(dlq.stream, stored.seq, false);
        this.#pool.get(dlq.key)?.delete(stored.seq);
        this.#leases.delete(`${dlq.key}:${stored.seq}`);
        await this.#stateKv.delete(this.#names.receiptKey(dlq.key, stored.seq)).catch(() => undefined);
        this.#notify(target.key);
        moved += 1;
      }
      if (!used && seen === 0) {
        throw new MxError('NOT_A_DEAD_LETTER_QUEUE', `queue ${deadLetterQueue} is no queue's dead_letter_queue and holds no dead-lettered messages`);
      }
      return { moved };
    });
  }

  /** Removes messages past their retention (Clock time), at most sweepBatchMax per queue. */
  async sweep(): Promise<{ messages: number }> {
    return this.#guard(async () => {
      let messages = 0;
      const now = this.#o.clock.now();
      for (const name of await this.#allQueueNames()) {
        const q = await this.#queue(name).catch(() => null);
        if (!q) continue;
        let cursor = 0;
        for (let i = 0; i < this.#o.sweepBatchMax; i++) {
          const stored = await this.#jsm.direct.getMessage(q.stream, { next_by_subj: this.#names.subjects(q.key), seq: cursor });
          if (!stored) break;
          const sentAt = Number(stored.header.get(H.sentAt));
          // Messages are in send order, so the expired ones come first (up to clock differences of senders).
          if (sentAt + q.attrs.retentionS * 1000 > now) break;
          await this.#jsm.streams.deleteMessage(q.stream, stored.seq, false);
          this.#pool.get(q.key)?.delete(stored.seq);
          this.#leases.delete(`${q.key}:${stored.seq}`);
          cursor = stored.seq + 1;
          messages += 1;
        }
      }
      return { messages };
    });
  }

  // ── internals: queues ──────────────────────────────────────────────────────────────────────────────────

  #existing(existing: QueueAttributes, wanted: Omit<QueueAttributes, 'createdAt'>): { queue: QueueAttributes; created: boolean } {
    if (sameAttributes(existing, wanted)) return { queue: existing, created: false };
    throw new MxError('QUEUE_ALREADY_EXISTS', `queue ${wanted.name} exists with different attributes`);
  }

  async #ensureStream(key: string, attrs: QueueAttributes): Promise<void> {
    const stream = this.#names.stream(key);
    const config = {
      subjects: [this.#names.subjects(key)],
      retention: 'workqueue' as const,
      storage: 'file' as const,
      num_replicas: 1,
      // The stream may not dedup longer than it keeps messages; the adapter's own dedup records still hold the
      // full window (a retried publish after that long is the only case the stream would not catch).
      duplicate_window: nanos(Math.min(this.#o.dedupWindowS, attrs.retentionS) * 1000),
      max_msg_size: attrs.maxMessageBytes + 64 * 1024,
      max_age: nanos(attrs.retentionS * 1000),
      allow_direct: true,
    };
    try {
      await this.#jsm.streams.add({ name: stream, ...config });
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== 10058) throw error;
      await this.#jsm.streams.update(stream, config); // left over from a create that did not finish
    }
    await this.#jsm.consumers.add(stream, {
      durable_name: CONSUMER,
      ack_policy: 'explicit' as never,
      ack_wait: nanos(ackWaitMs(attrs, this.#o.ackGraceS)),
      max_deliver: -1,
      max_ack_pending: MAX_ACK_PENDING,
      filter_subject: this.#names.subjects(key),
      deliver_policy: 'all' as never,
    });
  }

  async #allQueueNames(): Promise<string[]> {
    const names: string[] = [];
    for await (const key of await this.#queuesKv.keys()) names.push(unbase32(key));
    return names;
  }

  async #queue(name: string, fresh = false): Promise<QueueRef> {
    const cached = this.#cache.get(name);
    if (cached && !fresh && Date.now() - cached.at < CACHE_MS) return cached.ref;
    const key = base32(name);
    const attrs = json<QueueAttributes>(await this.#queuesKv.get(key));
    if (!attrs) {
      this.#cache.delete(name);
      throw new MxError('QUEUE_NOT_FOUND', `queue ${name} does not exist`);
    }
    const ref = { attrs, key, stream: this.#names.stream(key) };
    this.#cache.set(name, { ref, at: Date.now() });
    return ref;
  }

  async #metrics(q: QueueRef): Promise<QueueMetrics> {
    const now = this.#o.clock.now();
    const info = await this.#jsm.streams.info(q.stream, { subjects_filter: this.#names.delayedSubjects(q.key) });
    const total = info.state.messages;
    let delayed = 0;
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      if ((this.#names.visibleAtOf(subject) ?? 0) > now) delayed += count;
    }
    let inFlight = 0;
    const keys: string[] = [];
    for await (const k of await this.#stateKv.keys(`r.${q.key}.*`)) {
      if (keys.length < SCAN_MAX) keys.push(k);
    }
    const records = await Promise.all(keys.map(async (k) => json<Receipt>(await this.#stateKv.get(k))));
    for (const rec of records) if (rec && rec.st === 'h' && rec.dl > now) inFlight += 1;
    let oldestAgeS = 0;
    if (total > 0) {
      const first = await this.#jsm.direct.getMessage(q.stream, { next_by_subj: this.#names.subjects(q.key), seq: info.state.first_seq });
      const sentAt = Number(first?.header.get(H.sentAt) ?? now);
      oldestAgeS = Math.max(0, Math.floor((now - sentAt) / 1000));
    }
    return { visible: Math.max(0, total - inFlight - delayed), inFlight: Math.min(inFlight, total), delayed, oldestAgeS };
  }

  async #purgeState(key: string, kinds: string[]): Promise<void> {
    const stream = `KV_${this.#names.stateBucket}`;
    for (const kind of kinds) await this.#jsm.streams.purge(stream, { filter: `$KV.${this.#names.stateBucket}.${kind}.${key}.>` });
  }

  #dropLocal(key: string): void {
    this.#pool.delete(key);
    for (const [id, lease] of this.#leases) if (lease.key === key) this.#leases.delete(id);
  }

  // ── internals: send ────────────────────────────────────────────────────────────────────────────────────

  async #send(q: QueueRef, input: SendInput): Promise<SendResult> {
    const checked = checkMessage(q.attrs, input);
    const now = this.#o.clock.now();
    let dedup: { key: string; entry: KvEntry | null } | null = null;
    if (checked.dedupKey !== null) {
      const key = this.#names.dedupKey(q.key, checked.dedupKey);
      const entry = await this.#dedupKv.get(key);
      const seen = json<{ id: string; seq: number; exp: number }>(entry);
      if (seen && seen.exp > now) return { messageId: seen.id, sequenceNumber: String(seen.seq), duplicate: true };
      dedup = { key, entry };
    }
    const messageId = this.#o.ids.uuid();
    const h = newHeaders();
    h.set(H.messageId, messageId);
    h.set(H.sentAt, String(now));
    const visibleAt = checked.delayS > 0 ? now + checked.delayS * 1000 : null;
    if (visibleAt !== null) h.set(H.visibleAt, String(visibleAt));
    if (checked.groupId !== null) h.set(H.group, checked.groupId);
    if (checked.attributes !== null) h.set(H.attributes, Buffer.from(JSON.stringify(checked.attributes)).toString('base64url'));
    const group = q.attrs.fifo && checked.groupId !== null ? groupToken(checked.groupId) : STANDARD_GROUP;
    // The same dedup key in the same window state publishes under the same Nats-Msg-Id, so that a retry after a
    // failure between the publish and the dedup record is deduplicated by the stream itself.
    const msgID = dedup ? `${dedup.key}.${dedup.entry?.revision ?? 0}` : messageId;
    let ack;
    try {
      ack = await this.#js.publish(this.#names.subject(q.key, group, visibleAt), encoder.encode(checked.body), { headers: h, msgID });
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === 10054) {
        throw new MxError('MESSAGE_TOO_LARGE', `message is larger than the server takes`, { cause: error });
      }
      if (error instanceof natsErrors.NoRespondersError || isStreamNotFound(error)) {
        this.#cache.delete(q.attrs.name);
        throw new MxError('QUEUE_NOT_FOUND', `queue ${q.attrs.name} does not exist`, { cause: error });
      }
      throw error;
    }
    let id = messageId;
    if (ack.duplicate) {
      const original = await this.#jsm.direct.getMessage(q.stream, { seq: ack.seq });
      id = original?.header.get(H.messageId) || messageId;
    }
    if (dedup) {
      const record = encoder.encode(JSON.stringify({ id, seq: ack.seq, exp: now + this.#o.dedupWindowS * 1000 }));
      try {
        if (dedup.entry) await this.#dedupKv.update(dedup.key, record, dedup.entry.revision);
        else await this.#dedupKv.create(dedup.key, record);
      } catch (error) {
        // Another sender of the same key won: the stream deduplicated ours to the same message.
        const seen = json<{ id: string; seq: number; exp: number }>(await this.#dedupKv.get(dedup.key));
        if (!seen) throw error;
        return { messageId: seen.id, sequenceNumber: String(seen.seq), duplicate: true };
      }
    }
    if (!ack.duplicate) this.#notify(q.key);
    return { messageId: id, sequenceNumber: String(ack.seq), duplicate: ack.duplicate };
  }

  // ── internals: fetch and hand out ──────────────────────────────────────────────────────────────────────

  /**
   * One pull request for up to `batch` messages: no_wait when expiresMs is null, else a long poll. Every message
   * that arrives goes to the pool (and wakes waiting receives). Resolves with the number that arrived.
   */
  #pull(q: QueueRef, batch: number, expiresMs: number | null): Promise<number> {
    return new Promise((resolve, reject) => {
      let count = 0;
      const inbox = createInbox();
      const timer = setTimeout(() => finish(), (expiresMs ?? 0) + this.#o.requestTimeoutMs);
      timer.unref();
      const sub = this.#nc.subscribe(inbox, {
        callback: (error, msg) => {
          if (error) {
            finish();
            return;
          }
          const code = msg.headers?.code ?? 0;
          if (code >= 100 && !msg.reply) {
            // 404/408: nothing more for this request; 409: the consumer went away or limits were hit.
            if (code === 409) this.#o.logger.debug({ description: msg.headers?.description, queue: q.attrs.name }, 'pull request ended');
            finish();
            return;
          }
          count += 1;
          this.#addToPool(q, msg);
          if (count >= batch) finish();
        },
      });
      const finish = () => {
        clearTimeout(timer);
        if (!sub.isClosed()) sub.unsubscribe();
        resolve(count);
      };
      const request = expiresMs === null ? { batch, no_wait: true } : { batch, expires: nanos(Math.max(expiresMs, 10)) };
      try {
        this.#nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${q.stream}.${CONSUMER}`, JSON.stringify(request), { reply: inbox });
      } catch (error) {
        clearTimeout(timer);
        sub.unsubscribe();
        reject(error as Error);
      }
    });
  }

  #addToPool(q: QueueRef, msg: Msg): void {
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
      attributes: encoded ? (JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as MessageAttributes) : {},
      body: decoder.decode(msg.data),
      heldSince: Date.now(),
      progressAt: Date.now(),
      claimed: false,
    };
    let pool = this.#pool.get(q.key);
    if (!pool) this.#pool.set(q.key, (pool = new Map()));
    pool.set(seq, entry);
    this.#notify(q.key);
  }

  async #take(q: QueueRef, want: number, visMs: number): Promise<ReceivedMessage[]> {
    if (want <= 0) return [];
    const pool = this.#pool.get(q.key);
    if (!pool || pool.size === 0) return [];
    const now = this.#o.clock.now();
    const retentionMs = q.attrs.retentionS * 1000;
    const expired = [...pool.values()].filter((e) => !e.claimed && e.sentAt + retentionMs <= now);
    for (const e of expired) e.claimed = true;
    await Promise.all(expired.map((e) => this.#discard(e)));
    return q.attrs.fifo ? this.#takeFifo(q, want, visMs, now) : this.#takeStandard(q, want, visMs, now);
  }

  async #takeStandard(q: QueueRef, want: number, visMs: number, now: number): Promise<ReceivedMessage[]> {
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
            const checked = await this.#countOrDeadLetter(q, e);
            return checked ? await this.#handOut(q, e, checked, now + visMs, now) : null;
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

  async #takeFifo(q: QueueRef, want: number, visMs: number, now: number): Promise<ReceivedMessage[]> {
    const pool = this.#pool.get(q.key);
    if (!pool) return [];
    const groups = new Map<string, Fetched[]>();
    for (const e of [...pool.values()].sort((a, b) => a.seq - b.seq)) {
      if (e.claimed) continue;
      let list = groups.get(e.group);
      if (!list) groups.set(e.group, (list = []));
      list.push(e);
    }
    const out: ReceivedMessage[] = [];
    for (const [group, entries] of groups) {
      if (out.length >= want) break;
      const busy = `${q.key}:${group}`;
      if (this.#busyGroups.has(busy)) continue;
      this.#busyGroups.add(busy);
      try {
        out.push(...(await this.#takeGroup(q, group, entries, want - out.length, now + visMs, now)));
      } finally {
        this.#busyGroups.delete(busy);
      }
    }
    return out;
  }

  /** Hands out the group's head and the messages right after it that are in the pool, if the group is free. */
  async #takeGroup(q: QueueRef, group: string, entries: Fetched[], want: number, dl: number, now: number): Promise<ReceivedMessage[]> {
    const gk = this.#names.groupKey(q.key, group);
    const lockEntry = await this.#stateKv.get(gk);
    const lock = json<GroupLock>(lockEntry) ?? { m: {} };
    if (Object.values(lock.m).some((until) => until > now)) return [];
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
        counted = await this.#countOrDeadLetter(q, e);
      } catch (error) {
        e.claimed = false;
        throw error;
      }
      if (counted) taken.push({ e, counted });
      if (taken.length < want) expected = await this.#nextInGroup(q, group, e.seq + 1);
    }
    if (taken.length === 0) return [];
    const m: Record<string, number> = {};
    for (const t of taken) m[String(t.e.seq)] = dl;
    try {
      const value = encoder.encode(JSON.stringify({ m } satisfies GroupLock));
      if (lockEntry && lockEntry.operation === 'PUT') await this.#stateKv.update(gk, value, lockEntry.revision);
      else await this.#stateKv.create(gk, value);
    } catch {
      // Another process locked the group first: leave these in the pool.
      for (const t of taken) t.e.claimed = false;
      return [];
    }
    return Promise.all(taken.map((t) => this.#handOut(q, t.e, t.counted, dl, now)));
  }

  async #nextInGroup(q: QueueRef, group: string, fromSeq: number): Promise<number | null> {
    const stored = await this.#jsm.direct.getMessage(q.stream, { next_by_subj: this.#names.groupSubjects(q.key, group), seq: fromSeq });
    return stored ? stored.seq : null;
  }

  /** The receive count this delivery would have; null after moving it to the dead-letter queue instead. */
  async #countOrDeadLetter(q: QueueRef, e: Fetched): Promise<{ count: number; rec: Receipt | null } | null> {
    const rec = e.dc > 1 ? json<Receipt>(await this.#stateKv.get(this.#names.receiptKey(q.key, e.seq))) : null;
    const count = e.dc - (rec?.sk ?? 0);
    const maxReceives = q.attrs.maxReceiveCount;
    if (maxReceives !== null && q.attrs.deadLetterQueue !== null && count > maxReceives) {
      await this.#deadLetter(q, e);
      return null;
    }
    return { count, rec };
  }

  async #handOut(q: QueueRef, e: Fetched, counted: { count: number; rec: Receipt | null }, dl: number, now: number): Promise<ReceivedMessage> {
    const token = this.#o.ids.token(12);
    const firstReceivedAt = counted.rec?.f ?? now;
    const rec: Receipt = { t: token, rs: e.reply, dc: e.dc, dl, f: firstReceivedAt, sk: counted.rec?.sk ?? 0, st: 'h', g: e.group };
    await this.#stateKv.put(this.#names.receiptKey(q.key, e.seq), encoder.encode(JSON.stringify(rec)));
    this.#pool.get(q.key)?.delete(e.seq);
    this.#leases.set(`${q.key}:${e.seq}`, {
      key: q.key,
      seq: e.seq,
      token,
      reply: e.reply,
      dl,
      ackWaitMs: ackWaitMs(q.attrs, this.#o.ackGraceS),
      progressAt: e.progressAt,
      busy: false,
    });
    return {
      messageId: e.messageId,
      receiptHandle: `${e.seq}.${token}`,
      body: e.body,
      groupId: e.groupId,
      attributes: e.attributes,
      receiveCount: counted.count,
      sequenceNumber: String(e.seq),
      sentAt: e.sentAt,
      firstReceivedAt,
    };
  }

  async #deadLetter(q: QueueRef, e: Fetched): Promise<void> {
    const dlq = await this.#queue(q.attrs.deadLetterQueue!).catch(() => null);
    if (dlq) {
      const h = newHeaders();
      h.set(H.messageId, e.messageId);
      h.set(H.sentAt, String(e.sentAt));
      if (e.groupId !== null) h.set(H.group, e.groupId);
      if (Object.keys(e.attributes).length > 0) h.set(H.attributes, Buffer.from(JSON.stringify(e.attributes)).toString('base64url'));
      h.set(H.sourceQueue, q.attrs.name);
      // The id makes a retry after a failure between this publish and the ack a duplicate, not a second copy.
      await this.#js.publish(this.#names.subject(dlq.key, dlq.attrs.fifo ? e.group : STANDARD_GROUP, null), encoder.encode(e.body), {
        headers: h,
        msgID: `dlq:${q.stream}:${e.seq}`,
      });
      this.#notify(dlq.key);
    }
    await this.#discard(e);
  }

  /** Acknowledges a fetched message without handing it out (dead-lettered or past retention). */
  async #discard(e: Fetched): Promise<void> {
    await this.#ack(e.reply);
    this.#pool.get(e.key)?.delete(e.seq);
    await this.#stateKv.delete(this.#names.receiptKey(e.key, e.seq)).catch(() => undefined);
  }

  // ── internals: delete, visibility, leases ──────────────────────────────────────────────────────────────

  async #delete(q: QueueRef, handle: string): Promise<void> {
    const { seq, token } = parseReceiptHandle(handle);
    const rk = this.#names.receiptKey(q.key, seq);
    const entry = await this.#stateKv.get(rk);
    const rec = json<Receipt>(entry);
    if (!entry || !rec || rec.t !== token || rec.rs === null) {
      throw new MxError('RECEIPT_HANDLE_INVALID', 'no message of this queue holds that receipt handle (deleted, or received again since)');
    }
    await this.#ack(rec.rs); // answered by the server once the message is acknowledged (and removed)
    this.#leases.delete(`${q.key}:${seq}`);
    await this.#stateKv.delete(rk, { previousSeq: entry.revision }).catch(() => undefined);
    if (q.attrs.fifo) await this.#updateGroup(q, rec.g, (m) => void delete m[String(seq)]);
    this.#notify(q.key);
  }

  async #updateGroup(q: QueueRef, group: string | null | undefined, change: (m: Record<string, number>) => void): Promise<void> {
    if (group === null || group === undefined) return;
    const gk = this.#names.groupKey(q.key, group);
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await this.#stateKv.get(gk);
      const lock = json<GroupLock>(entry);
      if (!entry || !lock) return;
      change(lock.m);
      try {
        if (Object.keys(lock.m).length === 0) await this.#stateKv.delete(gk, { previousSeq: entry.revision });
        else await this.#stateKv.update(gk, encoder.encode(JSON.stringify(lock)), entry.revision);
        return;
      } catch {
        // changed meanwhile: read again
      }
    }
  }

  async #ack(reply: string): Promise<void> {
    await this.#nc.request(reply, '+ACK', { timeout: this.#o.requestTimeoutMs });
  }

  async #nak(reply: string, delayMs: number): Promise<void> {
    const payload = delayMs > 0 ? `-NAK ${JSON.stringify({ delay: nanos(delayMs) })}` : '-NAK';
    await this.#nc.request(reply, payload, { timeout: this.#o.requestTimeoutMs });
  }

  /** Makes visible again every handed-out message of this process whose visibility deadline (Clock) passed. */
  async #reap(): Promise<void> {
    const now = this.#o.clock.now();
    const due = [...this.#leases.entries()].filter(([, l]) => l.dl <= now && !l.busy);
    await Promise.all(due.map(([id, lease]) => this.#expire(id, lease, now)));
  }

  async #expire(id: string, lease: Lease, now: number): Promise<void> {
    lease.busy = true;
    try {
      const rk = this.#names.receiptKey(lease.key, lease.seq);
      const entry = await this.#stateKv.get(rk);
      const rec = json<Receipt>(entry);
      if (!entry || !rec || rec.t !== lease.token || rec.st !== 'h') {
        this.#leases.delete(id); // deleted or released through another process
        return;
      }
      if (rec.dl > now) {
        lease.dl = rec.dl; // changed through another process
        return;
      }
      await this.#stateKv.update(rk, encoder.encode(JSON.stringify({ ...rec, st: 'r' })), entry.revision);
      this.#leases.delete(id);
      await this.#nak(lease.reply, 0);
      this.#notify(lease.key);
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'could not release an expired message; retrying');
    } finally {
      lease.busy = false;
    }
  }

  /** Gives a fetched message back to the stream without counting the delivery as a receive. */
  async #giveBack(e: Fetched, delayMs: number): Promise<void> {
    e.claimed = true;
    const rk = this.#names.receiptKey(e.key, e.seq);
    const entry = await this.#stateKv.get(rk);
    const rec = json<Receipt>(entry);
    const next: Receipt = rec
      ? { ...rec, sk: rec.sk + 1, st: 'r' }
      : { t: null, rs: null, dc: e.dc, dl: 0, f: null, sk: 1, st: 'r', g: e.group };
    if (entry && rec) await this.#stateKv.update(rk, encoder.encode(JSON.stringify(next)), entry.revision);
    else await this.#stateKv.create(rk, encoder.encode(JSON.stringify(next)));
    this.#pool.get(e.key)?.delete(e.seq);
    await this.#nak(e.reply, delayMs);
  }

  /** Housekeeping: deadlines, +WPI heartbeats, and giving back what was held too long. */
  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      await this.#reap();
      const realNow = Date.now();
      for (const lease of this.#leases.values()) {
        if (realNow - lease.progressAt >= lease.ackWaitMs / 2) {
          lease.progressAt = realNow;
          this.#nc.publish(lease.reply, '+WPI');
        }
      }
      const now = this.#o.clock.now();
      for (const pool of this.#pool.values()) {
        for (const e of pool.values()) {
          if (e.claimed) continue;
          if (realNow - e.heldSince >= this.#o.holdMaxMs) {
            const delayMs = e.visibleAt > now ? Math.min(e.visibleAt - now, QUEUE_LIMITS.delaySMax * 1000) : 0;
            void this.#giveBack(e, delayMs).catch((error: unknown) => this.#o.logger.warn({ err: error }, 'could not give back a message'));
          } else if (realNow - e.progressAt >= 2000) {
            e.progressAt = realNow;
            this.#nc.publish(e.reply, '+WPI');
          }
        }
      }
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'queue housekeeping failed');
    } finally {
      this.#ticking = false;
    }
  }

  /** Real milliseconds until the next local Clock deadline of this queue (for waking a long poll). */
  #nextDueMs(key: string): number {
    const now = this.#o.clock.now();
    let next = Infinity;
    for (const lease of this.#leases.values()) if (lease.key === key) next = Math.min(next, lease.dl - now);
    for (const e of this.#pool.get(key)?.values() ?? []) if (e.visibleAt > now) next = Math.min(next, e.visibleAt - now);
    return Math.max(1, next);
  }

  // ── internals: waiting and errors ──────────────────────────────────────────────────────────────────────

  #notify(key: string): void {
    const waiters = this.#waiters.get(key);
    if (!waiters) return;
    this.#waiters.delete(key);
    for (const wake of waiters) wake();
  }

  #subscribe(key: string): { wait(ms: number, signal: AbortSignal | undefined, also: Promise<void>): Promise<void>; cancel(): void } {
    let fired = false;
    let release: (() => void) | null = null;
    const fire = () => {
      fired = true;
      release?.();
    };
    let set = this.#waiters.get(key);
    if (!set) this.#waiters.set(key, (set = new Set()));
    set.add(fire);
    return {
      wait: (ms, signal, also) =>
        fired
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              const done = () => {
                clearTimeout(timer);
                signal?.removeEventListener('abort', done);
                release = null;
                resolve();
              };
              const timer = setTimeout(done, ms);
              signal?.addEventListener('abort', done, { once: true });
              void also.then(done);
              release = done;
            }),
      cancel: () => {
        release = null;
        const current = this.#waiters.get(key);
        current?.delete(fire);
        if (current?.size === 0) this.#waiters.delete(key);
      },
    };
  }

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new MxError('SHUTTING_DOWN', 'the queue engine is closed');
    try {
      return await work();
    } catch (error) {
      if (isMxError(error)) throw error;
      if (isStreamNotFound(error)) throw new MxError('QUEUE_NOT_FOUND', 'the queue does not exist (deleted meanwhile)', { cause: error });
      if (isNatsError(error)) throw new MxError('STORE_UNAVAILABLE', 'NATS JetStream did not complete the operation; retry', { cause: error });
      throw error;
    }
  }
}

function parseReceiptHandle(handle: string): { seq: number; token: string } {
  const match = typeof handle === 'string' ? RECEIPT.exec(handle) : null;
  if (!match) throw new MxError('RECEIPT_HANDLE_INVALID', 'malformed receipt handle');
  return { seq: Number(match[1]), token: match[2]! };
}
