/**
 * The queues of one prefix on NATS JetStream: their attributes in the `<PREFIX>_queues` bucket (key = base32 of
 * the name, created with compare-and-set), the stream and consumer each has, their metrics, and what deleting or
 * purging one removes. Attributes are cached per process for CACHE_MS: a change of a queue reaches the other
 * processes within that time.
 *
 * Every stream (and the KV buckets of queues.ts) has `replicas` copies in the JetStream cluster (broker.replicas):
 * 1 on a single server, 3 in a 3-node cluster. alignReplicas brings what was created before a change of it to the
 * new count, so that queues created at run time (participant queues) never need fixing by hand.
 */
import { nanos } from '@nats-io/transport-node';
import { JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { MxError } from '../../errors.js';
import type { Clock } from '../../ports/clock.js';
import type { QueueAttributes, QueueMetrics } from '../../ports/queues.js';
import { sameAttributes } from '../../queues/rules.js';
import { ackWaitMs } from './leases.js';
import { base32, CONSUMER, unbase32, type NatsNames, type QueueRef } from './names.js';
import { encoder, H, isStreamNotFound, json, type Receipt } from './records.js';

/** Most receipt records metrics read for the in-flight count. */
const SCAN_MAX = 10_000;
const MAX_ACK_PENDING = 20_000;
const CACHE_MS = 1000;

export interface QueueCatalogOptions {
  jsm: JetStreamManager;
  queuesKv: KV;
  stateKv: KV;
  names: NatsNames;
  clock: Clock;
  maxQueues: number;
  dedupWindowS: number;
  ackGraceS: number;
  /** Copies of each queue stream in the cluster (1..5). */
  replicas: number;
}

export class QueueCatalog {
  readonly #o: QueueCatalogOptions;
  readonly #cache = new Map<string, { ref: QueueRef; at: number }>();

  constructor(options: QueueCatalogOptions) {
    this.#o = options;
  }

  /** Creates the queue (its stream first), or answers the existing one when its attributes are the same. */
  async create(attrs: Omit<QueueAttributes, 'createdAt'>): Promise<{ queue: QueueAttributes; created: boolean }> {
    const key = base32(attrs.name);
    const existing = json<QueueAttributes>(await this.#o.queuesKv.get(key));
    if (existing) return this.#existing(existing, attrs);
    if ((await this.allNames()).length >= this.#o.maxQueues) {
      throw new MxError('QUEUE_LIMIT_REACHED', `at most ${this.#o.maxQueues} queues may exist`);
    }
    if (attrs.deadLetterQueue !== null) {
      const dlq = json<QueueAttributes>(await this.#o.queuesKv.get(base32(attrs.deadLetterQueue)));
      if (!dlq) throw new MxError('QUEUE_NOT_FOUND', `dead_letter_queue ${attrs.deadLetterQueue} does not exist; create it first`);
      if (dlq.fifo !== attrs.fifo) {
        throw new MxError('INVALID_ATTRIBUTE', 'a dead_letter_queue must be of the same kind (FIFO or standard) as its queue');
      }
    }
    const queue: QueueAttributes = { ...attrs, createdAt: this.#o.clock.now() };
    // The stream first: a queue that is visible in the bucket always has its stream.
    await this.#ensureStream(key, queue);
    try {
      await this.#o.queuesKv.create(key, encoder.encode(JSON.stringify(queue)));
    } catch (error) {
      const raced = json<QueueAttributes>(await this.#o.queuesKv.get(key));
      if (raced) return this.#existing(raced, attrs);
      throw error;
    }
    return { queue, created: true };
  }

  /** The queue (from the cache unless `fresh`); QUEUE_NOT_FOUND when there is none. */
  async queue(name: string, fresh = false): Promise<QueueRef> {
    const cached = this.#cache.get(name);
    if (cached && !fresh && Date.now() - cached.at < CACHE_MS) return cached.ref;
    const key = base32(name);
    const attrs = json<QueueAttributes>(await this.#o.queuesKv.get(key));
    if (!attrs) {
      this.#cache.delete(name);
      throw new MxError('QUEUE_NOT_FOUND', `queue ${name} does not exist`);
    }
    const ref = { attrs, key, stream: this.#o.names.stream(key) };
    this.#cache.set(name, { ref, at: Date.now() });
    return ref;
  }

  /** Drops the cached attributes of a queue found gone. */
  forget(name: string): void {
    this.#cache.delete(name);
  }

  async allNames(): Promise<string[]> {
    const names: string[] = [];
    for await (const key of await this.#o.queuesKv.keys()) names.push(unbase32(key));
    return names;
  }

  /** The queues whose dead-letter queue this one is. */
  async deadLetterUsers(name: string): Promise<string[]> {
    const users: string[] = [];
    for (const other of await this.allNames()) {
      const attrs = json<QueueAttributes>(await this.#o.queuesKv.get(base32(other)));
      if (attrs?.deadLetterQueue === name) users.push(other);
    }
    return users;
  }

  /**
   * Removes the queue: its attributes, its stream, its receipt records and dedup keys. `dropLocal` forgets what
   * this process holds of it, once the queue can no longer be found.
   */
  async remove(q: QueueRef, dropLocal: () => void): Promise<void> {
    const users = await this.deadLetterUsers(q.attrs.name);
    if (users.length > 0) throw new MxError('QUEUE_IN_USE', `queue ${q.attrs.name} is the dead_letter_queue of ${users.join(', ')}`);
    await this.#o.queuesKv.delete(q.key);
    this.#cache.delete(q.attrs.name);
    dropLocal();
    await this.#o.jsm.streams.delete(q.stream).catch((error: unknown) => {
      if (!isStreamNotFound(error)) throw error;
    });
    await this.#purgeState(q.key);
    const dedup = `${this.#o.names.upper}_dedup`;
    await this.#o.jsm.streams.purge(`KV_${dedup}`, { filter: `$KV.${dedup}.d.${q.key}.>` });
  }

  /** Removes every message of the queue and its receipt records. */
  async purge(q: QueueRef, dropLocal: () => void): Promise<{ purged: number }> {
    const { purged } = await this.#o.jsm.streams.purge(q.stream);
    dropLocal();
    await this.#purgeState(q.key);
    return { purged };
  }

  /** Messages in the stream, in any state: one request (the API's back-pressure reads it often). */
  async depth(q: QueueRef): Promise<number> {
    return (await this.#o.jsm.streams.info(q.stream)).state.messages;
  }

  async metrics(q: QueueRef): Promise<QueueMetrics> {
    const names = this.#o.names;
    const now = this.#o.clock.now();
    const info = await this.#o.jsm.streams.info(q.stream, { subjects_filter: names.delayedSubjects(q.key) });
    const total = info.state.messages;
    let delayed = 0;
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      if ((names.visibleAtOf(subject) ?? 0) > now) delayed += count;
    }
    let inFlight = 0;
    const keys: string[] = [];
    for await (const k of await this.#o.stateKv.keys(`r.${q.key}.*`)) {
      if (keys.length < SCAN_MAX) keys.push(k);
    }
    const records = await Promise.all(keys.map(async (k) => json<Receipt>(await this.#o.stateKv.get(k))));
    for (const rec of records) if (rec && rec.st === 'h' && rec.dl > now) inFlight += 1;
    let oldestAgeS = 0;
    if (total > 0) {
      const first = await this.#o.jsm.direct.getMessage(q.stream, { next_by_subj: names.subjects(q.key), seq: info.state.first_seq });
      const sentAt = Number(first?.header.get(H.sentAt) ?? now);
      oldestAgeS = Math.max(0, Math.floor((now - sentAt) / 1000));
    }
    return { visible: Math.max(0, total - inFlight - delayed), inFlight: Math.min(inFlight, total), delayed, oldestAgeS };
  }

  #existing(existing: QueueAttributes, wanted: Omit<QueueAttributes, 'createdAt'>): { queue: QueueAttributes; created: boolean } {
    if (sameAttributes(existing, wanted)) return { queue: existing, created: false };
    throw new MxError('QUEUE_ALREADY_EXISTS', `queue ${wanted.name} exists with different attributes`);
  }

  async #ensureStream(key: string, attrs: QueueAttributes): Promise<void> {
    const names = this.#o.names;
    const stream = names.stream(key);
    const config = {
      subjects: [names.subjects(key)],
      retention: 'workqueue' as const,
      storage: 'file' as const,
      num_replicas: this.#o.replicas,
      // The stream may not dedup longer than it keeps messages; the adapter's own dedup records still hold the
      // full window (a retried publish after that long is the only case the stream would not catch).
      duplicate_window: nanos(Math.min(this.#o.dedupWindowS, attrs.retentionS) * 1000),
      max_msg_size: attrs.maxMessageBytes + 64 * 1024,
      max_age: nanos(attrs.retentionS * 1000),
      allow_direct: true,
    };
    try {
      await this.#o.jsm.streams.add({ name: stream, ...config });
    } catch (error) {
      if (!(error instanceof JetStreamApiError) || error.code !== 10058) throw error;
      await this.#o.jsm.streams.update(stream, config); // left over from a create that did not finish
    }
    await this.#o.jsm.consumers.add(stream, {
      durable_name: CONSUMER,
      ack_policy: 'explicit' as never,
      ack_wait: nanos(ackWaitMs(attrs, this.#o.ackGraceS)),
      max_deliver: -1,
      max_ack_pending: MAX_ACK_PENDING,
      filter_subject: names.subjects(key),
      deliver_policy: 'all' as never,
    });
  }

  /** Receipt records, and the group locks earlier versions of the engine wrote (g.<key>.<group>). */
  async #purgeState(key: string): Promise<void> {
    const bucket = this.#o.names.stateBucket;
    for (const kind of ['r', 'g']) await this.#o.jsm.streams.purge(`KV_${bucket}`, { filter: `$KV.${bucket}.${kind}.${key}.>` });
  }
}

/**
 * Brings every queue stream of the prefix, and the streams of the named KV buckets, to `replicas` copies: a change
 * of the setting reaches the streams created before it (JetStream copies or drops the replicas online). One list
 * request per 256 streams and one update per stream that differs. Returns the names of the streams changed.
 */
export async function alignReplicas(o: { jsm: JetStreamManager; names: NatsNames; buckets: string[]; replicas: number }): Promise<string[]> {
  const streams: Array<{ name: string; replicas: number }> = [];
  for await (const info of o.jsm.streams.list(`${o.names.prefix}.>`)) {
    // The subject filter also matches streams of other prefixes whose subjects overlap a wildcard; keep ours.
    if (info.config.name.startsWith(o.names.streamPrefix())) streams.push({ name: info.config.name, replicas: info.config.num_replicas });
  }
  for (const bucket of o.buckets) {
    const info = await o.jsm.streams.info(`KV_${bucket}`);
    streams.push({ name: info.config.name, replicas: info.config.num_replicas });
  }
  const changed: string[] = [];
  for (const stream of streams) {
    if (stream.replicas === o.replicas) continue;
    await o.jsm.streams.update(stream.name, { num_replicas: o.replicas });
    changed.push(stream.name);
  }
  return changed;
}
