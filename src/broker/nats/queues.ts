/**
 * The NATS JetStream queue engine: the queue port (ports/queues.ts) on nats-server 2.9 or later.
 *
 * JetStream keeps the messages and delivers them; the adapter adds what SQS semantics need and JetStream
 * lacks, and takes every time it decides on from the Clock port (docs/DISTRIBUTED-QUEUES.md says what
 * differs from the embedded engine and why).
 *
 * Storage: one stream per queue (WorkQueue retention: an acknowledged message is removed), one durable pull
 * consumer on it, and three KV buckets: queue attributes, receipts of handed-out messages, and dedup keys; each with
 * `replicas` copies in the cluster. FIFO
 * order needs no lock of its own: only a group's head is handed out (see #takeGroup in pool.ts).
 *
 * This module holds the port's methods, the feeds that fetch for the receives waiting in this process, and wires
 * the parts: the queues, their streams and metrics: catalog.ts; sending and dedup: send.ts; what a process
 * fetched and hands out (the pool): pool.ts; handed-out messages, deletes and visibility: leases.ts; names:
 * names.ts; headers, KV records and receipt handles: records.ts; one pull request: pull.ts; redrive and sweep
 * (walks over a stream): walks.ts; long polls waiting in this process: ../../queues/waiters.ts.
 *
 * A message as JetStream sees it, and as the port sees it:
 *
 *   stream, undelivered ──fetch──► delivered to a process of the hub (unacked on the server)
 *                                       │
 *     ┌─────────────────────────────────┤ in that process's POOL: the port calls it VISIBLE (or DELAYED while
 *     │                                 │ before Mx-Visible-At; a FIFO message waits there until it is its
 *     │                                 │ group's head). Kept alive with +WPI.
 *     │ held too long (holdMaxMs):      ▼
 *     │ -NAK, not counted as a receive  handed out ──► IN FLIGHT: receipt record r.<key>.<seq> in KV
 *     ▼                                 │   (token, ack subject, delivery count, Clock deadline); a LEASE in
 *   redelivered later                   │   the receiving process keeps it alive with +WPI until the deadline
 *                                       │
 *            delete: +ACK (confirmed) ◄─┼─► deadline passed (Clock): -NAK ──► redelivered, counts a receive
 *            ──► gone                   │
 *                                       └─► receive count over max_receive_count at the next fetch:
 *                                           published to the dead-letter queue's stream (with the reason
 *                                           attribute, see ports/queues.ts), then +ACK
 *
 * receiveCount = server delivery count - deliveries the adapter did not hand out (recorded in the receipt
 * record as `sk`). A process that dies holds its pool and leases only until the consumer's ack wait
 * (visibility timeout + ackGraceS): then JetStream delivers them again, one delivery more than counted.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { MxError, isMxError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/ids.js';
import {
  QUEUE_LIMITS,
  type BatchOutcome,
  type CreateQueueInput,
  type QueueAttributes,
  type QueueInfo,
  type QueueService,
  type ReceiveOptions,
  type ReceivedMessage,
  type SendInput,
  type SendResult,
} from '../../ports/queues.js';
import { checkQueueName, normalizeQueue, type QueueDefaults } from '../../queues/rules.js';
import { CONSUMER, NatsNames, type QueueRef } from './names.js';
import { alignReplicas, QueueCatalog } from './catalog.js';
import { Leases } from './leases.js';
import { Pool } from './pool.js';
import { NatsSender } from './send.js';
import { pull } from './pull.js';
import { redrive, sweep, type StreamWalks } from './walks.js';
import { isNatsError, isStreamNotFound } from './records.js';
import { Waiters } from '../../queues/waiters.js';

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
  /**
   * Copies of every stream and KV bucket in the JetStream cluster (broker.replicas, 1..5; 3 in a 3-node cluster);
   * default 1. At open, what exists of the prefix is brought to this count (see alignReplicas in catalog.ts).
   */
  replicas?: number;
}

const PULL_ROUNDS = 10;
/** Most messages one feed (a receive's long pull, see #feed) asks for. */
const FEED_BATCH_MAX = 256;
/** How long a receive waits for a no_wait pull before going on without it (see #pullNow). */
const NO_WAIT_GRACE_MS = 250;
const POOL_MAX = 1000;
const STATE_MAX_AGE_S = QUEUE_LIMITS.retentionSMax + 86_400;
/**
 * JetStream's answers to more replicas than it has servers for: not clustered (10074), too few servers or no
 * suitable peers (10023, 10005).
 */
const REPLICAS_REFUSED = new Set([10074, 10023, 10005]);

export class NatsQueues implements QueueService {
  readonly #o: Required<NatsQueuesOptions>;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #names: NatsNames;
  readonly #catalog: QueueCatalog;
  readonly #stateKv: KV;
  readonly #sender: NatsSender;
  readonly #leases: Leases;
  readonly #pool: Pool;
  readonly #waiters = new Waiters();
  /** The open long pull of each queue (see #feed). */
  readonly #feeds = new Map<string, { done: Promise<void>; stop: AbortController }>();
  /** Messages wanted by the receives waiting on each queue. */
  readonly #demand = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;
  #ticking = false;
  #closed = false;

  private constructor(o: Required<NatsQueuesOptions>, jsm: JetStreamManager, buckets: { queues: KV; state: KV; dedup: KV }) {
    this.#o = o;
    this.#nc = o.connection;
    this.#js = jetstream(o.connection);
    this.#jsm = jsm;
    this.#names = new NatsNames(o.prefix);
    this.#catalog = new QueueCatalog({
      jsm,
      queuesKv: buckets.queues,
      stateKv: buckets.state,
      names: this.#names,
      clock: o.clock,
      maxQueues: o.maxQueues,
      dedupWindowS: o.dedupWindowS,
      ackGraceS: o.ackGraceS,
      replicas: o.replicas,
    });
    this.#stateKv = buckets.state;
    this.#leases = new Leases({
      connection: o.connection,
      stateKv: buckets.state,
      names: this.#names,
      clock: o.clock,
      logger: o.logger,
      requestTimeoutMs: o.requestTimeoutMs,
      notify: (key) => this.#waiters.notify(key, 1),
    });
    this.#pool = new Pool({
      connection: o.connection,
      js: this.#js,
      jsm,
      stateKv: buckets.state,
      names: this.#names,
      clock: o.clock,
      ids: o.ids,
      logger: o.logger,
      leases: this.#leases,
      requestTimeoutMs: o.requestTimeoutMs,
      ackGraceS: o.ackGraceS,
      holdMaxMs: o.holdMaxMs,
      queue: (name) => this.#queue(name),
      notify: (key, count) => this.#waiters.notify(key, count),
    });
    this.#sender = new NatsSender({
      js: this.#js,
      jsm,
      dedupKv: buckets.dedup,
      names: this.#names,
      clock: o.clock,
      ids: o.ids,
      dedupWindowS: o.dedupWindowS,
      onSent: (key) => this.#waiters.notify(key, 1),
      onQueueGone: (name) => this.#catalog.forget(name),
    });
    this.#timer = setInterval(() => void this.#tick(), o.tickMs);
    this.#timer.unref();
    void this.#watchConnection();
  }

  /**
   * A server that restarted (or a new server after a reconnect) knows nothing of the pull requests open before:
   * the feeds are ended, and the receives waiting on them open new ones at once.
   */
  async #watchConnection(): Promise<void> {
    try {
      for await (const status of this.#nc.status()) {
        if (this.#closed) return;
        if (status.type === 'reconnect') for (const feed of this.#feeds.values()) feed.stop.abort();
      }
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'stopped watching the NATS connection status');
    }
  }

  /**
   * Creates (or binds to) the KV buckets of the prefix, brings them and the queue streams to `replicas` copies,
   * and starts the housekeeping timer.
   */
  static async open(options: NatsQueuesOptions): Promise<NatsQueues> {
    const o: Required<NatsQueuesOptions> = {
      prefix: 'mxq',
      sweepBatchMax: 1000,
      ackGraceS: 10,
      holdMaxMs: 5000,
      tickMs: 500,
      requestTimeoutMs: 5000,
      replicas: 1,
      ...options,
    };
    if (!Number.isInteger(o.replicas) || o.replicas < 1 || o.replicas > 5) {
      throw new Error(`assertion failed: replicas ${o.replicas} must be an integer from 1 to 5`);
    }
    const names = new NatsNames(o.prefix);
    const jsm = await jetstreamManager(o.connection, { timeout: o.requestTimeoutMs });
    try {
      const kvm = new Kvm(o.connection);
      const common = { history: 1, storage: 'file' as const, replicas: o.replicas };
      const queues = await kvm.create(names.queuesBucket, common);
      const state = await kvm.create(names.stateBucket, { ...common, ttl: STATE_MAX_AGE_S * 1000 });
      const dedupBucket = `${names.upper}_dedup`;
      const dedup = await kvm.create(dedupBucket, { ...common, ttl: (o.dedupWindowS + 60) * 1000 });
      const changed = await alignReplicas({ jsm, names, buckets: [names.queuesBucket, names.stateBucket, dedupBucket], replicas: o.replicas });
      if (changed.length > 0) o.logger.info({ streams: changed.length, replicas: o.replicas, first: changed.slice(0, 10) }, 'JetStream streams brought to the configured replica count');
      return new NatsQueues(o, jsm, { queues, state, dedup });
    } catch (error) {
      if (o.replicas > 1 && error instanceof JetStreamApiError && REPLICAS_REFUSED.has(error.code)) {
        throw new MxError('CONFIG_INVALID', `broker.replicas is ${o.replicas} but JetStream cannot place that many copies (fewer servers in the cluster, or a cluster still forming): ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  /** Stops the timer, gives back every fetched message not handed out, and ends long polls. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#waiters.notifyAll();
    // Ends the feeds first: what they bring until the server has stopped delivering goes to the pool, given back below.
    const feeds = [...this.#feeds.values()];
    for (const feed of feeds) feed.stop.abort();
    await Promise.allSettled(feeds.map((feed) => feed.done));
    await this.#pool.giveBackAll();
  }

  // ── queue management ───────────────────────────────────────────────────────────────────────────────────

  async createQueue(input: CreateQueueInput): Promise<{ queue: QueueAttributes; created: boolean }> {
    const attrs = normalizeQueue(input, this.#o.defaults);
    return this.#guard(async () => this.#catalog.create(attrs));
  }

  async getQueue(name: string): Promise<QueueInfo> {
    checkQueueName(name);
    return this.#guard(async () => {
      const q = await this.#queue(name, true);
      return { ...q.attrs, metrics: await this.#catalog.metrics(q) };
    });
  }

  async depth(name: string): Promise<number> {
    checkQueueName(name);
    return this.#guard(async () => {
      const q = await this.#queue(name);
      return this.#catalog.depth(q);
    });
  }

  async listQueues(): Promise<QueueInfo[]> {
    return this.#guard(async () => {
      const out: QueueInfo[] = [];
      for (const name of (await this.#catalog.allNames()).sort()) {
        try {
          const q = await this.#queue(name, true);
          out.push({ ...q.attrs, metrics: await this.#catalog.metrics(q) });
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
      await this.#catalog.remove(q, () => this.#dropLocal(q.key));
      this.#waiters.notify(q.key);
    });
  }

  async purgeQueue(name: string): Promise<{ purged: number }> {
    checkQueueName(name);
    return this.#guard(async () => {
      const q = await this.#queue(name, true);
      return this.#catalog.purge(q, () => this.#dropLocal(q.key));
    });
  }

  // ── messages ───────────────────────────────────────────────────────────────────────────────────────────

  async send(queue: string, input: SendInput): Promise<SendResult> {
    checkQueueName(queue);
    return this.#guard(async () => {
      const [outcome] = await this.#sender.sendAll(await this.#queue(queue), [input]);
      if (!outcome!.ok) throw outcome!.error;
      return outcome!.value;
    });
  }

  async sendBatch(queue: string, entries: SendInput[]): Promise<BatchOutcome<SendResult>[]> {
    checkQueueName(queue);
    return this.#guard(async () => this.#sender.sendAll(await this.#queue(queue), entries));
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
      if (waitMs === 0) return this.#receiveNow(q, max, visMs, options.local === true);
      const deadline = Date.now() + waitMs;
      const out: ReceivedMessage[] = [];
      this.#demand.set(q.key, (this.#demand.get(q.key) ?? 0) + max);
      try {
        for (;;) {
          // Register before looking, so that anything that happens after the look wakes this receive.
          const wake = this.#waiters.subscribe(q.key);
          try {
            await this.#leases.reap();
            out.push(...(await this.#pool.take(q, max - out.length, visMs, options.local === true)));
            const remaining = deadline - Date.now();
            if (out.length > 0 || remaining <= 0 || this.#closed || options.signal?.aborted) return out;
            await wake.wait(Math.min(remaining, this.#nextDueMs(q.key)), options.signal, this.#feed(q, remaining));
          } finally {
            wake.cancel();
          }
        }
      } finally {
        const left = (this.#demand.get(q.key) ?? max) - max;
        if (left > 0) this.#demand.set(q.key, left);
        else this.#demand.delete(q.key);
      }
    });
  }

  /** A receive that does not wait: what the pool holds, topped up by no_wait pulls. */
  async #receiveNow(q: QueueRef, max: number, visMs: number, local: boolean): Promise<ReceivedMessage[]> {
    await this.#leases.reap();
    const out = await this.#pool.take(q, max, visMs, local);
    for (let round = 0; out.length < max && round < PULL_ROUNDS && !this.#closed; round++) {
      if (this.#pool.size(q.key) >= POOL_MAX) break;
      const want = max - out.length;
      const fetched = await this.#pullNow(q, want);
      if (fetched > 0) out.push(...(await this.#pool.take(q, max - out.length, visMs, local)));
      if (fetched < want) break;
    }
    return out;
  }

  /**
   * The queue's feed: one long pull request per queue and process, asking for as many messages as the receives
   * waiting in this process want (less what the pool holds for them), for the wait of the receive that starts
   * it. While it is open the server delivers each message as it arrives, with no request per message; what it
   * brings goes to the pool and wakes one waiting receive per message. Asking for no more than the waiting
   * receives want keeps a process from holding messages another process's receives are waiting for. Resolves
   * when the request ends (its batch delivered, expired, or the engine closed).
   */
  #feed(q: QueueRef, expiresMs: number): Promise<void> {
    const running = this.#feeds.get(q.key);
    if (running) return running.done;
    const unclaimed = this.#pool.unclaimed(q.key);
    const batch = Math.min(FEED_BATCH_MAX, POOL_MAX - this.#pool.size(q.key), (this.#demand.get(q.key) ?? 1) - unclaimed);
    if (batch <= 0) return new Promise((resolve) => setTimeout(resolve, this.#o.tickMs).unref());
    const stop = new AbortController();
    const done = this.#pull(q, batch, expiresMs, stop.signal).then(
      () => undefined,
      (error: unknown) => this.#o.logger.warn({ err: error, queue: q.attrs.name }, 'long poll failed'),
    );
    const feed = { done, stop };
    this.#feeds.set(q.key, feed);
    void done.finally(() => {
      if (this.#feeds.get(q.key) === feed) this.#feeds.delete(q.key);
    });
    return done;
  }

  async delete(queue: string, receiptHandle: string): Promise<void> {
    checkQueueName(queue);
    await this.#guard(async () => this.#leases.delete(await this.#queue(queue), receiptHandle));
  }

  async deleteBatch(queue: string, receiptHandles: string[]): Promise<BatchOutcome<void>[]> {
    checkQueueName(queue);
    return this.#guard(async () => {
      const q = await this.#queue(queue);
      return Promise.all(
        receiptHandles.map(async (handle): Promise<BatchOutcome<void>> => {
          try {
            await this.#leases.delete(q, handle);
            return { ok: true, value: undefined };
          } catch (error) {
            if (!isMxError(error)) throw error;
            return { ok: false, error };
          }
        }),
      );
    });
  }

  async changeVisibility(queue: string, receiptHandle: string, visibilityTimeoutS: number, options?: { reason?: string }): Promise<void> {
    checkQueueName(queue);
    const reason = options?.reason?.slice(0, QUEUE_LIMITS.reasonLengthMax) ?? null;
    if (!Number.isInteger(visibilityTimeoutS) || visibilityTimeoutS < 0 || visibilityTimeoutS > QUEUE_LIMITS.visibilityTimeoutSMax) {
      throw new MxError('INVALID_ATTRIBUTE', `visibility must be an integer from 0 to ${QUEUE_LIMITS.visibilityTimeoutSMax} s`);
    }
    await this.#guard(async () => {
      const q = await this.#queue(queue);
      await this.#leases.changeVisibility(q, receiptHandle, visibilityTimeoutS, reason);
    });
  }

  async redrive(deadLetterQueue: string): Promise<{ moved: number }> {
    checkQueueName(deadLetterQueue);
    return this.#guard(async () => {
      const dlq = await this.#queue(deadLetterQueue, true);
      const used = (await this.#catalog.deadLetterUsers(deadLetterQueue)).length > 0;
      const { moved, seen } = await redrive(this.#walks, dlq);
      if (!used && seen === 0) {
        throw new MxError('NOT_A_DEAD_LETTER_QUEUE', `queue ${deadLetterQueue} is no queue's dead_letter_queue and holds no dead-lettered messages`);
      }
      return { moved };
    });
  }

  /** Removes messages past their retention (Clock time), at most sweepBatchMax per queue. */
  async sweep(): Promise<{ messages: number }> {
    return this.#guard(async () => ({ messages: await sweep(this.#walks, await this.#catalog.allNames()) }));
  }

  /** What the walks over streams (redrive, sweep: walks.ts) need of this engine. */
  get #walks(): StreamWalks {
    return {
      js: this.#js,
      jsm: this.#jsm,
      stateKv: this.#stateKv,
      names: this.#names,
      clock: this.#o.clock,
      sweepBatchMax: this.#o.sweepBatchMax,
      queue: (name) => this.#queue(name),
      forget: (key, seq) => {
        this.#pool.drop(key, seq);
        this.#leases.drop(key, seq);
      },
      notify: (key) => this.#waiters.notify(key),
    };
  }

  #queue(name: string, fresh = false): Promise<QueueRef> {
    return this.#catalog.queue(name, fresh);
  }

  #dropLocal(key: string): void {
    this.#pool.dropQueue(key);
    this.#leases.dropQueue(key);
  }

  // ── internals: fetch and housekeeping ──────────────────────────────────────────────────────────────────

  /** One pull request (see pull.ts); every message that arrives goes to the pool and wakes waiting receives. */
  #pull(q: QueueRef, batch: number, expiresMs: number | null, signal?: AbortSignal): Promise<number> {
    return pull({
      signal,
      connection: this.#nc,
      subject: `$JS.API.CONSUMER.MSG.NEXT.${q.stream}.${CONSUMER}`,
      batch,
      expiresMs,
      requestTimeoutMs: this.#o.requestTimeoutMs,
      onMessage: (msg) => this.#pool.add(q, msg),
      onEnd: (description) => this.#o.logger.debug({ description, queue: q.attrs.name }, 'pull request ended'),
      onUnanswered: (received) =>
        this.#o.logger.debug({ queue: q.attrs.name, batch, expiresMs, received }, 'nats-server did not end a pull request: its inbox was closed'),
    });
  }

  /**
   * A no_wait pull, waited for at most NO_WAIT_GRACE_MS or until this process's long poll on the queue ends.
   * nats-server 2.9 queues a no_wait request behind the waiting long polls when a message is pending; when one of
   * those takes the message, the no_wait request stays unanswered until the request timeout. The request goes on
   * in the background (whatever it receives still reaches the pool); the receive does not wait for it.
   */
  async #pullNow(q: QueueRef, batch: number): Promise<number> {
    let grace: NodeJS.Timeout | undefined;
    const givenUp = new Promise<number>((resolve) => {
      grace = setTimeout(() => resolve(0), NO_WAIT_GRACE_MS);
      grace.unref();
    });
    const longPull = this.#feeds.get(q.key)?.done.then(() => 0);
    try {
      return await Promise.race([this.#pull(q, batch, null), givenUp, ...(longPull ? [longPull] : [])]);
    } finally {
      clearTimeout(grace);
    }
  }

  /** Housekeeping: deadlines, +WPI heartbeats, and giving back what was held too long. */
  async #tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      await this.#leases.reap();
      const realNow = Date.now();
      this.#leases.heartbeat(realNow);
      this.#pool.tick(realNow);
    } catch (error) {
      this.#o.logger.warn({ err: error }, 'queue housekeeping failed');
    } finally {
      this.#ticking = false;
    }
  }

  /** Real milliseconds until the next local Clock deadline of this queue (for waking a long poll). */
  #nextDueMs(key: string): number {
    const now = this.#o.clock.now();
    return Math.max(1, Math.min(this.#leases.nextDueMs(key, now), this.#pool.nextDueMs(key, now)));
  }

  // ── internals: waiting and errors ──────────────────────────────────────────────────────────────────────

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
