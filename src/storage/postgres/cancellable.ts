/**
 * The lookup of a cancellation request (camt.056) on PostgreSQL: the client's payments that its references name
 * (see ports/transactions.ts, CancellationRefs), with the semantics of the SQLite engine. Three statements, one per
 * reference the lookup goes by, each through its index (payments_uetr, payments_e2e, transactions_msg); every other
 * reference given filters the rows found.
 */
import type { PaymentStatus, TransactionStatus } from '../../domain/status.js';
import type { CancellablePayment, CancellationRefs } from '../../ports/transactions.js';
import type { PostgresDatabase, Statement } from './database.js';
import { query, type Session } from './session.js';

interface Row {
  transaction_id: string;
  idx: number;
  transaction_status: TransactionStatus;
  payment_status: PaymentStatus;
}

export type CancellableStatements = Record<'byUetr' | 'byE2e' | 'byMsgId', Statement>;

/** $1 client, $2 families, $3 MsgId, $4 EndToEndId, $5 TxId, $6 InstrId, $7 UETR, $8 limit. */
export function cancellableStatements(database: PostgresDatabase): CancellableStatements {
  const payments = database.name('payments');
  const transactions = database.name('transactions');
  const select = 'SELECT t.id AS transaction_id, p.idx, t.status AS transaction_status, p.status AS payment_status';
  const given = `t.client_id = $1 AND left(t.message_type, 8) = ANY($2::text[])
    AND ($3::text IS NULL OR t.msg_id = $3) AND ($4::text IS NULL OR p.end_to_end_id = $4)
    AND ($5::text IS NULL OR p.tx_id = $5) AND ($6::text IS NULL OR p.instr_id = $6) AND ($7::text IS NULL OR p.uetr = $7)`;
  const order = 'ORDER BY t.created_at DESC, t.id DESC, p.idx LIMIT $8';
  return database.statements({
    byUetr: `${select} FROM ${payments} p JOIN ${transactions} t ON t.id = p.transaction_id WHERE p.uetr = $7 AND ${given} ${order}`,
    byE2e: `${select} FROM ${payments} p JOIN ${transactions} t ON t.id = p.transaction_id WHERE p.end_to_end_id = $4 AND ${given} ${order}`,
    byMsgId: `${select} FROM ${transactions} t JOIN ${payments} p ON p.transaction_id = t.id WHERE t.msg_id = $3 AND ${given} ${order}`,
  });
}

export async function findCancellable(session: Session, s: CancellableStatements, refs: CancellationRefs, limit: number): Promise<CancellablePayment[]> {
  const statement = refs.uetr !== undefined ? s.byUetr : refs.endToEndId !== undefined ? s.byE2e : refs.msgId !== undefined ? s.byMsgId : null;
  if (statement === null || refs.families.length === 0) return [];
  const values = [refs.clientId, refs.families, refs.msgId ?? null, refs.endToEndId ?? null, refs.txId ?? null, refs.instrId ?? null, refs.uetr ?? null, limit];
  const rows = await session.run(async (client) => (await query<Row>(client, statement, values)).rows);
  return rows.map((r) => ({ transactionId: r.transaction_id, index: r.idx, transactionStatus: r.transaction_status, paymentStatus: r.payment_status }));
}
