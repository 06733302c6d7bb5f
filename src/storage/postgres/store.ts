/**
 * The distributed store: the Store port on PostgreSQL.
 *
 * `transaction(work)` runs `work` as one unit of a group commit: in a PostgreSQL transaction that transactions
 * issued at about the same time share, so that it commits with them; when it fails, it is rejected alone and the
 * units done before it in that transaction run again (see group-commit.ts, and database.ts for isolation and
 * retries).
 * `tx.queues` is a transactional outbox: `send` checks the message and keeps it with the transaction; once `work`
 * has ended, the transaction's messages are inserted into the `outbox` table in one statement, in the order they
 * were sent, with one `pg_notify('mxgate_outbox', <schema>)`, which PostgreSQL delivers only at commit (once per
 * commit: identical notifications of one transaction are folded; those of a transaction rolled back are dropped). One round trip per transaction instead of one per message; a transaction that throws, or whose
 * statements fail, writes none of them. The OutboxRelay (relay.ts) then moves committed rows to the queue
 * engine. So a state change and the messages that announce it commit together or not at all, with no dual write.
 *
 * What `send` answers, at once: `messageId` is a fresh id kept with the row (an attribute of nothing downstream:
 * the queue engine assigns its own message id on relay), `sequenceNumber` is a number this process gives its
 * sends in increasing order (not the queue's sequence, which the queue engine assigns on relay, nor the outbox
 * row's id, which is known only when the row is written after `work`), and `duplicate` is always false
 * (deduplication happens in the queue engine, which receives the caller's dedup id, or `outbox:<row id>` when
 * there is none). A send is checked against everything that does not depend
 * on the queue's attributes (name, body, attributes, ids, delay bounds); what depends on them (queue existence,
 * FIFO group ids, size limit) is checked by the queue engine on relay, where a failure is retried, never dropped.
 */
import type pg from 'pg';
import type { Logger } from '../../log.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/ids.js';
import { QUEUE_LIMITS, type QueueWriter, type SendResult } from '../../ports/queues.js';
import type { KvRecord, KvTx, ReadTx, Store, Tx } from '../../ports/store.js';
import { MxError } from '../../errors.js';
import { checkMessage, checkQueueName } from '../../queues/rules.js';
import type { PostgresDatabase, Statement } from './database.js';
import { isEmpty, query, Session, type Held } from './session.js';
import { createCtes, messageArrays, PostgresTransactions, putMessagesSql } from './transactions.js';

/** The channel a commit with outbox rows notifies; the payload is the store's schema. */
export const OUTBOX_CHANNEL = 'mxgate_outbox';

/** Most messages one store transaction sends (each is kept in memory until the transaction's work ends). */
export const OUTBOX_SENDS_MAX = 10_000;
/** Most outbox rows written by one statement (a transaction with more takes several). */
const OUTBOX_ROWS_PER_STATEMENT = 1_000;

/** A message sent in a store transaction, waiting for the end of its work to be written to the outbox. */
interface OutboxRow {
  queue: string;
  messageId: string;
  body: string;
  groupId: string | null;
  dedupId: string | null;
  delayS: number | null;
  attributes: string | null;
}

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

/**
 * Runs `work` on a session and waits for the calls it started without awaiting them, whichever way it ends, so
 * that none runs on after its transaction or read; their failure counts when `work` itself succeeded.
 */
async function settled<T>(session: Session, work: () => Promise<T>): Promise<T> {
  let value: T;
  try {
    value = await work();
  } finally {
    await session.settle().catch(() => undefined);
  }
  await session.settle();
  return value;
}

export class PostgresStore implements Store {
  readonly #db: PostgresDatabase;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #transactions: PostgresTransactions;
  readonly #sql;
  /** The last sequence number a send of this store answered. */
  #sequence = 0n;

  constructor(options: PostgresStoreOptions) {
    this.#db = options.database;
    this.#clock = options.clock;
    this.#ids = options.ids;
    this.#transactions = new PostgresTransactions(this.#db);
    const kv = this.#db.name('kv');
    const upsert = `INSERT INTO ${kv} AS r (namespace, key, value, version, expires_at) VALUES ($1, $2, $3, 1, $4)
      ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, version = r.version + 1, expires_at = excluded.expires_at`;
    const outboxInsert = `INSERT INTO ${this.#db.name('outbox')} (queue, message_id, body, group_id, dedup_id, delay_s, attributes)
      SELECT r.queue, r.message_id, r.body, r.group_id, r.dedup_id, r.delay_s, r.attributes::jsonb
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[])
        WITH ORDINALITY AS r(queue, message_id, body, group_id, dedup_id, delay_s, attributes, n)
      ORDER BY r.n
      RETURNING 1`;
    const notified = `SELECT count(*)::int AS written, pg_notify('${OUTBOX_CHANNEL}', $8) FROM o`;
    this.#sql = this.#db.statements({
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
      // The rows of a transaction, in send order (ids are drawn in the order of the sorted rows).
      send: `WITH o AS (${outboxInsert}) ${notified}`,
      // The same with the unit's held messages (Session.deferMessage) in the same statement ($9..$13).
      sendWithMessages: `WITH m AS (${putMessagesSql(this.#db.name('transaction_messages'), 9)} RETURNING 1), o AS (${outboxInsert}) ${notified}`,
      // The same with the unit's new transaction too (Session.deferCreate, $14..$32).
      sendWithCreate: `WITH ${createCtes(this.#transactions.tables, 14)},
        m AS (${putMessagesSql(this.#db.name('transaction_messages'), 9)} RETURNING 1), o AS (${outboxInsert}) ${notified}`,
    });
  }

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#db.unit(async (ctx) => {
      const session = new Session(ctx.client, this.#transactions.writeHeld);
      const outbox: OutboxRow[] = [];
      const tx: Tx = {
        kv: this.#kv(session),
        queues: this.#outbox(outbox),
        transactions: this.#transactions.tx(session),
        afterCommit: (effect) => ctx.afterCommit(effect),
      };
      const value = await settled(session, () => work(tx));
      let held = session.takeHeld();
      if (outbox.length === 0 && !isEmpty(held)) await this.#transactions.writeHeld(ctx.client, held);
      for (let start = 0; start < outbox.length; start += OUTBOX_ROWS_PER_STATEMENT) {
        const rows = outbox.slice(start, start + OUTBOX_ROWS_PER_STATEMENT);
        // A unit that created more than one transaction writes the others first.
        if (held.creates.length > 1) await this.#transactions.writeHeld(ctx.client, { creates: held.creates.slice(0, -1), messages: [] });
        const statement = this.#writeOutbox(ctx.client, rows, { creates: held.creates.slice(-1), messages: held.messages });
        held = { creates: [], messages: [] };
        // The unit's last statement goes out with the COMMIT behind it (see TransactionContext.last).
        if (start + OUTBOX_ROWS_PER_STATEMENT >= outbox.length) ctx.last(statement);
        else await statement;
      }
      return value;
    });
  }

  /** Reads outside any transaction (see Store.read), one statement at a time. */
  read<T>(work: (tx: ReadTx) => Promise<T>): Promise<T> {
    return this.#db.reads(async (client) => {
      const session = new Session(client);
      const tx: ReadTx = { kv: this.#kv(session), transactions: this.#transactions.tx(session) };
      return settled(session, () => work(tx));
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
          const row = (await query<{ value: string; version: number; expires_at: number | null }>(client, s.get, [namespace, key])).rows[0];
          if (!row || (row.expires_at !== null && row.expires_at <= this.#clock.now())) return null;
          return { value: row.value, version: row.version, expiresAt: row.expires_at } satisfies KvRecord;
        });
      },
      insert: (namespace, key, value, options) => {
        checkKey(namespace, key);
        return session.run(async (client) => (await query(client, s.insert, [namespace, key, value, expiry(options?.ttlMs), this.#clock.now()])).rowCount === 1);
      },
      put: (namespace, key, value, options) => {
        checkKey(namespace, key);
        const expect = options?.expectVersion;
        const expiresAt = expiry(options?.ttlMs);
        const now = this.#clock.now();
        // Each case is one statement, so the comparison and the write happen under the same row lock.
        const [text, values]: [Statement, unknown[]] =
          expect === undefined
            ? [s.upsert, [namespace, key, value, expiresAt]]
            : expect === 0
              ? [s.insert, [namespace, key, value, expiresAt, now]]
              : [s.update, [namespace, key, value, expiresAt, expect, now]];
        return session.run(async (client) => {
          const row = (await query<{ version: number }>(client, text, values)).rows[0];
          return row ? row.version : null;
        });
      },
      delete: (namespace, key) => {
        checkKey(namespace, key);
        return session.run(async (client) => {
          const row = (await query<{ expires_at: number | null }>(client, s.delete, [namespace, key])).rows[0];
          return row !== undefined && (row.expires_at === null || row.expires_at > this.#clock.now());
        });
      },
    };
  }

  #outbox(rows: OutboxRow[]): QueueWriter {
    return {
      send: (queue, input): Promise<SendResult> => {
        checkQueueName(queue);
        const checked = checkMessage(ANY_QUEUE, input);
        if (rows.length >= OUTBOX_SENDS_MAX) throw new Error(`assertion failed: a store transaction sends at most ${OUTBOX_SENDS_MAX} messages`);
        const messageId = this.#ids.uuid();
        rows.push({
          queue,
          messageId,
          body: checked.body,
          groupId: checked.groupId,
          dedupId: input.dedupId ?? null,
          // Null: the queue's own delay applies (and FIFO queues refuse any per-message delay).
          delayS: input.delayS === undefined || input.delayS === null ? null : checked.delayS,
          attributes: checked.attributes === null ? null : JSON.stringify(checked.attributes),
        });
        return Promise.resolve({ messageId, sequenceNumber: this.#nextSequence(), duplicate: false });
      },
    };
  }

  /** Increasing within this process: the clock in microseconds, or one more than the last when that is not more. */
  #nextSequence(): string {
    const now = BigInt(Date.now()) * 1000n;
    this.#sequence = now > this.#sequence ? now : this.#sequence + 1n;
    return String(this.#sequence);
  }

  /**
   * Sends the statement that writes outbox rows and the unit's held writes with them (at most one new
   * transaction; see `transaction`), and answers its promise. Every value is a string, a number, null or an array
   * of those, which the driver cannot fail to send: a failure of this statement is the server's, so a COMMIT sent
   * behind it cannot commit without it. The statement inserts one row per element of its arrays or fails.
   */
  #writeOutbox(client: pg.ClientBase, rows: OutboxRow[], held: Held): Promise<unknown> {
    const { creates, messages } = held;
    const values: unknown[] = [
      rows.map((r) => r.queue),
      rows.map((r) => r.messageId),
      rows.map((r) => r.body),
      rows.map((r) => r.groupId),
      rows.map((r) => r.dedupId),
      rows.map((r) => r.delayS),
      rows.map((r) => r.attributes),
      this.#db.schema,
    ];
    const statement = creates.length > 0 ? this.#sql.sendWithCreate : messages.length > 0 ? this.#sql.sendWithMessages : this.#sql.send;
    if (creates.length > 0 || messages.length > 0) values.push(...messageArrays(messages));
    if (creates.length > 0) values.push(...creates[0]!);
    return query(client, statement, values);
  }
}
