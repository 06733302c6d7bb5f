/**
 * The transactions repository on PostgreSQL (see ports/transactions.ts), with the semantics of the SQLite engine:
 *  - status steps are compare-and-set: the step is checked with the domain's `canMove`, then applied with its
 *    history row and its payments in one statement, `UPDATE ... WHERE status = $from` (which waits for the row
 *    lock and checks the committed row again); a refused step is recorded in the audit table, with the status
 *    read under lock, and changes nothing else;
 *  - business keys are claimed with one `INSERT ... ON CONFLICT`, which takes every key absent or expired and
 *    none held live; when it did not take them all and another transaction holds one of the rest, a second
 *    statement reads the holders and deletes the keys the first one took, so a claim takes all its keys or none
 *    (a taken key that was expired is deleted rather than restored: an expired key and an absent one mean the
 *    same to every reader). No savepoint, so a claim that wins costs one round trip and a losing one two. Keys are
 *    inserted in a fixed order so two claims of overlapping keys queue instead of deadlocking;
 *  - listing pages by (created_at, id), newest first, with the same opaque cursor as SQLite;
 *  - overdue payments are read through the partial index on deadline_at.
 */
import type pg from 'pg';
import { canMove, isTerminal, type HistoryStatus } from '../../domain/status.js';
import type {
  AnswerRefs,
  BusinessKey,
  HistoryEntry,
  KeyClaim,
  MessageKind,
  NewTransaction,
  StatusChange,
  StoredMessage,
  TransactionFilter,
  TransactionRecord,
  TransactionsTx,
} from '../../ports/transactions.js';
import { answerLookup, decodeCursor, encodeCursor, toPaymentRecord, toTransactionRecord, type PaymentRow, type TransactionRow } from '../rows.js';
import { cancellableStatements, findCancellable, type CancellableStatements } from './cancellable.js';
import type { PostgresDatabase, Statement } from './database.js';
import { query, type DeferredMessage, type HeldWriter, type Session } from './session.js';

const TRANSACTION_COLUMNS = `id, client_id, status, reason_code, reason_text, message_type, msg_id, content_hash, duplicate_of, deadline_at,
  group_key, awaiting_downstream, created_at, updated_at, received_at, forwarded_at, version`;

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

/**
 * Upserts the messages given as five parallel arrays from `$first` on (transaction ids, kinds, message types, XML,
 * creation times): the held messages of a unit (Session.deferMessage), alone or in the store's outbox statement.
 */
export function putMessagesSql(table: string, first: number): string {
  const p = (i: number) => `$${first + i}`;
  return `INSERT INTO ${table} (transaction_id, kind, message_type, xml, created_at)
    SELECT * FROM unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::bigint[])
    ON CONFLICT (transaction_id, kind) DO UPDATE SET message_type = excluded.message_type, xml = excluded.xml, created_at = excluded.created_at`;
}

/**
 * A new transaction as common table expressions `t` (its row), `p` (its payments) and `h` (its first history
 * row), with the 19 values of `createValues` from `$first` on: alone as the `create` statement, or in the store's
 * outbox statement with the unit's held writes (Session.deferCreate).
 */
export function createCtes(tables: { transactions: string; payments: string; history: string }, first: number): string {
  const p = (i: number) => `$${first + i}`;
  return `t AS (
      INSERT INTO ${tables.transactions} (id, client_id, status, message_type, msg_id, content_hash, deadline_at, group_key,
        reason_code, reason_text, created_at, updated_at, version)
      VALUES (${p(0)}, ${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, ${p(10)}, ${p(10)}, 1) RETURNING id),
    p AS (INSERT INTO ${tables.payments} (transaction_id, idx, end_to_end_id, tx_id, uetr, instr_id, amount, currency, status)
      SELECT t.id, r.idx, r.e2e, r.tx, r.uetr, r.instr, r.amount, r.currency, ${p(18)}
      FROM t CROSS JOIN unnest(${p(11)}::int[], ${p(12)}::text[], ${p(13)}::text[], ${p(14)}::text[], ${p(15)}::text[], ${p(16)}::text[],
        ${p(17)}::text[]) AS r(idx, e2e, tx, uetr, instr, amount, currency)),
    h AS (INSERT INTO ${tables.history} (transaction_id, seq, status, reason_code, at) SELECT t.id, 1, ${p(2)}, NULL, ${p(10)} FROM t)`;
}

/** The values of `createCtes`. */
export function createValues(t: NewTransaction): unknown[] {
  return [
    t.id, t.clientId, t.status, t.messageType, t.msgId, t.contentHash, t.deadlineAt, t.groupKey, t.reasonCode ?? null, t.reasonText ?? null, t.at,
    ...paymentArrays(t.payments), t.status === 'ACCP' ? 'ACTC' : t.status,
  ];
}

/** The values of `putMessagesSql`. */
export function messageArrays(rows: DeferredMessage[]): unknown[][] {
  return [rows.map((r) => r.transactionId), rows.map((r) => r.kind), rows.map((r) => r.messageType), rows.map((r) => r.xml), rows.map((r) => r.createdAt)];
}

export class PostgresTransactions {
  readonly #t: Record<'transactions' | 'payments' | 'history' | 'audit' | 'messages' | 'keys', string>;
  readonly #sql;
  readonly #cancellable: CancellableStatements;

  constructor(database: PostgresDatabase) {
    const t = (this.#t = {
      transactions: database.name('transactions'),
      payments: database.name('payments'),
      history: database.name('history'),
      audit: database.name('audit'),
      messages: database.name('transaction_messages'),
      keys: database.name('business_keys'),
    });
    const forwarded = `t.forwarded_at IS NOT NULL AND ($4::text IS NULL OR t.id = $4) AND ($2::text IS NULL OR t.msg_id = $2)
      AND ($3::text IS NULL OR left(t.message_type, 8) = $3)`;
    const waitingFirst = `t.status = 'ACSP' DESC, t.created_at DESC, t.id DESC`;
    const nextSeq = (id: string) => `(SELECT COALESCE(MAX(seq), 0) + 1 FROM ${t.history} WHERE transaction_id = ${id})`;
    // $p1..$p7: the payment arrays; the transaction id and the payments' status come from the statement.
    const insertPayments = (from: string, first: number, status: string) => `INSERT INTO ${t.payments}
        (transaction_id, idx, end_to_end_id, tx_id, uetr, instr_id, amount, currency, status)
      SELECT ${from}.id, p.idx, p.e2e, p.tx, p.uetr, p.instr, p.amount, p.currency, ${status}
      FROM ${from} CROSS JOIN unnest($${first}::int[], $${first + 1}::text[], $${first + 2}::text[], $${first + 3}::text[],
        $${first + 4}::text[], $${first + 5}::text[], $${first + 6}::text[]) AS p(idx, e2e, tx, uetr, instr, amount, currency)`;
    this.#cancellable = cancellableStatements(database);
    this.#sql = database.statements({
      create: `WITH ${createCtes(t, 1)} SELECT 1`,
      get: `SELECT ${TRANSACTION_COLUMNS} FROM ${t.transactions} WHERE id = $1`,
      lock: `SELECT ${TRANSACTION_COLUMNS} FROM ${t.transactions} WHERE id = $1 FOR UPDATE`,
      payments: `SELECT idx, end_to_end_id, tx_id, uetr, instr_id, amount, currency, status, reason_code, reason_text
        FROM ${t.payments} WHERE transaction_id = $1 ORDER BY idx`,
      history: `SELECT status, reason_code, at FROM ${t.history} WHERE transaction_id = $1 ORDER BY seq`,
      // The transaction, its payments (as JSON text: amounts stay strings) and one of its messages, in one round trip.
      load: `SELECT ${TRANSACTION_COLUMNS.replace(/(\w+)/g, 't.$1')},
          (SELECT json_agg(json_build_object('idx', p.idx, 'end_to_end_id', p.end_to_end_id, 'tx_id', p.tx_id, 'uetr', p.uetr,
              'instr_id', p.instr_id, 'amount', p.amount, 'currency', p.currency, 'status', p.status, 'reason_code', p.reason_code,
              'reason_text', p.reason_text) ORDER BY p.idx)::text
            FROM ${t.payments} p WHERE p.transaction_id = t.id) AS payments_json,
          m.message_type AS m_message_type, m.xml AS m_xml, m.created_at AS m_created_at
        FROM ${t.transactions} t LEFT JOIN ${t.messages} m ON m.transaction_id = t.id AND m.kind = $2
        WHERE t.id = $1`,
      claimKeys: `INSERT INTO ${t.keys} AS b (client_id, kind, value, transaction_id, content_hash, expires_at)
        SELECT $1, k.kind, k.value, $4, $5, $6 FROM unnest($2::text[], $3::text[]) AS k(kind, value) ORDER BY k.kind, k.value
        ON CONFLICT (client_id, kind, value) DO UPDATE SET transaction_id = excluded.transaction_id,
          content_hash = excluded.content_hash, expires_at = excluded.expires_at
        WHERE b.expires_at <= $7
        RETURNING kind, value`,
      // The holders of the keys of a claim that did not take them all ($2, $3), and, when another transaction
      // ($4) holds one of them, the deletion of the keys the claim took ($5, $6): all or none. The claim's own
      // rows are visible to this statement; a holder's row is committed (the claim waited for it).
      keyRelease: `WITH o AS (
          SELECT kind, value, transaction_id, content_hash FROM ${t.keys}
          WHERE client_id = $1 AND (kind, value) IN (SELECT * FROM unnest($2::text[], $3::text[]))),
        d AS (DELETE FROM ${t.keys} b USING unnest($5::text[], $6::text[]) AS w(kind, value)
          WHERE b.client_id = $1 AND b.kind = w.kind AND b.value = w.value AND b.transaction_id = $4
            AND EXISTS (SELECT 1 FROM o WHERE o.transaction_id <> $4))
        SELECT kind, value, transaction_id, content_hash FROM o`,
      // The step (compare-and-set on the status, $9), its history rows (the intermediate status $15 first, when
      // there is one) and the payments, in one round trip.
      // Payments listed in the step ($11..$14) take their own status; then, unless $10 is false, every payment
      // whose status (its own new one for a listed payment) is not final takes the step's, keeping its reasons
      // if it had some. A deadline is set only when $6 is true, the awaiting flag only when $7 is not null.
      move: `WITH u AS (
          UPDATE ${t.transactions} SET status = $2, reason_code = $3, reason_text = $4,
            deadline_at = CASE WHEN $6::boolean THEN $5::bigint ELSE deadline_at END,
            awaiting_downstream = COALESCE($7::boolean, awaiting_downstream),
            updated_at = $8, version = version + 1 WHERE id = $1 AND status = $9 RETURNING id),
        h AS (INSERT INTO ${t.history} (transaction_id, seq, status, reason_code, at)
          SELECT u.id, ${nextSeq('u.id')} + row_number() OVER (ORDER BY v.n) - 1, v.status, v.reason_code, $8
          FROM u CROSS JOIN (VALUES (1, $15::text, NULL::text), (2, $2::text, $3::text)) AS v(n, status, reason_code)
          WHERE v.status IS NOT NULL),
        x AS (
          SELECT q.idx, c.idx IS NOT NULL AS listed,
            CASE WHEN c.idx IS NULL THEN q.status ELSE c.status END AS status,
            CASE WHEN c.idx IS NULL THEN q.reason_code ELSE c.reason_code END AS reason_code,
            CASE WHEN c.idx IS NULL THEN q.reason_text ELSE c.reason_text END AS reason_text
          FROM ${t.payments} q
            LEFT JOIN unnest($11::int[], $12::text[], $13::text[], $14::text[]) AS c(idx, status, reason_code, reason_text) ON c.idx = q.idx
          WHERE q.transaction_id = (SELECT id FROM u)),
        y AS (SELECT x.*, $10::boolean AND x.status NOT IN ('RJCT', 'CANC', 'ACSC') AS step FROM x),
        p AS (UPDATE ${t.payments} AS p SET
            status = CASE WHEN y.step THEN $2 ELSE y.status END,
            reason_code = CASE WHEN y.step THEN COALESCE(y.reason_code, $3) ELSE y.reason_code END,
            reason_text = CASE WHEN y.step THEN COALESCE(y.reason_text, $4) ELSE y.reason_text END
          FROM y WHERE (y.listed OR y.step) AND p.transaction_id = $1 AND p.idx = y.idx)
        SELECT count(*)::int AS applied FROM u`,
      markForwarding: `UPDATE ${t.transactions} SET forwarded_at = COALESCE(forwarded_at, $2) WHERE id = $1 AND status = 'ACSP'`,
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
      putMessages: putMessagesSql(t.messages, 1),
      getMessage: `SELECT kind, message_type, xml, created_at FROM ${t.messages} WHERE transaction_id = $1 AND kind = $2`,
      markReceived: `WITH u AS (
          UPDATE ${t.transactions} SET received_at = $2, updated_at = $2, version = version + 1 WHERE id = $1 AND received_at IS NULL RETURNING id)
        INSERT INTO ${t.history} (transaction_id, seq, status, reason_code, at) SELECT u.id, ${nextSeq('u.id')}, 'RCVD', NULL, $2 FROM u`,
      audit: `INSERT INTO ${t.audit} (transaction_id, kind, detail, at) VALUES ($1, $2, $3, $4)`,
      overdue: `SELECT id FROM ${t.transactions} WHERE deadline_at IS NOT NULL AND deadline_at <= $1 ORDER BY deadline_at, id LIMIT $2`,
      stranded: `SELECT id, deadline_at FROM ${t.transactions} WHERE deadline_at IS NOT NULL AND status IN ('ACTC', 'ACSP') AND updated_at <= $1
        AND (deadline_at, id) > ($2, $3) ORDER BY deadline_at, id LIMIT $4`,
      // findForwarded ($1 the reference, $2 msg id, $3 family, $4 transaction id): transactions whose forwarding
      // started only, every given reference matching, one still waiting first.
      forwardedByUetr: `SELECT t.id FROM ${t.payments} p JOIN ${t.transactions} t ON t.id = p.transaction_id
        WHERE p.uetr = $1 AND ${forwarded} ORDER BY ${waitingFirst} LIMIT 1`,
      forwardedByE2e: `SELECT t.id FROM ${t.payments} p JOIN ${t.transactions} t ON t.id = p.transaction_id
        WHERE p.end_to_end_id = $1 AND ${forwarded} ORDER BY ${waitingFirst} LIMIT 1`,
      forwardedByMsgId: `SELECT t.id FROM ${t.transactions} t WHERE t.msg_id = $1 AND ${forwarded} ORDER BY ${waitingFirst} LIMIT 1`,
      // Reserved ids never used, oldest first: their history and audit rows go in the same statement (the only rows
      // a reservation has). A submission that took the row first wins: the condition is checked on the locked row.
      sweepReservations: `WITH s AS (
          SELECT id FROM ${t.transactions} WHERE status = 'ACCP' AND duplicate_of IS NULL AND created_at <= $1
          ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED),
        d AS (DELETE FROM ${t.transactions} x USING s WHERE x.id = s.id AND x.status = 'ACCP' AND x.duplicate_of IS NULL RETURNING x.id),
        h AS (DELETE FROM ${t.history} WHERE transaction_id IN (SELECT id FROM d)),
        a AS (DELETE FROM ${t.audit} WHERE transaction_id IN (SELECT id FROM d))
        SELECT count(*)::int AS n FROM d`,
      // Concurrent sweepers skip each other's rows; the outer condition is checked again on the locked row.
      sweepKeys: `DELETE FROM ${t.keys} b USING (
          SELECT client_id, kind, value FROM ${t.keys} WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED) s
        WHERE b.client_id = s.client_id AND b.kind = s.kind AND b.value = s.value AND b.expires_at <= $1`,
    });
  }

  /** Makes a unit's held writes (Session's HeldWriter): new transactions first, then messages. */
  readonly writeHeld: HeldWriter = async (client, held) => {
    for (const values of held.creates) await query(client, this.#sql.create, values);
    if (held.messages.length > 0) await query(client, this.#sql.putMessages, messageArrays(held.messages));
  };

  /** The tables a new transaction is written to (for `createCtes` in the store's outbox statement). */
  get tables(): { transactions: string; payments: string; history: string } {
    return this.#t;
  }

  /** The repository bound to one store transaction. */
  tx(session: Session): TransactionsTx {
    const s = this.#sql;
    const one = <T>(statement: Statement, values: unknown[]) =>
      session.run(async (client) => ((await query(client, statement, values)).rows[0] as T | undefined) ?? null);
    const all = <T>(statement: Statement, values: unknown[]) => session.run(async (client) => (await query(client, statement, values)).rows as T[]);
    const count = (statement: Statement, values: unknown[]) => session.run(async (client) => (await query(client, statement, values)).rowCount ?? 0);
    const audit = (client: pg.ClientBase, id: string, kind: string, detail: Record<string, unknown>, at: number) =>
      query(client, s.audit, [id, kind, JSON.stringify(detail), at]);

    return {
      create: async (t: NewTransaction) => {
        const values = createValues(t);
        if (session.deferCreate(values)) return;
        await count(s.create, values);
      },
      get: async (id) => {
        const raw = await one<TransactionRow>(s.get, [id]);
        return raw ? toTransactionRecord(raw) : null;
      },
      payments: async (id) => (await all<PaymentRow>(s.payments, [id])).map(toPaymentRecord),
      load: async (id, kind) => {
        const raw = await one<TransactionRow & { payments_json: string | null; m_message_type: string | null; m_xml: string | null; m_created_at: number | null }>(s.load, [id, kind]);
        if (!raw) return null;
        const payments = raw.payments_json === null ? [] : (JSON.parse(raw.payments_json) as PaymentRow[]).map(toPaymentRecord);
        const message = raw.m_xml === null ? null : { kind, messageType: raw.m_message_type ?? '', xml: raw.m_xml, createdAt: raw.m_created_at ?? 0 };
        return { transaction: toTransactionRecord(raw), payments, message };
      },
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
          const claimed = await query<{ kind: string; value: string }>(client, s.claimKeys, [clientId, kinds, values, transactionId, contentHash, expiresAt, now]);
          if (claimed.rowCount === unique.length) return { ok: true };
          const won = claimed.rows.map((r) => [r.kind, r.value] as const);
          const owners = await query<{ kind: string; value: string; transaction_id: string; content_hash: string | null }>(client, s.keyRelease, [
            clientId, kinds, values, transactionId, won.map(([kind]) => kind), won.map(([, value]) => value),
          ]);
          const ownerOf = new Map(owners.rows.map((r) => [`${r.kind}\u0000${r.value}`, r]));
          const wonKeys = new Set(won.map(([kind, value]) => `${kind}\u0000${value}`));
          // The first key, in the caller's order, held live by another transaction (the statement above deleted
          // the keys this claim took exactly when there is one).
          const conflict = unique
            .map((key) => ({ key, owner: ownerOf.get(`${key.kind}\u0000${key.value}`) }))
            .find(({ key, owner }) => !wonKeys.has(`${key.kind}\u0000${key.value}`) && owner !== undefined && owner.transaction_id !== transactionId);
          if (!conflict?.owner) return { ok: true };
          const key: BusinessKey = conflict.key;
          return { ok: false, key, transactionId: conflict.owner.transaction_id, contentHash: conflict.owner.content_hash };
        }),
      move: (id, change: StatusChange) =>
        session.run(async (client) => {
          const refuse = async () => {
            // Read under lock, so that the audit names the status that refused the step.
            const current = ((await query<TransactionRow>(client, s.lock, [id])).rows[0] as TransactionRow | undefined) ?? null;
            await audit(client, id, 'refused_step', { from: change.from, to: change.to, actual: current?.status ?? null, reason: change.reasonCode ?? null }, change.at);
            return false;
          };
          if (change.via === undefined ? !canMove(change.from, change.to) : !canMove(change.from, change.via) || !canMove(change.via, change.to)) return refuse();
          const final = isTerminal(change.to);
          const payments = change.payments ?? [];
          const applied = await query<{ applied: number }>(client, s.move, [
            id,
            change.to,
            change.reasonCode ?? null,
            change.reasonText ?? null,
            final ? null : change.deadlineAt ?? null,
            final || change.deadlineAt !== undefined,
            final ? false : change.awaitingDownstream ?? null,
            change.at,
            change.from,
            change.to !== 'PART',
            payments.map((p) => p.index),
            payments.map((p) => p.status),
            payments.map((p) => p.reasonCode ?? null),
            payments.map((p) => p.reasonText ?? null),
            change.via ?? null,
          ]);
          // Not in `from` (or absent): the compare-and-set changed nothing, and the refusal is recorded.
          if (applied.rows[0]?.applied !== 1) return refuse();
          return true;
        }),
      markForwarding: async (id, at) => (await count(s.markForwarding, [id, at])) === 1,
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
        if (session.deferMessage({ transactionId: id, kind: m.kind, messageType: m.messageType, xml: m.xml, createdAt: m.createdAt })) return;
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
      stranded: async ({ quietSince, after, limit }) =>
        (await all<{ id: string; deadline_at: number }>(s.stranded, [quietSince, after?.deadlineAt ?? -1, after?.id ?? '', limit])).map((r) => ({ id: r.id, deadlineAt: r.deadline_at })),
      findForwarded: async (refs: AnswerRefs) => {
        const { uetr, endToEndId, msgId, family, transactionId } = answerLookup(refs);
        const [statement, value] = uetr !== null ? [s.forwardedByUetr, uetr] : endToEndId !== null ? [s.forwardedByE2e, endToEndId] : [s.forwardedByMsgId, msgId];
        if (value === null) return null;
        return (await one<{ id: string }>(statement, [value, msgId, family, transactionId]))?.id ?? null;
      },
      findCancellable: (refs, limit) => findCancellable(session, this.#cancellable, refs, limit),
      sweepKeys: (now, limit) => count(s.sweepKeys, [now, limit]),
      sweepReservations: async (before, limit) => (await one<{ n: number }>(s.sweepReservations, [before, limit]))?.n ?? 0,
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
    const rows = ((await client.query(sql, values)).rows as TransactionRow[]).map(toTransactionRecord);
    const more = rows.length > f.limit;
    const items = more ? rows.slice(0, f.limit) : rows;
    const last = items.at(-1);
    return { items, nextCursor: more && last ? encodeCursor(last.createdAt, last.id) : null };
  }
}
