/**
 * The stage runner: consume -> handle -> outcome -> ack / retry / dead-letter.
 *
 * Each of `concurrency` loops long-polls the stage queue for up to 10 messages and hands them to the handler:
 * the messages of one FIFO group one by one, in the order they were sent, different groups at the same time.
 * Every message ends in exactly one explicit outcome:
 *
 *   ack          the work is committed; delete the message (unless the handler's transaction deleted it already:
 *                on the embedded engine the state change and the delete commit together).
 *   retry        a temporary failure; make the message visible again after a backoff that doubles per attempt
 *                (the queue's max_receive_count then moves it to the stage's dead-letter queue, with the reason
 *                of the last attempt in the same attribute).
 *   dead-letter  a permanent failure; move it to the dead-letter queue now, with the reason as an attribute.
 *
 * When a message is retried, the later messages of its group in the same batch are released untouched, so the
 * group keeps its order. Handlers must be idempotent: a message may be delivered again after a crash.
 *
 * An outage (STORE_UNAVAILABLE: the store or the queues cannot be reached) is not the message's fault. Releasing
 * the message would spend one of its attempts per retry, and an outage of a few seconds would move every message
 * in flight to the dead-letter queue, leaving its payment to time out. So the handler is first run again in
 * place, with a doubling delay, until `outageHoldMs` after the batch was received (well within the visibility
 * timeout); only an outage that lasts longer releases the message and counts an attempt.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from '../log.js';
import { isMxError } from '../errors.js';
import { DEAD_LETTER_REASON, QUEUE_LIMITS, type QueueService, type ReceivedMessage } from '../ports/queues.js';

export type Outcome = { kind: 'ack'; settled?: boolean } | { kind: 'retry'; reason: string } | { kind: 'dead-letter'; reason: string };

export const ack: Outcome = { kind: 'ack' };

/** The work is committed and the message was deleted in the same transaction (QueueWriter.settle): nothing left. */
export const settled: Outcome = { kind: 'ack', settled: true };

/**
 * The one table of what is retryable: coded errors say so themselves (errors.ts); anything else is unexpected
 * and retried, so that a transient fault heals and a persistent one reaches the dead-letter queue after the
 * queue's max_receive_count attempts.
 */
export function outcomeOf(error: unknown): Outcome {
  if (isMxError(error)) {
    return error.retryable ? { kind: 'retry', reason: `${error.code}: ${error.message}` } : { kind: 'dead-letter', reason: `${error.code}: ${error.message}` };
  }
  return { kind: 'retry', reason: error instanceof Error ? error.message : String(error) };
}

export interface StageRunnerOptions {
  name: string;
  queues: QueueService;
  queue: string;
  deadLetterQueue: string;
  concurrency: number;
  handler: (message: ReceivedMessage) => Promise<Outcome>;
  logger: Logger;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Long-poll wait per receive; shorter in tests. */
  waitMs?: number;
  /** How long after a batch is received its handlers are retried in place through an outage (default 0: never). */
  outageHoldMs?: number;
  /**
   * False when the handler acts only through writes to the store that holds the queue (ReceiveOptions
   * untilDurable): its receives then need not wait for the flush of what they read. Default true.
   */
  untilDurable?: boolean;
}

/** Longest pause between two in-place runs of a handler during an outage. */
const OUTAGE_RETRY_MAX_MS = 2000;

function isOutage(error: unknown): boolean {
  return isMxError(error) && error.code === 'STORE_UNAVAILABLE';
}

export class StageRunner {
  readonly #o: StageRunnerOptions;
  readonly #abort = new AbortController();
  #loops: Promise<void>[] = [];
  readonly stats = { handled: 0, retried: 0, deadLettered: 0 };

  constructor(options: StageRunnerOptions) {
    this.#o = options;
  }

  get name(): string {
    return this.#o.name;
  }

  start(): void {
    if (this.#loops.length > 0) return;
    // Every loop's long poll listens on the one stop signal.
    setMaxListeners(this.#o.concurrency + 10, this.#abort.signal);
    for (let i = 0; i < this.#o.concurrency; i++) this.#loops.push(this.#loop());
  }

  /** Stops taking messages; handlers in progress finish, their messages are acked or released. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#loops);
    this.#loops = [];
  }

  async #loop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      let batch: ReceivedMessage[];
      try {
        batch = await this.#o.queues.receive(this.#o.queue, {
          max: 10,
          waitMs: this.#o.waitMs ?? 20_000,
          signal,
          untilDurable: this.#o.untilDurable !== false,
          // This runner deletes or extends every message it receives itself.
          local: true,
        });
      } catch (error) {
        if (signal.aborted) return;
        this.#o.logger.error({ err: error, stage: this.#o.name }, 'stage receive failed; retrying shortly');
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (batch.length > 0) await this.#handleBatch(batch);
    }
  }

  /**
   * Messages of different groups are handled concurrently (their state changes then share commits); the
   * messages of one group one after the other, in order.
   */
  async #handleBatch(batch: ReceivedMessage[]): Promise<void> {
    const holdUntil = Date.now() + (this.#o.outageHoldMs ?? 0);
    const acks: string[] = [];
    const byGroup = new Map<string, ReceivedMessage[]>();
    batch.forEach((message, i) => {
      const key = message.groupId ?? `\u0000${i}`;
      const list = byGroup.get(key);
      if (list) list.push(message);
      else byGroup.set(key, [message]);
    });
    await Promise.all([...byGroup.values()].map((messages) => this.#handleGroup(messages, acks, holdUntil)));
    if (acks.length > 0) await this.#settle(() => this.#o.queues.deleteBatch(this.#o.queue, acks));
  }

  async #handleGroup(messages: ReceivedMessage[], acks: string[], holdUntil: number): Promise<void> {
    let blocked = false;
    for (const message of messages) {
      if (blocked) {
        // An earlier message of this group will be retried: release the rest untouched, in order.
        await this.#settle(() => this.#o.queues.changeVisibility(this.#o.queue, message.receiptHandle, 0));
        continue;
      }
      const outcome = await this.#run(message, holdUntil);
      if (outcome.kind === 'ack') {
        if (!outcome.settled) acks.push(message.receiptHandle);
        this.stats.handled += 1;
      } else if (outcome.kind === 'retry') {
        blocked = message.groupId !== null;
        this.stats.retried += 1;
        const delayMs = Math.min(this.#o.retryMaxMs, this.#o.retryBaseMs * 2 ** (message.receiveCount - 1));
        this.#o.logger.warn({ stage: this.#o.name, attempt: message.receiveCount, delayMs, reason: outcome.reason, body: message.body }, 'stage will retry');
        // The reason stays with the message: the queue gives it as the dead-letter reason after the last attempt.
        await this.#settle(() => this.#o.queues.changeVisibility(this.#o.queue, message.receiptHandle, Math.ceil(delayMs / 1000), { reason: outcome.reason }));
      } else {
        this.stats.deadLettered += 1;
        this.#o.logger.error({ stage: this.#o.name, reason: outcome.reason, body: message.body }, 'stage message dead-lettered');
        await this.#settle(async () => {
          await this.#o.queues.send(this.#o.deadLetterQueue, {
            body: message.body,
            groupId: message.groupId ?? 'none',
            attributes: { ...message.attributes, [DEAD_LETTER_REASON]: outcome.reason.slice(0, QUEUE_LIMITS.reasonLengthMax), stage: this.#o.name },
          });
          acks.push(message.receiptHandle);
        });
      }
    }
  }

  /** The handler's outcome, running it again in place while it fails with an outage, until `holdUntil`. */
  async #run(message: ReceivedMessage, holdUntil: number): Promise<Outcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#o.handler(message);
      } catch (error) {
        const delayMs = Math.min(OUTAGE_RETRY_MAX_MS, this.#o.retryBaseMs * 2 ** (attempt - 1));
        if (!isOutage(error) || this.#abort.signal.aborted || Date.now() + delayMs > holdUntil) return outcomeOf(error);
        if (attempt === 1) this.#o.logger.warn({ err: error, stage: this.#o.name }, 'store or queues unavailable; running the stage again in place');
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  /**
   * Runs a queue operation that settles messages (delete, release, dead-letter). Through an outage it is run
   * again in place for up to `outageHoldMs`: a message left in flight would hold its FIFO group back until its
   * visibility timeout. Beyond that it is given up: the message comes back after its visibility timeout and the
   * idempotent handler finds its work done, so nothing is lost or doubled.
   */
  async #settle(operation: () => Promise<unknown>): Promise<void> {
    const until = Date.now() + (this.#o.outageHoldMs ?? 0);
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await operation();
        if (Array.isArray(result)) {
          for (const outcome of result as Array<{ ok: boolean; error?: unknown }>) {
            if (!outcome.ok) this.#o.logger.warn({ err: outcome.error, stage: this.#o.name }, 'a stage message could not be settled; it comes back after its visibility timeout');
          }
        }
        return;
      } catch (error) {
        const delayMs = Math.min(OUTAGE_RETRY_MAX_MS, this.#o.retryBaseMs * 2 ** (attempt - 1));
        if (!isOutage(error) || this.#abort.signal.aborted || Date.now() + delayMs > until) {
          this.#o.logger.error({ err: error, stage: this.#o.name }, 'could not settle a stage message; it comes back after its visibility timeout');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }
}
