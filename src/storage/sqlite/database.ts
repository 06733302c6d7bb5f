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
 * The WAL starts over (pipelined mode). Checkpoints run on a worker thread's connection while this one keeps
 * writing, so a checkpoint rarely finds every frame copied, and SQLite writes from the start of the WAL again
 * only when a write transaction begins with every frame copied. Under steady load the WAL would grow without
 * end (a gigabyte in seconds), and with it the WAL index every page lookup searches and the cost of each commit.
 * So once the worker reports a WAL longer than `walResetBytes`, it is asked for a checkpoint at once (priming,
 * while commits go on); when that one is done, no new batch begins until the worker has run one more, which
 * copies the little written meanwhile: the next batch starts the WAL over. The pause is that copy and a flush
 * of the database file. What the pause copies was written while the last priming ran, so a priming that took
 * longer than `primedWithinMs` (2 ms) is followed by another, at most `primingsMax` (4) in all. Each copies what
 * came during the one before, so they get shorter, and the pause copies a few milliseconds of commits instead of
 * the tens a long priming lets through.
 *
 *                                        'primed' after a long priming: one more
 *                                                ┌──────┐
 *                                                ▼      │
 *   growing ──report: WAL past the limit──► priming ────┴──'primed'──► primed ──next batch: pause──► catching up
 *      ▲                                                                                                  │
 *      └──────────────────────────────────── 'caught-up' (or its timeout): batches resume ◄───────────────┘
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
 * visible again.
 */
import { mkdirSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../../log.js';
import { MxError, assert } from '../../errors.js';

export type Connection = Database.Database;

const require = createRequire(import.meta.url);

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
  /** How commits reach stable storage (see the module comment); both are durable. Default 'pipelined'. */
  durability?: 'pipelined' | 'full';
  /** WAL length past which commits pause for a checkpoint that lets the WAL start over (pipelined mode). */
  walResetBytes?: number;
  /** Priming checkpoints before that pause (see the module comment): the time past which one more runs, the most. */
  primedWithinMs?: number;
  primingsMax?: number;
}

/** Default of SqliteDatabaseOptions.walResetBytes. */
export const WAL_RESET_BYTES = 64 * 1024 * 1024;

/** How often the checkpoint worker copies the WAL into the database file. */
const CHECKPOINT_INTERVAL_MS = 100;

/** A priming checkpoint that took longer than this is followed by another before the pause (see the module comment). */
const PRIMED_WITHIN_MS = 2;

/** Most priming checkpoints before one pause: under a write rate the worker cannot outrun, the pause comes anyway. */
const PRIMINGS_MAX = 4;

/** Longest wait for the worker's catch-up checkpoint; past it commits go on and the WAL grows until the next. */
const CATCH_UP_TIMEOUT_MS = 5000;

/** What the checkpoint worker reports: PRAGMA wal_checkpoint's row. */
interface CheckpointReport {
  kind: 'checkpointed' | 'primed' | 'caught-up';
  /** The worker's count of checkpoints, this one included. */
  n: number;
  /** The checkpoint could not take its lock (another checkpoint ran). */
  busy: number;
  /** Frames in the WAL, and how many of them are copied into the database file. */
  log: number;
  checkpointed: number;
}

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
  readonly #flushStats = { batches: 0, units: 0, flushes: 0, walResets: 0, walPrimings: 0, walResetPauseMs: 0 };
  readonly #walPath: string | null;
  #wal: FileHandle | null = null;
  /** Batches committed so far, and how many of them are known to be on stable storage. */
  #committed = 0;
  #durable = 0;
  #flushingWal: Promise<void> | null = null;
  #broken: unknown = null;
  #settling = new Set<Promise<void>>();
  #checkpointer: Worker | null = null;
  #checkpointerExited = false;
  /** WAL frames the worker last reported, and the length in frames that asks for a start over. */
  #walFrames = 0;
  #walResetFrames = Infinity;
  #walReset: 'growing' | 'priming' | 'primed' = 'growing';
  /** When the running priming checkpoint was asked for, and how many primings this start over has had. */
  #primingSince = 0;
  #primings = 0;
  readonly #primedWithinMs: number;
  readonly #primingsMax: number;
  /** Reports of checkpoints up to the last catch-up are older than the WAL's start over: ignored. */
  #caughtUpN = 0;
  #caughtUp: ((report: CheckpointReport) => void) | null = null;
  readonly #tx: Record<'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', Database.Statement>;

  constructor(options: SqliteDatabaseOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.#db = new Database(options.path, { timeout: options.busyTimeoutMs });
    this.#logger = options.logger;
    this.#batchMax = options.commitBatchMax;
    this.#primedWithinMs = options.primedWithinMs ?? PRIMED_WITHIN_MS;
    this.#primingsMax = options.primingsMax ?? PRIMINGS_MAX;
    this.#db.pragma('journal_mode = WAL');
    const pipelined = options.path !== ':memory:' && (options.durability ?? 'pipelined') === 'pipelined';
    this.#walPath = pipelined ? `${options.path}-wal` : null;
    this.#db.pragma(pipelined ? 'synchronous = NORMAL' : 'synchronous = FULL');
    // A larger page cache: fewer reads while indexes with random keys are updated.
    this.#db.pragma('cache_size = -65536');
    if (pipelined) {
      // Checkpoints (copying the WAL back into the database file, with two flushes) run on a worker thread's own
      // connection instead of inside a COMMIT on the event loop.
      this.#db.pragma('wal_autocheckpoint = 0');
      const frameBytes = (this.#db.pragma('page_size', { simple: true }) as number) + WAL_FRAME_HEADER_BYTES;
      this.#walResetFrames = Math.max(1, Math.floor((options.walResetBytes ?? WAL_RESET_BYTES) / frameBytes));
      this.#checkpointer = new Worker(CHECKPOINT_WORKER, {
        eval: true,
        workerData: { driver: require.resolve('better-sqlite3'), path: options.path, intervalMs: CHECKPOINT_INTERVAL_MS, busyTimeoutMs: options.busyTimeoutMs },
      });
      this.#checkpointer.once('exit', () => {
        this.#checkpointerExited = true;
        this.#caughtUp?.({ kind: 'caught-up', n: 0, busy: 1, log: 0, checkpointed: 0 });
      });
      this.#checkpointer.on('message', (message: CheckpointReport | { kind: 'error'; message: string } | { kind: 'stopped' }) => {
        if (message.kind === 'error') this.#logger.error({ err: message.message }, 'WAL checkpoint failed; will retry');
        else if (message.kind === 'caught-up') this.#caughtUp?.(message);
        else if (message.kind !== 'stopped' && message.n > this.#caughtUpN) this.#checkpointed(message);
      });
      this.#checkpointer.on('error', (err) => this.#logger.error({ err }, 'checkpoint worker failed'));
      this.#checkpointer.unref();
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
      this.#pending.push({ work, early: options?.untilDurable === false, effects: [], resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Prepares a statement once; it may run only inside `run` units. */
  prepare(sql: string): Database.Statement {
    return this.#db.prepare(sql);
  }

  /**
   * Number of commits, units, WAL flushes, WAL start-overs and their priming checkpoints since start, and the time
   * commits waited for the start-overs, for metrics and benchmarks.
   */
  get stats(): { batches: number; units: number; flushes: number; walResets: number; walPrimings: number; walResetPauseMs: number } {
    return { ...this.#flushStats };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#flushing || this.#pending.length > 0) {
      if (!this.#flushing) this.#flushing = this.#flush();
      await this.#flushing;
    }
    await Promise.allSettled([...this.#settling]);
    await this.#stopCheckpointer();
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
        if (this.#walReset === 'primed') await this.#resetWal();
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
    const batchNo = ++this.#committed;
    const settle = (early: boolean | null) => {
      batch.forEach((unit, index) => {
        if (early !== null && unit.early !== early) return;
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

  async #stopCheckpointer(): Promise<void> {
    const worker = this.#checkpointer;
    if (!worker) return;
    this.#checkpointer = null;
    if (this.#checkpointerExited) return;
    const stopped = new Promise<void>((resolve) => {
      worker.on('message', (m: { kind: string }) => m.kind === 'stopped' && resolve());
      worker.once('exit', () => resolve());
    });
    worker.ref(); // keep the process alive until the worker has finished its last checkpoint
    worker.postMessage({ kind: 'stop' });
    await stopped;
    await worker.terminate();
  }

  /** A report of the worker's periodic or priming checkpoint (see the module comment). */
  #checkpointed(report: CheckpointReport): void {
    this.#walFrames = report.log;
    if (report.kind === 'primed' && this.#walReset === 'priming') {
      if (performance.now() - this.#primingSince > this.#primedWithinMs && this.#primings < this.#primingsMax) this.#prime();
      else this.#walReset = 'primed';
    } else if (this.#walReset === 'growing' && report.log >= this.#walResetFrames) {
      this.#primings = 0;
      this.#prime();
    }
  }

  #prime(): void {
    if (!this.#checkpointer) return;
    this.#walReset = 'priming';
    this.#primingSince = performance.now();
    this.#primings += 1;
    this.#flushStats.walPrimings += 1;
    this.#checkpointer.postMessage({ kind: 'prime' });
  }

  /**
   * Called between batches, with no transaction open on this connection: the worker's checkpoint then copies
   * every frame, and the next batch starts the WAL over (see the module comment).
   */
  async #resetWal(): Promise<void> {
    const worker = this.#checkpointer;
    const frames = this.#walFrames;
    this.#walFrames = 0;
    this.#walReset = 'growing';
    if (!worker || this.#checkpointerExited) return;
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const report = await new Promise<CheckpointReport | null>((resolve) => {
      this.#caughtUp = resolve;
      timer = setTimeout(() => resolve(null), CATCH_UP_TIMEOUT_MS);
      worker.postMessage({ kind: 'catch-up' });
    });
    clearTimeout(timer);
    this.#caughtUp = null;
    this.#flushStats.walResetPauseMs += Date.now() - started;
    if (report !== null) this.#caughtUpN = report.n;
    if (report !== null && report.busy === 0 && report.checkpointed === report.log) {
      this.#flushStats.walResets += 1;
      this.#logger.debug({ frames, pauseMs: Date.now() - started }, 'WAL checkpointed in full; it starts over');
    } else {
      this.#logger.warn({ frames, report, pauseMs: Date.now() - started }, 'the WAL could not be checkpointed in full; it keeps growing until the next try');
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

/** Each WAL frame is a page and this header. */
const WAL_FRAME_HEADER_BYTES = 24;

/**
 * The checkpoint worker (a script, so that it runs the same from sources and from the build): on its own
 * connection it copies the WAL back into the database file with PASSIVE checkpoints, which never block the
 * writer; with synchronous=NORMAL SQLite flushes the WAL before a checkpoint and the database file after it.
 * It reports every checkpoint ('checkpointed'), and runs one at once when asked to prime ('primed') or to catch
 * up ('caught-up').
 */
const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
db.pragma('synchronous = NORMAL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
let n = 0;
const run = (kind) => {
  n += 1;
  try {
    const row = checkpoint.get();
    if (kind !== null) parentPort.postMessage({ kind, n, busy: row.busy, log: row.log, checkpointed: row.checkpointed });
  } catch (error) {
    parentPort.postMessage({ kind: 'error', message: String(error && error.message || error) });
    if (kind === 'caught-up') parentPort.postMessage({ kind, n, busy: 1, log: 0, checkpointed: 0 });
  }
};
let timer = setInterval(() => run('checkpointed'), workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message.kind === 'prime' || message.kind === 'catch-up') {
    run(message.kind === 'prime' ? 'primed' : 'caught-up');
    return;
  }
  if (message.kind !== 'stop') return;
  clearInterval(timer);
  run(null);
  db.close();
  parentPort.postMessage({ kind: 'stopped' });
});
`;
