/**
 * The embedded store: the Store port on the hub's SQLite file. Transactions are units of the group commit,
 * and `tx.queues` writes into the embedded queue tables of the same file, so state and messages commit together.
 */
import type { Clock } from '../../ports/clock.js';
import type { KvRecord, KvTx, ReadTx, Store, TransactionOptions, Tx } from '../../ports/store.js';
import type { QueueWriter } from '../../ports/queues.js';
import { MxError } from '../../errors.js';
import type { Migration, SqliteDatabase, UnitContext } from './database.js';
import { SqliteTransactions } from './transactions.js';

export const STORE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'key-value records with versions and expiry',
    sql: `
      CREATE TABLE kv (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        version INTEGER NOT NULL,
        expires_at INTEGER,
        PRIMARY KEY (namespace, key)
      ) WITHOUT ROWID;
      CREATE INDEX kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
];

export interface SqliteStoreOptions {
  database: SqliteDatabase;
  clock: Clock;
  /** Gives the queue writer bound to a unit (the embedded queue engine's `writerFor`). */
  queueWriter: (ctx: UnitContext) => QueueWriter;
}

const NAMESPACE_MAX = 64;
const KEY_MAX = 512;

function checkKey(namespace: string, key: string): void {
  if (namespace.length === 0 || namespace.length > NAMESPACE_MAX || key.length === 0 || key.length > KEY_MAX) {
    throw new MxError('INVALID_ATTRIBUTE', `kv namespace must be 1-${NAMESPACE_MAX} and key 1-${KEY_MAX} characters`);
  }
}

export class SqliteStore implements Store {
  readonly #db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #queueWriter: (ctx: UnitContext) => QueueWriter;
  readonly #s;
  readonly #transactions: SqliteTransactions;

  constructor(options: SqliteStoreOptions) {
    this.#db = options.database;
    this.#clock = options.clock;
    this.#queueWriter = options.queueWriter;
    this.#db.migrate('store', STORE_MIGRATIONS);
    this.#transactions = new SqliteTransactions(this.#db);
    const p = (sql: string) => this.#db.prepare(sql);
    this.#s = {
      get: p('SELECT value, version, expires_at FROM kv WHERE namespace = ? AND key = ?'),
      insert: p(`INSERT INTO kv (namespace, key, value, version, expires_at) VALUES (?, ?, ?, 1, ?)
        ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = kv.version + 1, expires_at = excluded.expires_at
        WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= ?`),
      upsert: p(`INSERT INTO kv (namespace, key, value, version, expires_at) VALUES (?, ?, ?, 1, ?)
        ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = kv.version + 1, expires_at = excluded.expires_at
        RETURNING version`).pluck(),
      delete: p('DELETE FROM kv WHERE namespace = ? AND key = ? RETURNING expires_at'),
      sweep: p(`DELETE FROM kv WHERE (namespace, key) IN
        (SELECT namespace, key FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)`),
    };
  }

  transaction<T>(work: (tx: Tx) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.#db.run((ctx) => work(this.#tx(ctx)), options?.untilDurable === false ? { untilDurable: false } : undefined);
  }

  /** A unit like any other: it costs no round trip here, and it reads only committed, durable data. */
  read<T>(work: (tx: ReadTx) => Promise<T>): Promise<T> {
    return this.transaction(work);
  }

  /** Removes up to `limit` expired records. */
  sweep(limit: number): Promise<number> {
    return this.#db.run(() => this.#s.sweep.run(this.#clock.now(), limit).changes);
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  #tx(ctx: UnitContext): Tx {
    // The repositories hold no per-unit state (the connection is shared): built once, reused by every unit.
    this.#repositories ??= { kv: this.#kv(), transactions: this.#transactions.tx() };
    return {
      ...this.#repositories,
      queues: this.#queueWriter(ctx),
      afterCommit: (effect) => ctx.afterCommit(effect),
    };
  }

  #repositories: Pick<Tx, 'kv' | 'transactions'> | null = null;

  #live(namespace: string, key: string): KvRecord | null {
    const row = this.#s.get.get(namespace, key) as { value: string; version: number; expires_at: number | null } | undefined;
    if (!row || (row.expires_at !== null && row.expires_at <= this.#clock.now())) return null;
    return { value: row.value, version: row.version, expiresAt: row.expires_at };
  }

  #kv(): KvTx {
    const expiry = (ttlMs: number | undefined) => (ttlMs === undefined ? null : this.#clock.now() + ttlMs);
    return {
      get: async (namespace, key) => {
        checkKey(namespace, key);
        return this.#live(namespace, key);
      },
      insert: async (namespace, key, value, options) => {
        checkKey(namespace, key);
        return this.#s.insert.run(namespace, key, value, expiry(options?.ttlMs), this.#clock.now()).changes === 1;
      },
      put: async (namespace, key, value, options) => {
        checkKey(namespace, key);
        if (options?.expectVersion !== undefined) {
          const current = this.#live(namespace, key);
          if ((current?.version ?? 0) !== options.expectVersion) return null;
        }
        return this.#s.upsert.get(namespace, key, value, expiry(options?.ttlMs)) as number;
      },
      delete: async (namespace, key) => {
        checkKey(namespace, key);
        const row = this.#s.delete.get(namespace, key) as { expires_at: number | null } | undefined;
        return row !== undefined && (row.expires_at === null || row.expires_at > this.#clock.now());
      },
    };
  }
}
