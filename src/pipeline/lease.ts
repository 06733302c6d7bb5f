/**
 * A lease in the store's key-value space, so that exactly one process at a time does a job (the scheduler:
 * timeout sweeper, outbox relay, retention), and another takes over within seconds when the holder dies.
 *
 *   standby ──(insert succeeds: no live lease)──► holding ──(renew fails: lost or expired)──► standby
 *      ▲                                            │
 *      └──────────────────(stop: released)──────────┘
 *
 * The holder renews every `renewMs` with compare-and-set on the record's version; the record expires `ttlMs`
 * after the last renewal, so a crashed holder is replaced at most `ttlMs + renewMs` later. Times come from the
 * Clock port of each process: clocks of the processes must agree to well within `ttlMs - renewMs`.
 */
import type { Logger } from '../log.js';
import type { Clock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';

export interface LeaseOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  name: string;
  /** This process's identity, for operators (host:pid:random). */
  holder: string;
  ttlMs: number;
  renewMs: number;
  onAcquire: () => void | Promise<void>;
  onLose: () => void | Promise<void>;
}

/** The key-value namespace of leases: a live one in a database means a process of a hub works on it. */
export const LEASE_NAMESPACE = 'lease';

export class Lease {
  readonly #o: LeaseOptions;
  #timer: NodeJS.Timeout | null = null;
  #version: number | null = null;
  #tick: Promise<void> | null = null;
  #stopped = false;

  constructor(options: LeaseOptions) {
    if (!(options.renewMs > 0 && options.renewMs * 2 < options.ttlMs)) {
      throw new Error('assertion failed: a lease renews at least twice per ttl');
    }
    this.#o = options;
  }

  get held(): boolean {
    return this.#version !== null;
  }

  start(): void {
    if (this.#timer) return;
    const run = () => {
      if (this.#tick || this.#stopped) return;
      this.#tick = this.#step()
        .catch((err: unknown) => this.#o.logger.error({ err, lease: this.#o.name }, 'lease step failed'))
        .finally(() => (this.#tick = null));
    };
    run();
    this.#timer = setInterval(run, this.#o.renewMs);
    this.#timer.unref();
  }

  /** Stops renewing and releases the lease if held, so another process takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#tick;
    if (this.#version !== null) {
      const version = this.#version;
      this.#version = null;
      await this.#o.onLose();
      await this.#o.store
        .transaction(async (tx) => {
          const current = await tx.kv.get(LEASE_NAMESPACE, this.#o.name);
          if (current?.version === version) await tx.kv.delete(LEASE_NAMESPACE, this.#o.name);
        })
        .catch((err: unknown) => this.#o.logger.warn({ err, lease: this.#o.name }, 'could not release the lease; it expires by itself'));
    }
  }

  /** Stops renewing WITHOUT releasing, as a crash would (tests of takeover use it). */
  halt(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #step(): Promise<void> {
    const { store, name, holder, ttlMs } = this.#o;
    if (this.#version === null) {
      const version = await store.transaction(async (tx) => {
        if (!(await tx.kv.insert(LEASE_NAMESPACE, name, holder, { ttlMs }))) return null;
        return (await tx.kv.get(LEASE_NAMESPACE, name))?.version ?? null;
      });
      if (version === null || this.#stopped) return;
      this.#version = version;
      this.#o.logger.info({ lease: name, holder }, 'lease acquired');
      await this.#o.onAcquire();
      return;
    }
    const renewed = await store.transaction((tx) => tx.kv.put(LEASE_NAMESPACE, name, holder, { ttlMs, expectVersion: this.#version! }));
    if (renewed === null) {
      this.#version = null;
      this.#o.logger.warn({ lease: name, holder }, 'lease lost');
      await this.#o.onLose();
      return;
    }
    this.#version = renewed;
  }
}
