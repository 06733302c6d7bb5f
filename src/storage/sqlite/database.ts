/**
 * One SQLite database file shared by the embedded store and the embedded queues, with group commit.
 *
 * Durability: WAL journal with synchronous=FULL, so a COMMIT returns only after the WAL is fsynced and an
 * acknowledged write survives kill -9 and power loss. Throughput comes from sharing commits, not from relaxing
 * that: every unit of work submitted during one turn of the event loop runs inside one transaction, each in
 * its own savepoint (a failing unit rolls back alone), and one COMMIT (one fsync) makes them all durable.
 *
 * Unit states:
 *
 *   pending ──(next flush)──► running in savepoint ──ok──► released ──COMMIT ok──► resolved (+ afterCommit hooks)
 *                                   │                                     │
 *                                   └─throws──► rolled back to savepoint  └─COMMIT fails──► rejected STORE_UNAVAILABLE
 *                                               └──────────────► rejected with the thrown error after COMMIT
 *
 * All access to the connection goes through `run`, so no reader ever sees uncommitted or not-yet-durable data
 * of another unit, and better-sqlite3's synchronous calls never interleave with an open batch.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../../log.js';
import { MxError, assert } from '../../errors.js';

export type Connection = Database.Database;

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export interface UnitContext {
  readonly db: Connection;
  afterCommit(effect: () => void): void;
}

export interface SqliteDatabaseOptions {
  /** File path, or ':memory:' for tests that need no durability. */
  path: string;
  commitBatchMax: number;
  busyTimeoutMs: number;
  logger: Logger;
}

interface Unit {
  work: (ctx: UnitContext) => unknown;
  effects: Array<() => void>;
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
  readonly #flushStats = { batches: 0, units: 0 };
  readonly #tx: Record<'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', Database.Statement>;

  constructor(options: SqliteDatabaseOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.#db = new Database(options.path, { timeout: options.busyTimeoutMs });
    this.#logger = options.logger;
    this.#batchMax = options.commitBatchMax;
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
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
  run<T>(work: (ctx: UnitContext) => T | Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new MxError('SHUTTING_DOWN', 'the database is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ work, effects: [], resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Prepares a statement once; it may run only inside `run` units. */
  prepare(sql: string): Database.Statement {
    return this.#db.prepare(sql);
  }

  /** Number of commits and units since start, for metrics and benchmarks. */
  get stats(): { batches: number; units: number } {
    return { ...this.#flushStats };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#flushing || this.#pending.length > 0) {
      if (!this.#flushing) this.#flushing = this.#flush();
      await this.#flushing;
    }
    this.#db.close();
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
    for (const unit of batch) {
      const ctx: UnitContext = { db, afterCommit: (effect) => unit.effects.push(effect) };
      this.#tx.savepoint.run();
      try {
        const value = await unit.work(ctx);
        this.#tx.release.run();
        outcomes.push({ ok: true, value });
      } catch (error) {
        unit.effects.length = 0;
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
    batch.forEach((unit, index) => {
      const outcome = outcomes[index];
      assert(outcome, 'every unit has an outcome');
      if (!outcome.ok) {
        unit.reject(outcome.error);
        return;
      }
      for (const effect of unit.effects) {
        try {
          effect();
        } catch (error) {
          this.#logger.error({ err: error }, 'after-commit effect failed');
        }
      }
      unit.resolve(outcome.value);
    });
  }

  #failBatch(batch: Unit[], cause: unknown): void {
    this.#logger.error({ err: cause, units: batch.length }, 'group commit failed; every unit of the batch is rolled back');
    const error = new MxError('STORE_UNAVAILABLE', 'the database could not commit', { cause });
    for (const unit of batch) unit.reject(error);
  }
}
