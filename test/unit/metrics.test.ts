import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderMetrics } from '../../src/http/routes/metrics.js';
import type { QueueInfo, QueueService } from '../../src/ports/queues.js';

/** The queue port as /metrics uses it: one queue with a known backlog. */
const queues = {
  listQueues: async (): Promise<QueueInfo[]> => [
    {
      name: 'mx.processing.fifo',
      fifo: true,
      contentBasedDedup: false,
      visibilityTimeoutS: 30,
      maxReceiveCount: null,
      deadLetterQueue: null,
      retentionS: 345_600,
      delayS: 0,
      maxMessageBytes: 262_144,
      createdAt: 1_796_083_200_000,
      metrics: { visible: 7, inFlight: 2, delayed: 0, oldestAgeS: 3 },
    },
  ],
} as unknown as QueueService;

test('the outbox of the distributed engine is on the page: rows by state and the age of the oldest', async () => {
  const page = await renderMetrics({ queues, outbox: async () => ({ pending: 12, retrying: 3, oldestAgeS: 41 }) });
  assert.match(page, /^mxgate_outbox_rows\{state="pending"\} 12$/m);
  assert.match(page, /^mxgate_outbox_rows\{state="retrying"\} 3$/m);
  assert.match(page, /^mxgate_outbox_oldest_age_seconds 41$/m);
});

test('an engine without an outbox shows none, and an unreachable database leaves the rest of the page', async () => {
  const embedded = await renderMetrics({ queues, outbox: async () => null });
  assert.doesNotMatch(embedded, /mxgate_outbox/);
  const outage = await renderMetrics({ queues, outbox: () => Promise.reject(new Error('connection refused')) });
  assert.doesNotMatch(outage, /mxgate_outbox/);
  assert.match(outage, /^mxgate_queue_messages\{queue="mx\.processing\.fifo",state="visible"\} 7$/m);
});

test('stranded transactions are on the page; an unreachable database leaves them out and the rest in', async () => {
  const page = await renderMetrics({ queues, stranded: async () => 4 });
  assert.match(page, /^mxgate_transactions_stranded 4$/m);
  assert.match(page, /^# TYPE mxgate_transactions_stranded gauge$/m);
  const outage = await renderMetrics({ queues, stranded: () => Promise.reject(new Error('database is locked')) });
  assert.doesNotMatch(outage, /mxgate_transactions_stranded/);
  assert.match(outage, /^mxgate_queue_messages\{queue="mx\.processing\.fifo",state="in_flight"\} 2$/m);
});

test('the embedded store reports WAL start-overs missed because of a reader', async () => {
  const page = await renderMetrics({ queues, storeStats: () => ({ commits: 9, units: 30, walFlushes: 9, walResets: 2, walResetPauseMs: 40, walResetMisses: 3 }) });
  assert.match(page, /^mxgate_store_wal_reset_misses_total 3$/m);
  assert.match(page, /^mxgate_store_wal_reset_pause_seconds_total 0\.04$/m);
});

test("the hub's own backups: the last success and the failures", async () => {
  const page = await renderMetrics({ queues, storeStats: () => ({ commits: 1, units: 1, backups: { lastSuccessAt: 1_796_083_200_500, failures: 2 } }) });
  assert.match(page, /^mxgate_backup_last_success_timestamp_seconds 1796083200\.5$/m);
  assert.match(page, /^mxgate_backup_failures_total 2$/m);
  const none = await renderMetrics({ queues, storeStats: () => ({ commits: 1, units: 1 }) });
  assert.doesNotMatch(none, /mxgate_backup/);
});
