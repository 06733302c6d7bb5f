/**
 * The group commit of the PostgreSQL store (`PostgresDatabase.unit` in database.ts, what the store's transactions
 * use): units of work submitted at about the same time share one PostgreSQL transaction, one BEGIN and one COMMIT.
 * A commit costs a round trip and a WAL flush. The units of one batch run one after another on its connection, so
 * each waiting unit starts a batch of its own while connections are free (up to `commitBatchesMax` batches at
 * once), and a running batch, each time a unit of it is done, takes the oldest unit still waiting: units start in
 * the order they came (a batch never holds units it has no time for while another connection could run them), a
 * quiet process runs each unit at once as a plain transaction, and a busy one shares commits among the units that
 * came while its connections were busy.
 *
 * Optimistic: no unit runs in a savepoint. A savepoint would let a failed unit roll back alone, but it costs a
 * round trip per unit ("RELEASE; SAVEPOINT"), on every unit, for a failure that the store's statements make rare
 * (every write is a compare-and-set or an INSERT ... ON CONFLICT; see database.ts). Instead a unit that fails rolls
 * back the whole transaction: it is rejected (or run again later after a deadlock or serialization failure), and
 * the units done before it in that transaction, whose work went with it, go back to the head of the queue and run
 * again, first and in their order. The Store contract already allows a unit's work to run more than once.
 * Bounds: `commitUnitsMax` units per batch, no unit started after the batch has run `commitBatchMs` (the rest go to
 * the next batch: a batch holds the row locks of all its units until its COMMIT), and a unit that waits longer
 * than `connectTimeoutMs` for a batch is STORE_UNAVAILABLE, as a caller of the pool would be.
 *
 * The database (database.ts) checks these options, refuses units once it is closed, and lends each batch its
 * connections and its after-commit effects; failures.ts decides which failures run again, and as what error.
 *
 * Unit states:
 *
 *   pending ──(batch starts)──► running ──ok──► done ──COMMIT ok──► resolved (+ afterCommit effects)
 *    ▲  ▲                          │              │  │
 *    │  │                          │              │  └─COMMIT or connection fails──► rejected STORE_UNAVAILABLE
 *    │  └─(head of the queue)──────┼──────────────┴─a later unit of its transaction throws: ROLLBACK
 *    │                             └─throws──► ROLLBACK ──► 40001/40P01 and attempts left? ──no──► rejected
 *    └──────────── after a jittered backoff ◄──────────────────────────────────────────────┘ yes
 *   A connection that fails mid-batch (the ROLLBACK fails too) rejects every unit of the batch with
 *   STORE_UNAVAILABLE: none of it committed.
 */
import type pg from 'pg';
import type { Logger } from '../../log.js';
import { MxError, isMxError } from '../../errors.js';
import type { TransactionContext } from './database.js';
import { TRANSACTION_ATTEMPTS_MAX, backoffMs, ignore, isRetryableConflict, isServerError, lastFailed, mapError, sqlState } from './failures.js';

/** What the group commit has done since start, for tests, metrics and benchmarks. */
export interface CommitStats {
  /** Transactions committed by the group commit. */
  commits: number;
  /** Units committed in them. */
  units: number;
  /** Units that failed (each rolls back its transaction; a deadlock or serialization failure runs it again later). */
  rolledBack: number;
  /** Units run again because a unit after them in their transaction failed. */
  ranAgain: number;
}

interface Unit {
  work: (ctx: TransactionContext) => Promise<unknown>;
  attempt: number;
  queuedAt: number;
  effects: Array<() => void>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** A group commit that takes this long is logged: its units waited, and so did the row locks they hold. */
const SLOW_BATCH_MS = 1000;

export interface GroupCommitOptions {
  /** A connection of the database's pool, or STORE_UNAVAILABLE (also once the database is closing). */
  acquire: () => Promise<pg.PoolClient>;
  /** Runs the after-commit effects of a committed unit, logging those that throw. */
  runEffects: (effects: Array<() => void>) => void;
  logger: Logger;
  /** `commitUnitsMax`: most units per batch. */
  unitsMax: number;
  /** `commitBatchesMax`, at most `poolMax`: most batches at once. */
  batchesMax: number;
  /** `commitBatchMs`: a batch starts no further unit once it has run this long. */
  batchMs: number;
  /** `connectTimeoutMs`: a unit that waits longer for a batch is STORE_UNAVAILABLE. */
  waitMaxMs: number;
}

export class GroupCommit {
  readonly #options: GroupCommitOptions;
  readonly #logger: Logger;
  /** Units waiting for a batch, oldest first. */
  #pending: Unit[] = [];
  #scheduled = false;
  #waitTimer: NodeJS.Timeout | null = null;
  #batches = 0;
  readonly #stats: CommitStats = { commits: 0, units: 0, rolledBack: 0, ranAgain: 0 };

  constructor(options: GroupCommitOptions) {
    this.#options = options;
    this.#logger = options.logger;
  }

  get stats(): CommitStats {
    return { ...this.#stats };
  }

  /**
   * Queues `work` for the next batch (see `PostgresDatabase.unit`). `settled` runs once, just before the promise
   * settles: the database counts the units not yet settled, and closes its pool only when there are none.
   */
  submit<T>(work: (ctx: TransactionContext) => Promise<T>, settled: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({
        work,
        attempt: 1,
        queuedAt: Date.now(),
        effects: [],
        resolve: (value) => {
          settled();
          resolve(value as T);
        },
        reject: (error) => {
          settled();
          reject(error);
        },
      });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#pending.length > 0) this.#watchWaits();
    if (this.#scheduled || this.#pending.length === 0 || this.#batches >= this.#options.batchesMax) return;
    this.#scheduled = true;
    // setImmediate runs after the poll phase: every request and message read in this loop turn is waiting by then.
    setImmediate(() => {
      this.#scheduled = false;
      // One batch per waiting unit while connections are free: a unit waits behind others only when none is.
      // Each batch starts with the oldest waiting unit and takes the next oldest whenever it is ready for one.
      while (this.#pending.length > 0 && this.#batches < this.#options.batchesMax) {
        const first = this.#pending.shift()!;
        this.#batches += 1;
        void this.#runBatch(first).finally(() => {
          this.#batches -= 1;
          this.#schedule();
        });
      }
    });
  }

  /**
   * While units wait for a batch, rejects those that have waited longer than `connectTimeoutMs` with
   * STORE_UNAVAILABLE (every batch is stuck: lock waits, an unresponsive server), as the pool does for a caller
   * that waits for a connection. A unit that gets a batch in time runs however long it waited.
   */
  #watchWaits(): void {
    if (this.#waitTimer !== null) return;
    const limitMs = this.#options.waitMaxMs;
    this.#waitTimer = setTimeout(() => {
      this.#waitTimer = null;
      const now = Date.now();
      const late = this.#pending.filter((unit) => now - unit.queuedAt > limitMs);
      if (late.length > 0) {
        this.#pending = this.#pending.filter((unit) => now - unit.queuedAt <= limitMs);
        const error = new MxError('STORE_UNAVAILABLE', `waited more than ${limitMs} ms for a PostgreSQL transaction`);
        for (const unit of late) unit.reject(error);
      }
      if (this.#pending.length > 0) this.#watchWaits();
    }, Math.max(10, Math.min(1000, limitMs / 4)));
    this.#waitTimer.unref();
  }

  /** Requeues a unit that met a deadlock or serialization failure, after a backoff; false when it may not run again. */
  #retryLater(unit: Unit, error: unknown): boolean {
    if (!isRetryableConflict(error) || unit.attempt >= TRANSACTION_ATTEMPTS_MAX) return false;
    this.#logger.debug({ attempt: unit.attempt, code: sqlState(error) }, 'PostgreSQL conflict in a unit of a group commit; running it again');
    const delay = backoffMs(unit.attempt);
    unit.attempt += 1;
    unit.effects.length = 0;
    setTimeout(() => {
      unit.queuedAt = Date.now();
      this.#pending.push(unit);
      this.#schedule();
    }, delay);
    return true;
  }

  /**
   * One group commit on one connection: `first`, then the oldest waiting unit each time the previous one is done,
   * while the batch is within its bounds (so the units of every batch are served in the order they came, and a
   * unit never waits for a batch that took it but is busy with others); then one COMMIT for all of them.
   * No unit runs in a savepoint (see the module comment): when one fails, the transaction is rolled back, the
   * units done in it go back to the head of the queue to run again, and the batch goes on with a new transaction.
   * Pipelined (see database.ts): BEGIN goes out with the first unit's first statement, and COMMIT right behind the
   * last unit's last statement when it handed that over; a unit followed by another in the same transaction has
   * its last statement awaited first, so that a failure is always that of the unit that ran it.
   */
  async #runBatch(first: Unit): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.#options.acquire();
    } catch (error) {
      first.reject(error);
      return;
    }
    const started = Date.now();
    let done: Array<{ unit: Unit; value: unknown }> = [];
    let unit: Unit | undefined = first;
    let taken = 1;
    let open = false;
    /** The open transaction's BEGIN, until its answer is checked. */
    let begin: Promise<unknown> | null = null;
    /** The last statement of the last unit done, not awaited yet: COMMIT goes right behind it. */
    let tail: Promise<unknown> | null = null;
    /** Whether the batch may take one more unit. */
    const within = () => taken < this.#options.unitsMax && Date.now() - started < this.#options.batchMs;
    try {
      while (unit !== undefined) {
        const current: Unit = unit;
        if (!open) {
          begin = client.query('BEGIN');
          begin.catch(ignore);
          open = true;
        }
        const handed: { last: Promise<unknown> | null } = { last: null };
        try {
          const value = await current.work({
            client,
            afterCommit: (effect) => current.effects.push(effect),
            last: (statement) => {
              statement.catch(ignore);
              handed.last = statement;
            },
          });
          if (begin !== null) await begin;
          begin = null;
          if (handed.last !== null) {
            if (within() && this.#pending.length > 0) await handed.last;
            else tail = handed.last;
          }
          done.push({ unit: current, value });
        } catch (error) {
          // Throws when the connection is gone: the catch below fails the whole batch, this unit included.
          await client.query('ROLLBACK');
          open = false;
          begin = null;
          this.#undo(done, current, error);
          done = [];
        }
        unit = within() ? this.#pending.shift() : undefined;
        if (unit !== undefined) taken += 1;
      }
    } catch (cause) {
      client.release(cause instanceof Error ? cause : true);
      const error = isMxError(cause) ? cause : new MxError('STORE_UNAVAILABLE', 'the PostgreSQL connection failed during a group commit; none of it committed', { cause });
      this.#logger.warn({ err: cause, units: taken }, 'group commit failed; every unit of the batch is rolled back');
      for (const { unit: failed } of done) failed.reject(error);
      unit?.reject(error);
      return;
    }
    if (done.length === 0) {
      // Every unit failed, or the last failure sent the units done before it back to the queue.
      client.release();
      return;
    }
    const commit = client.query('COMMIT');
    commit.catch(ignore);
    if (tail !== null) {
      try {
        await tail;
      } catch (error) {
        const failed = done.pop()!;
        const outcome = await lastFailed(client, commit, error);
        if (isServerError(error)) {
          this.#undo(done, failed.unit, error);
        } else {
          for (const { unit: unknown } of [...done, failed]) unknown.reject(outcome);
        }
        return;
      }
    }
    try {
      await commit;
    } catch (cause) {
      // The commit may or may not have happened: never run the units again, let the callers decide.
      client.release(cause instanceof Error ? cause : true);
      const error = new MxError('STORE_UNAVAILABLE', 'PostgreSQL did not confirm the commit; its outcome is unknown', { cause });
      for (const { unit: committed } of done) committed.reject(error);
      return;
    }
    client.release();
    const tookMs = Date.now() - started;
    if (tookMs >= SLOW_BATCH_MS) this.#logger.warn({ tookMs, units: taken, committed: done.length }, 'a PostgreSQL group commit was slow (lock waits or an overloaded server)');
    this.#stats.commits += 1;
    this.#stats.units += done.length;
    for (const { unit: committed, value } of done) {
      this.#options.runEffects(committed.effects);
      committed.resolve(value);
    }
  }

  /**
   * After `failed` threw and its transaction was rolled back: the units done before it in that transaction run
   * again first, in their order (in this batch or another), and `failed` is run again later (a deadlock or
   * serialization failure) or rejected.
   */
  #undo(done: Array<{ unit: Unit }>, failed: Unit, error: unknown): void {
    failed.effects.length = 0;
    this.#stats.rolledBack += 1;
    for (const { unit: undone } of done) {
      undone.effects.length = 0;
      undone.queuedAt = Date.now();
    }
    this.#pending.unshift(...done.map((d) => d.unit));
    this.#stats.ranAgain += done.length;
    if (!this.#retryLater(failed, error)) failed.reject(mapError(error, 'complete the transaction'));
  }
}
