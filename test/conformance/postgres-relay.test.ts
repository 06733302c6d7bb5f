/**
 * The outbox relay against PostgreSQL and the embedded queue engine: several relays at once deliver each row once
 * and keep each queue's order; failures are retried with backoff and hold back their queue; a retry after a send
 * whose outcome was lost adds no duplicate; a commit wakes a relay through NOTIFY without waiting for a poll; a
 * standby relay moves only rows older than its threshold; a relay that moved rows pauses so that the next pass moves
 * more at once;
 * several processes migrating one schema at once apply each migration once.
 */
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { openEmbeddedEngine, type Engine } from '../../src/engines/embedded.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import type { QueueService, ReceivedMessage } from '../../src/ports/queues.js';
import { openPostgresStore, type OpenPostgresStoreOptions, type OutboxRelay, type PostgresEngine } from '../../src/storage/postgres/index.js';
import { dropSchema, freshSchemaName, POSTGRES_URL, postgresOrSkip } from '../helpers/postgres.js';

/** A queue service whose sendBatch goes through `around` (to slow it down or make it fail). */
function wrapped(inner: QueueService, around: (send: () => ReturnType<QueueService['sendBatch']>, queue: string) => ReturnType<QueueService['sendBatch']>): QueueService {
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'sendBatch') return (queue: string, entries: Parameters<QueueService['sendBatch']>[1]) => around(() => target.sendBatch(queue, entries), queue);
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function drain(queues: QueueService, queue: string, firstWaitMs = 5000): Promise<ReceivedMessage[]> {
  const all: ReceivedMessage[] = [];
  for (let batch = await queues.receive(queue, { max: 10, waitMs: firstWaitMs }); batch.length > 0; batch = await queues.receive(queue, { max: 10, waitMs: 300 })) {
    all.push(...batch);
    await queues.deleteBatch(queue, batch.map((m) => m.receiptHandle));
  }
  return all.sort((a, b) => (BigInt(a.sequenceNumber) < BigInt(b.sequenceNumber) ? -1 : 1));
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

if (await postgresOrSkip('outbox relay: PostgreSQL')) {
  let schema: string;
  let dir: string;
  let engine: Engine;
  let pgs: PostgresEngine[];
  const clock = new ManualClock();
  const open = async (extra: Partial<OpenPostgresStoreOptions> = {}) => {
    const opened = await openPostgresStore({ url: POSTGRES_URL, schema, poolMax: 4, clock, ids: randomIds, logger: silentLogger(), ...extra });
    pgs.push(opened);
    return opened;
  };

  beforeEach(async () => {
    schema = freshSchemaName();
    dir = mkdtempSync(join(tmpdir(), 'mxgate-relay-'));
    engine = openEmbeddedEngine({ config: loadConfig({ overrides: { dataDir: dir } }), clock, ids: randomIds, logger: silentLogger() });
    pgs = [];
  });
  afterEach(async () => {
    for (const p of pgs) await p.close();
    await engine.close();
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  test('two relays at once deliver every row exactly once, each queue in commit order', async () => {
    const writer = await open();
    await engine.queues.createQueue({ name: 'plain' });
    await engine.queues.createQueue({ name: 'ordered.fifo' });
    const perQueue = 120;
    // Transactions of several messages each, to both queues, committed one after another.
    for (let t = 0; t < perQueue / 6; t++) {
      await writer.store.transaction(async (tx) => {
        for (let i = t * 6; i < t * 6 + 6; i++) {
          await tx.queues.send('plain', { body: `p${i}` });
          await tx.queues.send('ordered.fifo', { body: `f${i}`, groupId: `g${i % 3}`, dedupId: `d${i}` });
        }
      });
    }
    const counting = writer.relay(engine.queues);
    assert.equal((await counting.metrics()).pending, perQueue * 2);
    // What admission reads: the same rows, counted up to a limit.
    assert.deepEqual(await Promise.all([counting.pending(0), counting.pending(5), counting.pending(perQueue * 2), counting.pending(10_000)]), [0, 5, perQueue * 2, perQueue * 2]);
    // Jitter, as a network adds: a relay that sent a later row of a queue beside an earlier one would be caught.
    const jitter = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 8));
    // Both relays must take part: the first holds its first queue until the second has sent from the other one.
    let firstHolds!: () => void;
    const firstHolding = new Promise<void>((resolve) => (firstHolds = resolve));
    let secondSent!: () => void;
    const secondHasSent = new Promise<void>((resolve) => (secondSent = resolve));
    const viaFirst = wrapped(engine.queues, async (send) => {
      firstHolds();
      await secondHasSent;
      await jitter();
      return send();
    });
    const viaSecond = wrapped(engine.queues, async (send) => {
      await jitter();
      const sent = await send();
      secondSent();
      return sent;
    });
    const second = await open();
    const relays: OutboxRelay[] = [writer.relay(viaFirst, { batchMax: 7, queuesPerPassMax: 1, pollIntervalMs: 20 }), second.relay(viaSecond, { batchMax: 5, pollIntervalMs: 20 })];
    relays[0]!.start();
    await firstHolding;
    relays[1]!.start();
    await until(async () => (await relays[0]!.metrics()).pending === 0);
    for (const r of relays) await r.stop();
    assert.equal(relays.reduce((n, r) => n + r.totals.sent, 0), perQueue * 2, 'each row was handed to the queues once, not deduplicated later');
    assert.ok(relays.every((r) => r.totals.sent > 0), 'both relays took part');
    const expected = (prefix: string) => Array.from({ length: perQueue }, (_, i) => `${prefix}${i}`);
    assert.deepEqual((await drain(engine.queues, 'plain')).map((m) => m.body), expected('p'));
    assert.deepEqual((await drain(engine.queues, 'ordered.fifo')).map((m) => m.body), expected('f'));
  });

  test('a backlog in one queue does not hold back the others: each locked queue gets its own share of a pass', async () => {
    const p = await open();
    await engine.queues.createQueue({ name: 'backlog' });
    await engine.queues.createQueue({ name: 'quiet' });
    // The backlog is older than the quiet queue's rows, as after an outage of the queue engine.
    await p.store.transaction(async (tx) => {
      for (let i = 0; i < 250; i++) await tx.queues.send('backlog', { body: `b${i}` });
    });
    await p.store.transaction(async (tx) => {
      for (let i = 0; i < 3; i++) await tx.queues.send('quiet', { body: `q${i}` });
    });
    const relay = p.relay(engine.queues, { batchMax: 100, listen: false });
    const first = await relay.relayOnce();
    assert.deepEqual([first.sent, first.more], [103, true], 'a full share of the backlog and every row of the quiet queue');
    assert.deepEqual((await drain(engine.queues, 'quiet', 100)).map((m) => m.body), ['q0', 'q1', 'q2']);
    const second = await relay.relayOnce();
    const third = await relay.relayOnce();
    assert.deepEqual([second.sent, second.more, third.sent, third.more], [100, true, 50, false]);
    assert.deepEqual((await drain(engine.queues, 'backlog')).map((m) => m.body), Array.from({ length: 250 }, (_, i) => `b${i}`));
  });

  test('a failing entry is retried with backoff, logged, never dropped, and holds back its queue', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const p = await open({ logger });
    await engine.queues.createQueue({ name: 'other' });
    await p.store.transaction(async (tx) => {
      await tx.queues.send('late', { body: 'first' });
      await tx.queues.send('late', { body: 'second' });
      await tx.queues.send('other', { body: 'unaffected' });
    });
    const relay = p.relay(engine.queues, { retryBaseMs: 50, retryMaxMs: 100, pollIntervalMs: 20, listen: false });
    const pass = await relay.relayOnce();
    assert.deepEqual([pass.sent, pass.failed], [1, 2], 'the other queue goes on');
    assert.deepEqual(await relay.metrics().then((m) => [m.pending, m.retrying]), [2, 2]);
    assert.ok(lines.some((l) => l.includes('QUEUE_NOT_FOUND') && l.includes('"attempt":1')), 'the failure is logged with its attempt');
    assert.deepEqual((await relay.relayOnce()).sent, 0, 'the queue waits for the retry time');
    relay.start();
    await until(async () => lines.length >= 4); // retried, and failed again
    await engine.queues.createQueue({ name: 'late' });
    await until(async () => (await relay.metrics()).pending === 0);
    await relay.stop();
    assert.deepEqual((await drain(engine.queues, 'late')).map((m) => m.body), ['first', 'second']);
    assert.deepEqual((await drain(engine.queues, 'other')).map((m) => m.body), ['unaffected']);
  });

  test('a send whose outcome was lost is retried under the same dedup id: no duplicate', async () => {
    const p = await open();
    await engine.queues.createQueue({ name: 'jobs' });
    await p.store.transaction(async (tx) => {
      await tx.queues.send('jobs', { body: 'once', attributes: { kind: 'test' } });
      await tx.queues.send('jobs', { body: 'twice?', dedupId: 'caller-dedup' });
    });
    let calls = 0;
    const lossy = wrapped(engine.queues, async (send) => {
      const outcome = await send();
      calls += 1;
      if (calls === 1) throw new Error('connection reset after the send');
      return outcome;
    });
    const relay = p.relay(lossy, { retryBaseMs: 10, retryMaxMs: 10, listen: false });
    assert.equal((await relay.relayOnce()).failed, 2);
    await until(async () => (await relay.relayOnce()).sent === 2);
    const got = await drain(engine.queues, 'jobs');
    assert.deepEqual(got.map((m) => m.body), ['once', 'twice?']);
    assert.deepEqual(got[0]?.attributes, { kind: 'test' });
  });

  test('a commit wakes a listening relay at once; a rolled-back send never arrives', async () => {
    const p = await open();
    await engine.queues.createQueue({ name: 'wake' });
    const relay = p.relay(engine.queues, { pollIntervalMs: 60_000 });
    relay.start();
    await new Promise((resolve) => setTimeout(resolve, 300)); // the relay's first pass is over; it now sleeps
    await assert.rejects(
      p.store.transaction(async (tx) => {
        await tx.queues.send('wake', { body: 'rolled back' });
        throw new Error('no');
      }),
    );
    const started = Date.now();
    await p.store.transaction((tx) => tx.queues.send('wake', { body: 'now' }));
    const [m] = await engine.queues.receive('wake', { max: 10, waitMs: 5000 });
    assert.equal(m?.body, 'now');
    assert.ok(Date.now() - started < 3000, 'woken by NOTIFY, not by the 60 s poll');
    await relay.stop();
    assert.deepEqual(await engine.queues.receive('wake', { max: 10, waitMs: 200 }), []);
  });

  test('a standby relay leaves fresh rows to the active relay and moves rows older than standbyAfterMs', async () => {
    const p = await open();
    await engine.queues.createQueue({ name: 'standby' });
    const standby = p.relay(engine.queues, { listen: false, pollIntervalMs: 50, standbyAfterMs: 800 });
    standby.start();
    try {
      const sent = Date.now();
      await p.store.transaction((tx) => tx.queues.send('standby', { body: 'stale' }));
      // No active relay: for standbyAfterMs the row stays in the outbox, then the standby moves it.
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal((await standby.metrics()).pending, 1, 'a fresh row is left to the active relay');
      const [m] = await engine.queues.receive('standby', { max: 10, waitMs: 5000 });
      assert.equal(m?.body, 'stale');
      assert.ok(Date.now() - sent >= 800, 'moved once it was older than standbyAfterMs');
      await until(async () => (await standby.metrics()).pending === 0);
      assert.equal(standby.totals.sent, 1);
    } finally {
      await standby.stop();
    }
  });

  test('with coalesceMs, a relay that moved rows pauses, and the rows committed meanwhile go in one pass', async () => {
    const p = await open();
    await engine.queues.createQueue({ name: 'coalesce' });
    const batches: number[] = [];
    const counting = wrapped(engine.queues, (send) => send().then((outcomes) => (batches.push(outcomes.length), outcomes)));
    const relay = p.relay(counting, { pollIntervalMs: 60_000, coalesceMs: 600 });
    relay.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 200)); // the first pass found nothing; the relay listens
      await p.store.transaction((tx) => tx.queues.send('coalesce', { body: 'a' }));
      await until(async () => batches.length === 1);
      // The relay pauses after moving `a`: the next two commits are moved together once the pause is over.
      await p.store.transaction((tx) => tx.queues.send('coalesce', { body: 'b' }));
      await new Promise((resolve) => setTimeout(resolve, 150)); // a relay without the pause would move `b` alone
      await p.store.transaction((tx) => tx.queues.send('coalesce', { body: 'c' }));
      await until(async () => (await relay.metrics()).pending === 0);
      assert.deepEqual(batches, [1, 2]);
      assert.deepEqual((await drain(engine.queues, 'coalesce')).map((m) => m.body), ['a', 'b', 'c']);
    } finally {
      await relay.stop();
    }
  });

  test('several processes migrating one schema at once apply each migration once', async () => {
    const opened = await Promise.all(Array.from({ length: 4 }, () => open()));
    const rows = await opened[0]!.database.query<{ component: string; version: number }>(
      `SELECT component, version FROM ${opened[0]!.database.name('schema_migrations')} ORDER BY component, version`,
    );
    assert.deepEqual(rows.rows.map((r) => `${r.component}:${r.version}`), ['auth:1', 'store:1', 'workflow:1', 'workflow:2', 'workflow:3']);
  });
}
