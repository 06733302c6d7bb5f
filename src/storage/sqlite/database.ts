/**
 * One SQLite database file shared by the embedded store and the embedded queues, with group commit.
 *
 * Durability: a unit settles only once its commit is on stable storage, so an acknowledged write survives
 * kill -9 and power loss. Throughput comes from sharing commits, not from relaxing that: every unit of work
 * submitted during one turn of the event loop runs inside one transaction, each in its own savepoint (a failing
 * unit rolls back alone), and one flush makes them all durable. Two ways to flush:
 *
 *  - 'pipelined' (default): SQLite commits with synchronous=NORMAL (no flush inside COMMIT), then the WAL file is
 *    flushed with fdatasync on a worker thread while the next batch already runs. A flush covers every frame
 *    written before it started, so a unit settles when the first flush that began after its COMMIT completes;
 *    a unit that read data of an earlier batch settles after that data is flushed too. Checkpoints stay safe:
 *    with synchronous=NORMAL SQLite flushes the WAL before a checkpoint and the database file after it.
 *  - 'full': synchronous=FULL, SQLite flushes inside COMMIT, blocking the event loop for the flush.
 *
 * A failed flush leaves the state of the file unknown: the database refuses all further work and reports it
 * (the process should be restarted so that SQLite recovers from the WAL).
 *
 * The WAL starts over (pipelined mode): checkpoints run on a worker thread, and once the WAL passes
 * `walResetBytes` a batch waits a few milliseconds for a checkpoint that lets SQLite write from the start of the WAL
 * again, so that it stays about that size under steady load (checkpointer.ts).
 *
 * Unit states:
 *
 *   pending ──(next flush)──► running in savepoint ──ok──► released ──COMMIT ok──► resolved (+ afterCommit hooks)
 *                                   │                                     │
 *                                   └─throws──► rolled back to savepoint  └─COMMIT fails──► rejected STORE_UNAVAILABLE
 *                                               └──────────────► rejected with the thrown error after COMMIT
 *
 * All access to the connection goes through `run`, so no reader ever sees uncommitted or not-yet-durable data
 * of another unit, and better-sqlite3's synchronous calls never interleave with an open batch. One exception,
 * asked for per unit (`untilDurable: false`): the unit settles at its COMMIT. A workflow stage's receive uses
 * it: the stage acts on what it received only through later units, whose commits follow in the WAL, so none of
 * its effects can be durable before what it read; a crash that undoes the receive only makes the message
 * visible again. A unit that settles early and hands data to the outside (a client's receive) first waits, with
 * `whenDurable`, for the batch that wrote that data, not for its own; effects registered with `whenCommitted`
 * (waking such a receive) run at the COMMIT.
 */
import { mkdirSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../../log.js';
import { MxError, assert } from '../../errors.js';
import { Checkpointer } from './checkpointer.js';

export type Connection = Database.Database;

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export interface UnitContext {
  readonly db: Connection;
  /** The number of the batch this unit commits in (see `SqliteDatabase.whenDurable`). */
  readonly batch: number;
  /** Runs `effect` when the unit settles: after its commit, and once that is durable unless it settles early. */
  afterCommit(effect: () => void): void;
  /**
   * Runs `effect` as soon as the unit's batch has committed, before it is durable. Only for effects that are
   * harmless when a crash undoes the unit, such as waking a receive that waits for messages (it waits for what
   * it reads to be durable before it answers: see `whenDurable`).
   */
  whenCommitted(effect: () => void): void;
}

export interface SqliteDatabaseOptions {
  /** File path, or ':memory:' for tests that need no durability. */
  path: string;
  commitBatchMax: number;
  busyTimeoutMs: number;
  logger: Logger;
  /** How commits reach stable storage (see the module comment); both are durable. Default 'pipelined'. */
  durability?: 'pipelined' | 'full';
  /** WAL length past which commits pause for a checkpoint that lets the WAL start over (pipelined mode). */
  walResetBytes?: number;
  /** Priming checkpoints before that pause (checkpointer.ts): the time past which one more runs, and the most. */
  primedWithinMs?: number;
  primingsMax?: number;
}

/** Default of SqliteDatabaseOptions.walResetBytes. */
export const WAL_RESET_BYTES = 64 * 1024 * 1024;

export interface RunOptions {
  /**
   * False: the unit settles as soon as its batch has committed, before the flush that makes it durable. Only
   * for a unit whose result the caller acts on solely through later units of this database (their commits come
   * after it in the WAL, so when they are durable it is too) and that loses nothing if a crash undoes it. Default
   * true.
   */
  untilDurable?: boolean;
}

interface Unit {
  work: (ctx: UnitContext) => unknown;
  early: boolean;
  effects: Array<() => void>;
  committedEffects: Array<() => void>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class SqliteDatabase {
  readonly #db: Connection;
  readonly #logger: Logger;
  readonly #batchMax: number;
  #pending: Unit[] = [];
  #scheduled = false;
  #flushing: Promise<void> | null = null;
  #closed = false;
  readonly #flushStats = { batches: 0, units: 0, flushes: 0 };
  readonly #walPath: string | null;
  #wal: FileHandle | null = null;
  /** Batches committed so far, and how many of them are known to be on stable storage. */
  #committed = 0;
  #durable = 0;
  #flushingWal: Promise<void> | null = null;
  #broken: unknown = null;
  #settling = new Set<Promise<void>>();
  /** The checkpoints and the WAL's start-overs (pipelined mode only). */
  readonly #checkpointer: Checkpointer | null = null;
  readonly #tx: Record<'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', Database.Statement>;

  constructor(options: SqliteDatabaseOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.#db = new Database(options.path, { timeout: options.busyTimeoutMs });
    this.#logger = options.logger;
    this.#batchMax = options.commitBatchMax;
    this.#db.pragma('journal_mode = WAL');
    const pipelined = options.path !== ':memory:' && (options.durability ?? 'pipelined') === 'pipelined';
    this.#walPath = pipelined ? `${options.path}-wal` : null;
    this.#db.pragma(pipelined ? 'synchronous = NORMAL' : 'synchronous = FULL');
    // A larger page cache: fewer reads while indexes with random keys are updated.
    this.#db.pragma('cache_size = -65536');
    if (pipelined) {
      // Checkpoints run on the checkpointer's worker thread instead of inside a COMMIT on the event loop.
      this.#db.pragma('wal_autocheckpoint = 0');
      this.#checkpointer = new Checkpointer({
        path: options.path,
        busyTimeoutMs: options.busyTimeoutMs,
        logger: options.logger,
        pageSize: this.#db.pragma('page_size', { simple: true }) as number,
        walResetBytes: options.walResetBytes ?? WAL_RESET_BYTES,
        primedWithinMs: options.primedWithinMs,
        primingsMax: options.primingsMax,
      });
    }
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('temp_store = MEMORY');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      component TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL, applied_at INTEGER NOT NULL,
      PRIMARY KEY (component, version)) WITHOUT ROWID`);
    // Prepared once: these run for every unit, and parsing them each time is measurable.
    const p = (sql: string) => this.#db.prepare(sql);
    this.#tx = {
      begin: p('BEGIN IMMEDIATE'),
      commit: p('COMMIT'),
      rollback: p('ROLLBACK'),
      savepoint: p('SAVEPOINT unit'),
      release: p('RELEASE unit'),
      rollbackTo: p('ROLLBACK TO unit'),
    };
  }

  /** Applies the component's migrations that are not applied yet, in order, each in its own transaction. */
  migrate(component: string, migrations: readonly Migration[]): void {
    const applied = new Set(
      this.#db
        .prepare('SELECT version FROM schema_migrations WHERE component = ?')
        .pluck()
        .all(component) as number[],
    );
    const record = this.#db.prepare('INSERT INTO schema_migrations (component, version, description, applied_at) VALUES (?, ?, ?, ?)');
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      this.#db.transaction(() => {
        this.#db.exec(migration.sql);
        record.run(component, migration.version, migration.description, Date.now());
      }).immediate();
      this.#logger.info({ component, version: migration.version, description: migration.description }, 'database migration applied');
    }
  }

  /**
   * Runs `work` in the next group commit and settles once that commit is durable.
   * `work` must touch only `ctx.db`, and must not await anything else (see the module comment).
   */
  run<T>(work: (ctx: UnitContext) => T | Promise<T>, options?: RunOptions): Promise<T> {
    if (this.#broken) return Promise.reject(new MxError('STORE_UNAVAILABLE', 'the database failed to flush to storage; restart the process', { cause: this.#broken }));
    if (this.#closed) return Promise.reject(new MxError('SHUTTING_DOWN', 'the database is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ work, early: options?.untilDurable === false, effects: [], committedEffects: [], resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /**
   * Resolves once batch `batch` (a `UnitContext.batch`) and every batch before it are on stable storage. A unit
   * that settled early and handed out data written by earlier units waits here for the batch that wrote them.
   */
  async whenDurable(batch: number): Promise<void> {
    if (this.#durable >= batch) return;
    await this.#untilDurable(batch);
  }

  /** Prepares a statement once; it may run only inside `run` units. */
  prepare(sql: string): Database.Statement {
    return this.#db.prepare(sql);
  }

  /**
   * Number of commits, units, WAL flushes, WAL start-overs and their priming checkpoints since start, and the time
   * commits waited for the start-overs, for metrics and benchmarks.
   */
  get stats(): { batches: number; units: number; flushes: number; walResets: number; walPrimings: number; walResetPauseMs: number; walResetMisses: number } {
    return { ...this.#flushStats, ...(this.#checkpointer?.stats ?? { walResets: 0, walPrimings: 0, walResetPauseMs: 0, walResetMisses: 0 }) };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#flushing || this.#pending.length > 0) {
      if (!this.#flushing) this.#flushing = this.#flush();
      await this.#flushing;
    }
    await Promise.allSettled([...this.#settling]);
    await this.#checkpointer?.stop();
    this.#db.close();
    await this.#wal?.close();
    this.#wal = null;
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    // setImmediate runs after the poll phase: every request read in this loop turn joins the same commit.
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#flushing) this.#flushing = this.#flush();
    });
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        if (this.#checkpointer?.due) await this.#checkpointer.startOver();
        const batch = this.#pending.splice(0, this.#batchMax);
        await this.#commitBatch(batch);
      }
    } finally {
      this.#flushing = null;
      if (this.#pending.length > 0) this.#schedule();
    }
  }

  async #commitBatch(batch: Unit[]): Promise<void> {
    const db = this.#db;
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.#tx.begin.run();
    } catch (cause) {
      const error = new MxError('STORE_UNAVAILABLE', 'cannot begin a database transaction', { cause });
      for (const unit of batch) unit.reject(error);
      return;
    }
    const batchNo = this.#committed + 1;
    for (const unit of batch) {
      const ctx: UnitContext = {
        db,
        batch: batchNo,
        afterCommit: (effect) => unit.effects.push(effect),
        whenCommitted: (effect) => unit.committedEffects.push(effect),
      };
      this.#tx.savepoint.run();
      try {
        const value = await unit.work(ctx);
        this.#tx.release.run();
        outcomes.push({ ok: true, value });
      } catch (error) {
        unit.effects.length = 0;
        unit.committedEffects.length = 0;
        if (!db.inTransaction) {
          // SQLite rolled the whole transaction back (disk full, I/O error): every unit of the batch is lost.
          this.#failBatch(batch, error);
          return;
        }
        this.#tx.rollbackTo.run();
        this.#tx.release.run();
        outcomes.push({ ok: false, error });
      }
    }
    try {
      this.#tx.commit.run();
    } catch (error) {
      if (db.inTransaction) this.#tx.rollback.run();
      this.#failBatch(batch, error);
      return;
    }
    this.#flushStats.batches += 1;
    this.#flushStats.units += batch.length;
    this.#committed = batchNo;
    for (const unit of batch) this.#runEffects(unit.committedEffects);
    const settle = (early: boolean | null) => {
      batch.forEach((unit, index) => {
        if (early !== null && unit.early !== early) return;
        const outcome = outcomes[index];
        assert(outcome, 'every unit has an outcome');
        if (!outcome.ok) {
          unit.reject(outcome.error);
          return;
        }
        this.#runEffects(unit.effects);
        unit.resolve(outcome.value);
      });
    };
    if (this.#walPath === null) {
      this.#durable = batchNo;
      settle(null);
      return;
    }
    if (batch.some((unit) => unit.early)) settle(true);
    // The next batch runs while this one's flush is on its way: settle when it is durable.
    const settling = this.#untilDurable(batchNo).then(() => settle(false), (error: unknown) => {
      this.#failBatch(batch, error);
    });
    this.#settling.add(settling);
    void settling.finally(() => {
      this.#settling.delete(settling);
      // A fresh Set whenever it empties: one promoted to the old generation kept what passed through it from
      // dying young (measured: see WorkflowContext.forget in pipeline/context.ts).
      if (this.#settling.size === 0) this.#settling = new Set();
    });
  }

  #runEffects(effects: ReadonlyArray<() => void>): void {
    for (const effect of effects) {
      try {
        effect();
      } catch (error) {
        this.#logger.error({ err: error }, 'after-commit effect failed');
      }
    }
  }

  /** Resolves once batch `batchNo` is on stable storage; one flush at a time covers every batch before it. */
  async #untilDurable(batchNo: number): Promise<void> {
    while (this.#durable < batchNo) {
      if (this.#broken) throw this.#broken;
      if (!this.#flushingWal) {
        const target = this.#committed;
        this.#flushingWal = this.#flushWal()
          .then(() => {
            this.#durable = Math.max(this.#durable, target);
            this.#flushStats.flushes += 1;
          })
          .catch((error: unknown) => {
            this.#broken = error;
            this.#logger.fatal({ err: error }, 'flushing the database WAL failed; the database refuses all further work');
          })
          .finally(() => {
            this.#flushingWal = null;
          });
      }
      await this.#flushingWal;
    }
  }

  async #flushWal(): Promise<void> {
    if (this.#wal === null) {
      this.#wal = await open(this.#walPath!, 'r+');
      // The WAL file may be new: make its directory entry durable too (once per open).
      const dir = openSync(dirname(this.#walPath!), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    }
    await this.#wal.datasync();
  }

  #failBatch(batch: Unit[], cause: unknown): void {
    this.#logger.error({ err: cause, units: batch.length }, 'group commit failed; every unit of the batch is rolled back');
    const error = new MxError('STORE_UNAVAILABLE', 'the database could not commit', { cause });
    for (const unit of batch) unit.reject(error);
  }
}
