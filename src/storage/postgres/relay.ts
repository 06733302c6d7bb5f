/**
 * The outbox relay: moves committed outbox rows (written by PostgresStore's `tx.queues.send`) to the queue engine,
 * in order per queue, and deletes them once the queue engine has accepted them.
 *
 * One pass (`relayOnce`):
 *  1. pick up to `queuesPerPassMax` queues whose oldest row is due (not waiting for a retry) and that no other
 *     relay is working on, oldest first, in one statement outside any transaction; when there are none the pass
 *     ends there (one round trip: most passes of a standby relay, below, find nothing to do);
 *  then in one PostgreSQL transaction:
 *  2. take each queue's transaction-level advisory lock with pg_try_advisory_xact_lock, skipping queues another
 *     relay holds (several relays share the work; one queue is only ever relayed by one of them at a time), and
 *  3. read up to `batchMax` rows of each locked queue in id order (FOR UPDATE), in the same statement as 2: every
 *     queue gets its own share, so a backlog in one queue (say, thousands of rows after a queue-engine outage)
 *     never starves the others;
 *  4. per queue, in id order, `sendBatch` chunks of at most 10 with dedupId = the row's dedup id or
 *     `outbox:<row id>` (dedup scope 'retry'); a queue stops at its first failed entry;
 *  5. delete the rows the queue engine accepted, push the failed ones back with a doubling backoff, COMMIT.
 *
 * Why advisory locks rather than `FOR UPDATE SKIP LOCKED` over rows alone: skipping locked rows would let a
 * second relay send a later row of a queue while the first still holds an earlier one, breaking the queue's
 * order. Locking whole queues keeps the order and still lets relays skip what another one is doing.
 *
 * Delivery is at least once: a crash (or a lost COMMIT) after `sendBatch` leaves the rows in place, and the next
 * pass sends them again with the same dedup ids, which the queue engine drops within its dedup window; consumers
 * are idempotent for what lies beyond it. A failed entry (queue missing, message too large for the queue, engine
 * down) is logged with its attempt count and retried with backoff until it goes through; it is never dropped,
 * and it holds back the later rows of its queue so that they are not delivered before it. `metrics()` shows the
 * backlog (pending rows, age of the oldest, rows being retried).
 *
 * The distributed engine runs one active relay (in the scheduler lease's holder: it listens, and after a pass that
 * moved rows it pauses `coalesceMs` so that the next pass moves the rows of more commits) and, in every process, a
 * standby relay (no LISTEN; it moves only rows older than `standbyAfterMs`, for when the active one is gone).
 *
 * Relay states:
 *
 *   stopped ──start()──► running ──stop()──► stopping (current pass finishes) ──► stopped
 *   running: pass ──full batch──► pass
 *                 ├─moved rows, coalesceMs > 0──► pause coalesceMs, then pass
 *                 ├─woken during the pass──► pass
 *                 └─otherwise──► sleep until a NOTIFY on 'mxgate_outbox', the poll interval, or stop()
 *                 pass fails (database down) ──► sleep with backoff, then pass
 *   The LISTEN connection reconnects with backoff when it breaks; polling covers the gap.
 */
import pg from 'pg';
import type { Logger } from '../../log.js';
import type { QueueService, SendInput } from '../../ports/queues.js';
import { QUEUE_LIMITS } from '../../ports/queues.js';
import { isMxError } from '../../errors.js';
import type { PostgresDatabase } from './database.js';
import { query } from './session.js';
import { OUTBOX_CHANNEL } from './store.js';

export interface OutboxRelayOptions {
  database: PostgresDatabase;
  queues: QueueService;
  logger: Logger;
  /** Most rows one pass moves per queue (1..1000, default 100). */
  batchMax?: number;
  /** Most queues one pass locks (1..100, default 16). */
  queuesPerPassMax?: number;
  /** Longest sleep between passes when no notification arrives (10..60 000 ms, default 1000). */
  pollIntervalMs?: number;
  /**
   * A standby relay moves only the rows of queues whose oldest row is older than this (0..3 600 000 ms, default 0:
   * every row): it stands in when the active relay is gone or stuck, and otherwise leaves the rows to it.
   */
  standbyAfterMs?: number;
  /** Pause after a pass that moved rows (and did not fill its batch) before the next pass (0..1000 ms, default 0). */
  coalesceMs?: number;
  /** First retry delay of a failed row, doubling per attempt up to `retryMaxMs` (defaults 200 ms and 60 s). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Wake on LISTEN/NOTIFY (default true); without it the relay only polls. */
  listen?: boolean;
}

export interface RelayPass {
  /** Rows the queue engine accepted (and that were deleted). */
  sent: number;
  /** Rows that failed and wait for a retry. */
  failed: number;
  /** Whether another pass may find work at once (a full batch). */
  more: boolean;
}

export interface RelayMetrics {
  /** Rows waiting in the outbox, counted up to METRICS_COUNT_MAX. */
  pending: number;
  /** Age of the oldest row, whole seconds; 0 when empty. */
  oldestAgeS: number;
  /** Rows that failed at least once and wait for a retry, counted up to METRICS_COUNT_MAX. */
  retrying: number;
}

/**
 * Where the counts of `metrics()` stop. Each walks the primary key from the oldest row: bounded, and small enough
 * that PostgreSQL plans the walk rather than a scan of the whole table and its deleted rows.
 */
export const METRICS_COUNT_MAX = 10_000;

interface OutboxRow {
  id: number;
  queue: string;
  body: string;
  group_id: string | null;
  dedup_id: string | null;
  delay_s: number | null;
  attributes: Record<string, string> | null;
  attempts: number;
  due: boolean;
}

interface Failure {
  row: OutboxRow;
  code: string;
  message: string;
}

/** Longest retry delay of a row that failed because the queue engine was unreachable. */
const OUTAGE_RETRY_MAX_MS = 1000;

/** Advisory lock class of relayed queues (the second key is the hash of "<schema>.<queue>"). */
export const RELAY_LOCK_CLASS = 0x6d78_6702;

function bounded(name: string, value: number | undefined, min: number, max: number, dflt: number): number {
  const v = value ?? dflt;
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`assertion failed: relay ${name} must be an integer from ${min} to ${max}`);
  return v;
}

export class OutboxRelay {
  readonly #db: PostgresDatabase;
  readonly #queues: QueueService;
  readonly #logger: Logger;
  readonly #batchMax: number;
  readonly #queuesMax: number;
  readonly #pollMs: number;
  readonly #coalesceMs: number;
  readonly #standbyAfterMs: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #listen: boolean;
  readonly #sql;
  readonly #totals = { passes: 0, sent: 0, failed: 0 };
  #running = false;
  #loop: Promise<void> | null = null;
  #woken = false;
  #wake: (() => void) | null = null;
  #listener: pg.Client | null = null;
  #listenRetry: NodeJS.Timeout | null = null;
  #listenFailures = 0;

  constructor(options: OutboxRelayOptions) {
    this.#db = options.database;
    this.#queues = options.queues;
    this.#logger = options.logger;
    this.#batchMax = bounded('batchMax', options.batchMax, 1, 1000, 100);
    this.#queuesMax = bounded('queuesPerPassMax', options.queuesPerPassMax, 1, 100, 16);
    this.#pollMs = bounded('pollIntervalMs', options.pollIntervalMs, 10, 60_000, 1000);
    this.#coalesceMs = bounded('coalesceMs', options.coalesceMs, 0, 1000, 0);
    this.#standbyAfterMs = bounded('standbyAfterMs', options.standbyAfterMs, 0, 3_600_000, 0);
    this.#retryBaseMs = bounded('retryBaseMs', options.retryBaseMs, 1, 60_000, 200);
    this.#retryMaxMs = bounded('retryMaxMs', options.retryMaxMs, this.#retryBaseMs, 3_600_000, 60_000);
    this.#listen = options.listen ?? true;
    const outbox = this.#db.name('outbox');
    this.#sql = this.#db.statements({
      // Queues whose oldest row is due, oldest first, leaving out those another relay is working on: run outside a
      // transaction, the lock is tried and let go at the end of the statement (a hint, taken again in the pass).
      heads: `SELECT h.queue FROM (SELECT o.queue FROM ${outbox} o
          WHERE o.next_attempt_at <= clock_timestamp() AND o.created_at <= clock_timestamp() - $4 * interval '1 millisecond'
            AND NOT EXISTS (SELECT 1 FROM ${outbox} e WHERE e.queue = o.queue AND e.id < o.id)
          ORDER BY o.id LIMIT $1) h
        WHERE pg_try_advisory_xact_lock($2::int, hashtext($3 || '.' || h.queue))`,
      // Takes the advisory lock of each queue it can (skipping those another relay holds) and reads the first rows
      // of each locked queue (index outbox_queue), each queue its own LIMIT. The CTE calls a volatile function,
      // so PostgreSQL runs it once, in full, before the rows are read.
      lockedRows: `WITH locked AS (
          SELECT q.queue FROM unnest($1::text[]) AS q(queue) WHERE pg_try_advisory_xact_lock($2::int, hashtext($3 || '.' || q.queue)))
        SELECT r.* FROM locked q CROSS JOIN LATERAL (
          SELECT id, queue, body, group_id, dedup_id, attributes, attempts, next_attempt_at <= clock_timestamp() AS due,
            CASE WHEN delay_s IS NULL THEN NULL
              ELSE GREATEST(0, delay_s - floor(extract(epoch FROM clock_timestamp() - created_at)))::int END AS delay_s
          FROM ${outbox} o WHERE o.queue = q.queue ORDER BY o.id LIMIT $4 FOR UPDATE) r
        ORDER BY r.id`,
      delete: `DELETE FROM ${outbox} WHERE id = ANY($1::bigint[])`,
      retry: `UPDATE ${outbox} o SET attempts = o.attempts + 1, last_error = f.error,
          next_attempt_at = clock_timestamp() + f.delay_ms * interval '1 millisecond'
        FROM unnest($1::bigint[], $2::int[], $3::text[]) AS f(id, delay_ms, error) WHERE o.id = f.id`,
      // Through the primary key, at most $1 rows: a queue table's heap holds many deleted rows between vacuums (tens
      // of megabytes at a few hundred payments per second), and a count over it read every page of them.
      pending: `SELECT count(*)::int AS pending FROM (SELECT 1 FROM ${outbox} ORDER BY id LIMIT $1) p`,
      // The same walk for the rows being retried; the oldest row by id (ids grow with time) through the primary key.
      metrics: `SELECT (SELECT count(*) FROM (SELECT 1 FROM ${outbox} ORDER BY id LIMIT $1) p)::int AS pending,
          (SELECT count(*) FROM (SELECT 1 FROM ${outbox} WHERE attempts > 0 ORDER BY id LIMIT $1) r)::int AS retrying,
          COALESCE((SELECT floor(extract(epoch FROM clock_timestamp() - created_at)) FROM ${outbox} ORDER BY id LIMIT 1), 0)::bigint AS oldest_age_s`,
    });
  }

  /** Totals since this relay was made (passes, rows sent, row failures). */
  get totals(): { passes: number; sent: number; failed: number } {
    return { ...this.#totals };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (this.#listen) void this.#connectListener();
    this.#loop = this.#run();
  }

  /** Stops after the current pass; rows not relayed stay in the outbox for the next start (or another relay). */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#poke();
    if (this.#listenRetry) clearTimeout(this.#listenRetry);
    this.#listenRetry = null;
    const listener = this.#listener;
    this.#listener = null;
    await Promise.all([this.#loop, listener?.end().catch(() => undefined)]);
    this.#loop = null;
  }

  /**
   * Rows waiting in the outbox, counted up to `limit` (0..10 000 000): what admission asks many times a second,
   * at a cost bounded by `limit` rather than by the table's size.
   */
  async pending(limit: number): Promise<number> {
    if (bounded('pending limit', limit, 0, 10_000_000, 0) === 0) return 0;
    return (await this.#db.query<{ pending: number }>(this.#sql.pending, [limit])).rows[0]?.pending ?? 0;
  }

  /** The backlog for operators (/metrics) and tests; the counts stop at METRICS_COUNT_MAX. */
  async metrics(): Promise<RelayMetrics> {
    const row = (await this.#db.query<{ pending: number; retrying: number; oldest_age_s: number }>(this.#sql.metrics, [METRICS_COUNT_MAX])).rows[0];
    return { pending: row?.pending ?? 0, retrying: row?.retrying ?? 0, oldestAgeS: Math.max(0, row?.oldest_age_s ?? 0) };
  }

  /** One pass (see the module comment). Throws STORE_UNAVAILABLE when the database cannot be reached. */
  async relayOnce(): Promise<RelayPass> {
    // The queues with due rows, read outside any transaction: an idle pass (most passes of a standby relay) costs
    // one round trip and no transaction.
    const heads = (await this.#db.query<{ queue: string }>(this.#sql.heads, [this.#queuesMax, RELAY_LOCK_CLASS, this.#db.schema, this.#standbyAfterMs])).rows.map((r) => r.queue);
    this.#totals.passes += 1;
    if (heads.length === 0) return { sent: 0, failed: 0, more: false };
    const nothing = { sent: 0, failed: 0, more: false, failures: [] as Failure[] };
    const pass = await this.#db.transaction(async ({ client, last }) => {
      const rows = (await query<OutboxRow>(client, this.#sql.lockedRows, [heads, RELAY_LOCK_CLASS, this.#db.schema, this.#batchMax])).rows;
      if (rows.length === 0) return nothing;
      const byQueue = new Map<string, OutboxRow[]>();
      for (const row of rows) {
        const list = byQueue.get(row.queue);
        if (list) list.push(row);
        else if (row.due) byQueue.set(row.queue, [row]); // a queue whose oldest row waits for its retry waits whole
      }
      const results = await Promise.all([...byQueue].map(([queue, queueRows]) => this.#sendQueue(queue, queueRows)));
      const sent = results.flatMap((r) => r.sent);
      const failures = results.flatMap((r) => r.failures);
      // The last of these goes out with the COMMIT behind it (see TransactionContext.last).
      const deleted = sent.length > 0 ? query(client, this.#sql.delete, [sent]) : null;
      if (failures.length > 0) {
        if (deleted !== null) await deleted;
        last(
          query(client, this.#sql.retry, [
            failures.map((f) => f.row.id),
            failures.map((f) => this.#retryDelayMs(f.row.attempts + 1, f.code)),
            failures.map((f) => `${f.code}: ${f.message}`.slice(0, 1000)),
          ]),
        );
      } else if (deleted !== null) {
        last(deleted);
      }
      // Another pass at once when a queue filled its share and all of it went through (a failing queue waits).
      const more = results.some((r) => r.full && r.failures.length === 0);
      return { sent: sent.length, failed: failures.length, more, failures };
    });
    this.#totals.sent += pass.sent;
    this.#totals.failed += pass.failed;
    // Logged after the commit, so a retry that is logged is one that is recorded.
    for (const f of pass.failures) {
      this.#logger.error(
        { queue: f.row.queue, outboxId: f.row.id, attempt: f.row.attempts + 1, code: f.code, err: f.message },
        'outbox relay could not hand a message to its queue; retrying with backoff',
      );
    }
    return { sent: pass.sent, failed: pass.failed, more: pass.more };
  }

  /** Sends one queue's rows in order, in chunks; `full` when the queue had a whole share (more may wait). */
  async #sendQueue(queue: string, rows: OutboxRow[]): Promise<{ sent: number[]; failures: Failure[]; full: boolean }> {
    const sent: number[] = [];
    const failures: Failure[] = [];
    for (let start = 0; start < rows.length; start += QUEUE_LIMITS.batchEntriesMax) {
      const chunk = rows.slice(start, start + QUEUE_LIMITS.batchEntriesMax);
      const entries = chunk.map((row): SendInput => {
        // The relay reads nothing of an answer but its success: the dedup id only has to stop a resent batch (or a
        // stage that ran twice) from enqueuing a message twice, which lets the engine skip its own dedup records.
        const entry: SendInput = { body: row.body, dedupId: row.dedup_id ?? `outbox:${row.id}`, dedupScope: 'retry' };
        if (row.group_id !== null) entry.groupId = row.group_id;
        if (row.delay_s !== null) entry.delayS = row.delay_s;
        if (row.attributes !== null) entry.attributes = row.attributes;
        return entry;
      });
      try {
        const outcomes = await this.#queues.sendBatch(queue, entries);
        chunk.forEach((row, i) => {
          const outcome = outcomes[i];
          if (outcome?.ok) sent.push(row.id);
          else failures.push({ row, code: outcome ? outcome.error.code : 'INTERNAL', message: outcome ? outcome.error.message : 'no outcome for the entry' });
        });
      } catch (error) {
        for (const row of chunk) {
          failures.push({ row, code: isMxError(error) ? error.code : 'INTERNAL', message: error instanceof Error ? error.message : String(error) });
        }
      }
      if (failures.length > 0) break; // the rest of the queue waits behind the failed row
    }
    return { sent, failures, full: rows.length >= this.#batchMax };
  }

  /**
   * The delay before the next attempt. An outage of the queue engine (STORE_UNAVAILABLE) is not the row's fault:
   * its delay stays short, so that the backlog moves within a second of the engine's return rather than after
   * a backoff grown through the whole outage (each pass in an outage already waits out a request timeout).
   */
  #retryDelayMs(attempt: number, code?: string): number {
    const cap = code === 'STORE_UNAVAILABLE' ? Math.min(this.#retryMaxMs, OUTAGE_RETRY_MAX_MS) : this.#retryMaxMs;
    const delay = Math.min(cap, this.#retryBaseMs * 2 ** Math.min(attempt - 1, 30));
    return Math.round(delay / 2 + Math.random() * (delay / 2));
  }

  async #run(): Promise<void> {
    let outage = 0;
    while (this.#running) {
      this.#woken = false;
      let pass: RelayPass;
      try {
        pass = await this.relayOnce();
        outage = 0;
      } catch (error) {
        outage += 1;
        this.#logger.error({ err: error, attempt: outage }, 'outbox relay pass failed; trying again with backoff');
        await this.#sleep(this.#retryDelayMs(outage));
        continue;
      }
      if (pass.more) continue;
      if (pass.sent > 0 && this.#coalesceMs > 0) {
        // Rows are coming in: let a few more commits land so that the next pass moves them together.
        await new Promise((resolve) => setTimeout(resolve, this.#coalesceMs));
        continue;
      }
      if (this.#woken) continue;
      await this.#sleep(this.#pollMs);
    }
  }

  #sleep(ms: number): Promise<void> {
    if (!this.#running || this.#woken) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    }).then(() => {
      this.#wake = null;
    });
  }

  #poke(): void {
    this.#woken = true;
    this.#wake?.();
  }

  async #connectListener(): Promise<void> {
    this.#listenRetry = null;
    if (!this.#running) return;
    const client = new pg.Client(this.#db.clientConfig({}));
    const broken = (error: unknown) => {
      if (this.#listener !== client) return;
      this.#listener = null;
      this.#listenFailures += 1;
      this.#logger.warn({ err: error, attempt: this.#listenFailures }, 'outbox relay LISTEN connection lost; polling until it is back');
      client.end().catch(() => undefined);
      if (this.#running) this.#listenRetry = setTimeout(() => void this.#connectListener(), this.#retryDelayMs(this.#listenFailures));
    };
    client.on('notification', (message) => {
      if (message.channel === OUTBOX_CHANNEL && message.payload === this.#db.schema) this.#poke();
    });
    client.on('error', broken);
    client.on('end', () => broken(new Error('connection ended')));
    this.#listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      this.#listenFailures = 0;
      if (this.#listener !== client) {
        await client.end().catch(() => undefined);
        return;
      }
      this.#poke(); // rows committed while no one listened
    } catch (error) {
      broken(error);
    }
  }
}
