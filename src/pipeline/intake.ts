/**
 * The incoming stage, run inside the request that submits a message: parse it safely, claim its business keys,
 * store the raw message, set ACTC and hand it to the processing queue, all in one transaction. Only then does the
 * API answer 202, so an acknowledged message is never lost.
 *
 * Duplicates (business keys per sender: MsgId; per payment EndToEndId, TxId, UETR):
 *   - exact duplicate (same keys, same content): nothing new is created; the answer is the original transaction
 *     (a reserved id used for it is pointed at the original);
 *   - same keys, different content: a transaction is created and rejected by processing with AM05, with a report;
 *   - concurrent submissions of one message: the store's unique keys let exactly one of them through.
 */
import { MxError, isMxError } from '../errors.js';
import type { TransactionStatus } from '../domain/status.js';
import type { Tx } from '../ports/store.js';
import type { NewTransaction } from '../ports/transactions.js';
import type { WorkflowContext } from './context.js';
import { stageQueue, type StageMessage } from './queues.js';
import { headerMatches, type Submission } from './submission.js';
import { applyAnswer } from './stages.js';

export interface SubmitInput {
  clientId: string;
  /** A reserved (ACCP) transaction id, or undefined to have one assigned. */
  transactionId?: string | undefined;
  body: Uint8Array | string;
  messageType?: string | undefined;
  idempotencyKey?: string | undefined;
}

export interface SubmitResult {
  transactionId: string;
  status: TransactionStatus;
  /** True when the message was an exact duplicate (or a repeated idempotency key): nothing new was created. */
  duplicate: boolean;
  /** For a downstream answer (pacs.002): whether it decided the payment it answers (false: late or interim). */
  answer?: { applied: boolean };
}

const IDEMPOTENCY_NS = 'idempotency';
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function checkTransactionId(id: string): string {
  if (!UUID.test(id)) throw new MxError('INVALID_ATTRIBUTE', 'a transaction id is a lower-case UUID');
  return id;
}

export class Intake {
  constructor(private readonly ctx: WorkflowContext) {}

  /** POST /v1/transactions: a new transaction id in status ACCP, unique by construction and by the store. */
  async reserve(clientId: string): Promise<{ transactionId: string; status: 'ACCP' }> {
    const { store, clock, ids } = this.ctx.deps;
    const id = ids.uuid();
    await store.transaction(async (tx) => {
      const now = clock.now();
      await tx.transactions.create({ id, clientId, status: 'ACCP', messageType: null, msgId: null, contentHash: null, deadlineAt: null, groupKey: null, payments: [], at: now });
    });
    return { transactionId: id, status: 'ACCP' };
  }

  async submit(input: SubmitInput): Promise<SubmitResult> {
    if (input.transactionId !== undefined) checkTransactionId(input.transactionId);
    const submission = await this.ctx.read(input.clientId, input.body);
    if (input.messageType !== undefined && input.messageType !== '' && !headerMatches(input.messageType, submission.messageType)) {
      throw new MxError('BAD_REQUEST', `X-Message-Type says ${input.messageType} but the message is ${submission.messageType}`);
    }
    const xml = submission.xml;
    if (submission.role === 'answer') {
      const answer = await applyAnswer(this.ctx, { clientId: input.clientId, submission, xml, ...(input.transactionId !== undefined ? { transactionId: input.transactionId } : {}) });
      return { transactionId: answer.transactionId, status: answer.status as TransactionStatus, duplicate: false, answer: { applied: answer.applied } };
    }
    try {
      this.ctx.admission.check();
    } catch (error) {
      // An exact resend of a message already taken is answered with its transaction even while new work is
      // refused: it adds none, and a client retrying after a lost answer must learn that its payment went in.
      const original = isMxError(error) && error.code === 'OVERLOADED' && input.transactionId === undefined ? await this.#exactResend(input.clientId, submission) : null;
      if (original === null) throw error;
      return original;
    }
    const { store, clock, ids } = this.ctx.deps;
    const slaMs = (submission.deadlineAt === null ? await this.ctx.deps.clientSlaMs?.(input.clientId) : null) ?? this.ctx.deps.config.slaMs;
    const result = await store.transaction(async (tx) => {
      const now = clock.now();
      if (input.idempotencyKey !== undefined) {
        const earlier = await this.#idempotent(tx, input.clientId, input.idempotencyKey, submission.contentHash);
        if (earlier) return earlier;
      }
      const id = input.transactionId ?? ids.uuid();
      if (input.transactionId !== undefined) await this.#requireReserved(tx, input.clientId, id);
      const outcome = await this.#claim(tx, input.clientId, id, submission, now);
      if (outcome.kind === 'duplicate') {
        if (input.transactionId !== undefined) await tx.transactions.markDuplicateOf(id, outcome.original, now);
        await tx.transactions.audit(outcome.original, 'duplicate_submission', { client_id: input.clientId, reserved_id: input.transactionId ?? null }, now);
        const original = await tx.transactions.get(outcome.original);
        return { transactionId: outcome.original, status: original?.status ?? 'ACTC', duplicate: true } satisfies SubmitResult;
      }
      const record: NewTransaction = {
        id,
        clientId: input.clientId,
        status: 'ACTC',
        messageType: submission.messageType,
        msgId: submission.msgId,
        contentHash: submission.contentHash,
        deadlineAt: submission.deadlineAt ?? now + slaMs,
        groupKey: groupKey(input.clientId, submission, this.ctx.deps.config.fifoGroup, id),
        payments: submission.payments.map((p) => ({
          index: p.index, endToEndId: p.endToEndId, txId: p.txId, uetr: p.uetr, instrId: p.instrId, amount: p.amount, currency: p.currency,
        })),
        reasonCode: outcome.kind === 'conflict' ? 'AM05' : null,
        reasonText: outcome.kind === 'conflict' ? outcome.text : null,
        at: now,
      };
      if (input.transactionId !== undefined) {
        // The read of #requireReserved locked nothing: the reservation may have expired, or another submission
        // taken it, since. The step is a compare-and-set; a miss undoes everything this transaction did.
        if (!(await tx.transactions.submitReserved(record))) {
          throw new MxError('TRANSACTION_STATE', `transaction ${id} is no longer a reservation waiting for its message (taken or expired); ask for a new id`);
        }
      }
      else await tx.transactions.create(record);
      if (outcome.kind === 'conflict') await tx.transactions.audit(id, 'duplicate_conflict', { original: outcome.original, key: outcome.text }, now);
      await tx.transactions.putMessage(id, { kind: 'in', messageType: submission.messageType, xml, createdAt: now });
      const message: StageMessage = {
        transaction_id: id,
        hint: {
          client_id: input.clientId,
          group_key: record.groupKey!,
          message_type: submission.messageType,
          ...(record.deadlineAt !== null ? { deadline_at: record.deadlineAt } : {}),
          ...(record.reasonCode ? { reason_code: record.reasonCode, reason_text: record.reasonText ?? '' } : {}),
        },
      };
      await tx.queues.send(stageQueue('processing'), { body: this.ctx.stageBody(message, xml), groupId: record.groupKey!, dedupId: `${id}:processing`, dedupScope: 'retry' });
      if (input.idempotencyKey !== undefined) {
        await tx.kv.insert(IDEMPOTENCY_NS, `${input.clientId}:${input.idempotencyKey}`, JSON.stringify({ id, hash: submission.contentHash }), { ttlMs: IDEMPOTENCY_TTL_MS });
      }
      // Remembered now, not after the commit: on the embedded engine the processing stage may receive the message
      // as soon as the commit is done, before it is durable and before after-commit effects run. An entry of a
      // transaction that rolls back is never asked for and leaves with the oldest.
      this.ctx.remember(id, submission, xml);
      return { transactionId: id, status: 'ACTC', duplicate: false } satisfies SubmitResult;
    });
    return result;
  }

  async #idempotent(tx: Tx, clientId: string, key: string, hash: string): Promise<SubmitResult | null> {
    if (key.length === 0 || key.length > 255) throw new MxError('INVALID_ATTRIBUTE', 'Idempotency-Key is 1-255 characters');
    const record = await tx.kv.get(IDEMPOTENCY_NS, `${clientId}:${key}`);
    if (!record) return null;
    const earlier = JSON.parse(record.value) as { id: string; hash: string };
    if (earlier.hash !== hash) {
      throw new MxError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different message');
    }
    const t = await tx.transactions.get(earlier.id);
    return { transactionId: earlier.id, status: t?.status ?? 'ACTC', duplicate: true };
  }

  /**
   * The client's transaction of this very message (same MsgId, same canonical content), read without writing; null
   * when there is none. A conflicting resend (same MsgId, other content) is not one: it must go through intake.
   */
  async #exactResend(clientId: string, submission: Submission): Promise<SubmitResult | null> {
    if (submission.msgId === null) return null;
    const msgId = submission.msgId;
    const page = await this.ctx.deps.store.read((tx) => tx.transactions.list({ clientId, msgId, limit: 10 }));
    const original = page.items.find((t) => t.contentHash === submission.contentHash && t.duplicateOf === null && t.status !== 'ACCP');
    return original ? { transactionId: original.id, status: original.status, duplicate: true } : null;
  }

  async #requireReserved(tx: Tx, clientId: string, id: string): Promise<void> {
    const t = await tx.transactions.get(id);
    if (!t || t.clientId !== clientId) throw new MxError('NOT_FOUND', `no transaction ${id}`);
    if (t.status !== 'ACCP' || t.duplicateOf !== null) {
      throw new MxError('TRANSACTION_STATE', `transaction ${id} has a message already (status ${t.status}); ask for a new id`);
    }
  }

  async #claim(
    tx: Tx,
    clientId: string,
    id: string,
    submission: Submission,
    now: number,
  ): Promise<{ kind: 'new' } | { kind: 'duplicate'; original: string } | { kind: 'conflict'; original: string; text: string }> {
    if (submission.keys.length === 0) return { kind: 'new' };
    const claim = await tx.transactions.claimKeys({
      clientId,
      keys: submission.keys,
      transactionId: id,
      contentHash: submission.contentHash,
      expiresAt: now + this.ctx.deps.config.keyRetentionDays * 86_400_000,
      now,
    });
    if (claim.ok) return { kind: 'new' };
    if (claim.contentHash === submission.contentHash) return { kind: 'duplicate', original: claim.transactionId };
    const what = claim.key.kind === 'msg_id' ? `MsgId ${claim.key.value}` : `${claim.key.kind} ${claim.key.value.split('|').slice(1).join('|')}`;
    return { kind: 'conflict', original: claim.transactionId, text: `duplicate: ${what} was used by transaction ${claim.transactionId} with other content` };
  }
}

/**
 * The FIFO group of a transaction's stage messages (`workflow.fifoGroup`): messages of one group go through the
 * stages in the order they came, different groups in parallel. 'debtor': sending participant + debtor account (a
 * message whose payments have several debtors, a pain.001 with several payment information blocks, goes as a whole
 * under its first one); 'sender': one order per client; 'message': every message on its own.
 */
export function groupKey(clientId: string, submission: Submission, mode: 'debtor' | 'sender' | 'message', transactionId: string): string {
  const value =
    mode === 'message' ? transactionId : mode === 'sender' ? '' : (submission.payments[0]?.debtorAccount ?? submission.msgId ?? 'none');
  return `${clientId}:${value}`.slice(0, 128).replace(/[^\x21-\x7e]/g, '_');
}
