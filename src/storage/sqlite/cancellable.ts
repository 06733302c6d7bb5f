/**
 * The lookup of a cancellation request (camt.056) on SQLite: the client's payments that its references name (see
 * ports/transactions.ts, CancellationRefs). Three statements, one per reference the lookup goes by, each through
 * its index (payments_uetr, payments_e2e, transactions_msg); every other reference given filters the rows found.
 */
import type { PaymentStatus, TransactionStatus } from '../../domain/status.js';
import type { CancellablePayment, CancellationRefs } from '../../ports/transactions.js';
import type { SqliteDatabase } from './database.js';

interface Row {
  transaction_id: string;
  idx: number;
  transaction_status: TransactionStatus;
  payment_status: PaymentStatus;
}

export type FindCancellable = (refs: CancellationRefs, limit: number) => Promise<CancellablePayment[]>;

export function sqliteFindCancellable(database: SqliteDatabase): FindCancellable {
  const select = `SELECT t.id AS transaction_id, p.idx, t.status AS transaction_status, p.status AS payment_status`;
  const named = `t.client_id = @clientId AND substr(t.message_type, 1, 8) IN (SELECT value FROM json_each(@families))
    AND (@msgId IS NULL OR t.msg_id = @msgId) AND (@endToEndId IS NULL OR p.end_to_end_id = @endToEndId)
    AND (@txId IS NULL OR p.tx_id = @txId) AND (@instrId IS NULL OR p.instr_id = @instrId) AND (@uetr IS NULL OR p.uetr = @uetr)`;
  const order = 'ORDER BY t.created_at DESC, t.id DESC, p.idx LIMIT @limit';
  const byUetr = database.prepare(`${select} FROM payments p JOIN transactions t ON t.id = p.transaction_id WHERE p.uetr = @uetr AND ${named} ${order}`);
  const byE2e = database.prepare(`${select} FROM payments p JOIN transactions t ON t.id = p.transaction_id
    WHERE p.end_to_end_id = @endToEndId AND ${named} ${order}`);
  const byMsgId = database.prepare(`${select} FROM transactions t JOIN payments p ON p.transaction_id = t.id WHERE t.msg_id = @msgId AND ${named} ${order}`);
  return async (refs, limit) => {
    const params = {
      clientId: refs.clientId,
      families: JSON.stringify(refs.families),
      msgId: refs.msgId ?? null,
      endToEndId: refs.endToEndId ?? null,
      txId: refs.txId ?? null,
      instrId: refs.instrId ?? null,
      uetr: refs.uetr ?? null,
      limit,
    };
    const statement = params.uetr !== null ? byUetr : params.endToEndId !== null ? byE2e : params.msgId !== null ? byMsgId : null;
    if (statement === null || refs.families.length === 0) return [];
    return (statement.all(params) as Row[]).map((r) => ({
      transactionId: r.transaction_id,
      index: r.idx,
      transactionStatus: r.transaction_status,
      paymentStatus: r.payment_status,
    }));
  };
}
