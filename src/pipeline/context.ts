/**
 * What the workflow's parts share: ports, configuration, the validator, the checks, and a small cache of parsed
 * submissions so that a message parsed at intake is not parsed again by the processing stage of the same process.
 */
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Clock } from '../ports/clock.js';
import type { IdGenerator } from '../ports/ids.js';
import type { QueueService } from '../ports/queues.js';
import type { Store } from '../ports/store.js';
import type { SchemaValidator } from '../iso20022/index.js';
import type { PaymentCheck } from './checks.js';
import type { DownstreamConfig } from './downstream.js';
import { Admission } from './admission.js';
import { ParticipantQueues, stageQueue } from './queues.js';
import { readSubmission, type Submission } from './submission.js';

export interface WorkflowDeps {
  store: Store;
  queues: QueueService;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  config: Config['workflow'] & { maxMessageBytes: number };
  /** XSD validation; undefined when no schema directory is configured. */
  schemas: SchemaValidator | undefined;
  checks: readonly PaymentCheck[];
  downstream: DownstreamConfig;
  /** The scheme profile a client's messages are checked against (null: the one the message declares, if any). */
  clientProfile(clientId: string): Promise<string | null>;
  /** Work the engine holds before the queues (the distributed engine's outbox rows); none when absent. */
  engineBacklog?(): Promise<number>;
}

export class WorkflowContext {
  readonly participants: ParticipantQueues;
  readonly admission: Admission;
  readonly #cache = new Map<string, { submission: Submission; xml: string }>();

  constructor(readonly deps: WorkflowDeps) {
    this.participants = new ParticipantQueues(deps.queues, deps.config.maxMessageBytes);
    this.admission = new Admission({
      limit: deps.config.backlogMax,
      queueDepth: () => deps.queues.depth(stageQueue('processing')),
      engineBacklog: async () => (deps.engineBacklog ? deps.engineBacklog() : 0),
      logger: deps.logger,
    });
  }

  /**
   * Keeps a submission parsed at intake for the stages of this process, with its raw XML (the schema layer reads
   * it). Entries leave when the transaction is final, or oldest first beyond `parsedCacheMax`.
   */
  remember(transactionId: string, submission: Submission, xml: string): void {
    const max = this.deps.config.parsedCacheMax;
    if (max === 0) return;
    this.#cache.set(transactionId, { submission, xml });
    if (this.#cache.size > max) this.#cache.delete(this.#cache.keys().next().value!);
  }

  /** The cached submission and XML of a transaction, if this process parsed it. */
  cached(transactionId: string): { submission: Submission; xml: string } | undefined {
    return this.#cache.get(transactionId);
  }

  forget(transactionId: string): void {
    this.#cache.delete(transactionId);
  }

  /** The parsed submission of a transaction: from the cache, or parsed again from its stored XML. */
  submissionOf(transactionId: string, xml: string): Submission {
    return this.#cache.get(transactionId)?.submission ?? readSubmission(xml);
  }

  /** An id for a message the hub builds (MsgId of a report): at most 35 characters, as ISO 20022 allows. */
  messageId(): string {
    return `MXG${this.deps.ids.uuid().replaceAll('-', '').slice(0, 30).toUpperCase()}`;
  }
}
