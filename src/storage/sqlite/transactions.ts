/**
 * The transactions repository on SQLite (see ports/transactions.ts). Runs inside group-commit units.
 */
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
import type { Migration, SqliteDatabase } from './database.js';
import { sqliteFindCancellable, type FindCancellable } from './cancellable.js';
import { answerLookup, decodeCursor, encodeCursor, toPaymentRecord, toTransactionRecord, type PaymentRow, type TransactionRow } from '../rows.js';

export const WORKFLOW_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'transactions, payments, history, audit, messages and business keys',
    sql: `
      CREATE TABLE transactions (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        status TEXT NOT NULL,
        reason_code TEXT,
        reason_text TEXT,
        message_type TEXT,
        msg_id TEXT,
        content_hash TEXT,
        duplicate_of TEXT,
        deadline_at INTEGER,
        group_key TEXT,
        awaiting_downstream INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        received_at INTEGER,
        version INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX transactions_client ON transactions (client_id, created_at, id);
      CREATE INDEX transactions_deadline ON transactions (deadline_at) WHERE deadline_at IS NOT NULL;
      CREATE INDEX transactions_msg ON transactions (msg_id) WHERE msg_id IS NOT NULL;

      CREATE TABLE payments (
        transaction_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        end_to_end_id TEXT,
        tx_id TEXT,
        uetr TEXT,
        instr_id TEXT,
        amount TEXT,
        currency TEXT,
        status TEXT NOT NULL,
        reason_code TEXT,
        reason_text TEXT,
        PRIMARY KEY (transaction_id, idx)
      ) WITHOUT ROWID;
      CREATE INDEX payments_e2e ON payments (end_to_end_id) WHERE end_to_end_id IS NOT NULL;
      CREATE INDEX payments_uetr ON payments (uetr) WHERE uetr IS NOT NULL;

      CREATE TABLE history (
        transaction_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        status TEXT NOT NULL,
        reason_code TEXT,
        at INTEGER NOT NULL,
        PRIMARY KEY (transaction_id, seq)
      ) WITHOUT ROWID;

      CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        transaction_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX audit_transaction ON audit (transaction_id, id);

      CREATE TABLE transaction_messages (
        transaction_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        message_type TEXT NOT NULL,
        xml TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (transaction_id, kind)
      ) WITHOUT ROWID;

      CREATE TABLE business_keys (
        client_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        transaction_id TEXT NOT NULL,
        content_hash TEXT,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (client_id, kind, value)
      ) WITHOUT ROWID;
      CREATE INDEX business_keys_expiry ON business_keys (expires_at);
    `,
  },
  {
    // A message of a few kilobytes in a WITHOUT ROWID table (an index b-tree, which keeps at most about a quarter of
    // a page of a row in its leaf) spilled into an overflow page of its own: most of a page written, and flushed
    // to the WAL, per stored message. In a rowid table the XML sits in the leaf, rows of consecutive transactions
    // share pages, and the key is a small index entry.
    version: 2,
    description: 'stored messages in a rowid table, inline in its leaves',
    sql: `
      CREATE TABLE transaction_messages_v2 (
        transaction_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        message_type TEXT NOT NULL,
        xml TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      INSERT INTO transaction_messages_v2 (transaction_id, kind, message_type, xml, created_at)
        SELECT transaction_id, kind, message_type, xml, created_at FROM transaction_messages ORDER BY transaction_id, kind;
      DROP TABLE transaction_messages;
      ALTER TABLE transaction_messages_v2 RENAME TO transaction_messages;
      CREATE UNIQUE INDEX transaction_messages_key ON transaction_messages (transaction_id, kind);
    `,
  },
  {
    version: 3,
    description: 'an index of reserved ids (ACCP) by age, for their expiry',
    sql: `CREATE INDEX transactions_reserved ON transactions (created_at) WHERE status = 'ACCP' AND duplicate_of IS NULL;`,
  },
  {
    version: 4,
    description: 'when the forwarding of a payment downstream started, committed before its request',
    sql: `ALTER TABLE transactions ADD COLUMN forwarded_at INTEGER;`,
  },
];

/** Most keys claimed in one statement; a message with more (a batch of many payments) claims them one by one. */
const CLAIM_ROWS_MAX = 16;

export class SqliteTransactions {
  readonly #s;
  readonly #database: SqliteDatabase;
  readonly #findCancellable: FindCancellable;
  /** Listing statements by their SQL: a handful of filter combinations, each prepared once. */
  readonly #listStatements = new Map<string, ReturnType<SqliteDatabase['prepare']>>();
  /** Key claims of 1..CLAIM_ROWS_MAX keys, by number of keys. */
  readonly #claimStatements = new Map<number, ReturnType<SqliteDatabase['prepare']>>();

  constructor(database: SqliteDatabase) {
    this.#database = database;
    database.migrate('workflow', WORKFLOW_MIGRATIONS);
    this.#findCancellable = sqliteFindCancellable(database);
    const p = (sql: string) => database.prepare(sql);
    const forwarded = `t.forwarded_at IS NOT NULL AND (@transactionId IS NULL OR t.id = @transactionId) AND (@msgId IS NULL OR t.msg_id = @msgId)
      AND (@family IS NULL OR substr(t.message_type, 1, 8) = @family)`;
    const waitingFirst = `t.status = 'ACSP' DESC, t.created_at DESC, t.id DESC`;
    this.#s = {
      insert: p(`INSERT INTO transactions (id, client_id, status, message_type, msg_id, content_hash, deadline_at, group_key,
        reason_code, reason_text, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`),
      insertPayment: p(`INSERT INTO payments (transaction_id, idx, end_to_end_id, tx_id, uetr, instr_id, amount, currency, status)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertHistory: p(`INSERT INTO history (transaction_id, seq, status, reason_code, at)
        VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM history WHERE transaction_id = ?), ?, ?, ?)`),
      get: p('SELECT * FROM transactions WHERE id = ?'),
      payments: p('SELECT * FROM payments WHERE transaction_id = ? ORDER BY idx'),
      history: p('SELECT status, reason_code, at FROM history WHERE transaction_id = ? ORDER BY seq'),
      claimKey: p(`INSERT INTO business_keys (client_id, kind, value, transaction_id, content_hash, expires_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (client_id, kind, value) DO UPDATE SET transaction_id = excluded.transaction_id,
          content_hash = excluded.content_hash, expires_at = excluded.expires_at
        WHERE business_keys.expires_at <= ?`),
      keyOwner: p('SELECT transaction_id, content_hash FROM business_keys WHERE client_id = ? AND kind = ? AND value = ?'),
      // The compare-and-set alone, without reading the row first: a column the step leaves as it is keeps its value.
      move: p(`UPDATE transactions SET status = @to, reason_code = @reasonCode, reason_text = @reasonText,
        deadline_at = CASE WHEN @setDeadline THEN @deadline ELSE deadline_at END,
        awaiting_downstream = CASE WHEN @setAwaiting THEN @awaiting ELSE awaiting_downstream END,
        updated_at = @at, version = version + 1 WHERE id = @id AND status = @from`),
      movePayment: p('UPDATE payments SET status = ?, reason_code = ?, reason_text = ? WHERE transaction_id = ? AND idx = ?'),
      movePaymentsAll: p(`UPDATE payments SET status = ?, reason_code = COALESCE(reason_code, ?), reason_text = COALESCE(reason_text, ?)
        WHERE transaction_id = ? AND status NOT IN ('RJCT', 'CANC', 'ACSC')`),
      markForwarding: p(`UPDATE transactions SET forwarded_at = COALESCE(forwarded_at, @at) WHERE id = @id AND status = 'ACSP'`),
      markForwarded: p(`UPDATE transactions SET awaiting_downstream = 1, updated_at = ?, version = version + 1
        WHERE id = ? AND status = 'ACSP'`),
      markDuplicate: p(`UPDATE transactions SET duplicate_of = ?, updated_at = ?, version = version + 1 WHERE id = ? AND status = 'ACCP'`),
      submitReserved: p(`UPDATE transactions SET status = 'ACTC', message_type = ?, msg_id = ?, content_hash = ?, deadline_at = ?,
        group_key = ?, reason_code = ?, reason_text = ?, updated_at = ?, version = version + 1
        WHERE id = ? AND status = 'ACCP' AND duplicate_of IS NULL`),
      putMessage: p(`INSERT INTO transaction_messages (transaction_id, kind, message_type, xml, created_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (transaction_id, kind) DO UPDATE SET message_type = excluded.message_type, xml = excluded.xml, created_at = excluded.created_at`),
      getMessage: p('SELECT kind, message_type, xml, created_at FROM transaction_messages WHERE transaction_id = ? AND kind = ?'),
      markReceived: p('UPDATE transactions SET received_at = ?, updated_at = ?, version = version + 1 WHERE id = ? AND received_at IS NULL'),
      audit: p('INSERT INTO audit (transaction_id, kind, detail, at) VALUES (?, ?, ?, ?)'),
      overdue: p('SELECT id FROM transactions WHERE deadline_at IS NOT NULL AND deadline_at <= ? ORDER BY deadline_at LIMIT ?').pluck(),
      stranded: p(`SELECT id, deadline_at FROM transactions WHERE deadline_at IS NOT NULL AND status IN ('ACTC', 'ACSP') AND updated_at <= @quiet
        AND (deadline_at > @deadline OR (deadline_at = @deadline AND id > @id)) ORDER BY deadline_at, id LIMIT @limit`),
      // findForwarded: forwarded transactions only, every given reference matching, one still waiting first.
      forwardedByUetr: p(`SELECT t.id FROM payments p JOIN transactions t ON t.id = p.transaction_id
        WHERE p.uetr = @uetr AND ${forwarded} ORDER BY ${waitingFirst} LIMIT 1`).pluck(),
      forwardedByE2e: p(`SELECT t.id FROM payments p JOIN transactions t ON t.id = p.transaction_id
        WHERE p.end_to_end_id = @endToEndId AND ${forwarded} ORDER BY ${waitingFirst} LIMIT 1`).pluck(),
      forwardedByMsgId: p(`SELECT t.id FROM transactions t WHERE t.msg_id = @msgId AND ${forwarded} ORDER BY ${waitingFirst} LIMIT 1`).pluck(),
      reservedBefore: p(`SELECT id FROM transactions WHERE status = 'ACCP' AND duplicate_of IS NULL AND created_at <= ?
        ORDER BY created_at LIMIT ?`).pluck(),
      deleteReservedHistory: p('DELETE FROM history WHERE transaction_id = ?'),
      deleteReservedAudit: p('DELETE FROM audit WHERE transaction_id = ?'),
      deleteReserved: p(`DELETE FROM transactions WHERE id = ? AND status = 'ACCP' AND duplicate_of IS NULL`),
      releaseKey: p('DELETE FROM business_keys WHERE client_id = ? AND kind = ? AND value = ? AND transaction_id = ?'),
      sweepKeys: p(`DELETE FROM business_keys WHERE (client_id, kind, value) IN
        (SELECT client_id, kind, value FROM business_keys WHERE expires_at <= ? LIMIT ?)`),
    };
  }

  /** The repository bound to the current unit. */
  tx(): TransactionsTx {
    const s = this.#s;
    const history = (id: string, status: HistoryStatus, reason: string | null, at: number) => s.insertHistory.run(id, id, status, reason, at);
    const repository: TransactionsTx = {
      create: async (t: NewTransaction) => {
        s.insert.run(t.id, t.clientId, t.status, t.messageType, t.msgId, t.contentHash, t.deadlineAt, t.groupKey, t.reasonCode ?? null, t.reasonText ?? null, t.at, t.at);
        for (const p of t.payments) {
          s.insertPayment.run(t.id, p.index, p.endToEndId, p.txId, p.uetr, p.instrId, p.amount, p.currency, t.status === 'ACCP' ? 'ACTC' : t.status);
        }
        history(t.id, t.status, null, t.at);
      },
      get: async (id) => {
        const raw = s.get.get(id) as TransactionRow | undefined;
        return raw ? toTransactionRecord(raw) : null;
      },
      // Local reads cost no round trip: the three reads one after another.
      load: async (id, kind) => {
        const transaction = await repository.get(id);
        if (!transaction) return null;
        return { transaction, payments: await repository.payments(id), message: await repository.getMessage(id, kind) };
      },
      payments: async (id) =>
        (s.payments.all(id) as PaymentRow[]).map(toPaymentRecord),
      history: async (id) =>
        (s.history.all(id) as Array<{ status: HistoryStatus; reason_code: string | null; at: number }>).map(
          (r): HistoryEntry => ({ status: r.status, reasonCode: r.reason_code, at: r.at }),
        ),
      claimKeys: async ({ clientId, keys, transactionId, contentHash, expiresAt, now }) => {
        if (keys.length > 0 && keys.length <= CLAIM_ROWS_MAX) {
          // The usual case, every key free: one statement. It names the keys it claimed; a key it could not claim
          // is held (by this transaction already, or by another: then the call claims nothing).
          const values = keys.flatMap((k) => [clientId, k.kind, k.value, transactionId, contentHash, expiresAt]);
          const claimed = this.#claimMany(keys.length).all(...values, now) as Array<{ kind: string; value: string }>;
          if (claimed.length === keys.length) return { ok: true } satisfies KeyClaim;
          const claimedNow = new Set(claimed.map((c) => `${c.kind}\u0000${c.value}`));
          for (const key of keys) {
            if (claimedNow.has(`${key.kind}\u0000${key.value}`)) continue;
            const owner = s.keyOwner.get(clientId, key.kind, key.value) as { transaction_id: string; content_hash: string | null };
            if (owner.transaction_id === transactionId) continue;
            for (const done of keys.filter((k) => claimedNow.has(`${k.kind}\u0000${k.value}`))) this.#releaseKey(clientId, done, transactionId);
            return { ok: false, key, transactionId: owner.transaction_id, contentHash: owner.content_hash } satisfies KeyClaim;
          }
          return { ok: true } satisfies KeyClaim;
        }
        // All or none: on the first conflict, undo the keys claimed so far in this call.
        const claimed: BusinessKey[] = [];
        for (const key of keys) {
          if (s.claimKey.run(clientId, key.kind, key.value, transactionId, contentHash, expiresAt, now).changes === 1) {
            claimed.push(key);
            continue;
          }
          const owner = s.keyOwner.get(clientId, key.kind, key.value) as { transaction_id: string; content_hash: string | null };
          if (owner.transaction_id === transactionId) continue;
          for (const done of claimed) this.#releaseKey(clientId, done, transactionId);
          return { ok: false, key, transactionId: owner.transaction_id, contentHash: owner.content_hash } satisfies KeyClaim;
        }
        return { ok: true } satisfies KeyClaim;
      },
      move: async (id, change: StatusChange) => {
        const refuse = () => {
          const current = s.get.get(id) as TransactionRow | undefined;
          s.audit.run(id, 'refused_step', JSON.stringify({ from: change.from, to: change.to, actual: current?.status ?? null, reason: change.reasonCode ?? null }), change.at);
          return false;
        };
        if (change.via === undefined ? !canMove(change.from, change.to) : !canMove(change.from, change.via) || !canMove(change.via, change.to)) return refuse();
        const final = isTerminal(change.to);
        const applied = s.move.run({
          to: change.to,
          reasonCode: change.reasonCode ?? null,
          reasonText: change.reasonText ?? null,
          setDeadline: final || change.deadlineAt !== undefined ? 1 : 0,
          deadline: final ? null : (change.deadlineAt ?? null),
          setAwaiting: final || change.awaitingDownstream !== undefined ? 1 : 0,
          awaiting: !final && change.awaitingDownstream ? 1 : 0,
          at: change.at,
          id,
          from: change.from,
        }).changes === 1;
        // Not in `from` (or gone): the row is read only now, for the audit of the refused step.
        if (!applied) return refuse();
        for (const p of change.payments ?? []) {
          s.movePayment.run(p.status, p.reasonCode ?? null, p.reasonText ?? null, id, p.index);
        }
        if (change.to !== 'PART') s.movePaymentsAll.run(change.to, change.reasonCode ?? null, change.reasonText ?? null, id);
        if (change.via !== undefined) history(id, change.via, null, change.at);
        history(id, change.to, change.reasonCode ?? null, change.at);
        return true;
      },
      markForwarding: async (id, at) => s.markForwarding.run({ id, at }).changes === 1,
      markForwarded: async (id, at) => s.markForwarded.run(at, id).changes === 1,
      markDuplicateOf: async (id, originalId, at) => {
        s.markDuplicate.run(originalId, at, id);
      },
      submitReserved: async (t) => {
        const ok = s.submitReserved.run(t.messageType, t.msgId, t.contentHash, t.deadlineAt, t.groupKey, t.reasonCode ?? null, t.reasonText ?? null, t.at, t.id).changes === 1;
        if (!ok) return false;
        for (const p of t.payments) s.insertPayment.run(t.id, p.index, p.endToEndId, p.txId, p.uetr, p.instrId, p.amount, p.currency, 'ACTC');
        history(t.id, 'ACTC', null, t.at);
        return true;
      },
      putMessage: async (id, m: StoredMessage) => {
        s.putMessage.run(id, m.kind, m.messageType, m.xml, m.createdAt);
      },
      getMessage: async (id, kind: MessageKind) => {
        const r = s.getMessage.get(id, kind) as { kind: MessageKind; message_type: string; xml: string; created_at: number } | undefined;
        return r ? { kind: r.kind, messageType: r.message_type, xml: r.xml, createdAt: r.created_at } : null;
      },
      markReceived: async (id, at) => {
        const first = s.markReceived.run(at, at, id).changes === 1;
        if (first) history(id, 'RCVD', null, at);
        return first;
      },
      audit: async (id, kind, detail, at) => {
        s.audit.run(id, kind, JSON.stringify(detail), at);
      },
      list: async (f: TransactionFilter) => this.#list(f),
      overdue: async (now, limit) => s.overdue.all(now, limit) as string[],
      stranded: async ({ quietSince, after, limit }) =>
        (s.stranded.all({ quiet: quietSince, deadline: after?.deadlineAt ?? -1, id: after?.id ?? '', limit }) as Array<{ id: string; deadline_at: number }>).map((r) => ({ id: r.id, deadlineAt: r.deadline_at })),
      findForwarded: async (refs: AnswerRefs) => {
        const lookup = answerLookup(refs);
        const statement = lookup.uetr !== null ? s.forwardedByUetr : lookup.endToEndId !== null ? s.forwardedByE2e : lookup.msgId !== null ? s.forwardedByMsgId : null;
        return (statement?.get(lookup) as string | undefined) ?? null;
      },
      findCancellable: this.#findCancellable,
      sweepKeys: async (now, limit) => s.sweepKeys.run(now, limit).changes,
      sweepReservations: async (before, limit) => {
        let removed = 0;
        for (const id of s.reservedBefore.all(before, limit) as string[]) {
          s.deleteReservedHistory.run(id);
          s.deleteReservedAudit.run(id);
          removed += s.deleteReserved.run(id).changes;
        }
        return removed;
      },
    };
    return repository;
  }

  /** The claim of `n` keys in one statement (prepared once per n); RETURNING names the keys it claimed. */
  #claimMany(n: number): ReturnType<SqliteDatabase['prepare']> {
    let statement = this.#claimStatements.get(n);
    if (!statement) {
      statement = this.#database.prepare(`INSERT INTO business_keys (client_id, kind, value, transaction_id, content_hash, expires_at)
        VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?)').join(', ')}
        ON CONFLICT (client_id, kind, value) DO UPDATE SET transaction_id = excluded.transaction_id,
          content_hash = excluded.content_hash, expires_at = excluded.expires_at
        WHERE business_keys.expires_at <= ?
        RETURNING kind, value`);
      this.#claimStatements.set(n, statement);
    }
    return statement;
  }

  #releaseKey(clientId: string, key: BusinessKey, transactionId: string): void {
    this.#s.releaseKey.run(clientId, key.kind, key.value, transactionId);
  }

  #list(f: TransactionFilter): { items: TransactionRecord[]; nextCursor: string | null } {
    const where = ['t.client_id = @clientId'];
    const params: Record<string, unknown> = { clientId: f.clientId, limit: f.limit + 1 };
    const add = (clause: string, name: string, value: unknown) => {
      where.push(clause);
      params[name] = value;
    };
    if (f.status) add('t.status = @status', 'status', f.status);
    if (f.since !== undefined) add('t.created_at >= @since', 'since', f.since);
    if (f.until !== undefined) add('t.created_at < @until', 'until', f.until);
    if (f.msgId) add('t.msg_id = @msgId', 'msgId', f.msgId);
    if (f.endToEndId) add('EXISTS (SELECT 1 FROM payments p WHERE p.transaction_id = t.id AND p.end_to_end_id = @e2e)', 'e2e', f.endToEndId);
    if (f.uetr) add('EXISTS (SELECT 1 FROM payments p WHERE p.transaction_id = t.id AND p.uetr = @uetr)', 'uetr', f.uetr);
    if (f.cursor) {
      const c = decodeCursor(f.cursor);
      where.push('(t.created_at < @cAt OR (t.created_at = @cAt AND t.id < @cId))');
      params.cAt = c.createdAt;
      params.cId = c.id;
    }
    // Newest first; (created_at, id) is unique and indexed, so pages never skip or repeat a row.
    const sql = `SELECT t.* FROM transactions t WHERE ${where.join(' AND ')} ORDER BY t.created_at DESC, t.id DESC LIMIT @limit`;
    let stmt = this.#listStatements.get(sql);
    if (!stmt) this.#listStatements.set(sql, (stmt = this.#database.prepare(sql)));
    const rows = (stmt.all(params) as TransactionRow[]).map(toTransactionRecord);
    const more = rows.length > f.limit;
    const items = more ? rows.slice(0, f.limit) : rows;
    const last = items.at(-1);
    return { items, nextCursor: more && last ? encodeCursor(last.createdAt, last.id) : null };
  }
}

