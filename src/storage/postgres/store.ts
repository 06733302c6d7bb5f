/**
 * The distributed store: the Store port on PostgreSQL.
 *
 * `transaction(work)` runs `work` in one PostgreSQL transaction (see database.ts for isolation and retries).
 * `tx.queues` is a transactional outbox: `send` inserts a row into the `outbox` table of the same transaction
 * and signals `pg_notify('mxgate_outbox', <schema>)`, which PostgreSQL delivers only at commit. The OutboxRelay
 * (relay.ts) then moves committed rows to the queue engine. So a state change and the messages that announce it
 * commit together or not at all, with no dual write.
 *
 * What `send` answers: `messageId` is a fresh id kept with the row (an attribute of nothing downstream: the queue
 * engine assigns its own message id on relay), `sequenceNumber` is the outbox row's id (increasing in commit-free
 * insert order within this database, not the queue's sequence: the queue engine assigns the real one on relay),
 * and `duplicate` is always false (deduplication happens in the queue engine, which receives the caller's
 * dedup id, or `outbox:<row id>` when there is none). A send is checked against everything that does not depend
 * on the queue's attributes (name, body, attributes, ids, delay bounds); what depends on them (queue existence,
 * FIFO group ids, size limit) is checked by the queue engine on relay, where a failure is retried, never dropped.
 */
import type { Logger } from '../../log.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/ids.js';
import { QUEUE_LIMITS, type QueueWriter, type SendResult } from '../../ports/queues.js';
import type { KvRecord, KvTx, Store, Tx } from '../../ports/store.js';
import { MxError } from '../../errors.js';
import { checkMessage, checkQueueName } from '../../queues/rules.js';
import type { PostgresDatabase } from './database.js';
import { Session } from './session.js';
import { PostgresTransactions } from './transactions.js';

/** The channel a commit with outbox rows notifies; the payload is the store's schema. */
export const OUTBOX_CHANNEL = 'mxgate_outbox';

const NAMESPACE_MAX = 64;
const KEY_MAX = 512;

function checkKey(namespace: string, key: string): void {
  if (namespace.length === 0 || namespace.length > NAMESPACE_MAX || key.length === 0 || key.length > KEY_MAX) {
    throw new MxError('INVALID_ATTRIBUTE', `kv namespace must be 1-${NAMESPACE_MAX} and key 1-${KEY_MAX} characters`);
  }
}

/** The loosest queue a message could go to: checks what holds for every queue. */
const ANY_QUEUE = {
  name: 'outbox',
  fifo: false,
  contentBasedDedup: false,
  visibilityTimeoutS: 0,
  maxReceiveCount: null,
  deadLetterQueue: null,
  retentionS: QUEUE_LIMITS.retentionSMax,
  delayS: 0,
  maxMessageBytes: QUEUE_LIMITS.maxMessageBytesMax,
};

export interface PostgresStoreOptions {
  database: PostgresDatabase;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
}

export class PostgresStore implements Store {
  readonly #db: PostgresDatabase;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #transactions: PostgresTransactions;
  readonly #sql;

  constructor(options: PostgresStoreOptions) {
    this.#db = options.database;
    this.#clock = options.clock;
    this.#ids = options.ids;
    this.#transactions = new PostgresTransactions(this.#db);
    const kv = this.#db.name('kv');
    const upsert = `INSERT INTO ${kv} AS r (namespace, key, value, version, expires_at) VALUES ($1, $2, $3, 1, $4)
      ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = r.version + 1, expires_at = excluded.expires_at`;
    this.#sql = {
      get: `SELECT value, version, expires_at FROM ${kv} WHERE namespace = $1 AND key = $2`,
      // Absent or expired: written (an expired record's version keeps growing, as in every engine).
      insert: `${upsert} WHERE r.expires_at IS NOT NULL AND r.expires_at <= $5 RETURNING version`,
      upsert: `${upsert} RETURNING version`,
      update: `UPDATE ${kv} SET value = $3, version = version + 1, expires_at = $4
        WHERE namespace = $1 AND key = $2 AND version = $5 AND (expires_at IS NULL OR expires_at > $6) RETURNING version`,
      delete: `DELETE FROM ${kv} WHERE namespace = $1 AND key = $2 RETURNING expires_at`,
      sweep: `DELETE FROM ${kv} r USING (
          SELECT namespace, key FROM ${kv} WHERE expires_at IS NOT NULL AND expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) s
        WHERE r.namespace = s.namespace AND r.key = s.key AND r.expires_at <= $1`,
      send: `WITH o AS (
          INSERT INTO ${this.#db.name('outbox')} (queue, message_id, body, group_id, dedup_id, delay_s, attributes)
          VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id)
        SELECT o.id, pg_notify('${OUTBOX_CHANNEL}', $8) FROM o`,
    };
  }

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#db.transaction(async (ctx) => {
      const session = new Session(ctx.client);
      const tx: Tx = {
        kv: this.#kv(session),
        queues: this.#outbox(session),
        transactions: this.#transactions.tx(session),
        afterCommit: (effect) => ctx.afterCommit(effect),
      };
      let value: T;
      try {
        value = await work(tx);
      } finally {
        // Calls `work` started without awaiting finish before the transaction ends, whichever way it ends.
        await session.settle().catch(() => undefined);
      }
      await session.settle();
      return value;
    });
  }

  /** Removes up to `limit` expired key-value records. */
  async sweep(limit: number): Promise<number> {
    return (await this.#db.query(this.#sql.sweep, [this.#clock.now(), limit])).rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  #kv(session: Session): KvTx {
    const s = this.#sql;
    const expiry = (ttlMs: number | undefined) => (ttlMs === undefined ? null : this.#clock.now() + ttlMs);
    return {
      get: (namespace, key) => {
        checkKey(namespace, key);
        return session.run(async (client) => {
          const row = (await client.query<{ value: string; version: number; expires_at: number | null }>(s.get, [namespace, key])).rows[0];
          if (!row || (row.expires_at !== null && row.expires_at <= this.#clock.now())) return null;
          return { value: row.value, version: row.version, expiresAt: row.expires_at } satisfies KvRecord;
        });
      },
      insert: (namespace, key, value, options) => {
        checkKey(namespace, key);
        return session.run(async (client) => (await client.query(s.insert, [namespace, key, value, expiry(options?.ttlMs), this.#clock.now()])).rowCount === 1);
      },
      put: (namespace, key, value, options) => {
        checkKey(namespace, key);
        const expect = options?.expectVersion;
        const expiresAt = expiry(options?.ttlMs);
        const now = this.#clock.now();
        // Each case is one statement, so the comparison and the write happen under the same row lock.
        const [text, values] =
          expect === undefined
            ? [s.upsert, [namespace, key, value, expiresAt]]
            : expect === 0
              ? [s.insert, [namespace, key, value, expiresAt, now]]
              : [s.update, [namespace, key, value, expiresAt, expect, now]];
        return session.run(async (client) => {
          const row = (await client.query<{ version: number }>(text, values)).rows[0];
          return row ? row.version : null;
        });
      },
      delete: (namespace, key) => {
        checkKey(namespace, key);
        return session.run(async (client) => {
          const row = (await client.query<{ expires_at: number | null }>(s.delete, [namespace, key])).rows[0];
          return row !== undefined && (row.expires_at === null || row.expires_at > this.#clock.now());
        });
      },
    };
  }

  #outbox(session: Session): QueueWriter {
    return {
      send: (queue, input): Promise<SendResult> => {
        checkQueueName(queue);
        const checked = checkMessage(ANY_QUEUE, input);
        const dedupId = input.dedupId ?? null;
        const messageId = this.#ids.uuid();
        return session.run(async (client) => {
          const row = (await client.query<{ id: number }>(this.#sql.send, [
            queue,
            messageId,
            checked.body,
            checked.groupId,
            dedupId,
            // Null: the queue's own delay applies (and FIFO queues refuse any per-message delay).
            input.delayS === undefined || input.delayS === null ? null : checked.delayS,
            checked.attributes === null ? null : JSON.stringify(checked.attributes),
            this.#db.schema,
          ])).rows[0];
          if (!row) throw new Error('assertion failed: the outbox insert returns its row');
          return { messageId, sequenceNumber: String(row.id), duplicate: false };
        });
      },
    };
  }
}
