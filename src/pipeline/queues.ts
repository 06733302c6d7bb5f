/**
 * The queues of the workflow. Stage queues are FIFO, grouped per payment by sending participant and debtor
 * account, so one account's payments keep their order while different accounts run in parallel. Each has a
 * dead-letter queue that operators see through the queue API.
 */
import { isMxError, MxError } from '../errors.js';
import type { CreateQueueInput, QueueService, ReceivedMessage } from '../ports/queues.js';
import type { Tx } from '../ports/store.js';

/** Creates a queue, or keeps an existing one of that name even when an operator changed its attributes. */
async function createOrKeep(queues: QueueService, input: CreateQueueInput): Promise<void> {
  try {
    await queues.createQueue(input);
  } catch (error) {
    if (!(isMxError(error) && error.code === 'QUEUE_ALREADY_EXISTS')) throw error;
  }
}

export const STAGES = ['processing', 'forwarding', 'releasing', 'delivering'] as const;
export type Stage = (typeof STAGES)[number];

export const stageQueue = (stage: Stage) => `mx.${stage}.fifo`;
export const stageDeadLetterQueue = (stage: Stage) => `mx.${stage}.dlq.fifo`;
/** Lifecycle events of every transaction (a standard queue: consumers needing order use the event's sequence). */
export const EVENTS_QUEUE = 'mx.events';
/** Whether a queue is one of the hub's own (stages, their dead letters, events): the workflow's, not a client's. */
export const isHubQueue = (name: string) => name.startsWith('mx.');

/** The queue where a client's consumers poll for their outgoing messages. */
export const participantQueue = (clientId: string) => `participant.${clientId}`;

/** The body of a stage message. */
export interface StageMessage {
  transaction_id: string;
  /** Delivering stage only: where the report goes; absent: the client's webhook. */
  channel?: 'amqp';
  /** Sent by a recovery (recovery.ts), possibly beside a stage message that survived. */
  recovery?: true;
  /**
   * What the sending stage knew of the transaction, so that the next stage of the same process can skip reading
   * it back when it still has the parsed message in memory. The store stays the authority: every state change
   * is a compare-and-set on the status, so a stale hint changes nothing.
   */
  hint?: {
    client_id: string;
    group_key: string;
    message_type: string;
    reason_code?: string;
    reason_text?: string;
    /** The deadline (epoch ms) when the transaction has one; processing rejects a payment already past it (AB06). */
    deadline_at?: number;
    /** Payments that processing rejected (the others are ACSP). */
    rejected?: Array<{ index: number; reason_code: string | null; reason_text: string | null }>;
  };
  /**
   * The payment message itself, when it is small enough (WorkflowContext.stageBody): on the distributed engine,
   * where the next stage runs in another process. The stored message stays the authority for everything else
   * (the API, a stage that finds no hint); the status is checked by compare-and-set as with any hint.
   */
  xml?: string;
  /**
   * Forwarding only: what goes downstream is not a payment but the cancellation request (camt.056) of this
   * transaction, for payments the downstream system has (cancellation-forwarding.ts).
   */
  forward?: 'cancellation';
  /** What an earlier stage decided and this one applies (forwarding -> releasing). */
  decision?: { status: 'ACSC' | 'RJCT'; reason_code?: string; reason_text?: string; payments?: Array<{ index: number; status: 'ACSC' | 'RJCT'; reason_code?: string }> };
}

/** Largest stage message body: what a stage's dead-letter queue takes (a message moved there must fit). */
export const STAGE_BODY_MAX_BYTES = 65_536;

/**
 * Creates the workflow's queues (or keeps them as they are): the events queue, and per stage its FIFO queue and
 * dead-letter queue. A stage message is received `attemptsMax` times (`attemptsOf` a stage of its own) before it
 * is dead-lettered.
 */
export async function ensureWorkflowQueues(
  queues: QueueService,
  options: { attemptsMax: number; visibilityTimeoutS: number; attemptsOf?: Partial<Record<Stage, number>> },
): Promise<void> {
  await createOrKeep(queues, { name: EVENTS_QUEUE });
  for (const stage of STAGES) {
    await createOrKeep(queues, { name: stageDeadLetterQueue(stage), fifo: true, contentBasedDedup: true, maxMessageBytes: STAGE_BODY_MAX_BYTES });
    await createOrKeep(queues, {
      name: stageQueue(stage),
      fifo: true,
      deadLetterQueue: stageDeadLetterQueue(stage),
      maxReceiveCount: options.attemptsOf?.[stage] ?? options.attemptsMax,
      visibilityTimeoutS: options.visibilityTimeoutS,
    });
  }
}

/** Creates participant queues on first use; remembers the ones it made. */
export class ParticipantQueues {
  readonly #known = new Set<string>();
  constructor(
    private readonly queues: QueueService,
    private readonly maxMessageBytes: number,
  ) {}

  async ensure(clientId: string): Promise<string> {
    const name = participantQueue(clientId);
    if (!this.#known.has(name)) {
      // Reports are as large as the messages they answer: the queue takes what the API takes.
      await createOrKeep(this.queues, { name, maxMessageBytes: this.maxMessageBytes });
      this.#known.add(name);
    }
    return name;
  }
}

/**
 * Deletes the stage message inside the transaction of the state change it caused, where the engine can
 * (QueueWriter.settle): the change and the acknowledgement then commit together. False where it cannot (the
 * runner deletes after the commit) or when the message was received again meanwhile.
 */
export async function settleIn(tx: Tx, stage: Stage, message: ReceivedMessage): Promise<boolean> {
  return tx.queues.settle ? tx.queues.settle(stageQueue(stage), message.receiptHandle) : false;
}

/** The body of a stage message; BAD_REQUEST (dead-lettered at once) when it is not one. */
export function parseStageMessage(message: ReceivedMessage): StageMessage {
  try {
    const body = JSON.parse(message.body) as StageMessage;
    if (typeof body.transaction_id !== 'string') throw new Error('no transaction_id');
    return body;
  } catch (cause) {
    throw new MxError('BAD_REQUEST', 'stage message is not a workflow message', { cause });
  }
}
