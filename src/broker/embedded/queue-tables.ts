/**
 * Synchronous SQL operations on the embedded queue tables. Every method runs inside a unit of the group
 * commit (see storage/sqlite/database.ts); the caller supplies `now` from the Clock port.
 */
import type Database from 'better-sqlite3';
import { MxError } from '../../errors.js';
import type { IdGenerator } from '../../ports/ids.js';
import { DEAD_LETTER_REASON, deadLetterReason, type QueueAttributes, type QueueMetrics, type ReceivedMessage, type SendResult } from '../../ports/queues.js';
import type { CheckedMessage } from '../../queues/rules.js';
import type { SqliteDatabase } from '../../storage/sqlite/database.js';

export interface QueueRow {
  id: number;
  attributes: QueueAttributes;
  deadLetterQueueId: number | null;
}

interface RawQueue {
  id: number;
  name: string;
  fifo: number;
  content_based_dedup: number;
  visibility_timeout_s: number;
  max_receive_count: number | null;
  dead_letter_queue_id: number | null;
  dlq_name: string | null;
  retention_s: number;
  delay_s: number;
  max_message_bytes: number;
  created_at: number;
}

interface RawMessage {
  seq: number;
  message_id: string;
  body: string;
  group_id: string | null;
  attributes: string | null;
  sent_at: number;
  visible_at: number;
  expires_at: number;
  receive_count: number;
  first_received_at: number | null;
}

const MESSAGE_COLUMNS = 'seq, message_id, body, group_id, attributes, sent_at, visible_at, expires_at, receive_count, first_received_at';
const RECEIPT = /^(\d{1,15})\.([A-Za-z0-9_-]{8,64})$/;

function toQueueRow(raw: RawQueue): QueueRow {
  return {
    id: raw.id,
    deadLetterQueueId: raw.dead_letter_queue_id,
    attributes: {
      name: raw.name,
      fifo: raw.fifo === 1,
      contentBasedDedup: raw.content_based_dedup === 1,
      visibilityTimeoutS: raw.visibility_timeout_s,
      maxReceiveCount: raw.max_receive_count,
      deadLetterQueue: raw.dlq_name,
      retentionS: raw.retention_s,
      delayS: raw.delay_s,
      maxMessageBytes: raw.max_message_bytes,
      createdAt: raw.created_at,
    },
  };
}

/** A message as received, from its row after the receive (receive count and first receive already updated). */
function toReceived(raw: RawMessage, token: string): ReceivedMessage {
  return {
    messageId: raw.message_id,
    receiptHandle: `${raw.seq}.${token}`,
    body: raw.body,
    groupId: raw.group_id,
    attributes: raw.attributes === null ? {} : (JSON.parse(raw.attributes) as Record<string, string>),
    receiveCount: raw.receive_count,
    sequenceNumber: String(raw.seq),
    sentAt: raw.sent_at,
    firstReceivedAt: raw.first_received_at!,
  };
}

export function parseReceiptHandle(handle: string): { seq: number; token: string } {
  const match = RECEIPT.exec(handle);
  if (!match) throw new MxError('RECEIPT_HANDLE_INVALID', 'malformed receipt handle');
  return { seq: Number(match[1]), token: match[2]! };
}

export class QueueTables {
  readonly #ids: IdGenerator;
  readonly #s;

  constructor(database: SqliteDatabase, ids: IdGenerator) {
    this.#ids = ids;
    const p = (sql: string) => database.prepare(sql);
    const queueSelect = `SELECT q.*, d.name AS dlq_name FROM queues q LEFT JOIN queues d ON d.id = q.dead_letter_queue_id`;
    this.#s = {
      queueByName: p(`${queueSelect} WHERE q.name = ?`),
      queueById: p(`${queueSelect} WHERE q.id = ?`),
      allQueues: p(`${queueSelect} ORDER BY q.name`),
      countQueues: p('SELECT COUNT(*) FROM queues').pluck(),
      insertQueue: p(`INSERT INTO queues (name, fifo, content_based_dedup, visibility_timeout_s, max_receive_count,
        dead_letter_queue_id, retention_s, delay_s, max_message_bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      queuesUsingDlq: p('SELECT name FROM queues WHERE dead_letter_queue_id = ?').pluck(),
      deleteQueue: p('DELETE FROM queues WHERE id = ?'),
      deleteMessagesOf: p('DELETE FROM queue_messages WHERE queue_id = ?'),
      deleteGroupsOf: p('DELETE FROM queue_groups WHERE queue_id = ?'),
      deleteDedupOf: p('DELETE FROM queue_dedup WHERE queue_id = ?'),

      dedupGet: p('SELECT message_id, seq, expires_at FROM queue_dedup WHERE queue_id = ? AND dedup_key = ?'),
      dedupPut: p(`INSERT INTO queue_dedup (queue_id, dedup_key, message_id, seq, expires_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (queue_id, dedup_key) DO UPDATE SET message_id = excluded.message_id, seq = excluded.seq, expires_at = excluded.expires_at`),
      insertMessage: p(`INSERT INTO queue_messages (queue_id, message_id, body, group_id, attributes, sent_at, visible_at, expires_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      // A 'retry' send: its dedup key on the message itself; no row when a message of the queue holds the key.
      insertRetryMessage: p(`INSERT INTO queue_messages (queue_id, message_id, body, group_id, attributes, sent_at, visible_at, expires_at, dedup_key)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (queue_id, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING`),
      retryHolder: p('SELECT seq, message_id, sent_at FROM queue_messages WHERE queue_id = ? AND dedup_key = ?'),
      releaseRetryKey: p('UPDATE queue_messages SET dedup_key = NULL WHERE seq = ?'),
      // The new message is the group's newest: it becomes the tail of a group that exists, head and tail of a new one.
      sentToGroup: p(`INSERT INTO queue_groups (queue_id, group_id, head_seq, available_at, tail_seq) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (queue_id, group_id) DO UPDATE SET tail_seq = excluded.tail_seq`),

      readyMessages: p(`SELECT ${MESSAGE_COLUMNS} FROM queue_messages WHERE queue_id = ? AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?`),
      readyGroups: p(`SELECT group_id, head_seq, tail_seq FROM queue_groups WHERE queue_id = ? AND available_at <= ?
        ORDER BY available_at, head_seq LIMIT ?`),
      // The only message of a group, received in one statement when it is visible, within retention and not due for
      // the dead-letter queue (otherwise the general path decides). RETURNING gives the values after the update.
      claimOnly: p(`UPDATE queue_messages SET visible_at = ?, receive_count = receive_count + 1,
        first_received_at = COALESCE(first_received_at, ?), receipt_token = ?
        WHERE seq = ? AND queue_id = ? AND visible_at <= ? AND expires_at > ? AND receive_count < ?
        RETURNING ${MESSAGE_COLUMNS}`),
      groupMessages: p(`SELECT ${MESSAGE_COLUMNS} FROM queue_messages WHERE queue_id = ? AND group_id = ? ORDER BY seq LIMIT ?`),
      groupHead: p(`SELECT seq, visible_at, (SELECT MAX(seq) FROM queue_messages WHERE queue_id = @queue AND group_id = @group) AS tail
        FROM queue_messages WHERE queue_id = @queue AND group_id = @group ORDER BY seq LIMIT 1`),
      groupLock: p('SELECT MAX(visible_at) FROM queue_messages WHERE queue_id = ? AND group_id = ? AND receive_count > 0').pluck(),
      upsertGroup: p(`INSERT INTO queue_groups (queue_id, group_id, head_seq, available_at, tail_seq) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (queue_id, group_id) DO UPDATE SET head_seq = excluded.head_seq, available_at = excluded.available_at,
          tail_seq = excluded.tail_seq`),
      deleteOnlyOfGroup: p('DELETE FROM queue_groups WHERE queue_id = ? AND group_id = ? AND head_seq = ? AND tail_seq = ?'),
      setGroupAvailable: p('UPDATE queue_groups SET available_at = ? WHERE queue_id = ? AND group_id = ?'),
      deleteGroup: p('DELETE FROM queue_groups WHERE queue_id = ? AND group_id = ?'),
      markReceived: p(`UPDATE queue_messages SET visible_at = ?, receive_count = receive_count + 1,
        first_received_at = COALESCE(first_received_at, ?), receipt_token = ? WHERE seq = ?`),
      // A message leaves its queue's record of retry-scoped sends (its key could clash in the other queue), and
      // carries why it was moved as an attribute (ports/queues.ts, DEAD_LETTER_REASON).
      lastFailure: p('SELECT last_failure FROM queue_messages WHERE seq = ?').pluck(),
      moveToDeadLetter: p(`UPDATE queue_messages SET queue_id = ?, source_queue_id = ?, visible_at = ?, expires_at = sent_at + ? * 1000,
        receive_count = 0, first_received_at = NULL, receipt_token = NULL, dedup_key = NULL, last_failure = NULL,
        attributes = json_set(COALESCE(attributes, '{}'), ?, ?) WHERE seq = ?`),
      deleteBySeq: p('DELETE FROM queue_messages WHERE seq = ?'),
      deleteByReceipt: p('DELETE FROM queue_messages WHERE seq = ? AND queue_id = ? AND receipt_token = ? RETURNING seq, group_id'),
      changeVisibility: p(`UPDATE queue_messages SET visible_at = ?, last_failure = COALESCE(?, last_failure)
        WHERE seq = ? AND queue_id = ? AND receipt_token = ? AND visible_at > ? RETURNING group_id`),
      nextMessageTime: p('SELECT MIN(visible_at) FROM queue_messages WHERE queue_id = ? AND visible_at > ?').pluck(),
      nextGroupTime: p('SELECT MIN(available_at) FROM queue_groups WHERE queue_id = ? AND available_at > ?').pluck(),
      depth: p('SELECT COUNT(*) FROM queue_messages WHERE queue_id = ?').pluck(),
      metrics: p(`SELECT COUNT(*) AS total, COALESCE(SUM(visible_at <= @now), 0) AS visible,
        COALESCE(SUM(visible_at > @now AND receive_count > 0), 0) AS in_flight, MIN(sent_at) AS oldest
        FROM queue_messages WHERE queue_id = @queue`),
      deadLettered: p(`SELECT seq, source_queue_id, group_id FROM queue_messages
        WHERE queue_id = ? AND source_queue_id IS NOT NULL AND visible_at <= ? AND seq > ? ORDER BY seq LIMIT ?`),
      redriveOne: p(`UPDATE queue_messages SET queue_id = ?, source_queue_id = NULL, visible_at = ?, expires_at = sent_at + ? * 1000,
        receive_count = 0, first_received_at = NULL, receipt_token = NULL, dedup_key = NULL, last_failure = NULL WHERE seq = ?`),
      orphanOne: p('UPDATE queue_messages SET source_queue_id = NULL WHERE seq = ?'),
      expiredMessages: p('SELECT seq, queue_id, group_id FROM queue_messages WHERE expires_at <= ? LIMIT ?'),
      expiredDedup: p(`DELETE FROM queue_dedup WHERE (queue_id, dedup_key) IN
        (SELECT queue_id, dedup_key FROM queue_dedup WHERE expires_at <= ? LIMIT ?)`),
    };
  }

  queueByName(name: string): QueueRow | null {
    const raw = this.#s.queueByName.get(name) as RawQueue | undefined;
    return raw ? toQueueRow(raw) : null;
  }

  queueById(id: number): QueueRow | null {
    const raw = this.#s.queueById.get(id) as RawQueue | undefined;
    return raw ? toQueueRow(raw) : null;
  }

  allQueues(): QueueRow[] {
    return (this.#s.allQueues.all() as RawQueue[]).map(toQueueRow);
  }

  countQueues(): number {
    return this.#s.countQueues.get() as number;
  }

  insertQueue(attrs: Omit<QueueAttributes, 'createdAt'>, deadLetterQueueId: number | null, now: number): number {
    const info = this.#s.insertQueue.run(
      attrs.name, attrs.fifo ? 1 : 0, attrs.contentBasedDedup ? 1 : 0, attrs.visibilityTimeoutS, attrs.maxReceiveCount,
      deadLetterQueueId, attrs.retentionS, attrs.delayS, attrs.maxMessageBytes, now,
    );
    return Number(info.lastInsertRowid);
  }

  queuesUsingAsDeadLetter(id: number): string[] {
    return this.#s.queuesUsingDlq.all(id) as string[];
  }

  deleteQueue(id: number): void {
    this.#s.deleteMessagesOf.run(id);
    this.#s.deleteGroupsOf.run(id);
    this.#s.deleteDedupOf.run(id);
    this.#s.deleteQueue.run(id);
  }

  depth(id: number): number {
    return this.#s.depth.get(id) as number;
  }

  purge(id: number): number {
    const purged = this.#s.deleteMessagesOf.run(id).changes;
    this.#s.deleteGroupsOf.run(id);
    return purged;
  }

  send(queue: QueueRow, message: CheckedMessage, now: number, dedupWindowMs: number, scope: 'window' | 'retry' = 'window'): SendResult {
    if (message.dedupKey !== null && scope === 'retry') return this.#sendRetry(queue, message, now, dedupWindowMs);
    if (message.dedupKey !== null) {
      const seen = this.#s.dedupGet.get(queue.id, message.dedupKey) as { message_id: string; seq: number; expires_at: number } | undefined;
      if (seen && seen.expires_at > now) {
        return { messageId: seen.message_id, sequenceNumber: String(seen.seq), duplicate: true };
      }
    }
    const messageId = this.#ids.uuid();
    const visibleAt = now + message.delayS * 1000;
    const info = this.#s.insertMessage.run(
      queue.id, messageId, message.body, message.groupId,
      message.attributes === null ? null : JSON.stringify(message.attributes),
      now, visibleAt, now + queue.attributes.retentionS * 1000,
    );
    const seq = Number(info.lastInsertRowid);
    if (message.dedupKey !== null) this.#s.dedupPut.run(queue.id, message.dedupKey, messageId, seq, now + dedupWindowMs);
    this.#sentToGroup(queue, message, seq, visibleAt);
    return { messageId, sequenceNumber: String(seq), duplicate: false };
  }

  /**
   * A send whose dedup id need only stop repeats of itself (SendInput.dedupScope 'retry'): the message that holds
   * the key is the record, kept while the message is in the queue and at most the dedup window. One statement when
   * the key is new, against three (look up, insert, record) and the record's later sweep.
   */
  #sendRetry(queue: QueueRow, message: CheckedMessage, now: number, dedupWindowMs: number): SendResult {
    const messageId = this.#ids.uuid();
    const visibleAt = now + message.delayS * 1000;
    const attributes = message.attributes === null ? null : JSON.stringify(message.attributes);
    const insert = () =>
      this.#s.insertRetryMessage.run(
        queue.id, messageId, message.body, message.groupId, attributes, now, visibleAt, now + queue.attributes.retentionS * 1000, message.dedupKey,
      );
    let info = insert();
    if (info.changes === 0) {
      const holder = this.#s.retryHolder.get(queue.id, message.dedupKey) as { seq: number; message_id: string; sent_at: number };
      if (holder.sent_at + dedupWindowMs > now) {
        return { messageId: holder.message_id, sequenceNumber: String(holder.seq), duplicate: true };
      }
      // Older than the window: no longer a repeat. The old message keeps its place but gives up the key.
      this.#s.releaseRetryKey.run(holder.seq);
      info = insert();
    }
    const seq = Number(info.lastInsertRowid);
    this.#sentToGroup(queue, message, seq, visibleAt);
    return { messageId, sequenceNumber: String(seq), duplicate: false };
  }

  #sentToGroup(queue: QueueRow, message: CheckedMessage, seq: number, visibleAt: number): void {
    if (queue.attributes.fifo && message.groupId !== null) {
      this.#s.sentToGroup.run(queue.id, message.groupId, seq, visibleAt, seq);
    }
  }

  /**
   * Takes up to `max` visible messages and makes them in flight until now + visibility. Messages past their
   * retention are dropped; messages received `maxReceiveCount` times already go to the dead-letter queue.
   * Returns the received messages and the ids of queues that got dead-lettered messages.
   */
  receive(queue: QueueRow, max: number, visibilityS: number, now: number): { messages: ReceivedMessage[]; touched: string[] } {
    const touched: string[] = [];
    const visibleUntil = now + visibilityS * 1000;
    const out: ReceivedMessage[] = [];
    const take = (raw: RawMessage): boolean => {
      if (raw.expires_at <= now) {
        this.#s.deleteBySeq.run(raw.seq);
        return false;
      }
      const maxReceives = queue.attributes.maxReceiveCount;
      if (maxReceives !== null && queue.deadLetterQueueId !== null && raw.receive_count >= maxReceives) {
        this.#deadLetter(queue, raw, now);
        if (queue.attributes.deadLetterQueue !== null) touched.push(queue.attributes.deadLetterQueue);
        return false;
      }
      const token = this.#ids.token(12);
      this.#s.markReceived.run(visibleUntil, now, token, raw.seq);
      out.push(toReceived({ ...raw, receive_count: raw.receive_count + 1, first_received_at: raw.first_received_at ?? now }, token));
      return true;
    };

    if (!queue.attributes.fifo) {
      // Bounded: each round either fills the batch or removes the rows it skipped from the ready range.
      for (let round = 0; round < 10 && out.length < max; round++) {
        const want = max - out.length;
        const rows = this.#s.readyMessages.all(queue.id, now, want) as RawMessage[];
        for (const raw of rows) take(raw);
        if (rows.length < want) break;
      }
      return { messages: out, touched };
    }

    // FIFO: fill from one group first (in order, stopping at the first message not yet visible), then the next.
    const groups = this.#s.readyGroups.all(queue.id, now, max * 4) as Array<{ group_id: string; head_seq: number; tail_seq: number | null }>;
    const dueForDeadLetter = queue.attributes.maxReceiveCount !== null && queue.deadLetterQueueId !== null;
    const receivesBelow = dueForDeadLetter ? queue.attributes.maxReceiveCount! : Number.MAX_SAFE_INTEGER;
    for (const { group_id: groupId, head_seq: head, tail_seq: tail } of groups) {
      if (out.length >= max) break;
      if (head === tail) {
        // The group holds this one message at most (see the migration): nothing else of the group to look at.
        const token = this.#ids.token(12);
        const raw = this.#s.claimOnly.get(visibleUntil, now, token, head, queue.id, now, now, receivesBelow) as RawMessage | undefined;
        if (raw) {
          out.push(toReceived(raw, token));
          this.#s.setGroupAvailable.run(visibleUntil, queue.id, groupId);
          continue;
        }
      }
      const before = out.length;
      const rows = this.#s.groupMessages.all(queue.id, groupId, max - out.length + 10) as RawMessage[];
      for (const raw of rows) {
        if (out.length >= max || raw.visible_at > now) break;
        take(raw);
      }
      if (out.length > before) this.#s.setGroupAvailable.run(visibleUntil, queue.id, groupId);
      else this.refreshGroup(queue.id, groupId);
    }
    return { messages: out, touched };
  }

  #deadLetter(queue: QueueRow, raw: RawMessage, now: number): void {
    const dlqId = queue.deadLetterQueueId!;
    const dlq = this.queueById(dlqId);
    if (!dlq) {
      this.#s.deleteBySeq.run(raw.seq);
      return;
    }
    const reason = deadLetterReason(raw.receive_count, (this.#s.lastFailure.get(raw.seq) as string | null) ?? null);
    this.#s.moveToDeadLetter.run(dlqId, queue.id, now, dlq.attributes.retentionS, `$."${DEAD_LETTER_REASON}"`, reason, raw.seq);
    if (raw.group_id !== null) {
      if (queue.attributes.fifo) this.refreshGroup(queue.id, raw.group_id);
      if (dlq.attributes.fifo) this.refreshGroup(dlqId, raw.group_id);
    }
  }

  /** Recomputes a FIFO group's head and the time it may deliver again (after its in-flight messages). */
  refreshGroup(queueId: number, groupId: string): void {
    const head = this.#s.groupHead.get({ queue: queueId, group: groupId }) as { seq: number; visible_at: number; tail: number } | undefined;
    if (!head) {
      this.#s.deleteGroup.run(queueId, groupId);
      return;
    }
    const lock = (this.#s.groupLock.get(queueId, groupId) as number | null) ?? 0;
    this.#s.upsertGroup.run(queueId, groupId, head.seq, Math.max(head.visible_at, lock), head.tail);
  }

  /**
   * After deleting messages of a FIFO group: when the one deleted message was the group's only one (head and tail),
   * the group goes in one statement; otherwise it is recomputed. Returns whether messages remain in the group
   * (a receive waiting for them should be woken).
   */
  settleGroup(queueId: number, groupId: string, deletedSeqs: readonly number[]): boolean {
    if (deletedSeqs.length === 1) {
      const seq = deletedSeqs[0]!;
      if (this.#s.deleteOnlyOfGroup.run(queueId, groupId, seq, seq).changes === 1) return false;
    }
    this.refreshGroup(queueId, groupId);
    return true;
  }

  /**
   * Deletes the message that holds the receipt handle. Returns its seq and FIFO group, which the caller must settle
   * (once per group for a batch) with `settleGroup`; null for standard queues.
   */
  deleteMessage(queue: QueueRow, receiptHandle: string): { seq: number; groupId: string } | null {
    const { seq, token } = parseReceiptHandle(receiptHandle);
    const row = this.#s.deleteByReceipt.get(seq, queue.id, token) as { seq: number; group_id: string | null } | undefined;
    if (!row) throw new MxError('RECEIPT_HANDLE_INVALID', 'no message of this queue holds that receipt handle (deleted, or received again since)');
    return queue.attributes.fifo && row.group_id !== null ? { seq: row.seq, groupId: row.group_id } : null;
  }

  /** `reason`: the consumer's failure, kept as the message's last one (null keeps the one it has). */
  changeVisibility(queue: QueueRow, receiptHandle: string, visibilityS: number, now: number, reason: string | null = null): void {
    const { seq, token } = parseReceiptHandle(receiptHandle);
    const row = this.#s.changeVisibility.get(now + visibilityS * 1000, reason, seq, queue.id, token, now) as { group_id: string | null } | undefined;
    if (!row) throw new MxError('RECEIPT_HANDLE_INVALID', 'no in-flight message of this queue holds that receipt handle');
    if (queue.attributes.fifo && row.group_id !== null) this.refreshGroup(queue.id, row.group_id);
  }

  /** The next time a message of the queue becomes receivable, or null when nothing is waiting for time. */
  nextReceivableAt(queue: QueueRow, now: number): number | null {
    const stmt = queue.attributes.fifo ? this.#s.nextGroupTime : this.#s.nextMessageTime;
    return (stmt.get(queue.id, now) as number | null) ?? null;
  }

  metrics(queue: QueueRow, now: number): QueueMetrics {
    const m = this.#s.metrics.get({ now, queue: queue.id }) as { total: number; visible: number; in_flight: number; oldest: number | null };
    return {
      visible: m.visible,
      inFlight: m.in_flight,
      delayed: m.total - m.visible - m.in_flight,
      oldestAgeS: m.oldest === null ? 0 : Math.max(0, Math.floor((now - m.oldest) / 1000)),
    };
  }

  /** Moves up to `limit` visible dead-lettered messages back to their sources; returns counts and touched queues. */
  redriveChunk(deadLetterQueue: QueueRow, now: number, afterSeq: number, limit: number): { moved: number; lastSeq: number; seen: number; touched: Set<string> } {
    const rows = this.#s.deadLettered.all(deadLetterQueue.id, now, afterSeq, limit) as Array<{ seq: number; source_queue_id: number; group_id: string | null }>;
    const touched = new Set<string>();
    const sources = new Map<number, QueueRow | null>();
    let moved = 0;
    for (const row of rows) {
      if (!sources.has(row.source_queue_id)) sources.set(row.source_queue_id, this.queueById(row.source_queue_id));
      const source = sources.get(row.source_queue_id);
      if (!source) {
        this.#s.orphanOne.run(row.seq);
        continue;
      }
      this.#s.redriveOne.run(source.id, now, source.attributes.retentionS, row.seq);
      moved += 1;
      touched.add(source.attributes.name);
      if (row.group_id !== null) {
        if (deadLetterQueue.attributes.fifo) this.refreshGroup(deadLetterQueue.id, row.group_id);
        if (source.attributes.fifo) this.refreshGroup(source.id, row.group_id);
      }
    }
    return { moved, lastSeq: rows.at(-1)?.seq ?? afterSeq, seen: rows.length, touched };
  }

  /** Removes messages past retention and expired dedup keys, at most `limit` of each. */
  sweep(now: number, limit: number): { messages: number; dedupKeys: number } {
    const expired = this.#s.expiredMessages.all(now, limit) as Array<{ seq: number; queue_id: number; group_id: string | null }>;
    const groups = new Map<string, [number, string]>();
    for (const row of expired) {
      this.#s.deleteBySeq.run(row.seq);
      if (row.group_id !== null) groups.set(`${row.queue_id}\u0000${row.group_id}`, [row.queue_id, row.group_id]);
    }
    for (const [queueId, groupId] of groups.values()) {
      const queue = this.queueById(queueId);
      if (queue?.attributes.fifo) this.refreshGroup(queueId, groupId);
    }
    const dedupKeys = this.#s.expiredDedup.run(now, limit).changes;
    return { messages: expired.length, dedupKeys };
  }
}

export type { Database };
