import type { Migration } from '../../storage/sqlite/database.js';

/**
 * Tables of the embedded queues (in the same SQLite file as the store, so that a state change and the
 * messages it sends commit in one transaction).
 *
 * queue_messages.visible_at drives the life cycle: visible when visible_at <= now; otherwise in flight when it
 * has been received (receive_count > 0) or delayed when it has not. queue_groups holds one row per FIFO group
 * that has messages: its head (oldest message) and the time the group may deliver again, so a FIFO receive
 * reads groups, never a scan of a long backlog.
 *
 * Version 2 (cheaper stage messages):
 * - queue_groups.tail_seq: the newest message sent to the group. head_seq is at most and tail_seq at least the
 *   seq of every message of the group (null: unknown), so head_seq = tail_seq means the group holds that one
 *   message at most: a receive then claims it in one statement, and deleting it deletes the group, with no look at
 *   the group's other messages. The ready index carries tail_seq so that a receive reads no group row.
 * - queue_messages.dedup_key: the record of a send with dedup scope 'retry' is its own message (unique per queue
 *   while it holds the key), not a queue_dedup row with its expiry index and its later sweep.
 *
 * Version 3: queue_messages.last_failure, the reason the last consumer gave when it released the message
 * (changeVisibility), for the reason of a move to the dead-letter queue; cleared by that move and by redrive.
 */
export const QUEUE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'queues, messages, FIFO groups and deduplication keys',
    sql: `
      CREATE TABLE queues (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        fifo INTEGER NOT NULL,
        content_based_dedup INTEGER NOT NULL,
        visibility_timeout_s INTEGER NOT NULL,
        max_receive_count INTEGER,
        dead_letter_queue_id INTEGER REFERENCES queues(id),
        retention_s INTEGER NOT NULL,
        delay_s INTEGER NOT NULL,
        max_message_bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );

      CREATE TABLE queue_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        queue_id INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        body TEXT NOT NULL,
        group_id TEXT,
        attributes TEXT,
        sent_at INTEGER NOT NULL,
        visible_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        first_received_at INTEGER,
        receipt_token TEXT,
        source_queue_id INTEGER
      );
      CREATE INDEX queue_messages_ready ON queue_messages (queue_id, visible_at, seq);
      CREATE INDEX queue_messages_group ON queue_messages (queue_id, group_id, seq) WHERE group_id IS NOT NULL;
      CREATE INDEX queue_messages_group_lock ON queue_messages (queue_id, group_id, visible_at)
        WHERE group_id IS NOT NULL AND receive_count > 0;
      CREATE INDEX queue_messages_expiry ON queue_messages (expires_at);
      CREATE INDEX queue_messages_source ON queue_messages (queue_id, source_queue_id) WHERE source_queue_id IS NOT NULL;

      CREATE TABLE queue_groups (
        queue_id INTEGER NOT NULL,
        group_id TEXT NOT NULL,
        head_seq INTEGER NOT NULL,
        available_at INTEGER NOT NULL,
        PRIMARY KEY (queue_id, group_id)
      ) WITHOUT ROWID;
      CREATE INDEX queue_groups_ready ON queue_groups (queue_id, available_at, head_seq);

      CREATE TABLE queue_dedup (
        queue_id INTEGER NOT NULL,
        dedup_key TEXT NOT NULL,
        message_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (queue_id, dedup_key)
      ) WITHOUT ROWID;
      CREATE INDEX queue_dedup_expiry ON queue_dedup (expires_at);
    `,
  },
  {
    version: 2,
    description: 'FIFO group tails and dedup keys of retry-scoped sends on their messages',
    sql: `
      ALTER TABLE queue_groups ADD COLUMN tail_seq INTEGER;
      UPDATE queue_groups SET tail_seq = (SELECT MAX(m.seq) FROM queue_messages m
        WHERE m.queue_id = queue_groups.queue_id AND m.group_id = queue_groups.group_id);
      DROP INDEX queue_groups_ready;
      CREATE INDEX queue_groups_ready ON queue_groups (queue_id, available_at, head_seq, tail_seq);

      ALTER TABLE queue_messages ADD COLUMN dedup_key TEXT;
      CREATE UNIQUE INDEX queue_messages_dedup ON queue_messages (queue_id, dedup_key) WHERE dedup_key IS NOT NULL;
    `,
  },
  {
    version: 3,
    description: 'the last failure a consumer gave for a message, for its dead-letter reason',
    sql: `ALTER TABLE queue_messages ADD COLUMN last_failure TEXT;`,
  },
];
