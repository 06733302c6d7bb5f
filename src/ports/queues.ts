/**
 * The queue port: durable queues with SQS semantics, the same for every engine.
 *
 * Message life cycle (times come from the Clock port):
 *
 *   send ──► DELAYED ──(delay over)──► VISIBLE ──receive──► IN FLIGHT ──delete──► gone
 *              │                         ▲  ▲                 │  │
 *              │ (no delay)              │  └─(timeout or     │  └─(receive count reached
 *              └─────────────────────────┘     visibility 0)──┘     max_receive_count, on the
 *                                                                   next receive) ──► dead-letter queue
 *   Any state ──(retention over)──► gone.   Dead-letter queue ──redrive──► source queue, receive count 0.
 *
 * A message the engine moves to the dead-letter queue carries why, in the attribute DEAD_LETTER_REASON (added to
 * its own attributes, beyond their limit): deadLetterReason() of its receives and of the last failure a consumer
 * gave when it released the message (changeVisibility's `reason`). Redrive forgets the last failure.
 *
 * FIFO queues add: messages of one group are delivered in send order, and none while another message of the
 * same group is in flight; one receive takes as many as it can from one group before going to the next.
 * Deduplication: a send whose dedup id (or body hash with content-based dedup) was seen on the queue within
 * the dedup window is accepted and answered with the first message's id, but not enqueued again.
 *
 * Every operation that answers has committed durably: an acknowledged send survives a crash, an
 * acknowledged delete never comes back.
 */
import type { MxError } from '../errors.js';

export const QUEUE_LIMITS = {
  nameLengthMax: 80,
  batchEntriesMax: 10,
  receiveMax: 10,
  waitSMax: 20,
  visibilityTimeoutSMax: 43_200,
  delaySMax: 900,
  retentionSMin: 60,
  retentionSMax: 1_209_600,
  maxReceiveCountMax: 1000,
  maxMessageBytesMax: 16 * 1024 * 1024,
  attributesMax: 10,
  attributeNameLengthMax: 256,
  groupIdLengthMax: 128,
  dedupIdLengthMax: 128,
  batchEntryIdLengthMax: 80,
  reasonLengthMax: 1000,
} as const;

/** Attribute names the hub keeps for itself: a client of the queue API cannot send one. */
export const RESERVED_ATTRIBUTE_PREFIX = 'mx-';
/** The message attribute that says why a message is in a dead-letter queue (the stage runner sets it too). */
export const DEAD_LETTER_REASON = `${RESERVED_ATTRIBUTE_PREFIX}dead-letter-reason`;

/** The reason an engine gives a message it moves to the dead-letter queue after `receives` receives. */
export function deadLetterReason(receives: number, lastFailure: string | null): string {
  const reason = `max_receive_count exceeded: received ${receives} times${lastFailure === null ? '' : `; last failure: ${lastFailure}`}`;
  return reason.slice(0, QUEUE_LIMITS.reasonLengthMax);
}

export interface QueueAttributes {
  name: string;
  fifo: boolean;
  contentBasedDedup: boolean;
  visibilityTimeoutS: number;
  /** Receives after which the next receive moves the message to `deadLetterQueue`; null without one. */
  maxReceiveCount: number | null;
  deadLetterQueue: string | null;
  retentionS: number;
  delayS: number;
  maxMessageBytes: number;
  createdAt: number;
}

export type CreateQueueInput = Pick<QueueAttributes, 'name'> & Partial<Omit<QueueAttributes, 'name' | 'createdAt'>>;

export interface QueueMetrics {
  visible: number;
  inFlight: number;
  delayed: number;
  /** Age of the oldest message in the queue, whole seconds; 0 when empty. */
  oldestAgeS: number;
}

export interface QueueInfo extends QueueAttributes {
  metrics: QueueMetrics;
}

export type MessageAttributes = Record<string, string>;

export interface SendInput {
  body: string;
  groupId?: string | undefined;
  dedupId?: string | undefined;
  delayS?: number | undefined;
  attributes?: MessageAttributes | undefined;
  /**
   * What the dedup id has to do. 'window' (default): everything the port promises (a repeat within the dedup
   * window, on the Clock, is answered with the first message's id and sequence number). 'retry': only keep repeats
   * of this very send (a batch sent again after a failure, a stage run twice) from enqueuing the message twice, for
   * the caller that reads nothing of the answer but its success (the outbox relay). An engine may then rely on its
   * broker's own record of recent sends, whose window runs on the broker's clock and may be shorter (at most the
   * dedup window), and answer a repeat with the first message's sequence number and, while it still holds that
   * message, its id; or keep the record on the message itself while the queue holds it (at most the dedup window).
   * The workflow's stage sends use it: their dedup id stops a stage run twice, and a repeat later than that finds
   * the transaction past the stage.
   */
  dedupScope?: 'window' | 'retry' | undefined;
}

export interface SendResult {
  messageId: string;
  /** Strictly increasing within a queue, as a decimal string. */
  sequenceNumber: string;
  /** True when the send was a duplicate within the dedup window and enqueued nothing. */
  duplicate: boolean;
}

export interface ReceiveOptions {
  /** 1..10 */
  max: number;
  /** Long polling: wait up to this long for a first message, 0..20 000 ms. */
  waitMs?: number;
  /** Overrides the queue's visibility timeout for these messages. */
  visibilityTimeoutS?: number | undefined;
  /** Ends a long poll early (the caller went away or the process is stopping). */
  signal?: AbortSignal;
  /**
   * True (the default): the engine answers only with messages that are durable, so that a crash cannot undo a
   * message the consumer has seen. The receive itself may still be undone by a crash (the messages then become
   * visible again, as after their visibility timeout): delivery is at least once.
   * False: the engine may also hand out messages whose send is not durable yet (a crash may undo the send, and
   * the consumer has seen a message that no longer exists). Only for a consumer that acts on what it receives
   * solely through later writes to the same store as the queue (a workflow stage on the embedded engine), so that
   * whatever it does is durable only after what it read. Engines whose sends are durable when they are visible
   * ignore it.
   */
  untilDurable?: boolean;
  /**
   * True: the messages' receipt handles are used (delete, change of visibility) only through this QueueService,
   * in this process, as a workflow stage does. An engine shared by several processes may then keep less shared
   * state per message: on the distributed engine such a message is recorded for other processes (in-flight
   * metrics, its handle usable elsewhere) only once it has been held a second, and a handle used elsewhere before
   * that is refused as invalid. Engines of one process ignore it. Default false.
   */
  local?: boolean;
}

export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  groupId: string | null;
  attributes: MessageAttributes;
  receiveCount: number;
  sequenceNumber: string;
  sentAt: number;
  firstReceivedAt: number;
}

/** A per-entry outcome of a batch call: the value, or the coded error of that entry. */
export type BatchOutcome<T> = { ok: true; value: T } | { ok: false; error: MxError };

/** Sending inside a store transaction: the message is enqueued if and only if the transaction commits. */
export interface QueueWriter {
  send(queue: string, input: SendInput): Promise<SendResult>;
  /**
   * Deletes a received message in the same transaction as the state change it caused, so that the change and
   * the acknowledgement commit together (one commit fewer per stage message). Resolves false, changing nothing,
   * when the handle no longer holds the message (it was received again since: that delivery finds the work
   * done). Absent on engines whose queues live outside the store's transaction (the distributed outbox): the
   * consumer then deletes after the commit.
   */
  settle?(queue: string, receiptHandle: string): Promise<boolean>;
}

export interface QueueService {
  createQueue(input: CreateQueueInput): Promise<{ queue: QueueAttributes; created: boolean }>;
  getQueue(name: string): Promise<QueueInfo>;
  /**
   * How many messages the queue holds in any state (visible, in flight, delayed): cheaper than getQueue's metrics,
   * for watching a backlog often. Exact on the embedded engine; on a distributed engine it may trail by moments.
   */
  depth(name: string): Promise<number>;
  listQueues(): Promise<QueueInfo[]>;
  deleteQueue(name: string): Promise<void>;
  purgeQueue(name: string): Promise<{ purged: number }>;

  send(queue: string, input: SendInput): Promise<SendResult>;
  sendBatch(queue: string, entries: SendInput[]): Promise<BatchOutcome<SendResult>[]>;
  receive(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]>;
  delete(queue: string, receiptHandle: string): Promise<void>;
  deleteBatch(queue: string, receiptHandles: string[]): Promise<BatchOutcome<void>[]>;
  /**
   * Sets when the message becomes visible again, counted from now; 0 makes it visible at once. `reason`: why the
   * consumer gives it back (its failure, at most reasonLengthMax characters are kept); the message keeps the last
   * one given, unseen by receivers, for the dead-letter reason should the engine move it there.
   */
  changeVisibility(queue: string, receiptHandle: string, visibilityTimeoutS: number, options?: { reason?: string }): Promise<void>;
  /** Moves every message of a dead-letter queue back to the queue it came from. */
  redrive(deadLetterQueue: string): Promise<{ moved: number }>;
}
