/**
 * The PostgreSQL connection layer of the distributed store: a bounded pool, transactions with bounded retries,
 * and the mapping of driver failures onto the error catalog.
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
 * Transaction states:
 *
 *   connect ──fails──► STORE_UNAVAILABLE
 *      │
 *   BEGIN ──► work ──ok──► COMMIT ──ok──► resolved (+ afterCommit effects)
 *               │                │
 *               │                └─fails──► STORE_UNAVAILABLE (outcome unknown: never retried)
 *               └─throws──► ROLLBACK ──► 40001/40P01 and attempts left? ──yes──► again from connect
 *                                                                     └─no───► rejected (mapped error)
 *
 * Every table lives in one schema, named in every statement (`"schema".table`) rather than through
 * search_path, so the store works the same behind transaction-pooling proxies (PgBouncer, RDS Proxy) that do
 * not keep session settings. Plain SQL only: no extensions, nothing a managed PostgreSQL lacks.
 */
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
}

export const DEFAULT_POOL_OPTIONS: Omit<PostgresPoolOptions, 'url'> = {
  poolMax: 10,
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 60_000,
  idleTimeoutMs: 30_000,
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

export class PostgresDatabase {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly #logger: Logger;
  readonly #options: PostgresPoolOptions;
  #closed = false;
  #running = 0;
  #idle: Array<() => void> = [];
  /** Connections that carry our error listener (the pool listens only while a connection is idle). */
  readonly #guarded = new WeakSet<pg.PoolClient>();

  constructor(options: PostgresPoolOptions & { schema: string; logger: Logger }) {
    this.schema = checkSchemaName(options.schema);
    this.#logger = options.logger;
    this.#options = options;
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

  get closed(): boolean {
    return this.#closed;
  }

  /** A pooled connection, or STORE_UNAVAILABLE. Release it with `release()` (or `release(err)` to drop it). */
  async connect(): Promise<pg.PoolClient> {
    if (this.#closed) throw new MxError('SHUTTING_DOWN', 'the PostgreSQL store is closed');
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

  /** One statement outside any explicit transaction (it commits on its own). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.transaction((ctx) => ctx.client.query<R>(text, values));
  }

  /**
   * Runs `work` in a READ COMMITTED transaction on one pooled connection, retrying deadlocks and serialization
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
          const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
          this.#logger.debug({ attempt, code: sqlState(error) }, 'PostgreSQL transaction conflict; running it again');
          await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
        }
      }
    } finally {
      this.#running -= 1;
      if (this.#running === 0) for (const wake of this.#idle.splice(0)) wake();
    }
  }

  async #attempt<T>(work: (ctx: TransactionContext) => Promise<T>): Promise<T> {
    const client = await this.connect();
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
    for (const effect of effects) {
      try {
        effect();
      } catch (error) {
        this.#logger.error({ err: error }, 'after-commit effect failed');
      }
    }
    return value;
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

  /** Stops taking transactions, waits for the running ones, and closes the pool. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#running > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await this.pool.end();
  }
}
