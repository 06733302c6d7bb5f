/**
 * Transactions as the store keeps them: one transaction per submitted message, one payment per transaction of
 * that message, the history of applied statuses, an audit trail of everything else (refused steps, duplicates,
 * stage failures), the messages in and out, and the business keys that make duplicates impossible.
 *
 * All methods run inside a store transaction (`tx.transactions`), so every change commits together with the
 * queue messages that announce it.
 */
import type { HistoryStatus, PaymentStatus, TransactionStatus } from '../domain/status.js';

export interface PaymentRecord {
  index: number;
  endToEndId: string | null;
  txId: string | null;
  uetr: string | null;
  instrId: string | null;
  /** Decimal string as in the message, never a number. */
  amount: string | null;
  currency: string | null;
  status: PaymentStatus;
  reasonCode: string | null;
  reasonText: string | null;
}

export interface TransactionRecord {
  id: string;
  clientId: string;
  status: TransactionStatus;
  reasonCode: string | null;
  reasonText: string | null;
  /** Full message id, e.g. pacs.008.001.08; null until a message is submitted. */
  messageType: string | null;
  msgId: string | null;
  contentHash: string | null;
  /** Set when this id was reserved and then used for an exact duplicate: the transaction it stands for. */
  duplicateOf: string | null;
  /** Epoch ms by which a final status is due; null once final (or before submission). */
  deadlineAt: number | null;
  /** The FIFO group the stages use for this transaction (sender + debtor account). */
  groupKey: string | null;
  /** Whether the payment waits for a downstream answer (after forwarding); false once final. */
  awaitingDownstream: boolean;
  createdAt: number;
  updatedAt: number;
  /** First successful fetch of the outgoing message (RCVD), or null. */
  receivedAt: number | null;
  /** When the forwarding downstream started (markForwarding), or null: the payment never left the hub. */
  forwardedAt: number | null;
  version: number;
}

export interface HistoryEntry {
  status: HistoryStatus;
  reasonCode: string | null;
  at: number;
}

export type MessageKind = 'in' | 'out' | 'downstream';

/** A transaction in flight, and its place in the order of `stranded`. */
export interface StrandedPosition {
  id: string;
  deadlineAt: number;
}

export interface StoredMessage {
  kind: MessageKind;
  messageType: string;
  xml: string;
  createdAt: number;
}

export interface NewTransaction {
  id: string;
  clientId: string;
  status: 'ACCP' | 'ACTC';
  messageType: string | null;
  msgId: string | null;
  contentHash: string | null;
  deadlineAt: number | null;
  groupKey: string | null;
  payments: Omit<PaymentRecord, 'status' | 'reasonCode' | 'reasonText'>[];
  /** A rejection already decided at intake (a conflicting duplicate): processing applies it. */
  reasonCode?: string | null;
  reasonText?: string | null;
  at: number;
}

export interface BusinessKey {
  kind: 'msg_id' | 'end_to_end_id' | 'tx_id' | 'uetr' | 'idempotency';
  value: string;
}

export type KeyClaim =
  | { ok: true }
  | { ok: false; key: BusinessKey; transactionId: string; contentHash: string | null };

export interface StatusChange {
  /** The step applies only from this status (compare-and-set); otherwise it is refused and recorded. */
  from: TransactionStatus;
  to: TransactionStatus;
  /**
   * Two steps at once, `from -> via -> to` (each an allowed step): the history records `via` (without a reason)
   * and then `to`; the transaction and its payments land on `to` as a step from `via` would leave them.
   */
  via?: TransactionStatus;
  reasonCode?: string | null;
  reasonText?: string | null;
  /** New per-payment statuses, by payment index; payments not listed keep theirs. */
  payments?: Array<{ index: number; status: PaymentStatus; reasonCode?: string | null; reasonText?: string | null }>;
  deadlineAt?: number | null;
  awaitingDownstream?: boolean;
  at: number;
}

export interface TransactionFilter {
  clientId: string;
  status?: TransactionStatus;
  since?: number;
  until?: number;
  msgId?: string;
  endToEndId?: string;
  uetr?: string;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  limit: number;
}

/** What a downstream answer (pacs.002) says of the message it answers; a reference given must match. */
export interface AnswerRefs {
  /** The forwarded transaction's id, when the answer names it (the X-Transaction-Id the request carried, echoed). */
  transactionId?: string;
  /** OrgnlMsgId: the forwarded message's MsgId. */
  msgId?: string;
  /** OrgnlMsgNmId: its message type; compared by family (e.g. pacs.008), whatever the version. */
  messageType?: string;
  endToEndId?: string;
  uetr?: string;
}

/**
 * What a cancellation request (camt.056) says of the payment it would cancel: the client's own payments only, in
 * messages of the given families, every reference given matching. The lookup goes by the UETR, else the
 * EndToEndId, else the MsgId: a request with none of them names no payment.
 */
export interface CancellationRefs {
  clientId: string;
  /** Families of the messages a cancellation may name (e.g. pacs.008), whatever the version. */
  families: readonly string[];
  msgId?: string;
  endToEndId?: string;
  txId?: string;
  instrId?: string;
  uetr?: string;
}

/** A payment a cancellation request names, with the statuses it has now. */
export interface CancellablePayment {
  transactionId: string;
  index: number;
  transactionStatus: TransactionStatus;
  paymentStatus: PaymentStatus;
}

export interface TransactionsTx {
  /** Inserts a transaction with its payments and first history entry. Throws on an id that exists. */
  create(input: NewTransaction): Promise<void>;
  get(id: string): Promise<TransactionRecord | null>;
  payments(id: string): Promise<PaymentRecord[]>;
  /**
   * The transaction with its payments and its message of `kind` (null when it has none), as `get`, `payments` and
   * `getMessage` would give them, read at once (one round trip where the engine is remote); null when absent.
   */
  load(id: string, kind: MessageKind): Promise<{ transaction: TransactionRecord; payments: PaymentRecord[]; message: StoredMessage | null } | null>;
  history(id: string): Promise<HistoryEntry[]>;
  /**
   * Claims business keys for a transaction, all or none, atomically (unique constraint, not check-then-insert).
   * On a conflict nothing is claimed and the first conflicting key's owner is returned.
   */
  claimKeys(input: { clientId: string; keys: BusinessKey[]; transactionId: string; contentHash: string | null; expiresAt: number; now: number }): Promise<KeyClaim>;
  /**
   * Applies a status step when the transaction is in `change.from` and the step is allowed; returns false and
   * records the refused step (never applies it) otherwise.
   */
  move(id: string, change: StatusChange): Promise<boolean>;
  /**
   * Records, before the request goes out, that the forwarding of an ACSP payment started (the first time only):
   * from then on a downstream answer may name it. Returns false if not ACSP.
   */
  markForwarding(id: string, at: number): Promise<boolean>;
  /** Records that an ACSP payment was forwarded and waits for the downstream answer. Returns false if not ACSP. */
  markForwarded(id: string, at: number): Promise<boolean>;
  /** Points a reserved (ACCP) id at the transaction it duplicates. */
  markDuplicateOf(id: string, originalId: string, at: number): Promise<void>;
  /** Fills a reserved (ACCP) transaction with its message and moves it to ACTC. Returns false if not ACCP. */
  submitReserved(input: Omit<NewTransaction, 'status' | 'clientId'>): Promise<boolean>;
  putMessage(id: string, message: StoredMessage): Promise<void>;
  getMessage(id: string, kind: MessageKind): Promise<StoredMessage | null>;
  /** Adds RCVD to the history on the first call; returns whether it was the first. */
  markReceived(id: string, at: number): Promise<boolean>;
  /** Records an event in the audit trail (refused steps, duplicates, stage failures, ...). */
  audit(id: string, kind: string, detail: Record<string, unknown>, at: number): Promise<void>;
  list(filter: TransactionFilter): Promise<{ items: TransactionRecord[]; nextCursor: string | null }>;
  /** Transactions whose deadline passed and that are not final yet, oldest deadline first. */
  overdue(now: number, limit: number): Promise<string[]>;
  /**
   * Transactions in flight (ACTC, ACSP) that have not changed since `quietSince`, by deadline then id, after the
   * position `after` (the last of the previous page), at most `limit`: the candidates of a recovery.
   */
  stranded(input: { quietSince: number; after: StrandedPosition | null; limit: number }): Promise<StrandedPosition[]>;
  /**
   * Finds the forwarded transaction a downstream answer refers to: only transactions whose forwarding started
   * (markForwarding: a fast system may answer before the forwarding stage has its HTTP response), whose given
   * references all match (by UETR, else by EndToEndId, else by MsgId alone, and the transaction id when given); one
   * still waiting (ACSP) before one already final, then the newest.
   */
  findForwarded(refs: AnswerRefs): Promise<string | null>;
  /** The payments a cancellation request names (CancellationRefs), newest first, at most `limit`. */
  findCancellable(refs: CancellationRefs, limit: number): Promise<CancellablePayment[]>;
  /** Removes business keys past their retention, at most `limit`. */
  sweepKeys(now: number, limit: number): Promise<number>;
  /**
   * Removes reserved ids (ACCP, no message, not pointing at a duplicate) created at or before `before`, oldest
   * first, at most `limit`; returns how many. A submission to a removed id is NOT_FOUND.
   */
  sweepReservations(before: number, limit: number): Promise<number>;
}
