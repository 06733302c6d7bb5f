/**
 * The transactions repository on PostgreSQL (see ports/transactions.ts), with the semantics of the SQLite engine:
 *  - status steps are compare-and-set: the row is locked (SELECT ... FOR UPDATE), the step checked with the
 *    domain's `canMove`, and applied with `UPDATE ... WHERE status = $from`; a refused step is recorded in the
 *    audit table and changes nothing else;
 *  - business keys are claimed with one `INSERT ... ON CONFLICT` under a savepoint: on a live conflict the
 *    savepoint is rolled back, so a claim takes all its keys or none (keys are inserted in a fixed order so two
 *    claims of overlapping keys queue instead of deadlocking);
 *  - listing pages by (created_at, id), newest first, with the same opaque cursor as SQLite;
 *  - overdue payments are read through the partial index on deadline_at.
 */
import { canMove, isTerminal, type HistoryStatus, type PaymentStatus, type TransactionStatus } from '../../domain/status.js';
import type {
  BusinessKey,
  HistoryEntry,
  KeyClaim,
  MessageKind,
  NewTransaction,
  OriginalRefs,
  PaymentRecord,
  StatusChange,
  StoredMessage,
  TransactionFilter,
  TransactionRecord,
  TransactionsTx,
} from '../../ports/transactions.js';
import { decodeCursor, encodeCursor } from '../sqlite/transactions.js';
import type { PostgresDatabase } from './database.js';
import type { Session } from './session.js';

interface RawTransaction {
  id: string;
  client_id: string;
  status: TransactionStatus;
  reason_code: string | null;
  reason_text: string | null;
  message_type: string | null;
  msg_id: string | null;
  content_hash: string | null;
  duplicate_of: string | null;
  deadline_at: number | null;
  group_key: string | null;
  awaiting_downstream: boolean;
  created_at: number;
  updated_at: number;
  received_at: number | null;
  version: number;
}

interface RawPayment {
  idx: number;
  end_to_end_id: string | null;
  tx_id: string | null;
  uetr: string | null;
  instr_id: string | null;
  amount: string | null;
  currency: string | null;
  status: PaymentStatus;
  reason_code: string | null;
  reason_text: string | null;
}

function toRecord(r: RawTransaction): TransactionRecord {
  return {
    id: r.id,
    clientId: r.client_id,
    status: r.status,
    reasonCode: r.reason_code,
    reasonText: r.reason_text,
    messageType: r.message_type,
    msgId: r.msg_id,
    contentHash: r.content_hash,
    duplicateOf: r.duplicate_of,
    deadlineAt: r.deadline_at,
    groupKey: r.group_key,
    awaitingDownstream: r.awaiting_downstream,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    receivedAt: r.received_at,
    version: r.version,
  };
}

const TRANSACTION_COLUMNS = `id, client_id, status, reason_code, reason_text, message_type, msg_id, content_hash, duplicate_of, deadline_at,
  group_key, awaiting_downstream, created_at, updated_at, received_at, version`;

type Payments = NewTransaction['payments'];

/** The payments of a message as parallel arrays, for one `unnest` insert. */
function paymentArrays(payments: Payments): unknown[][] {
  return [
    payments.map((p) => p.index),
    payments.map((p) => p.endToEndId),
    payments.map((p) => p.txId),
    payments.map((p) => p.uetr),
    payments.map((p) => p.instrId),
    payments.map((p) => p.amount),
    payments.map((p) => p.currency),
  ];
}

export class PostgresTransactions {
  readonly #t: Record<'transactions' | 'payments' | 'history' | 'audit' | 'messages' | 'keys', string>;
  readonly #sql;

  constructor(database: PostgresDatabase) {
    const t = (this.#t = {
      transactions: database.name('transactions'),
      payments: database.name('payments'),
      history: database.name('history'),
      audit: database.name('audit'),
      messages: database.name('transaction_messages'),
      keys: database.name('business_keys'),
    });
    const nextSeq = (id: string) => `(SELECT COALESCE(MAX(seq), 0) + 1 FROM ${t.history} WHERE transaction_id = ${id})`;
    // $p1..$p7: the payment arrays; the transaction id and the payments' status come from the statement.
    const insertPayments = (from: string, first: number, status: string) => `INSERT INTO ${t.payments}
        (transaction_id, idx, end_to_end_id, tx_id, uetr, instr_id, amount, currency, status)
      SELECT ${from}.id, p.idx, p.e2e, p.tx, p.uetr, p.instr, p.amount, p.currency, ${status}
      FROM ${from} CROSS JOIN unnest($${first}::int[], $${first + 1}::text[], $${first + 2}::text[], $${first + 3}::text[],
        $${first + 4}::text[], $${first + 5}::text[], $${first + 6}::text[]) AS p(idx, e2e, tx, uetr, instr, amount, currency)`;
    this.#sql = {
      create: `WITH t AS (
          INSERT INTO ${t.transactions} (id, client_id, status, message_type, msg_id, content_hash, deadline_at, group_key,
            reason_code, reason_text, created_at, updated_at, version)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1) RETURNING id),
        p AS (${insertPayments('t', 12, '$19')})
        INSERT INTO ${t.history} (transaction_id, seq, status, reason_code, at) SELECT t.id, ${nextSeq('t.id')}, $3, NULL, $11 FROM t`,
      get: `SELECT ${TRANSACTION_COLUMNS} FROM ${t.transactions} WHERE id = $1`,
      lock: `SELECT ${TRANSACTION_COLUMNS} FROM ${t.transactions} WHERE id = $1 FOR UPDATE`,
      payments: `SELECT idx, end_to_end_id, tx_id, uetr, instr_id, amount, currency, status, reason_code, reason_text
        FROM ${t.payments} WHERE transaction_id = $1 ORDER BY idx`,
      history: `SELECT status, reason_code, at FROM ${t.history} WHERE transaction_id = $1 ORDER BY seq`,
      claimKeys: `INSERT INTO ${t.keys} AS b (client_id, kind, value, transaction_id, content_hash, expires_at)
        SELECT $1, k.kind, k.value, $4, $5, $6 FROM unnest($2::text[], $3::text[]) AS k(kind, value) ORDER BY k.kind, k.value
        ON CONFLICT (client_id, kind, value) DO UPDATE SET transaction_id = excluded.transaction_id,
          content_hash = excluded.content_hash, expires_at = excluded.expires_at
        WHERE b.expires_at <= $7
        RETURNING kind, value`,
      keyOwners: `SELECT kind, value, transaction_id, content_hash FROM ${t.keys}
        WHERE client_id = $1 AND (kind, value) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
      move: `WITH u AS (
          UPDATE ${t.transactions} SET status = $2, reason_code = $3, reason_text = $4, deadline_at = $5, awaiting_downstream = $6,
            updated_at = $7, version = version + 1 WHERE id = $1 AND status = $8 RETURNING id)
        INSERT INTO ${t.history} (transaction_id, seq, status, reason_code, at) SELECT u.id, ${nextSeq('u.id')}, $2, $3, $7 FROM u`,
      movePayments: `UPDATE ${t.payments} AS p SET status = c.status, reason_code = c.reason_code, reason_text = c.reason_text
        FROM unnest($2::int[], $3::text[], $4::text[], $5::text[]) AS c(idx, status, reason_code, reason_text)
        WHERE p.transaction_id = $1 AND p.idx = c.idx`,
      movePaymentsAll: `UPDATE ${t.payments} SET status = $2, reason_code = COALESCE(reason_code, $3), reason_text = COALESCE(reason_text, $4)
        WHERE transaction_id = $1 AND status NOT IN ('RJCT', 'CANC', 'ACSC')`,
      markForwarded: `UPDATE ${t.transactions} SET awaiting_downstream = TRUE, updated_at = $2, version = version + 1
        WHERE id = $1 AND status = 'ACSP'`,
      markDuplicate: `UPDATE ${t.transactions} SET duplicate_of = $2, updated_at = $3, version = version + 1 WHERE id = $1 AND status = 'ACCP'`,
      submitReserved: `WITH t AS (
          UPDATE ${t.transactions} SET status = 'ACTC', message_type = $2, msg_id = $3, content_hash = $4, deadline_at = $5,
            group_key = $6, reason_code = $7, reason_text = $8, updated_at = $9, version = version + 1
          WHERE id = $1 AND status = 'ACCP' AND duplicate_of IS NULL RETURNING id),
        p AS (${insertPayments('t', 10, "'ACTC'")})
        INSERT INTO ${t.history} (transaction_id, seq, status, reason_code, at) SELECT t.id, ${nextSeq('t.id')}, 'ACTC', NULL, $9 FROM t`,
      putMessage: `INSERT INTO ${t.messages} (transaction_id, kind, message_type, xml, created_at) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (transaction_id, kind) DO UPDATE SET message_type = excluded.message_type, xml = excluded.xml, created_at = excluded.created_at`,
      getMessage: `SELECT kind, message_type, xml, created_at FROM ${t.messages} WHERE transaction_id = $1 AND kind = $2`,
      markReceived: `WITH u AS (
          UPDATE ${t.transactions} SET received_at = $2, updated_at = $2, version = version + 1 WHERE id = $1 AND received_at IS NULL RETURNING id)
        INSERT INTO ${t.history} (transaction_id, seq, status, reason_code, at) SELECT u.id, ${nextSeq('u.id')}, 'RCVD', NULL, $2 FROM u`,
      audit: `INSERT INTO ${t.audit} (transaction_id, kind, detail, at) VALUES ($1, $2, $3, $4)`,
      overdue: `SELECT id FROM ${t.transactions} WHERE deadline_at IS NOT NULL AND deadline_at <= $1 ORDER BY deadline_at, id LIMIT $2`,
      byMsgId: `SELECT id FROM ${t.transactions} WHERE msg_id = $1 AND ($2::text IS NULL OR client_id = $2)
        ORDER BY created_at DESC LIMIT 1`,
      byE2e: `SELECT p.transaction_id AS id FROM ${t.payments} p JOIN ${t.transactions} t ON t.id = p.transaction_id
        WHERE p.end_to_end_id = $1 AND ($2::text IS NULL OR t.msg_id = $2) ORDER BY t.created_at DESC LIMIT 1`,
      byUetr: `SELECT transaction_id AS id FROM ${t.payments} WHERE uetr = $1 LIMIT 1`,
      // Concurrent sweepers skip each other's rows; the outer condition is checked again on the locked row.
      sweepKeys: `DELETE FROM ${t.keys} b USING (
          SELECT client_id, kind, value FROM ${t.keys} WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) s
        WHERE b.client_id = s.client_id AND b.kind = s.kind AND b.value = s.value AND b.expires_at <= $1`,
    };
  }

  /** The repository bound to one store transaction. */
  tx(session: Session): TransactionsTx {
    const s = this.#sql;
    const one = <T>(text: string, values: unknown[]) =>
      session.run(async (client) => ((await client.query(text, values)).rows[0] as T | undefined) ?? null);
    const all = <T>(text: string, values: unknown[]) => session.run(async (client) => (await client.query(text, values)).rows as T[]);
    const count = (text: string, values: unknown[]) => session.run(async (client) => (await client.query(text, values)).rowCount ?? 0);
    const audit = (client: { query: (text: string, values: unknown[]) => Promise<unknown> }, id: string, kind: string, detail: Record<string, unknown>, at: number) =>
      client.query(s.audit, [id, kind, JSON.stringify(detail), at]);

    return {
      create: async (t: NewTransaction) => {
        await count(s.create, [
          t.id, t.clientId, t.status, t.messageType, t.msgId, t.contentHash, t.deadlineAt, t.groupKey, t.reasonCode ?? null, t.reasonText ?? null, t.at,
          ...paymentArrays(t.payments), t.status === 'ACCP' ? 'ACTC' : t.status,
        ]);
      },
      get: async (id) => {
        const raw = await one<RawTransaction>(s.get, [id]);
        return raw ? toRecord(raw) : null;
      },
      payments: async (id) =>
        (await all<RawPayment>(s.payments, [id])).map(
          (r): PaymentRecord => ({
            index: r.idx,
            endToEndId: r.end_to_end_id,
            txId: r.tx_id,
            uetr: r.uetr,
            instrId: r.instr_id,
            amount: r.amount,
            currency: r.currency,
            status: r.status,
            reasonCode: r.reason_code,
            reasonText: r.reason_text,
          }),
        ),
      history: async (id) =>
        (await all<{ status: HistoryStatus; reason_code: string | null; at: number }>(s.history, [id])).map(
          (r): HistoryEntry => ({ status: r.status, reasonCode: r.reason_code, at: r.at }),
        ),
      claimKeys: ({ clientId, keys, transactionId, contentHash, expiresAt, now }) =>
        session.run(async (client): Promise<KeyClaim> => {
          const unique = [...new Map(keys.map((k) => [`${k.kind}\u0000${k.value}`, k])).values()];
          if (unique.length === 0) return { ok: true };
          const kinds = unique.map((k) => k.kind);
          const values = unique.map((k) => k.value);
          await client.query('SAVEPOINT claim_keys');
          const claimed = await client.query<{ kind: string; value: string }>(s.claimKeys, [clientId, kinds, values, transactionId, contentHash, expiresAt, now]);
          if (claimed.rowCount === unique.length) {
            await client.query('RELEASE SAVEPOINT claim_keys');
            return { ok: true };
          }
          const owners = await client.query<{ kind: string; value: string; transaction_id: string; content_hash: string | null }>(s.keyOwners, [clientId, kinds, values]);
          const ownerOf = new Map(owners.rows.map((r) => [`${r.kind}\u0000${r.value}`, r]));
          const won = new Set(claimed.rows.map((r) => `${r.kind}\u0000${r.value}`));
          // The first key, in the caller's order, held live by another transaction.
          const conflict = unique
            .map((key) => ({ key, owner: ownerOf.get(`${key.kind}\u0000${key.value}`) }))
            .find(({ key, owner }) => !won.has(`${key.kind}\u0000${key.value}`) && owner !== undefined && owner.transaction_id !== transactionId);
          if (!conflict?.owner) {
            await client.query('RELEASE SAVEPOINT claim_keys');
            return { ok: true };
          }
          await client.query('ROLLBACK TO SAVEPOINT claim_keys');
          await client.query('RELEASE SAVEPOINT claim_keys');
          const key: BusinessKey = conflict.key;
          return { ok: false, key, transactionId: conflict.owner.transaction_id, contentHash: conflict.owner.content_hash };
        }),
      move: (id, change: StatusChange) =>
        session.run(async (client) => {
          const current = ((await client.query<RawTransaction>(s.lock, [id])).rows[0] as RawTransaction | undefined) ?? null;
          if (!current || current.status !== change.from || !canMove(change.from, change.to)) {
            await audit(client, id, 'refused_step', { from: change.from, to: change.to, actual: current?.status ?? null, reason: change.reasonCode ?? null }, change.at);
            return false;
          }
          const final = isTerminal(change.to);
          const deadline = final ? null : change.deadlineAt === undefined ? current.deadline_at : change.deadlineAt;
          const awaiting = final ? false : change.awaitingDownstream ?? current.awaiting_downstream;
          const reasonCode = change.reasonCode ?? null;
          const reasonText = change.reasonText ?? null;
          const applied = await client.query(s.move, [id, change.to, reasonCode, reasonText, deadline, awaiting, change.at, change.from]);
          if (applied.rowCount !== 1) return false;
          const payments = change.payments ?? [];
          if (payments.length > 0) {
            await client.query(s.movePayments, [
              id,
              payments.map((p) => p.index),
              payments.map((p) => p.status),
              payments.map((p) => p.reasonCode ?? null),
              payments.map((p) => p.reasonText ?? null),
            ]);
          }
          if (change.to !== 'PART') await client.query(s.movePaymentsAll, [id, change.to, reasonCode, reasonText]);
          return true;
        }),
      markForwarded: async (id, at) => (await count(s.markForwarded, [id, at])) === 1,
      markDuplicateOf: async (id, originalId, at) => {
        await count(s.markDuplicate, [id, originalId, at]);
      },
      submitReserved: async (t) =>
        (await count(s.submitReserved, [
          t.id, t.messageType, t.msgId, t.contentHash, t.deadlineAt, t.groupKey, t.reasonCode ?? null, t.reasonText ?? null, t.at,
          ...paymentArrays(t.payments),
        ])) === 1,
      putMessage: async (id, m: StoredMessage) => {
        await count(s.putMessage, [id, m.kind, m.messageType, m.xml, m.createdAt]);
      },
      getMessage: async (id, kind: MessageKind) => {
        const r = await one<{ kind: MessageKind; message_type: string; xml: string; created_at: number }>(s.getMessage, [id, kind]);
        return r ? { kind: r.kind, messageType: r.message_type, xml: r.xml, createdAt: r.created_at } : null;
      },
      markReceived: async (id, at) => (await count(s.markReceived, [id, at])) === 1,
      audit: async (id, kind, detail, at) => {
        await session.run((client) => audit(client, id, kind, detail, at));
      },
      list: (f: TransactionFilter) => session.run((client) => this.#list(client, f)),
      overdue: async (now, limit) => (await all<{ id: string }>(s.overdue, [now, limit])).map((r) => r.id),
      findOriginal: async (refs: OriginalRefs) => {
        if (refs.uetr) {
          const hit = await one<{ id: string }>(s.byUetr, [refs.uetr]);
          if (hit) return hit.id;
        }
        if (refs.endToEndId) {
          const hit = await one<{ id: string }>(s.byE2e, [refs.endToEndId, refs.msgId ?? null]);
          if (hit) return hit.id;
        }
        if (refs.msgId) return (await one<{ id: string }>(s.byMsgId, [refs.msgId, refs.clientId ?? null]))?.id ?? null;
        return null;
      },
      sweepKeys: (now, limit) => count(s.sweepKeys, [now, limit]),
    };
  }

  async #list(client: { query: (text: string, values: unknown[]) => Promise<{ rows: unknown[] }> }, f: TransactionFilter): Promise<{ items: TransactionRecord[]; nextCursor: string | null }> {
    const t = this.#t;
    const values: unknown[] = [f.clientId];
    const param = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    const where = ['t.client_id = $1'];
    if (f.status) where.push(`t.status = ${param(f.status)}`);
    if (f.since !== undefined) where.push(`t.created_at >= ${param(f.since)}`);
    if (f.until !== undefined) where.push(`t.created_at < ${param(f.until)}`);
    if (f.msgId) where.push(`t.msg_id = ${param(f.msgId)}`);
    if (f.endToEndId) where.push(`EXISTS (SELECT 1 FROM ${t.payments} p WHERE p.transaction_id = t.id AND p.end_to_end_id = ${param(f.endToEndId)})`);
    if (f.uetr) where.push(`EXISTS (SELECT 1 FROM ${t.payments} p WHERE p.transaction_id = t.id AND p.uetr = ${param(f.uetr)})`);
    if (f.cursor) {
      const c = decodeCursor(f.cursor);
      where.push(`(t.created_at, t.id) < (${param(c.createdAt)}::bigint, ${param(c.id)}::text COLLATE "C")`);
    }
    // Newest first; (created_at, id) is unique and indexed (ids in byte order), so pages never skip or repeat a row.
    const sql = `SELECT ${TRANSACTION_COLUMNS.replace(/(\w+)/g, 't.$1')} FROM ${t.transactions} t WHERE ${where.join(' AND ')}
      ORDER BY t.created_at DESC, t.id DESC LIMIT ${param(f.limit + 1)}`;
    const rows = ((await client.query(sql, values)).rows as RawTransaction[]).map(toRecord);
    const more = rows.length > f.limit;
    const items = more ? rows.slice(0, f.limit) : rows;
    const last = items.at(-1);
    return { items, nextCursor: more && last ? encodeCursor(last.createdAt, last.id) : null };
  }
}
