/**
 * Rows of the transaction tables as both store engines read them, mapped onto the records of the transactions
 * port, and the listing cursor both engines hand out. Each engine keeps its own SQL; only the shapes are shared.
 */
import type { PaymentStatus, TransactionStatus } from '../domain/status.js';
import { MxError } from '../errors.js';
import type { AnswerRefs, PaymentRecord, TransactionRecord } from '../ports/transactions.js';

export interface TransactionRow {
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
  /** A boolean on PostgreSQL, 0 or 1 on SQLite. */
  awaiting_downstream: boolean | number;
  created_at: number;
  updated_at: number;
  received_at: number | null;
  forwarded_at: number | null;
  version: number;
}

export interface PaymentRow {
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

export function toTransactionRecord(r: TransactionRow): TransactionRecord {
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
    awaitingDownstream: r.awaiting_downstream === true || r.awaiting_downstream === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    receivedAt: r.received_at,
    forwardedAt: r.forwarded_at ?? null,
    version: r.version,
  };
}

export function toPaymentRecord(r: PaymentRow): PaymentRecord {
  return {
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
  };
}

/** The parameters of both engines' `findForwarded` lookups; null for a reference the answer does not give. */
export interface AnswerLookup {
  /** The transaction the answer names itself (X-Transaction-Id of the forwarded request, echoed). */
  transactionId: string | null;
  msgId: string | null;
  /** The message family (`pacs.008`) of OrgnlMsgNmId, compared with the first 8 characters of message_type. */
  family: string | null;
  endToEndId: string | null;
  uetr: string | null;
}

/** A message type's family, `pacs.008` of `pacs.008.001.08`; null for anything else. */
const FAMILY = /^([a-z]{4}\.\d{3})(\.|$)/;

export function answerLookup(refs: AnswerRefs): AnswerLookup {
  return {
    transactionId: refs.transactionId ?? null,
    msgId: refs.msgId ?? null,
    family: FAMILY.exec(refs.messageType ?? '')?.[1] ?? null,
    // NOTPROVIDED is the value of every payment without an EndToEndId: it identifies none of them.
    endToEndId: refs.endToEndId !== undefined && refs.endToEndId !== 'NOTPROVIDED' ? refs.endToEndId : null,
    uetr: refs.uetr ?? null,
  };
}

export function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(`${createdAt}:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString();
  const match = /^(\d{1,16}):([\w-]{1,64})$/.exec(text);
  if (!match) throw new MxError('INVALID_ATTRIBUTE', 'cursor is not one this API gave out');
  return { createdAt: Number(match[1]), id: match[2]! };
}
