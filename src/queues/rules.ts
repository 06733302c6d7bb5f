/**
 * Queue rules that hold for every engine: names, attribute bounds, and what a valid message is.
 * Engines call these before touching storage, so a bad request fails the same way everywhere.
 */
import { createHash } from 'node:crypto';
import { MxError } from '../errors.js';
import { QUEUE_LIMITS, type CreateQueueInput, type QueueAttributes, type SendInput } from '../ports/queues.js';

export interface QueueDefaults {
  visibilityTimeoutS: number;
  retentionS: number;
  maxMessageBytes: number;
}

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,79}$/;
const ID_TEXT = /^[\x21-\x7e]+$/; // printable ASCII without space, as SQS allows for group and dedup ids

export function checkQueueName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new MxError('QUEUE_NAME_INVALID', `invalid queue name ${JSON.stringify(name)}: 1-80 characters of letters, digits, "-", "_" and "." (not first)`);
  }
  return name;
}

function intInRange(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new MxError('INVALID_ATTRIBUTE', `${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** Fills defaults and checks bounds. A name ending in ".fifo" makes a FIFO queue unless `fifo` says otherwise. */
export function normalizeQueue(input: CreateQueueInput, defaults: QueueDefaults): Omit<QueueAttributes, 'createdAt'> {
  const name = checkQueueName(input.name);
  const fifo = input.fifo ?? name.endsWith('.fifo');
  if (typeof fifo !== 'boolean') throw new MxError('INVALID_ATTRIBUTE', 'fifo must be a boolean');
  const contentBasedDedup = input.contentBasedDedup ?? false;
  if (typeof contentBasedDedup !== 'boolean') throw new MxError('INVALID_ATTRIBUTE', 'content_based_dedup must be a boolean');
  if (contentBasedDedup && !fifo) {
    throw new MxError('INVALID_ATTRIBUTE', 'content_based_dedup applies to FIFO queues only');
  }
  const deadLetterQueue = input.deadLetterQueue ?? null;
  if (deadLetterQueue !== null) checkQueueName(deadLetterQueue);
  if (deadLetterQueue === name) throw new MxError('INVALID_ATTRIBUTE', 'a queue cannot be its own dead_letter_queue');
  let maxReceiveCount = input.maxReceiveCount ?? null;
  if (maxReceiveCount !== null) maxReceiveCount = intInRange('max_receive_count', maxReceiveCount, 1, QUEUE_LIMITS.maxReceiveCountMax);
  if (deadLetterQueue !== null && maxReceiveCount === null) maxReceiveCount = 10;
  if (deadLetterQueue === null && maxReceiveCount !== null) {
    throw new MxError('INVALID_ATTRIBUTE', 'max_receive_count needs a dead_letter_queue to move messages to');
  }
  return {
    name,
    fifo,
    contentBasedDedup,
    visibilityTimeoutS: intInRange('visibility_timeout_s', input.visibilityTimeoutS ?? defaults.visibilityTimeoutS, 0, QUEUE_LIMITS.visibilityTimeoutSMax),
    maxReceiveCount,
    deadLetterQueue,
    retentionS: intInRange('retention_s', input.retentionS ?? defaults.retentionS, QUEUE_LIMITS.retentionSMin, QUEUE_LIMITS.retentionSMax),
    delayS: intInRange('delay_s', input.delayS ?? 0, 0, QUEUE_LIMITS.delaySMax),
    maxMessageBytes: intInRange('max_message_bytes', input.maxMessageBytes ?? defaults.maxMessageBytes, 1, QUEUE_LIMITS.maxMessageBytesMax),
  };
}

export function sameAttributes(a: Omit<QueueAttributes, 'createdAt'>, b: Omit<QueueAttributes, 'createdAt'>): boolean {
  return (
    a.name === b.name &&
    a.fifo === b.fifo &&
    a.contentBasedDedup === b.contentBasedDedup &&
    a.visibilityTimeoutS === b.visibilityTimeoutS &&
    a.maxReceiveCount === b.maxReceiveCount &&
    a.deadLetterQueue === b.deadLetterQueue &&
    a.retentionS === b.retentionS &&
    a.delayS === b.delayS &&
    a.maxMessageBytes === b.maxMessageBytes
  );
}

export interface CheckedMessage {
  body: string;
  groupId: string | null;
  /** The key deduplication uses: the dedup id, or a hash of the body with content-based dedup; null for none. */
  dedupKey: string | null;
  delayS: number;
  attributes: Record<string, string> | null;
  sizeBytes: number;
}

function checkId(kind: 'group_id' | 'dedup_id', value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !ID_TEXT.test(value)) {
    throw new MxError('INVALID_ATTRIBUTE', `${kind} must be 1-${max} printable ASCII characters without spaces`);
  }
  return value;
}

/** Checks one message against the queue it goes to; throws a coded error naming the problem. */
export function checkMessage(queue: Omit<QueueAttributes, 'createdAt'>, input: SendInput): CheckedMessage {
  if (typeof input.body !== 'string' || input.body.length === 0) {
    throw new MxError('INVALID_ATTRIBUTE', 'body must be a non-empty string');
  }
  let sizeBytes = Buffer.byteLength(input.body, 'utf8');
  let attributes: Record<string, string> | null = null;
  if (input.attributes !== undefined && input.attributes !== null) {
    if (typeof input.attributes !== 'object' || Array.isArray(input.attributes)) {
      throw new MxError('INVALID_ATTRIBUTE', 'attributes must be an object of string values');
    }
    const entries = Object.entries(input.attributes);
    if (entries.length > QUEUE_LIMITS.attributesMax) {
      throw new MxError('INVALID_ATTRIBUTE', `a message has at most ${QUEUE_LIMITS.attributesMax} attributes`);
    }
    for (const [key, value] of entries) {
      if (key.length === 0 || key.length > QUEUE_LIMITS.attributeNameLengthMax || typeof value !== 'string') {
        throw new MxError('INVALID_ATTRIBUTE', `attribute ${JSON.stringify(key)} needs a name of 1-${QUEUE_LIMITS.attributeNameLengthMax} characters and a string value`);
      }
      sizeBytes += Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8');
    }
    if (entries.length > 0) attributes = Object.fromEntries(entries);
  }
  if (sizeBytes > queue.maxMessageBytes) {
    throw new MxError('MESSAGE_TOO_LARGE', `message is ${sizeBytes} bytes; queue ${queue.name} takes at most ${queue.maxMessageBytes}`);
  }

  const groupId = input.groupId === undefined || input.groupId === null ? null : checkId('group_id', input.groupId, QUEUE_LIMITS.groupIdLengthMax);
  const dedupId = input.dedupId === undefined || input.dedupId === null ? null : checkId('dedup_id', input.dedupId, QUEUE_LIMITS.dedupIdLengthMax);
  let delayS = queue.delayS;
  if (input.delayS !== undefined && input.delayS !== null) {
    if (queue.fifo) throw new MxError('DELAY_NOT_ALLOWED', `queue ${queue.name} is FIFO: per-message delay_s is not allowed`);
    delayS = intInRange('delay_s', input.delayS, 0, QUEUE_LIMITS.delaySMax);
  }
  let dedupKey = dedupId === null ? null : `id:${dedupId}`;
  if (queue.fifo) {
    if (groupId === null) throw new MxError('GROUP_ID_REQUIRED', `queue ${queue.name} is FIFO: every message needs a group_id`);
    if (dedupKey === null) {
      if (!queue.contentBasedDedup) {
        throw new MxError('DEDUP_ID_REQUIRED', `queue ${queue.name} is FIFO without content-based dedup: every message needs a dedup_id`);
      }
      dedupKey = `sha256:${createHash('sha256').update(input.body).digest('base64url')}`;
    }
  }
  return { body: input.body, groupId, dedupKey, delayS, attributes, sizeBytes };
}

export function checkBatchIds(ids: readonly string[]): void {
  if (ids.length === 0) throw new MxError('BATCH_EMPTY', 'a batch needs at least one entry');
  if (ids.length > QUEUE_LIMITS.batchEntriesMax) {
    throw new MxError('BATCH_TOO_LARGE', `a batch holds at most ${QUEUE_LIMITS.batchEntriesMax} entries, got ${ids.length}`);
  }
  if (new Set(ids).size !== ids.length) throw new MxError('BATCH_IDS_NOT_DISTINCT', 'the entries of a batch need distinct ids');
}

/** Checks a receive's parameters (the same bounds on every engine). */
export function checkReceive(options: { max: number; waitMs?: number | undefined; visibilityTimeoutS?: number | undefined }): {
  max: number;
  waitMs: number;
  visibilityTimeoutS: number | undefined;
} {
  const max = options.max;
  if (!Number.isInteger(max) || max < 1 || max > QUEUE_LIMITS.receiveMax) {
    throw new MxError('INVALID_ATTRIBUTE', `max must be an integer from 1 to ${QUEUE_LIMITS.receiveMax}`);
  }
  const waitMs = options.waitMs ?? 0;
  if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > QUEUE_LIMITS.waitSMax * 1000) {
    throw new MxError('INVALID_ATTRIBUTE', `the wait must be from 0 to ${QUEUE_LIMITS.waitSMax} s`);
  }
  const visibilityTimeoutS = options.visibilityTimeoutS;
  if (visibilityTimeoutS !== undefined) checkVisibility(visibilityTimeoutS);
  return { max, waitMs, visibilityTimeoutS };
}

export function checkVisibility(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > QUEUE_LIMITS.visibilityTimeoutSMax) {
    throw new MxError('INVALID_ATTRIBUTE', `visibility must be an integer from 0 to ${QUEUE_LIMITS.visibilityTimeoutSMax} s`);
  }
  return seconds;
}
