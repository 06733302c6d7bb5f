/**
 * The scheduler role: the background duties that must run in exactly one process (timeout sweeper, retention,
 * outbox relay), started while this process holds the scheduler lease and stopped when it loses it.
 */
import { hostname } from 'node:os';
import type { Logger } from '../log.js';
import type { Clock } from '../ports/clock.js';
import type { IdGenerator } from '../ports/ids.js';
import type { Store } from '../ports/store.js';
import type { Duty } from './duty.js';
import { Lease } from './lease.js';

export interface SchedulerOptions {
  store: Store;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  duties: Duty[];
  ttlMs?: number;
  renewMs?: number;
}

export class Scheduler {
  readonly lease: Lease;
  readonly #duties: Duty[];
  readonly #logger: Logger;

  constructor(options: SchedulerOptions) {
    this.#duties = options.duties;
    this.#logger = options.logger;
    this.lease = new Lease({
      store: options.store,
      clock: options.clock,
      logger: options.logger,
      name: 'scheduler',
      holder: `${hostname()}:${process.pid}:${options.ids.token(6)}`,
      ttlMs: options.ttlMs ?? 10_000,
      renewMs: options.renewMs ?? 2_000,
      onAcquire: () => {
        for (const duty of this.#duties) duty.start();
        this.#logger.info({ duties: this.#duties.map((d) => d.name) }, 'scheduler active');
      },
      onLose: async () => {
        await Promise.all(this.#duties.map((d) => d.stop()));
        this.#logger.info('scheduler standing by');
      },
    });
  }

  start(): void {
    this.lease.start();
  }

  async stop(): Promise<void> {
    await this.lease.stop();
  }
}
