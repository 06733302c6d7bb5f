/**
 * The payment status machine. Statuses only move forward, one step at a time along these edges:
 *
 *   ACCP ──► ACTC ──► ACSP ──► ACSC
 *     │        │        ├────► RJCT
 *     │        ├──► RJCT└────► CANC
 *     └────────┴──► CANC
 *
 * ACCP: a transaction id was issued, no message yet.     ACTC: the message is stored and technically accepted.
 * ACSP: every check passed; settlement is in process.    ACSC: completed, status report released.
 * RJCT: rejected with a reason code and a status report. CANC: cancelled by a recovery (pipeline/recovery.ts).
 * PART is the group status of a message whose payments ended differently (some ACSC, some RJCT).
 * RCVD is not a status: the first fetch of the outgoing message adds it to the history only.
 */
export const TRANSACTION_STATUSES = ['ACCP', 'ACTC', 'ACSP', 'ACSC', 'RJCT', 'CANC', 'PART'] as const;
export type TransactionStatus = (typeof TRANSACTION_STATUSES)[number];
export type PaymentStatus = Exclude<TransactionStatus, 'ACCP' | 'PART'>;
export type HistoryStatus = TransactionStatus | 'RCVD';

const NEXT: Readonly<Record<TransactionStatus, readonly TransactionStatus[]>> = {
  ACCP: ['ACTC', 'CANC'],
  ACTC: ['ACSP', 'RJCT', 'CANC'],
  ACSP: ['ACSC', 'RJCT', 'CANC', 'PART'],
  ACSC: [],
  RJCT: [],
  CANC: [],
  PART: [],
};

export function isTransactionStatus(value: string): value is TransactionStatus {
  return (TRANSACTION_STATUSES as readonly string[]).includes(value);
}

export function isTerminal(status: TransactionStatus): boolean {
  return NEXT[status].length === 0;
}

/** Whether `from -> to` is one of the allowed forward steps. */
export function canMove(from: TransactionStatus, to: TransactionStatus): boolean {
  return NEXT[from].includes(to);
}

/**
 * The group status of a message from the statuses of its payments once all are final:
 * the common status when all agree, PART otherwise.
 */
export function groupStatus(payments: readonly PaymentStatus[]): TransactionStatus {
  if (payments.length === 0) return 'RJCT';
  const first = payments[0]!;
  return payments.every((p) => p === first) ? first : 'PART';
}
