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
  /** Runs `effect` after a durable commit (never after a rollback). Errors it throws are logged, not raised. */
  afterCommit(effect: () => void): void;
}

export interface Store {
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Stops taking new transactions, waits for the running ones, and releases the engine. */
  close(): Promise<void>;
}
