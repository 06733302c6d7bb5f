/**
 * The transactional store port.
 *
 * `transaction(work)` runs `work` atomically: every write it makes through `tx` (state records and queue
 * messages alike) commits together or not at all, and the returned promise settles only once the commit is
 * durable. This is how a stage changes a payment's state and hands it to the next queue without a dual write.
 *
 * Rules for `work` (engines rely on them for group commit):
 *  - use only `tx` inside it; no other I/O, no timers, no awaiting anything but `tx` calls;
 *  - it may run again if the engine retries a transaction, so keep it free of outside side effects and
 *    register them with `tx.afterCommit` instead;
 *  - throwing rolls back everything it wrote and rejects the promise with the thrown error.
 */
import type { QueueWriter } from './queues.js';
import type { TransactionsTx } from './transactions.js';

export interface KvRecord {
  value: string;
  /** Starts at 1 and grows by one on every write; the basis of compare-and-set. */
  version: number;
  /** Epoch ms after which the record reads as absent; null for never. */
  expiresAt: number | null;
}

/**
 * A small durable key-value space in namespaces, for idempotency keys, leases and similar bookkeeping.
 * Expired records read as absent and are removed in the background.
 */
export interface KvTx {
  get(namespace: string, key: string): Promise<KvRecord | null>;
  /** Writes only when the key is absent (or expired). Returns false, changing nothing, when it is present. */
  insert(namespace: string, key: string, value: string, options?: { ttlMs?: number }): Promise<boolean>;
  /**
   * Writes unconditionally, or only when the current version equals `expectVersion` (0 for "absent").
   * Returns the new version, or null when the expectation failed (nothing written).
   */
  put(namespace: string, key: string, value: string, options?: { ttlMs?: number; expectVersion?: number }): Promise<number | null>;
  /** Returns whether a live record was removed. */
  delete(namespace: string, key: string): Promise<boolean>;
}

export interface Tx {
  readonly kv: KvTx;
  readonly queues: QueueWriter;
  readonly transactions: TransactionsTx;
  /**
   * Runs `effect` after the commit, once durable unless the transaction asked otherwise (never after a rollback).
   * Errors it throws are logged, not raised.
   */
  afterCommit(effect: () => void): void;
}

export interface TransactionOptions {
  /**
   * False: the promise may settle once the transaction has committed, before it is durable (and `afterCommit`
   * effects run then). Only for work whose result the caller acts on solely through later transactions of the
   * same store, which become durable after it (a crash that undoes it undoes them too), and that loses nothing
   * if a crash undoes it: a workflow stage whose stage message comes back with the undone transaction. Engines
   * whose commit is durable ignore it. Default true.
   */
  untilDurable?: boolean;
}

/** The reading half of Tx. */
export interface ReadTx {
  readonly kv: Pick<KvTx, 'get'>;
  readonly transactions: Pick<TransactionsTx, 'get' | 'payments' | 'history' | 'load' | 'getMessage' | 'list' | 'overdue' | 'stranded' | 'findForwarded' | 'findCancellable'>;
}

export interface Store {
  transaction<T>(work: (tx: Tx) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs `work`, which only reads, however the engine reads cheapest (a remote engine without BEGIN and COMMIT).
   * Each read sees data committed before it started, as every statement of a READ COMMITTED transaction does, but
   * two reads may see different commits: what needs one view reads it in one call (`transactions.load`), and
   * what acts on a read checks it again in its write (the compare-and-set of `transactions.move`).
   */
  read<T>(work: (tx: ReadTx) => Promise<T>): Promise<T>;
  /** Stops taking new transactions, waits for the running ones, and releases the engine. */
  close(): Promise<void>;
}
