/**
 * The timeout sweeper: every payment has a deadline, and a payment still not final at its deadline is rejected
 * (RJCT, AB05 when a downstream system owed the answer, AB06 otherwise) with a status report. It reads the
 * deadline index, oldest first and bounded per sweep, never a scan of all transactions. Races with a late
 * answer are settled by finalize's compare-and-set: exactly one of them makes the payment final.
 */
import type { WorkflowContext } from './context.js';
import { finalize } from './finalize.js';

/** The reason of a payment past its deadline (ExternalStatusReason1Code AB06, timeout). */
export const TIMEOUT = { code: 'AB06', text: 'not completed before the deadline' } as const;
/** ... when the downstream system owed the answer (AB05, timeout at the creditor agent's side). */
export const DOWNSTREAM_TIMEOUT = { code: 'AB05', text: 'no answer from the downstream system before the deadline' } as const;

export class TimeoutSweeper {
  readonly name = 'timeouts';
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<number> | null = null;
  readonly stats = { rejected: 0 };

  constructor(private readonly ctx: WorkflowContext) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.#running = this.sweep()
        .catch((err: unknown) => {
          this.ctx.deps.logger.error({ err }, 'timeout sweep failed');
          return 0;
        })
        .finally(() => (this.#running = null));
    }, this.ctx.deps.config.timeoutSweepIntervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** Rejects the payments past their deadline (at most the configured batch); returns how many it made final. */
  async sweep(): Promise<number> {
    const { store, clock, config } = this.ctx.deps;
    const ids = await store.read((tx) => tx.transactions.overdue(clock.now(), config.timeoutBatchMax));
    let rejected = 0;
    for (const id of ids) {
      const loaded = await store.read(async (tx) => {
        const found = await tx.transactions.load(id, 'in');
        return found?.message ? { t: found.transaction, xml: found.message.xml, payments: found.payments } : null;
      });
      if (!loaded || (loaded.t.status !== 'ACTC' && loaded.t.status !== 'ACSP')) continue;
      const { t, xml, payments } = loaded;
      const { code, text } = t.awaitingDownstream ? DOWNSTREAM_TIMEOUT : TIMEOUT;
      const made = await finalize(this.ctx, {
        transaction: t,
        from: t.status,
        original: this.ctx.submissionOf(id, xml),
        outcome: {
          status: 'RJCT',
          reasonCode: code,
          reasonText: text,
          payments: payments.map((p) => (p.status === 'RJCT'
            ? { index: p.index, status: 'RJCT', reasonCode: p.reasonCode, reasonText: p.reasonText }
            : { index: p.index, status: 'RJCT', reasonCode: code, reasonText: text })),
        },
      });
      if (made) rejected += 1;
    }
    this.stats.rejected += rejected;
    return rejected;
  }
}
