/**
 * The PostgreSQL connection layer of the distributed store: a bounded pool, single statements and reads,
 * transactions with bounded retries, named statements, and the wiring of the group commit. Two parts live in
 * modules of their own: the group commit (`unit`: the queue of units, the batches, their commit and rollback, and
 * their stats) in group-commit.ts, and the reading of driver failures (which are retried, with
 * what backoff, and how they map onto the error catalog) in failures.ts. What other modules import from here of
 * theirs is re-exported (CommitStats, TRANSACTION_ATTEMPTS_MAX, isRetryableConflict, isUnavailable, mapError).
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
 * one PostgreSQL transaction; a unit that fails rolls the transaction back and the units done before it run again.
 * group-commit.ts describes the batches, their bounds and the states of a unit.
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
 * Pipelining: pooled connections run in the driver's pipeline mode, which sends a statement without waiting for
 * the answers to those before it. A transaction sends BEGIN and goes on with its first statement at once, and
 * sends COMMIT right behind the work's last statement when the work hands that over (`TransactionContext.last`):
 * a transaction of two statements costs two round trips instead of four. Both are safe because the server runs
 * what it receives in order and answers each in turn: a failed last statement leaves the transaction aborted, and
 * the COMMIT behind it then only ends it (PostgreSQL answers ROLLBACK), so nothing of the work commits. BEGIN
 * itself has no failure that leaves the session alive short of a query cancel landing on it (a broken connection
 * or a FATAL error ends the session before anything behind it runs); the work's statements would then run on
 * their own, so BEGIN's answer is checked before the work counts as done, and this process never cancels queries.
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
import { TRANSACTION_ATTEMPTS_MAX, backoffMs, ignore, isRetryableConflict, isUnavailable, lastFailed, mapError, sqlState } from './failures.js';
import { GroupCommit, type CommitStats } from './group-commit.js';

export { TRANSACTION_ATTEMPTS_MAX, isRetryableConflict, isUnavailable, mapError };
export type { CommitStats };

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
 * Highest `commitUnitsMax`: a batch holds the row locks of all its units until its commit, and a unit that fails
 * sends the units done before it in its transaction to run again.
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
  commitBatchesMax: 3,
};

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

export interface TransactionContext {
  readonly client: pg.PoolClient;
  afterCommit(effect: () => void): void;
  /**
   * Hands over the work's last statement, sent (`client.query` called) but not awaited, as the work's last act:
   * the transaction waits for it before it counts the work as done, and when nothing else is to run in the
   * transaction it sends COMMIT right behind it, so that the two take one round trip (see "Pipelining" in the
   * module comment). Its result is not looked at; only its failure counts, as the work's own.
   */
  last(statement: Promise<unknown>): void;
}

/** A statement as the driver takes it: named (prepared once per connection) when the database names statements. */
export interface Statement {
  readonly name?: string;
  readonly text: string;
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
  readonly #groupCommit: GroupCommit;
  #closed = false;
  #running = 0;
  #idle: Array<() => void> = [];
  /** Connections that carry our error listener (the pool listens only while a connection is idle). */
  readonly #guarded = new WeakSet<pg.PoolClient>();

  constructor(options: PostgresPoolOptions & { schema: string; logger: Logger }) {
    this.schema = checkSchemaName(options.schema);
    this.#logger = options.logger;
    this.#options = options;
    this.#groupCommit = new GroupCommit({
      acquire: () => this.#acquire(),
      runEffects: (effects) => this.#runEffects(effects),
      logger: options.logger,
      unitsMax: bounded('commitUnitsMax', options.commitUnitsMax, 1, COMMIT_UNITS_LIMIT),
      batchesMax: Math.min(options.poolMax, bounded('commitBatchesMax', options.commitBatchesMax, 1, 1000)),
      batchMs: bounded('commitBatchMs', options.commitBatchMs, 0, 60_000),
      waitMaxMs: options.connectTimeoutMs,
    });
    this.pool = new pg.Pool(this.clientConfig({
      pipeline: true,
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

  /** What the group commit has done since start (see group-commit.ts). */
  get stats(): CommitStats {
    return this.#groupCommit.stats;
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
   * Runs `work` in the next group commit (see group-commit.ts): in a transaction it may share with other units,
   * or alone when nothing else waits. `work` must use only `ctx.client` and await nothing else, or it holds up the
   * units behind it; it may run again (after a deadlock or serialization failure, or when a later unit of its
   * transaction failed), so it must not act outside the database except through `afterCommit`.
   * Effects registered with `afterCommit` run once, after the commit.
   */
  unit<T>(work: (ctx: TransactionContext) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new MxError('SHUTTING_DOWN', 'the PostgreSQL store is closed'));
    this.#running += 1;
    return this.#groupCommit.submit(work, () => this.#finished());
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
    const handed: { last: Promise<unknown> | null } = { last: null };
    let value: T;
    let commit: Promise<unknown>;
    try {
      // Pipelined: the work's first statement follows BEGIN without waiting for its answer (see the module comment).
      const begin = client.query('BEGIN');
      begin.catch(ignore);
      value = await work({
        client,
        afterCommit: (effect) => effects.push(effect),
        last: (statement) => {
          statement.catch(ignore);
          handed.last = statement;
        },
      });
      await begin;
      commit = client.query('COMMIT');
      commit.catch(ignore);
    } catch (error) {
      await this.#rollback(client);
      throw error;
    }
    if (handed.last !== null) {
      try {
        await handed.last;
      } catch (error) {
        throw await lastFailed(client, commit, error);
      }
    }
    try {
      await commit;
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

  /** Stops taking transactions, waits for the running ones (and the units waiting for a batch), and closes the pool. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#running > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await this.pool.end();
  }
}
