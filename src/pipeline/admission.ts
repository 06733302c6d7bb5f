/**
 * Admission of new payments: the API refuses new payments (503 OVERLOADED, retryable) while more payments wait
 * for processing than `workflow.backlogMax`, instead of accepting work it cannot finish before its deadline.
 *
 * "Waiting" is what the engine holds that no stage has taken yet: the messages on the processing queue plus, on
 * the distributed engine, the outbox rows not yet relayed to the queues (they pile up while NATS is down). The
 * figure is probed in the background at most every `probeIntervalMs`, each part on its own; a submission is
 * judged on the last answers and never waits for a probe. A part that cannot be read keeps its last known value
 * (during a queue-engine outage the outbox count goes on, the queue keeps its depth from before).
 *
 * Answers from downstream (pacs.002) are always admitted: they finish payments, they do not add any.
 */
import { MxError } from '../errors.js';
import type { Logger } from '../log.js';

export interface AdmissionOptions {
  /** Most payments waiting before new ones are refused; 0 admits everything. */
  limit: number;
  /** Messages on the processing queue. */
  queueDepth(): Promise<number>;
  /** Work the engine holds before the queues (outbox rows); 0 on the embedded engine. */
  engineBacklog(): Promise<number>;
  logger: Logger;
  probeIntervalMs?: number;
}

export class Admission {
  readonly #o: AdmissionOptions;
  readonly #intervalMs: number;
  // Each part is probed on its own and counts as soon as it answers: during a queue-engine outage the queue's
  // probe hangs until its request times out, and the outbox's count must not wait for it.
  readonly #parts = {
    queue: { value: 0, at: -Infinity, probing: null as Promise<void> | null },
    engine: { value: 0, at: -Infinity, probing: null as Promise<void> | null },
  };
  #refusing = false;

  constructor(options: AdmissionOptions) {
    this.#o = options;
    this.#intervalMs = options.probeIntervalMs ?? 250;
  }

  /** The payments waiting at the last probes. */
  get waiting(): number {
    return this.#parts.queue.value + this.#parts.engine.value;
  }

  /** Throws OVERLOADED when the last probes saw the backlog at or over the limit; starts probes that are due. */
  check(): void {
    if (this.#o.limit === 0) return;
    const now = Date.now();
    if (!this.#parts.queue.probing && now - this.#parts.queue.at >= this.#intervalMs) void this.#probe('queue');
    if (!this.#parts.engine.probing && now - this.#parts.engine.at >= this.#intervalMs) void this.#probe('engine');
    if (this.#refusing) {
      throw new MxError('OVERLOADED', `${this.waiting} payments wait for processing (limit ${this.#o.limit}); retry later`);
    }
  }

  /** Reads the backlog now (submissions start probes themselves; tests call this to wait for one). */
  async probe(): Promise<void> {
    await Promise.all([this.#probe('queue'), this.#probe('engine')]);
  }

  #probe(part: 'queue' | 'engine'): Promise<void> {
    const state = this.#parts[part];
    if (state.probing) return state.probing;
    const read = part === 'queue' ? this.#o.queueDepth : this.#o.engineBacklog;
    state.probing = read()
      .then(
        (value) => {
          state.value = value;
          this.#judge();
        },
        () => undefined, // unreachable for now: the last known value stands
      )
      .finally(() => {
        state.at = Date.now();
        state.probing = null;
      });
    return state.probing;
  }

  #judge(): void {
    const refusing = this.waiting >= this.#o.limit;
    if (refusing !== this.#refusing) {
      if (refusing) this.#o.logger.warn({ waiting: this.waiting, limit: this.#o.limit }, 'backlog at workflow.backlogMax: refusing new payments (503 OVERLOADED)');
      else this.#o.logger.info({ waiting: this.waiting, limit: this.#o.limit }, 'backlog under workflow.backlogMax again: accepting new payments');
    }
    this.#refusing = refusing;
  }
}
