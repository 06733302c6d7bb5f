/**
 * The processing and releasing stages. Each handler is idempotent: it reads the transaction first and acks
 * without doing anything when the transaction is already past the stage (a redelivered message is a no-op).
 *
 *   processing: ACTC -> parse, XSD, built-in rules, profile, intake verdicts (duplicates), checks
 *               -> all rejected: RJCT + report (finalize)      -> otherwise: ACSP (+ rejected payments) -> releasing
 *   forwarding: ACSP -> the downstream system (when configured): its answer goes to releasing (sync), or the
 *               payment waits for the answer to be posted back (async)
 *   releasing:  ACSP -> ACSC (or the decision a downstream system gave) + report (finalize)
 *
 * Releasing in the processing transaction (`workflow.releaseInline`, the default): when nothing stands between
 * processing and releasing (no downstream system), the processing stage's transaction takes both steps, ACTC ->
 * ACSP -> ACSC with the report (one status step through ACSP, StatusChange.via), instead of sending a releasing
 * message that the next transaction would take. The history records both steps; what is saved is a queue
 * message, its receive and delete, and a transaction. Order is kept the stronger way: a group's payments are
 * released in the order processing took them. A releasing message still in the queue when it was turned on (or
 * one sent by the forwarding stage) is handled by the releasing stage as before.
 */
import { MxError } from '../errors.js';
import type { PaymentStatus } from '../domain/status.js';
import { errorsOf, type Finding } from '../iso20022/index.js';
import type { ReceivedMessage } from '../ports/queues.js';
import type { TransactionOptions, Tx } from '../ports/store.js';
import type { PaymentRecord, TransactionRecord } from '../ports/transactions.js';
import { runChecks, type CheckRejection } from './checks.js';
import type { WorkflowContext } from './context.js';
import { finalize, prepareFinal } from './finalize.js';
import { ack, settled, type Outcome as StageOutcome } from './runner.js';
import { parseStageMessage, settleIn, stageQueue, type StageMessage } from './queues.js';
import { outcomeOf, type Outcome, type PaymentOutcome } from './report.js';
import type { Submission } from './submission.js';
import { decisionFromReport, forward, readAnswer, type Decision } from './downstream.js';
import { TIMEOUT } from './timeouts.js';
import { builtinAndProfileFindings } from './xml-work.js';
import { resolveCancellation } from './cancellation.js';
import { applyResolution, forwardCancellation } from './cancellation-forwarding.js';
import { answerStatusRequest } from './status-request.js';

interface Rejection {
  index: number | null;
  code: string;
  text: string;
  /** From the schema layer: the original cannot be quoted beyond its ids. */
  schema?: boolean;
}


/**
 * The state change of processing and releasing need not wait until it is durable: nothing outside the store
 * hears of it but through later transactions (the next stage, a client's receive or fetch), which become durable
 * after it, and a crash that undoes it undoes the delete of its stage message too, so the stage runs again.
 * Forwarding waits: it has told the downstream system before its transaction.
 */
const STAGE_TRANSACTION: TransactionOptions = { untilDurable: false };


async function load(ctx: WorkflowContext, id: string): Promise<{ t: TransactionRecord; payments: PaymentRecord[]; xml: string } | null> {
  return ctx.deps.store.read(async (tx) => {
    const loaded = await tx.transactions.load(id, 'in');
    if (!loaded?.message) return null;
    return { t: loaded.transaction, payments: loaded.payments, xml: loaded.message.xml };
  });
}

type StageView = Pick<TransactionRecord, 'id' | 'clientId' | 'groupKey' | 'messageType' | 'reasonCode' | 'reasonText' | 'deadlineAt'>;

/**
 * What a stage needs of its transaction. When this process parsed the message at intake and the stage message
 * carries the earlier stage's hint, nothing is read from the store (the status is then assumed to be `expected`,
 * which the compare-and-set of the state change checks); otherwise the transaction is read and must be in
 * `expected`, or the stage has nothing to do (null).
 */
async function stageView(
  ctx: WorkflowContext,
  body: StageMessage,
  expected: 'ACTC' | 'ACSP',
): Promise<{ t: StageView; payments: PaymentRecord[]; xml: string; submission: Submission } | null> {
  const hint = body.hint;
  const cached = ctx.cached(body.transaction_id, hint ? body.xml : undefined);
  if (cached && hint) {
    const rejected = new Map((hint.rejected ?? []).map((r) => [r.index, r]));
    const payments = cached.submission.payments.map((p): PaymentRecord => {
      const r = rejected.get(p.index);
      return {
        index: p.index, endToEndId: p.endToEndId, txId: p.txId, uetr: p.uetr, instrId: p.instrId, amount: p.amount, currency: p.currency,
        status: r ? 'RJCT' : expected,
        reasonCode: r?.reason_code ?? null,
        reasonText: r?.reason_text ?? null,
      };
    });
    const t: StageView = {
      id: body.transaction_id,
      clientId: hint.client_id,
      groupKey: hint.group_key,
      messageType: hint.message_type,
      reasonCode: hint.reason_code ?? null,
      reasonText: hint.reason_text ?? null,
      deadlineAt: hint.deadline_at ?? null,
    };
    return { t, payments, xml: cached.xml, submission: cached.submission };
  }
  const loaded = await load(ctx, body.transaction_id);
  if (!loaded || loaded.t.status !== expected) return null;
  return { ...loaded, submission: ctx.submissionOf(loaded.t.id, loaded.xml) };
}

function hintOf(t: StageView, rejected?: PaymentOutcome[]): NonNullable<StageMessage['hint']> {
  return {
    client_id: t.clientId,
    group_key: t.groupKey ?? t.id,
    message_type: t.messageType ?? '',
    ...(t.deadlineAt !== null ? { deadline_at: t.deadlineAt } : {}),
    ...(rejected && rejected.length > 0 ? { rejected: rejected.map((r) => ({ index: r.index, reason_code: r.reasonCode, reason_text: r.reasonText })) } : {}),
  };
}

/** Maps a finding to the payment it is about: CdtTrfTxInf[n] / TxInf[n] / Undrlyg...; null for the whole message. */
function findingIndex(finding: Finding, submission: Submission): number | null {
  if (finding.layer === 'xsd') return null;
  if (submission.family === 'pain.001') {
    const m = /PmtInf\[(\d+)\]\/CdtTrfTxInf\[(\d+)\]/.exec(finding.path);
    if (!m || submission.model.family !== 'pain.001') return null;
    const infos = submission.model.paymentInfos;
    let index = 0;
    for (let i = 0; i < Number(m[1]) - 1; i++) index += infos[i]?.transactions.length ?? 0;
    return index + Number(m[2]) - 1;
  }
  const m = /\/(?:CdtTrfTxInf|TxInf|CxlDtls\/TxInf)\[(\d+)\]/.exec(finding.path);
  return m ? Number(m[1]) - 1 : null;
}

async function validationRejections(ctx: WorkflowContext, clientId: string, submission: Submission, xml: string): Promise<Rejection[]> {
  const findings: Finding[] = [];
  if (ctx.deps.schemas) findings.push(...ctx.deps.schemas.validate(xml));
  const clientProfile = await ctx.deps.clientProfile(clientId);
  // Found with the message on an XML worker, unless the client's profile changed since.
  const found = submission.findings;
  findings.push(...(found && found.clientProfile === clientProfile ? found.findings : builtinAndProfileFindings(submission.message, clientProfile)));
  return errorsOf(findings).map((f) => ({
    index: findingIndex(f, submission),
    code: f.code,
    text: `${f.rule}: ${f.message}`.slice(0, 210),
    ...(f.layer === 'xsd' ? { schema: true } : {}),
  }));
}

/** Per-payment outcomes from rejections: a message-level rejection rejects every payment. */
function decide(payments: PaymentRecord[], rejections: Rejection[], accepted: PaymentStatus): { all: boolean; outcomes: PaymentOutcome[]; first: Rejection | undefined } {
  const whole = rejections.find((r) => r.index === null);
  const byIndex = new Map<number, Rejection>();
  for (const r of rejections) if (r.index !== null && !byIndex.has(r.index)) byIndex.set(r.index, r);
  const outcomes = payments.map((p): PaymentOutcome => {
    const r = whole ?? byIndex.get(p.index);
    return r ? { index: p.index, status: 'RJCT', reasonCode: r.code, reasonText: r.text } : { index: p.index, status: accepted, reasonCode: null, reasonText: null };
  });
  const all = outcomes.length === 0 ? rejections.length > 0 : outcomes.every((o) => o.status === 'RJCT');
  return { all, outcomes, first: whole ?? rejections[0] };
}

/**
 * The operator-only part of check rejections (CheckRejection.detail, e.g. which sanctions list entry matched): into
 * the transaction's audit trail, in the transaction of the state change (auditDetails), and, once committed, into
 * the log (logDetails).
 */
async function auditDetails(ctx: WorkflowContext, tx: Tx, id: string, rejections: readonly CheckRejection[]): Promise<void> {
  for (const r of rejections) {
    if (r.detail !== undefined) await tx.transactions.audit(id, 'check_rejection', { check: r.check, index: r.index, code: r.code, detail: r.detail }, ctx.deps.clock.now());
  }
}

function logDetails(ctx: WorkflowContext, id: string, rejections: readonly CheckRejection[]): void {
  for (const r of rejections) {
    if (r.detail !== undefined) ctx.deps.logger.warn({ transactionId: id, check: r.check, index: r.index, code: r.code, detail: r.detail }, 'payment rejected by a check');
  }
}

export async function processStage(ctx: WorkflowContext, message: ReceivedMessage): Promise<StageOutcome> {
  const body = parseStageMessage(message);
  const view = await stageView(ctx, body, 'ACTC');
  if (!view) return ack;
  const { t, payments, xml, submission } = view;
  const id = t.id;

  const rejections: Rejection[] = [];
  if (t.reasonCode !== null) rejections.push({ index: null, code: t.reasonCode, text: t.reasonText ?? '' });
  // A deadline already past (a message asking to settle by a time gone, or one that waited out a backlog) is a
  // timeout, as the sweeper would judge it: the same answer whichever of the two gets there first, and no work.
  const overdue = t.deadlineAt !== null && t.deadlineAt <= ctx.deps.clock.now();
  if (overdue) rejections.push({ index: null, ...TIMEOUT });
  else rejections.push(...(await validationRejections(ctx, t.clientId, submission, xml)));
  const checks: CheckRejection[] = overdue ? [] : await runChecks(ctx.deps.checks, { clientId: t.clientId, submission, now: ctx.deps.clock.now() });
  rejections.push(...checks);

  const { all, outcomes, first } = decide(payments, rejections, 'ACSP');
  let done = false;
  if (all) {
    await finalize(ctx, {
      within: async (tx) => {
        done = await settleIn(tx, 'processing', message);
        await auditDetails(ctx, tx, id, checks);
      },
      untilDurable: false,
      transaction: t,
      from: 'ACTC',
      original: submission,
      outcome: {
        status: 'RJCT',
        reasonCode: first?.code ?? 'NARR',
        reasonText: first?.text ?? null,
        payments: outcomes,
        originalInvalid: rejections.some((r) => r.schema),
      },
    });
    logDetails(ctx, id, checks);
    return done ? settled : ack;
  }
  if (submission.family === 'camt.056') {
    // A cancellation request is decided here, against the payments it names, and answered (cancellation.ts).
    await resolveCancellation(ctx, { transaction: t, submission, outcomes, within: async (tx) => void (done = await settleIn(tx, 'processing', message)) });
    return done ? settled : ack;
  }
  if (submission.family === 'pacs.028') {
    // A status request is answered here, from the payments it asks after (status-request.ts).
    await answerStatusRequest(ctx, { transaction: t, submission, outcomes, within: async (tx) => void (done = await settleIn(tx, 'processing', message)) });
    return done ? settled : ack;
  }
  const now = ctx.deps.clock.now();
  const rejected = outcomes.filter((o) => o.status === 'RJCT');
  const stage = ctx.deps.downstream.url === null ? 'releasing' : 'forwarding';
  const release =
    stage === 'releasing' && ctx.deps.config.releaseInline
      ? await prepareFinal(ctx, { transaction: t, from: 'ACTC', via: 'ACSP', original: submission, outcome: releaseOutcome(outcomes, undefined) })
      : null;
  let released = false;
  await ctx.deps.store.transaction(async (tx) => {
    done = await settleIn(tx, 'processing', message);
    await auditDetails(ctx, tx, id, checks);
    if (release) {
      // ACTC -> ACSP -> ACSC (or PART) in one step: the payments rejected by processing are in the outcome.
      released = await release(tx);
      return;
    }
    const moved = await tx.transactions.move(id, {
      from: 'ACTC',
      to: 'ACSP',
      payments: rejected.map((o) => ({ index: o.index, status: o.status, reasonCode: o.reasonCode, reasonText: o.reasonText })),
      at: now,
    });
    if (!moved) return;
    const next: StageMessage = { transaction_id: id, hint: hintOf(t, rejected) };
    await tx.queues.send(stageQueue(stage), { body: ctx.stageBody(next, xml), groupId: t.groupKey ?? id, dedupId: `${id}:${stage}`, dedupScope: 'retry' });
  }, STAGE_TRANSACTION);
  logDetails(ctx, id, checks);
  if (released) ctx.forget(id);
  return done ? settled : ack;
}

/**
 * The outcome of releasing: a payment rejected earlier stays rejected; the others take the downstream system's
 * decision when there is one (per payment, else for the message), ACSC otherwise.
 */
function releaseOutcome(payments: ReadonlyArray<Pick<PaymentRecord, 'index' | 'status' | 'reasonCode' | 'reasonText'>>, decision: Decision | undefined): Outcome {
  const outcomes: PaymentOutcome[] = payments.map((p) => {
    if (p.status === 'RJCT') return { index: p.index, status: 'RJCT', reasonCode: p.reasonCode, reasonText: p.reasonText };
    const d = decision?.payments?.find((x) => x.index === p.index);
    const status: PaymentStatus = d?.status ?? decision?.status ?? 'ACSC';
    const reasonCode = status === 'RJCT' ? (d?.reason_code ?? decision?.reason_code ?? 'NARR') : null;
    return { index: p.index, status, reasonCode, reasonText: status === 'RJCT' ? (decision?.reason_text ?? null) : null };
  });
  return outcomeOf(outcomes);
}

export async function releaseStage(ctx: WorkflowContext, message: ReceivedMessage): Promise<StageOutcome> {
  const body = parseStageMessage(message);
  const view = await stageView(ctx, body, 'ACSP');
  if (!view) return ack;
  const { t, payments, submission } = view;
  const outcome = releaseOutcome(payments, body.decision);
  let done = false;
  const within = async (tx: Tx) => void (done = await settleIn(tx, 'releasing', message));
  await finalize(ctx, { transaction: t, from: 'ACSP', original: submission, outcome, within, untilDurable: false });
  return done ? settled : ack;
}

/**
 * Forwards an accepted payment downstream. Delivery downstream is at least once (a crash after the request and
 * before the commit sends it again): the request carries X-Transaction-Id for the system to recognise repeats.
 */
export async function forwardStage(ctx: WorkflowContext, message: ReceivedMessage): Promise<StageOutcome> {
  const body = parseStageMessage(message);
  const id = body.transaction_id;
  if (body.forward === 'cancellation') return forwardCancellation(ctx, id, (tx) => settleIn(tx, 'forwarding', message));
  const loaded = await load(ctx, id);
  if (!loaded || loaded.t.status !== 'ACSP' || loaded.t.awaitingDownstream) return ack;
  // A recovery redrives only payments whose forwarding had not started; if it has since, the stage message the
  // recovery stood in for survived and did it: the payment is not sent downstream twice.
  if (body.recovery === true && loaded.t.forwardedAt !== null) return ack;
  const { t, payments, xml } = loaded;
  // Committed before the request: the system may answer (to the inbox) before this stage has its response, and
  // an answer is matched only to a payment whose forwarding started (findForwarded).
  if (!(await ctx.deps.store.transaction((tx) => tx.transactions.markForwarding(id, ctx.deps.clock.now())))) return ack;
  const result = await forward(ctx.deps.downstream, { transactionId: id, messageType: t.messageType ?? '', xml });
  const now = ctx.deps.clock.now();
  let decision: Decision | null = null;
  if (result.kind === 'refused') {
    decision = { status: 'RJCT', reason_code: 'NARR', reason_text: `refused by the downstream system (HTTP ${result.status})` };
  } else if (result.kind === 'answered') {
    decision = decisionFromReport(readAnswer(result.xml), payments);
  }
  let done = false;
  await ctx.deps.store.transaction(async (tx) => {
    done = await settleIn(tx, 'forwarding', message);
    if (result.kind === 'answered') {
      await tx.transactions.putMessage(id, { kind: 'downstream', messageType: 'pacs.002', xml: result.xml, createdAt: now });
    }
    if (decision === null) {
      await tx.transactions.markForwarded(id, now);
      return;
    }
    await sendRelease(tx, t, decision, payments);
  });
  return done ? settled : ack;
}

/** Hands a payment to the releasing stage with the downstream system's decision (or none: ACSC); a recovery gives its own dedup id. */
export async function sendRelease(tx: Tx, t: TransactionRecord, decision: Decision | undefined, payments: PaymentRecord[], dedupId = `${t.id}:releasing`): Promise<void> {
  const rejected = payments.filter((p) => p.status === 'RJCT').map((p) => ({ index: p.index, status: 'RJCT' as const, reasonCode: p.reasonCode, reasonText: p.reasonText }));
  const next: StageMessage = { transaction_id: t.id, decision, hint: hintOf(t, rejected) };
  await tx.queues.send(stageQueue('releasing'), { body: JSON.stringify(next), groupId: t.groupKey ?? t.id, dedupId, dedupScope: 'retry' });
}

/**
 * A pacs.002 posted to the inbox by a downstream system: applied to the payment it answers when that payment
 * still waits (ACSP); a late answer (after the timeout made the payment final) is recorded and changes nothing.
 * A camt.029 answers a cancellation request the hub forwarded, and is relayed (cancellation-forwarding.ts).
 */
export async function applyAnswer(
  ctx: WorkflowContext,
  input: { clientId: string; submission: Submission; xml: string; transactionId?: string },
): Promise<{ transactionId: string; status: string; applied: boolean }> {
  if (!ctx.deps.downstream.answerClientIds.includes(input.clientId)) {
    throw new MxError('FORBIDDEN', 'this client is not configured to answer forwarded payments (downstream.answerClientIds)');
  }
  if (input.submission.family === 'camt.029') {
    return applyResolution(ctx, { clientId: input.clientId, xml: input.xml, messageType: input.submission.messageType, ...(input.transactionId !== undefined ? { transactionId: input.transactionId } : {}) });
  }
  const model = input.submission.model;
  if (model.family !== 'pacs.002') throw new MxError('MESSAGE_UNSUPPORTED', 'an answer is a pacs.002 or a camt.029');
  const first = model.transactions[0];
  const refs = {
    ...(input.transactionId !== undefined ? { transactionId: input.transactionId } : {}),
    ...(model.original.originalMsgId ? { msgId: model.original.originalMsgId } : {}),
    ...(model.original.originalMsgNmId ? { messageType: model.original.originalMsgNmId } : {}),
    ...(first?.originalEndToEndId ? { endToEndId: first.originalEndToEndId } : {}),
    ...(first?.originalUetr ? { uetr: first.originalUetr } : {}),
  };
  const now = ctx.deps.clock.now();
  return ctx.deps.store.transaction(async (tx) => {
    const id = await tx.transactions.findForwarded(refs);
    if (id === null) {
      throw new MxError('ORIGINAL_NOT_FOUND', 'no forwarded payment matches this pacs.002 (OrgnlMsgId, OrgnlMsgNmId, OrgnlEndToEndId, OrgnlUETR)');
    }
    const t = (await tx.transactions.get(id))!;
    await tx.transactions.putMessage(id, { kind: 'downstream', messageType: input.submission.messageType, xml: input.xml, createdAt: now });
    if (t.status !== 'ACSP') {
      await tx.transactions.audit(id, 'late_answer', { from: input.clientId, status: t.status }, now);
      return { transactionId: id, status: t.status, applied: false };
    }
    const decision = decisionFromReport(model, await tx.transactions.payments(id));
    if (decision === null) {
      await tx.transactions.audit(id, 'interim_answer', { from: input.clientId, group_status: model.groupStatus ?? null }, now);
      return { transactionId: id, status: t.status, applied: false };
    }
    await sendRelease(tx, t, decision, await tx.transactions.payments(id));
    return { transactionId: id, status: t.status, applied: true };
  });
}
