/**
 * The payment workflow, assembled: intake, the stage runners, the timeout sweeper, and the read side the API
 * uses (transaction views, the outbox). `start` creates the workflow queues; `stop` stops taking work and lets
 * the messages in hand finish.
 */
import { MxError } from '../errors.js';
import { isTerminal, type TransactionStatus } from '../domain/status.js';
import type { Tx } from '../ports/store.js';
import type { HistoryEntry, PaymentRecord, StrandedPosition, TransactionFilter, TransactionRecord } from '../ports/transactions.js';
import { WorkflowContext, type WorkflowDeps } from './context.js';
import { Intake } from './intake.js';
import { ensureWorkflowQueues, stageDeadLetterQueue, stageQueue } from './queues.js';
import { StageRunner } from './runner.js';
import { forwardStage, processStage, releaseStage } from './stages.js';
import { TimeoutSweeper } from './timeouts.js';
import { deliverStage } from './delivery.js';
import { recoverPage, type RecoveryAction, type RecoveryResult } from './recovery.js';
import { periodic, type Duty } from './duty.js';

/** Visibility timeout of the stage queues: how long a stage message is someone's before it is delivered again. */
const STAGE_VISIBILITY_TIMEOUT_S = 30;

export interface TransactionView {
  transaction: TransactionRecord;
  payments: PaymentRecord[];
  history: HistoryEntry[];
}

export type OutboxResult =
  | { ready: true; messageType: string; xml: string; transactionId: string }
  | { ready: false; status: TransactionStatus; transactionId: string };

/** A status report sent again to its client's participant queue. */
export interface Replayed {
  transactionId: string;
  status: TransactionStatus;
  messageType: string;
}

/** The most transactions one replay call takes (one page of the transaction list). */
export const REPLAY_PAGE_MAX = 100;

export interface WorkflowOptions {
  /** Run the stage consumers in this process (an API-only process does not). */
  workers: boolean;
  /** Long-poll wait of the stage consumers. */
  stageWaitMs?: number;
}

export class Workflow {
  readonly ctx: WorkflowContext;
  readonly intake: Intake;
  readonly timeouts: TimeoutSweeper;
  readonly #runners: StageRunner[] = [];

  constructor(deps: WorkflowDeps, private readonly options: WorkflowOptions) {
    this.ctx = new WorkflowContext(deps);
    this.intake = new Intake(this.ctx);
    this.timeouts = new TimeoutSweeper(this.ctx);
  }

  async start(): Promise<void> {
    const { queues, config, logger, webhooks } = this.ctx.deps;
    await ensureWorkflowQueues(queues, {
      attemptsMax: config.stageAttemptsMax,
      visibilityTimeoutS: STAGE_VISIBILITY_TIMEOUT_S,
      ...(webhooks ? { attemptsOf: { delivering: webhooks.attemptsMax } } : {}),
    });
    if (!this.options.workers) return;
    // Processing and releasing act only through the store, so their receives need not wait for a flush of their
    // own; forwarding calls the downstream system, which must never hear of a payment a crash could undo.
    const stages = [
      { stage: 'processing' as const, handler: processStage, storeOnly: true },
      ...(this.ctx.deps.downstream.url === null ? [] : [{ stage: 'forwarding' as const, handler: forwardStage, storeOnly: false }]),
      { stage: 'releasing' as const, handler: releaseStage, storeOnly: true },
      // Pushes to clients' webhooks: a receiver must never get a report a crash could undo. A receiver that is
      // down is waited for longer than a stage's own failures (webhooks.retryMaxMs).
      { stage: 'delivering' as const, handler: deliverStage, storeOnly: false, retryMaxMs: webhooks?.retryMaxMs },
    ];
    for (const { stage, handler, storeOnly, retryMaxMs } of stages) {
      const runner = new StageRunner({
        name: stage,
        queues,
        queue: stageQueue(stage),
        deadLetterQueue: stageDeadLetterQueue(stage),
        concurrency: config.stageConcurrency,
        handler: (message) => handler(this.ctx, message),
        logger,
        retryBaseMs: config.retryBaseMs,
        retryMaxMs: retryMaxMs ?? config.retryMaxMs,
        // Through an outage a batch is held for half its visibility timeout before its attempts start to count.
        outageHoldMs: (STAGE_VISIBILITY_TIMEOUT_S * 1000) / 2,
        untilDurable: !storeOnly,
        ...(this.options.stageWaitMs === undefined ? {} : { waitMs: this.options.stageWaitMs }),
      });
      runner.start();
      this.#runners.push(runner);
    }
  }

  /** Stops the stage consumers (messages in hand finish or are released). Scheduler duties stop with their lease. */
  async stop(): Promise<void> {
    await Promise.all(this.#runners.map((r) => r.stop()));
    this.#runners.length = 0;
  }

  /** The workflow's jobs for the scheduler: the timeout sweeper, the retention of business keys, the expiry of unused reserved ids. */
  schedulerDuties(): Duty[] {
    const { store, clock, logger } = this.ctx.deps;
    const keys = periodic(
      'business-key-retention',
      60_000,
      () => store.transaction((tx) => tx.transactions.sweepKeys(clock.now(), 10_000)),
      (err) => logger.error({ err }, 'sweep of expired business keys failed'),
    );
    const reservations = periodic(
      'reservation-expiry',
      60_000,
      () => store.transaction((tx) => tx.transactions.sweepReservations(clock.now() - this.ctx.deps.config.reservationTtlMs, 10_000)),
      (err) => logger.error({ err }, 'expiry of unused reserved ids failed'),
    );
    return [this.timeouts, keys, reservations];
  }

  get stageStats(): Record<string, { handled: number; retried: number; deadLettered: number }> {
    return Object.fromEntries(this.#runners.map((r) => [r.name, { ...r.stats }]));
  }

  /** A client's transaction (another client's is "not found"); a reserved id used for a duplicate shows the original. */
  async transaction(clientId: string, id: string): Promise<TransactionView> {
    return this.ctx.deps.store.transaction(async (tx) => {
      let t = await tx.transactions.get(id);
      if (t?.duplicateOf) t = await tx.transactions.get(t.duplicateOf);
      if (!t || t.clientId !== clientId) throw new MxError('NOT_FOUND', `no transaction ${id}`);
      return { transaction: t, payments: await tx.transactions.payments(t.id), history: await tx.transactions.history(t.id) };
    });
  }

  async list(filter: TransactionFilter): Promise<{ items: TransactionView[]; nextCursor: string | null }> {
    return this.ctx.deps.store.transaction(async (tx) => {
      const page = await tx.transactions.list(filter);
      const items: TransactionView[] = [];
      for (const t of page.items) {
        items.push({ transaction: t, payments: await tx.transactions.payments(t.id), history: [] });
      }
      return { items, nextCursor: page.nextCursor };
    });
  }

  /**
   * Sends the status report of a client's final transaction to its participant queue again, for a consumer that
   * lost it: the same XML, with the attributes of the first delivery and `replayed_at`. Recorded in the audit
   * trail. NOT_FOUND for another client's or an unknown transaction, TRANSACTION_STATE while it is in flight (its
   * report goes to the queue when it is released).
   */
  async replay(clientId: string, id: string): Promise<Replayed> {
    const queue = await this.ctx.participants.ensure(clientId);
    return this.ctx.deps.store.transaction(async (tx) => {
      let t = await tx.transactions.get(id);
      if (t?.duplicateOf) t = await tx.transactions.get(t.duplicateOf);
      if (!t || t.clientId !== clientId) throw new MxError('NOT_FOUND', `no transaction ${id}`);
      const replayed = await this.#replay(tx, queue, t);
      if (replayed === null) throw new MxError('TRANSACTION_STATE', `transaction ${t.id} is ${t.status}: its status report goes to the participant queue once it is released`);
      return replayed;
    });
  }

  /**
   * Replays the reports of one page of a client's transactions (the list's filter, newest first, at most
   * REPLAY_PAGE_MAX): those released are sent again, those in flight are skipped. Pass `nextCursor` back for the
   * next page.
   */
  async replayPage(filter: TransactionFilter): Promise<{ replayed: Replayed[]; skipped: string[]; nextCursor: string | null }> {
    const queue = await this.ctx.participants.ensure(filter.clientId);
    return this.ctx.deps.store.transaction(async (tx) => {
      const page = await tx.transactions.list({ ...filter, limit: Math.min(filter.limit, REPLAY_PAGE_MAX) });
      const replayed: Replayed[] = [];
      const skipped: string[] = [];
      for (const t of page.items) {
        const r = await this.#replay(tx, queue, t);
        if (r === null) skipped.push(t.id);
        else replayed.push(r);
      }
      return { replayed, skipped, nextCursor: page.nextCursor };
    });
  }

  /** Transactions in flight (ACTC, ACSP) unchanged for `quietMs`, counted up to `max`. */
  async strandedCount(quietMs: number, max: number): Promise<number> {
    const quietSince = this.ctx.deps.clock.now() - quietMs;
    return (await this.ctx.deps.store.read((tx) => tx.transactions.stranded({ quietSince, after: null, limit: max }))).length;
  }

  /**
   * Redrives or cancels one page of the payments stranded in flight (recovery.ts): in ACTC or ACSP, unchanged for
   * `quietMs`. Pass `next` back as `after` for the next page.
   */
  recover(input: { action: RecoveryAction; quietMs: number; after: StrandedPosition | null; limit: number; dryRun?: boolean }): Promise<RecoveryResult> {
    return recoverPage(this.ctx, input);
  }

  async #replay(tx: Tx, queue: string, t: TransactionRecord): Promise<Replayed | null> {
    if (!isTerminal(t.status)) return null;
    const out = await tx.transactions.getMessage(t.id, 'out');
    if (!out) return null;
    const now = this.ctx.deps.clock.now();
    await tx.queues.send(queue, {
      body: out.xml,
      attributes: { transaction_id: t.id, message_type: out.messageType, status: t.status, replayed_at: new Date(now).toISOString() },
    });
    await tx.transactions.audit(t.id, 'replay', { queue }, now);
    return { transactionId: t.id, status: t.status, messageType: out.messageType };
  }

  /**
   * The outgoing message of a transaction once released. The first successful fetch adds RCVD to the history
   * (the status keeps the outcome).
   */
  async outbox(clientId: string, id: string): Promise<OutboxResult> {
    const { store, clock } = this.ctx.deps;
    return store.transaction(async (tx) => {
      let t = await tx.transactions.get(id);
      if (t?.duplicateOf) t = await tx.transactions.get(t.duplicateOf);
      if (!t || t.clientId !== clientId) throw new MxError('NOT_FOUND', `no transaction ${id}`);
      if (!isTerminal(t.status)) return { ready: false, status: t.status, transactionId: t.id };
      const out = await tx.transactions.getMessage(t.id, 'out');
      if (!out) return { ready: false, status: t.status, transactionId: t.id };
      await tx.transactions.markReceived(t.id, clock.now());
      return { ready: true, messageType: out.messageType, xml: out.xml, transactionId: t.id };
    });
  }
}
