/**
 * The embedded queue engine: SQS-style queues in the hub's SQLite file (see ports/queues.ts for the semantics).
 *
 * Every call is one unit of the group commit, and answers only once what it wrote is durable; a receive answers
 * once what it hands out is durable. Long polling waits on an in-process signal raised at the commit of anything
 * that can make a message receivable (a send, a visibility change, a delete that unblocks a FIFO group, a redrive,
 * a move to a dead-letter queue), or on a timer set to the next time a delayed or in-flight message becomes
 * visible: no polling loop.
 *
 * A receive's own change (the messages in flight, their receive count) need not be durable: a crash that undoes
 * it makes the messages visible again, as an expired visibility timeout would. What it hands out must be: so the
 * engine remembers, per queue, the batch of the last commit that made a message receivable there, and a receive
 * that found messages answers once that batch is durable. The signal is raised at the commit rather than after
 * its flush, so a waiting receive claims the message while the flush that makes it durable is on its way.
 */
import type { Logger } from '../../log.js';
import { MxError, isMxError } from '../../errors.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/ids.js';
import {
  QUEUE_LIMITS,
  type BatchOutcome,
  type CreateQueueInput,
  type QueueAttributes,
  type QueueInfo,
  type QueueService,
  type QueueWriter,
  type ReceiveOptions,
  type ReceivedMessage,
  type SendInput,
  type SendResult,
} from '../../ports/queues.js';
import { checkMessage, checkQueueName, checkReceive, checkVisibility, normalizeQueue, sameAttributes, type QueueDefaults } from '../../queues/rules.js';
import type { SqliteDatabase, UnitContext } from '../../storage/sqlite/database.js';
import { QUEUE_MIGRATIONS } from './migrations.js';
import { QueueTables, type QueueRow } from './queue-tables.js';
import { Waiters } from '../../queues/waiters.js';

export interface EmbeddedQueuesOptions {
  database: SqliteDatabase;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  defaults: QueueDefaults;
  maxQueues: number;
  dedupWindowS: number;
  sweepBatchMax: number;
}

const REDRIVE_CHUNK = 500;

export class EmbeddedQueues implements QueueService {
  readonly #db: SqliteDatabase;
  readonly #tables: QueueTables;
  readonly #options: EmbeddedQueuesOptions;
  readonly #waiters = new Waiters();
  /** Queue rows by name. Attributes never change after creation, so only a delete invalidates an entry. */
  readonly #rows = new Map<string, QueueRow>();
  /** Per queue name, the batch of the last commit that made a message receivable in it (see the module comment). */
  readonly #receivableIn = new Map<string, number>();
  #closed = false;

  constructor(options: EmbeddedQueuesOptions) {
    this.#options = options;
    this.#db = options.database;
    this.#db.migrate('queues', QUEUE_MIGRATIONS);
    this.#tables = new QueueTables(this.#db, options.ids);
  }

  /** Ends every long poll (they answer with what they have) and refuses new work. */
  close(): void {
    this.#closed = true;
    this.#waiters.notifyAll();
  }

  /** A writer that sends inside the given unit of work: the message exists only if that unit commits. */
  writerFor(ctx: UnitContext): QueueWriter {
    return {
      send: async (queue, input) => this.#sendInUnit(ctx, queue, input),
      settle: async (queue, receiptHandle) => {
        checkQueueName(queue);
        try {
          this.#deleteInUnit(ctx, this.#queue(queue), receiptHandle);
          return true;
        } catch (error) {
          if (isMxError(error) && error.code === 'RECEIPT_HANDLE_INVALID') return false;
          throw error;
        }
      },
    };
  }

  /** Removes messages past retention and expired dedup keys (bounded); the engine calls it periodically. */
  async sweep(): Promise<{ messages: number; dedupKeys: number }> {
    return this.#db.run(() => this.#tables.sweep(this.#options.clock.now(), this.#options.sweepBatchMax));
  }

  async createQueue(input: CreateQueueInput): Promise<{ queue: QueueAttributes; created: boolean }> {
    const attrs = normalizeQueue(input, this.#options.defaults);
    return this.#db.run(() => {
      const existing = this.#tables.queueByName(attrs.name);
      if (existing) {
        if (sameAttributes(existing.attributes, attrs)) return { queue: existing.attributes, created: false };
        throw new MxError('QUEUE_ALREADY_EXISTS', `queue ${attrs.name} exists with different attributes`);
      }
      if (this.#tables.countQueues() >= this.#options.maxQueues) {
        throw new MxError('QUEUE_LIMIT_REACHED', `at most ${this.#options.maxQueues} queues may exist`);
      }
      let dlqId: number | null = null;
      if (attrs.deadLetterQueue !== null) {
        const dlq = this.#tables.queueByName(attrs.deadLetterQueue);
        if (!dlq) throw new MxError('QUEUE_NOT_FOUND', `dead_letter_queue ${attrs.deadLetterQueue} does not exist; create it first`);
        if (dlq.attributes.fifo !== attrs.fifo) {
          throw new MxError('INVALID_ATTRIBUTE', 'a dead_letter_queue must be of the same kind (FIFO or standard) as its queue');
        }
        dlqId = dlq.id;
      }
      const id = this.#tables.insertQueue(attrs, dlqId, this.#options.clock.now());
      return { queue: this.#tables.queueById(id)!.attributes, created: true };
    });
  }

  async getQueue(name: string): Promise<QueueInfo> {
    checkQueueName(name);
    return this.#db.run(() => {
      const queue = this.#queue(name);
      return { ...queue.attributes, metrics: this.#tables.metrics(queue, this.#options.clock.now()) };
    });
  }

  async depth(name: string): Promise<number> {
    checkQueueName(name);
    return this.#db.run(() => this.#tables.depth(this.#queue(name).id));
  }

  async listQueues(): Promise<QueueInfo[]> {
    return this.#db.run(() => {
      const now = this.#options.clock.now();
      return this.#tables.allQueues().map((q) => ({ ...q.attributes, metrics: this.#tables.metrics(q, now) }));
    });
  }

  async deleteQueue(name: string): Promise<void> {
    checkQueueName(name);
    await this.#db.run(() => {
      const queue = this.#queue(name);
      const users = this.#tables.queuesUsingAsDeadLetter(queue.id);
      if (users.length > 0) {
        throw new MxError('QUEUE_IN_USE', `queue ${name} is the dead_letter_queue of ${users.join(', ')}`);
      }
      this.#tables.deleteQueue(queue.id);
      this.#rows.delete(name);
    });
    this.#rows.delete(name);
    this.#receivableIn.delete(name);
    this.#waiters.notify(name);
  }

  async purgeQueue(name: string): Promise<{ purged: number }> {
    checkQueueName(name);
    return this.#db.run(() => ({ purged: this.#tables.purge(this.#queue(name).id) }));
  }

  async send(queue: string, input: SendInput): Promise<SendResult> {
    checkQueueName(queue);
    return this.#db.run((ctx) => this.#sendInUnit(ctx, queue, input));
  }

  async sendBatch(queue: string, entries: SendInput[]): Promise<BatchOutcome<SendResult>[]> {
    checkQueueName(queue);
    return this.#db.run((ctx) => {
      const row = this.#queue(queue);
      return entries.map((entry): BatchOutcome<SendResult> => {
        try {
          return { ok: true, value: this.#sendRow(ctx, row, entry) };
        } catch (error) {
          if (isMxError(error)) return { ok: false, error };
          throw error;
        }
      });
    });
  }

  async receive(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]> {
    checkQueueName(queue);
    const { max, waitMs, visibilityTimeoutS: vis } = checkReceive(options);
    const deadline = Date.now() + waitMs;
    for (;;) {
      // Register before looking, so that a send committed right after the look still wakes this receive.
      const wake = waitMs > 0 ? this.#waiters.subscribe(queue) : null;
      try {
        const { messages, nextAt, writtenIn } = await this.#db.run((ctx) => {
          const row = this.#queue(queue);
          const now = this.#options.clock.now();
          const result = this.#tables.receive(row, max, vis ?? row.attributes.visibilityTimeoutS, now);
          for (const name of result.touched) this.#madeReceivable(ctx, name);
          return {
            messages: result.messages,
            nextAt: result.messages.length === 0 ? this.#tables.nextReceivableAt(row, now) : null,
            writtenIn: this.#receivableIn.get(queue) ?? 0,
          };
        }, { untilDurable: false });
        if (messages.length > 0 && options.untilDurable !== false) await this.#db.whenDurable(writtenIn);
        const remaining = deadline - Date.now();
        if (messages.length > 0 || !wake || remaining <= 0 || this.#closed || options.signal?.aborted) return messages;
        const untilNext = nextAt === null ? remaining : Math.max(1, nextAt - this.#options.clock.now());
        await wake.wait(Math.min(remaining, untilNext), options.signal);
      } finally {
        wake?.cancel();
      }
    }
  }

  async delete(queue: string, receiptHandle: string): Promise<void> {
    checkQueueName(queue);
    await this.#db.run((ctx) => this.#deleteInUnit(ctx, this.#queue(queue), receiptHandle));
  }

  /**
   * Deletes the message holding the receipt handle; a FIFO group it frees wakes a waiting receive, unless the
   * message was the group's last (then nothing became receivable).
   */
  #deleteInUnit(ctx: UnitContext, row: QueueRow, receiptHandle: string): void {
    const deleted = this.#tables.deleteMessage(row, receiptHandle);
    if (deleted !== null && this.#tables.settleGroup(row.id, deleted.groupId, [deleted.seq])) {
      this.#madeReceivable(ctx, row.attributes.name);
    }
  }

  async deleteBatch(queue: string, receiptHandles: string[]): Promise<BatchOutcome<void>[]> {
    checkQueueName(queue);
    return this.#db.run((ctx) => {
      const row = this.#queue(queue);
      const groups = new Map<string, number[]>();
      const outcomes = receiptHandles.map((handle): BatchOutcome<void> => {
        try {
          const deleted = this.#tables.deleteMessage(row, handle);
          if (deleted !== null) {
            const seqs = groups.get(deleted.groupId);
            if (seqs) seqs.push(deleted.seq);
            else groups.set(deleted.groupId, [deleted.seq]);
          }
          return { ok: true, value: undefined };
        } catch (error) {
          if (isMxError(error)) return { ok: false, error };
          throw error;
        }
      });
      let freed = 0;
      for (const [group, seqs] of groups) if (this.#tables.settleGroup(row.id, group, seqs)) freed += 1;
      if (freed > 0) this.#madeReceivable(ctx, row.attributes.name, freed);
      return outcomes;
    });
  }

  async changeVisibility(queue: string, receiptHandle: string, visibilityTimeoutS: number, options?: { reason?: string }): Promise<void> {
    checkQueueName(queue);
    checkVisibility(visibilityTimeoutS);
    const reason = options?.reason?.slice(0, QUEUE_LIMITS.reasonLengthMax) ?? null;
    await this.#db.run((ctx) => {
      const row = this.#queue(queue);
      this.#tables.changeVisibility(row, receiptHandle, visibilityTimeoutS, this.#options.clock.now(), reason);
      this.#madeReceivable(ctx, row.attributes.name);
    });
  }

  async redrive(deadLetterQueue: string): Promise<{ moved: number }> {
    checkQueueName(deadLetterQueue);
    let moved = 0;
    let afterSeq = 0;
    // Chunks of bounded size, each its own transaction, so a large dead-letter queue never holds one huge commit.
    for (;;) {
      const chunk = await this.#db.run((ctx) => {
        const dlq = this.#queue(deadLetterQueue);
        if (afterSeq === 0 && this.#tables.queuesUsingAsDeadLetter(dlq.id).length === 0) {
          const probe = this.#tables.redriveChunk(dlq, this.#options.clock.now(), 0, 1);
          if (probe.seen === 0) {
            throw new MxError('NOT_A_DEAD_LETTER_QUEUE', `queue ${deadLetterQueue} is no queue's dead_letter_queue and holds no dead-lettered messages`);
          }
          for (const name of probe.touched) this.#madeReceivable(ctx, name, Infinity);
          return probe;
        }
        const result = this.#tables.redriveChunk(dlq, this.#options.clock.now(), afterSeq, REDRIVE_CHUNK);
        for (const name of result.touched) this.#madeReceivable(ctx, name, Infinity);
        return result;
      });
      moved += chunk.moved;
      afterSeq = chunk.lastSeq;
      if (chunk.seen === 0) return { moved };
    }
  }

  #queue(name: string): QueueRow {
    const cached = this.#rows.get(name);
    if (cached) return cached;
    const row = this.#tables.queueByName(name);
    if (!row) throw new MxError('QUEUE_NOT_FOUND', `queue ${name} does not exist`);
    this.#rows.set(name, row);
    return row;
  }

  #sendInUnit(ctx: UnitContext, queue: string, input: SendInput): SendResult {
    return this.#sendRow(ctx, this.#queue(queue), input);
  }

  #sendRow(ctx: UnitContext, row: QueueRow, input: SendInput): SendResult {
    const checked = checkMessage(row.attributes, input);
    const result = this.#tables.send(row, checked, this.#options.clock.now(), this.#options.dedupWindowS * 1000, input.dedupScope ?? 'window');
    if (!result.duplicate) this.#madeReceivable(ctx, row.attributes.name);
    return result;
  }

  /**
   * Records, inside a unit, that it makes messages receivable in `queue`: a receive that hands them out waits for
   * this unit's batch to be durable, and `count` waiting receives wake at its commit. A unit that rolls back leaves
   * the record a batch too late at worst, which only makes a receive wait for one more flush.
   */
  #madeReceivable(ctx: UnitContext, queue: string, count = 1): void {
    this.#receivableIn.set(queue, ctx.batch);
    ctx.whenCommitted(() => this.#waiters.notify(queue, count));
  }
}
