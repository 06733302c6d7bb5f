/**
 * The PostgreSQL connection layer of the distributed store: a bounded pool, group commit, named statements,
 * transactions with bounded retries, and the mapping of driver failures onto the error catalog.
 *
 * Isolation: READ COMMITTED with row locks. Every write of the store is shaped as a compare-and-set on one row
 * (`UPDATE ... WHERE status = $from`, `INSERT ... ON CONFLICT`, `SELECT ... FOR UPDATE` before a
 * read-modify-write), which READ COMMITTED makes safe: a statement that waited for a row lock re-checks its
 * WHERE clause against the committed row. SERIALIZABLE would add nothing these statements need and would turn
 * ordinary contention on hot tables (the outbox, index pages of business keys) into serialization failures and
 * retries. Deadlocks (40P01) and serialization failures (40001, possible on some managed services even under
 * READ COMMITTED) are retried a bounded number of times with jittered backoff; the Store contract lets `work`
 * run again.
 *
 * Group commit (`unit`, what the store's transactions use): units of work submitted at about the same time share
 * one PostgreSQL transaction, one BEGIN and one COMMIT, each unit in its own savepoint, so that a unit that fails
 * rolls back alone (row locks taken in a savepoint are released when it is rolled back). A commit costs a round
 * trip and a WAL flush; a savepoint costs one round trip ("RELEASE; SAVEPOINT" in one simple query) and a
 * subtransaction. The units of one batch run one after another on its connection, so each waiting unit starts a
 * batch of its own while connections are free (up to `commitBatchesMax` batches at once), and a running batch,
 * each time a unit of it is done, takes the oldest unit still waiting: units start in the order they came (a
 * batch never holds units it has no time for while another connection could run them), a quiet process runs
 * each unit at once as a plain transaction (the first unit of a transaction needs no savepoint when nothing else
 * waits), and a busy one shares commits among the units that came while its connections were busy.
 * Bounds: `commitUnitsMax` units per batch (each takes a subtransaction id, and PostgreSQL caches 64 per
 * transaction before every snapshot gets slower), no unit started after the batch has run `commitBatchMs` (the
 * rest go to the next batch: a batch holds the row locks of all its units until its COMMIT), and a unit that
 * waits longer than `connectTimeoutMs` for a batch is STORE_UNAVAILABLE, as a caller of the pool would be.
 *
 * Unit states:
 *
 *   pending ──(batch starts)──► running in savepoint ──ok──► done ──COMMIT ok──► resolved (+ afterCommit effects)
 *      ▲                              │                        │
 *      │                              │                        └─COMMIT or connection fails──► rejected STORE_UNAVAILABLE
 *      │                              └─throws──► ROLLBACK TO SAVEPOINT ──► 40001/40P01 and attempts left? ──no──► rejected
 *      └────────────── after a jittered backoff ◄──────────────────────────────────────────────┘ yes
 *   A connection that fails mid-batch (the rollback to a savepoint fails too) rejects every unit of the batch with
 *   STORE_UNAVAILABLE: none of it committed.
 *
 * `transaction` runs `work` alone on its own connection (for work that awaits something else inside its
 * transaction, such as the outbox relay handing rows to the queue engine):
 *
 *   connect ──fails──► STORE_UNAVAILABLE
 *      │
 *   BEGIN ──► work ──ok──► COMMIT ──ok──► resolved (+ afterCommit effects)
 *               │                │
 *               │                └─fails──► STORE_UNAVAILABLE (outcome unknown: never retried)
 *               └─throws──► ROLLBACK ──► 40001/40P01 and attempts left? ──yes──► again from connect
 *                                                                     └─no───► rejected (mapped error)
 *
 * Named statements (`statement`): the repositories' statements carry a name derived from their text, so each
 * connection parses and plans them once instead of on every call. Proxies that do not keep prepared statements
 * per client (PgBouncer before 1.21 in transaction mode) need `preparedStatements: false`.
 *
 * Every table lives in one schema, named in every statement (`"schema".table`) rather than through
 * search_path, so the store works the same behind transaction-pooling proxies (PgBouncer, RDS Proxy) that do
 * not keep session settings. Plain SQL only: no extensions, nothing a managed PostgreSQL lacks.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../log.js';
import { MxError, isMxError } from '../../errors.js';

export interface PostgresPoolOptions {
  /** postgres://user:password@host:port/database (TLS and the rest as the driver's connection string takes). */
  url: string;
  /** Most connections this process opens. */
  poolMax: number;
  /** How long a caller waits for a free connection before STORE_UNAVAILABLE. */
  connectTimeoutMs: number;
  /** Server-side limit on one statement. */
  statementTimeoutMs: number;
  /** Server-side limit on a transaction left idle (a stuck process never holds row locks for long). */
  idleInTransactionTimeoutMs: number;
  /** Idle connections are closed after this long. */
  idleTimeoutMs: number;
  /** Name the hot statements so that each connection parses and plans them once (see the module comment). */
  preparedStatements: boolean;
  /** Most units of work sharing one commit (1..COMMIT_UNITS_LIMIT; 1 gives every unit its own transaction). */
  commitUnitsMax: number;
  /** A batch starts no further unit once it has run this long (its row locks are held until its commit). */
  commitBatchMs: number;
  /** Most group-commit batches running at once, each on its own connection (at most `poolMax`). */
  commitBatchesMax: number;
}

/**
 * Highest `commitUnitsMax`: a unit takes a subtransaction id (its savepoint; key claims take none), and
 * PostgreSQL keeps 64 per transaction in shared memory before snapshots of every session must consult pg_subtrans.
 */
export const COMMIT_UNITS_LIMIT = 30;

export const DEFAULT_POOL_OPTIONS: Omit<PostgresPoolOptions, 'url'> = {
  poolMax: 10,
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 60_000,
  idleTimeoutMs: 30_000,
  preparedStatements: true,
  commitUnitsMax: 16,
  commitBatchMs: 50,
  commitBatchesMax: 10,
};

/** Attempts of one transaction when PostgreSQL reports a deadlock or serialization failure. */
export const TRANSACTION_ATTEMPTS_MAX = 5;
const RETRY_BASE_MS = 5;
const RETRY_MAX_MS = 200;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Checks a schema name: lower-case letters, digits and underscores, as PostgreSQL folds unquoted names. */
export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema) || schema.startsWith('pg_')) {
    throw new MxError('CONFIG_INVALID', `postgres schema ${JSON.stringify(schema)} must be 1-63 lower-case letters, digits or "_", not starting with "pg_"`);
  }
  return schema;
}

// int8 (bigint) columns hold epoch milliseconds and counters: read them as numbers, refusing any value a double
// cannot hold exactly. Amounts are TEXT and never pass through here.
const INT8_OID = 20;
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`bigint ${text} is out of the exact range of a JavaScript number`);
  return value;
}
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** SQLSTATEs after which the same transaction may succeed when run again. */
const RETRY_CODES = new Set(['40001', '40P01']);
/** SQLSTATE classes and codes that mean the server or connection is gone or refused the work for now. */
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58'];
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isRetryableConflict(error: unknown): boolean {
  const code = sqlState(error);
  return code !== undefined && RETRY_CODES.has(code);
}

/** Whether the error says the database could not be reached or could not do the work now (not a bad request). */
export function isUnavailable(error: unknown): boolean {
  if (isMxError(error)) return error.code === 'STORE_UNAVAILABLE';
  const code = sqlState(error);
  if (code !== undefined) {
    if (UNAVAILABLE_NODE_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return UNAVAILABLE_CLASSES.some((c) => code.startsWith(c));
  }
  const message = error instanceof Error ? error.message : '';
  // The driver's own connection failures carry no SQLSTATE.
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED/.test(message);
}

/**
 * Maps a driver error onto the catalog: outages and timeouts become STORE_UNAVAILABLE (retryable); errors of
 * the work itself (MxError, constraint violations) pass unchanged, as the SQLite engine lets them pass.
 */
export function mapError(error: unknown, what: string): unknown {
  if (isMxError(error)) return error;
  if (isUnavailable(error) || isRetryableConflict(error)) {
    return new MxError('STORE_UNAVAILABLE', `PostgreSQL could not ${what}`, { cause: error });
  }
  return error;
}

export interface TransactionContext {
  readonly client: pg.PoolClient;
  afterCommit(effect: () => void): void;
}

/** A statement as the driver takes it: named (prepared once per connection) when the database names statements. */
export interface Statement {
  readonly name?: string;
  readonly text: string;
}

/** What the group commit has done since start, for tests, metrics and benchmarks. */
export interface CommitStats {
  /** Transactions committed by the group commit. */
  commits: number;
  /** Units committed in them. */
  units: number;
  /** Units rolled back to their savepoint (failed, or run again after a conflict). */
  rolledBack: number;
}

interface Unit {
  work: (ctx: TransactionContext) => Promise<unknown>;
  attempt: number;
  queuedAt: number;
  effects: Array<() => void>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const SAVEPOINT = 'mxgate_unit';
/** A group commit that takes this long is logged: its units waited, and so did the row locks they hold. */
const SLOW_BATCH_MS = 1000;

function backoffMs(attempt: number): number {
  const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
  return delay / 2 + Math.random() * (delay / 2);
}

function bounded(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`assertion failed: postgres ${name} must be an integer from ${min} to ${max}`);
  return value;
}

export class PostgresDatabase {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly #logger: Logger;
  readonly #options: PostgresPoolOptions;
  readonly #unitsMax: number;
  readonly #batchesMax: number;
  #closed = false;
  #running = 0;
  #idle: Array<() => void> = [];
  /** Connections that carry our error listener (the pool listens only while a connection is idle). */
  readonly #guarded = new WeakSet<pg.PoolClient>();
  /** Units waiting for a batch, oldest first. */
  #pending: Unit[] = [];
  #scheduled = false;
  #waitTimer: NodeJS.Timeout | null = null;
  #batches = 0;
  readonly #stats: CommitStats = { commits: 0, units: 0, rolledBack: 0 };

  constructor(options: PostgresPoolOptions & { schema: string; logger: Logger }) {
    this.schema = checkSchemaName(options.schema);
    this.#logger = options.logger;
    this.#options = options;
    this.#unitsMax = bounded('commitUnitsMax', options.commitUnitsMax, 1, COMMIT_UNITS_LIMIT);
    this.#batchesMax = Math.min(options.poolMax, bounded('commitBatchesMax', options.commitBatchesMax, 1, 1000));
    bounded('commitBatchMs', options.commitBatchMs, 0, 60_000);
    this.pool = new pg.Pool(this.clientConfig({
      max: options.poolMax,
      idleTimeoutMillis: options.idleTimeoutMs,
      connectionTimeoutMillis: options.connectTimeoutMs,
    }));
    // An idle connection that breaks (server restart, failover) must not crash the process: the pool drops it.
    this.pool.on('error', (err) => this.#logger.warn({ err }, 'an idle PostgreSQL connection failed; the pool replaces it'));
  }

  /** Driver settings for a connection of this database (the relay's LISTEN connection uses them too). */
  clientConfig<T extends pg.ClientConfig>(extra: T): pg.ClientConfig & T {
    return {
      connectionString: this.#options.url,
      statement_timeout: this.#options.statementTimeoutMs,
      idle_in_transaction_session_timeout: this.#options.idleInTransactionTimeoutMs,
      connectionTimeoutMillis: this.#options.connectTimeoutMs,
      application_name: 'mxgate',
      types,
      ...extra,
    };
  }

  /** The quoted, schema-qualified name of a table or other object of the store. */
  name(object: string): string {
    return `"${this.schema}".${object}`;
  }

  /**
   * A statement to run many times. Its name is a digest of its text: the driver refuses one name for two texts on
   * a connection, and a digest cannot give two texts (two schemas, two versions of a statement) the same name.
   */
  statement(text: string): Statement {
    if (!this.#options.preparedStatements) return { text };
    return { name: `mx_${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`, text };
  }

  /** `statement` for each text of a record. */
  statements<K extends string>(texts: Record<K, string>): Record<K, Statement> {
    return Object.fromEntries(Object.entries<string>(texts).map(([key, text]) => [key, this.statement(text)])) as Record<K, Statement>;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get stats(): CommitStats {
    return { ...this.#stats };
  }

  /** A pooled connection, or STORE_UNAVAILABLE. Release it with `release()` (or `release(err)` to drop it). */
  async connect(): Promise<pg.PoolClient> {
    if (this.#closed) throw new MxError('SHUTTING_DOWN', 'the PostgreSQL store is closed');
    return this.#acquire();
  }

  async #acquire(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (cause) {
      throw new MxError('STORE_UNAVAILABLE', 'cannot connect to PostgreSQL', { cause });
    }
    if (!this.#guarded.has(client)) {
      // A connection that breaks while in use (server restart, failover, a timeout that ends the session) emits
      // 'error'; unheard, that would end the process. The query in progress fails on its own, and so does the next.
      this.#guarded.add(client);
      client.on('error', (err) => this.#logger.warn({ err }, 'a PostgreSQL connection in use failed'));
    }
    return client;
  }

  /** One statement outside any explicit transaction (it commits on its own), retried after a deadlock. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string | Statement, values?: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.#closed) throw new MxError('SHUTTING_DOWN', 'the PostgreSQL store is closed');
    const statement = typeof text === 'string' ? { text } : text;
    this.#running += 1;
    try {
      for (let attempt = 1; ; attempt++) {
        const client = await this.#acquire();
        try {
          const result = await client.query<R>({ ...statement, values: values ?? [] });
          client.release();
          return result;
        } catch (error) {
          client.release(isUnavailable(error) && error instanceof Error ? error : undefined);
          if (!isRetryableConflict(error) || attempt >= TRANSACTION_ATTEMPTS_MAX) throw mapError(error, 'run the statement');
          await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
        }
      }
    } finally {
      this.#finished();
    }
  }

  /**
   * Runs `work`, which only reads, on a pooled connection outside any transaction: each statement commits on its
   * own, with its own snapshot, as in a READ COMMITTED transaction, without the round trips of BEGIN and COMMIT.
   */
  async reads<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new MxError('SHUTTING_DOWN', 'the PostgreSQL store is closed');
    this.#running += 1;
    try {
      const client = await this.#acquire();
      try {
        const value = await work(client);
        client.release();
        return value;
      } catch (error) {
        client.release(isUnavailable(error) && error instanceof Error ? error : undefined);
        throw mapError(error, 'read');
      }
    } finally {
      this.#finished();
    }
  }

  /**
   * Runs `work` in the next group commit (see the module comment): in a savepoint of a transaction it may share
   * with other units, or alone when nothing else waits. `work` must use only `ctx.client` and await nothing
   * else, or it holds up the units behind it; it may run again after a deadlock or serialization failure.
   * Effects registered with `afterCommit` run once, after the commit.
   */
  unit<T>(work: (ctx: TransactionContext) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new MxError('SHUTTING_DOWN', 'the PostgreSQL store is closed'));
    this.#running += 1;
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({
        work,
        attempt: 1,
        queuedAt: Date.now(),
        effects: [],
        resolve: (value) => {
          this.#finished();
          resolve(value as T);
        },
        reject: (error) => {
          this.#finished();
          reject(error);
        },
      });
      this.#schedule();
    });
  }

  /**
   * Runs `work` in a READ COMMITTED transaction of its own connection, retrying deadlocks and serialization
   * failures (see the module comment). Effects registered with `afterCommit` run once, after the commit.
   */
  async transaction<T>(work: (ctx: TransactionContext) => Promise<T>): Promise<T> {
    if (this.#closed) throw new MxError('SHUTTING_DOWN', 'the PostgreSQL store is closed');
    this.#running += 1;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.#attempt(work);
        } catch (error) {
          if (!isRetryableConflict(error) || attempt >= TRANSACTION_ATTEMPTS_MAX) throw mapError(error, 'complete the transaction');
          this.#logger.debug({ attempt, code: sqlState(error) }, 'PostgreSQL transaction conflict; running it again');
          await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
        }
      }
    } finally {
      this.#finished();
    }
  }

  #finished(): void {
    this.#running -= 1;
    if (this.#running === 0) for (const wake of this.#idle.splice(0)) wake();
  }

  async #attempt<T>(work: (ctx: TransactionContext) => Promise<T>): Promise<T> {
    const client = await this.#acquire();
    const effects: Array<() => void> = [];
    let value: T;
    try {
      await client.query('BEGIN');
      value = await work({ client, afterCommit: (effect) => effects.push(effect) });
    } catch (error) {
      await this.#rollback(client);
      throw error;
    }
    try {
      await client.query('COMMIT');
    } catch (cause) {
      // The commit may or may not have happened: never run the work again, let the caller decide.
      client.release(cause instanceof Error ? cause : true);
      throw isMxError(cause) ? cause : new MxError('STORE_UNAVAILABLE', 'PostgreSQL did not confirm the commit; its outcome is unknown', { cause });
    }
    client.release();
    this.#runEffects(effects);
    return value;
  }

  #runEffects(effects: Array<() => void>): void {
    for (const effect of effects) {
      try {
        effect();
      } catch (error) {
        this.#logger.error({ err: error }, 'after-commit effect failed');
      }
    }
  }

  async #rollback(client: pg.PoolClient): Promise<void> {
    try {
      await client.query('ROLLBACK');
      client.release();
    } catch (error) {
      // A connection that cannot roll back is not given to anyone else.
      client.release(error instanceof Error ? error : true);
    }
  }

  #schedule(): void {
    if (this.#pending.length > 0) this.#watchWaits();
    if (this.#scheduled || this.#pending.length === 0 || this.#batches >= this.#batchesMax) return;
    this.#scheduled = true;
    // setImmediate runs after the poll phase: every request and message read in this loop turn is waiting by then.
    setImmediate(() => {
      this.#scheduled = false;
      // One batch per waiting unit while connections are free: a unit waits behind others only when none is.
      // Each batch starts with the oldest waiting unit and takes the next oldest whenever it is ready for one.
      while (this.#pending.length > 0 && this.#batches < this.#batchesMax) {
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
    const limitMs = this.#options.connectTimeoutMs;
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
   * A unit runs in a savepoint when it may share the transaction; the first unit of a transaction runs without
   * one when no other unit waits (a quiet process pays no savepoint), and a unit after it opens the first.
   */
  async #runBatch(first: Unit): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.#acquire();
    } catch (error) {
      first.reject(error);
      return;
    }
    const started = Date.now();
    const done: Array<{ unit: Unit; value: unknown }> = [];
    let unit: Unit | undefined = first;
    let taken = 1;
    // Whether a transaction is open, and the state of savepoint SAVEPOINT in it: absent, established and empty
    // (just made, or just rolled back to), or holding the work of a unit that succeeded.
    let open = false;
    let savepoint: 'none' | 'fresh' | 'used' = 'none';
    try {
      while (unit !== undefined) {
        const current: Unit = unit;
        if (!open) {
          const share = this.#pending.length > 0;
          await client.query(share ? `BEGIN; SAVEPOINT ${SAVEPOINT}` : 'BEGIN');
          open = true;
          savepoint = share ? 'fresh' : 'none';
        } else if (savepoint !== 'fresh') {
          await client.query(savepoint === 'used' ? `RELEASE SAVEPOINT ${SAVEPOINT}; SAVEPOINT ${SAVEPOINT}` : `SAVEPOINT ${SAVEPOINT}`);
          savepoint = 'fresh';
        }
        const guarded = savepoint === 'fresh';
        if (guarded) savepoint = 'used';
        try {
          const value = await current.work({ client, afterCommit: (effect) => current.effects.push(effect) });
          done.push({ unit: current, value });
        } catch (error) {
          current.effects.length = 0;
          // Throws when the connection is gone: the catch below fails the whole batch, this unit included.
          if (guarded) {
            await client.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
            savepoint = 'fresh';
          } else {
            // The first unit of its transaction, alone in it: the transaction goes, and the next unit opens another.
            await client.query('ROLLBACK');
            open = false;
            savepoint = 'none';
          }
          this.#stats.rolledBack += 1;
          if (!this.#retryLater(current, error)) current.reject(mapError(error, 'complete the transaction'));
        }
        unit = taken < this.#unitsMax && Date.now() - started < this.#options.commitBatchMs ? this.#pending.shift() : undefined;
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
      if (open) await this.#rollback(client);
      else client.release();
      return;
    }
    try {
      await client.query('COMMIT');
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
      this.#runEffects(committed.effects);
      committed.resolve(value);
    }
  }

  /** Stops taking transactions, waits for the running ones (and the units waiting for a batch), and closes the pool. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#running > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await this.pool.end();
  }
}
