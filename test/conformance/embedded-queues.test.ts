import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { DATABASE_FILE, openEmbeddedEngine } from '../../src/engines/embedded.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { EmbeddedQueues } from '../../src/broker/embedded/queues.js';
import { queueConformance } from './queues.suite.js';

// A fresh SQLite file per test, with durability on as in production.
queueConformance('embedded (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-queues-'));
  const clock = new ManualClock();
  const engine = openEmbeddedEngine({ config: loadConfig({ overrides: { dataDir: dir } }), clock, ids: randomIds, logger: silentLogger() });
  return {
    queues: engine.queues,
    clock,
    sweep: async () => {
      await (engine.queues as EmbeddedQueues).sweep();
    },
    close: async () => {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

// Engine-specific: how the embedded engine keeps its promises, and what a stage message costs it.
describe('embedded queues: retry-scoped sends, FIFO group bookkeeping, upgrade', () => {
  const open = (dir: string, clock: ManualClock) =>
    openEmbeddedEngine({ config: loadConfig({ overrides: { dataDir: dir } }), clock, ids: randomIds, logger: silentLogger() });
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'mxgate-queues-'));
    const clock = new ManualClock();
    return { dir, clock, engine: open(dir, clock) };
  };
  const file = (dir: string) => new Database(join(dir, DATABASE_FILE));

  /** Statements of the queue tables run while `work` runs, by their SQL. */
  async function queueStatements(work: () => Promise<void>): Promise<string[]> {
    const probe = new Database(':memory:');
    const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<'run' | 'get' | 'all', (...args: unknown[]) => unknown>;
    probe.close();
    const seen: string[] = [];
    const originals = { run: proto.run, get: proto.get, all: proto.all };
    for (const name of ['run', 'get', 'all'] as const) {
      const original = originals[name];
      proto[name] = function (this: { source: string }, ...args: unknown[]) {
        if (/queue_(messages|groups|dedup)/.test(this.source)) seen.push(this.source);
        return original.apply(this, args);
      };
    }
    try {
      await work();
    } finally {
      Object.assign(proto, originals);
    }
    return seen;
  }

  test('a retry-scoped repeat is a duplicate while the first message is in the queue and within the window, with no dedup record', async () => {
    const { dir, clock, engine } = fresh();
    try {
      await engine.queues.createQueue({ name: 'stage.fifo' });
      const send = (body: string) =>
        engine.store.transaction(async (tx) => tx.queues.send('stage.fifo', { body, groupId: 'g', dedupId: 't1:processing', dedupScope: 'retry' }));
      const first = await send('one');
      const again = await send('one again');
      assert.equal(first.duplicate, false);
      assert.deepEqual(again, { ...first, duplicate: true });
      const db = file(dir);
      try {
        assert.equal(db.prepare('SELECT COUNT(*) FROM queue_dedup').pluck().get(), 0, 'the message is the record');
      } finally {
        db.close();
      }
      clock.advance(300_000);
      const late = await send('after the window');
      assert.equal(late.duplicate, false, 'past the dedup window the same id enqueues again');
      assert.ok(BigInt(late.sequenceNumber) > BigInt(first.sequenceNumber));
      const got = await engine.queues.receive('stage.fifo', { max: 10 });
      assert.deepEqual(got.map((m) => m.body), ['one', 'after the window']);
      // A window-scoped send keeps its own record: unaffected by the retry-scoped key.
      const windowed = await engine.queues.send('stage.fifo', { body: 'w', groupId: 'h', dedupId: 'w1' });
      assert.equal((await engine.queues.send('stage.fifo', { body: 'w', groupId: 'h', dedupId: 'w1' })).messageId, windowed.messageId);
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('retry-scoped messages with one dedup id from two queues can share a dead-letter queue and be redriven', async () => {
    const { dir, engine } = fresh();
    try {
      await engine.queues.createQueue({ name: 'dlq.fifo' });
      for (const name of ['a.fifo', 'b.fifo']) {
        await engine.queues.createQueue({ name, maxReceiveCount: 1, deadLetterQueue: 'dlq.fifo' });
        await engine.queues.send(name, { body: name, groupId: 'g', dedupId: 'same', dedupScope: 'retry' });
        const [m] = await engine.queues.receive(name, { max: 1 });
        await engine.queues.changeVisibility(name, m!.receiptHandle, 0);
        assert.deepEqual(await engine.queues.receive(name, { max: 1 }), [], 'moved to the dead-letter queue');
      }
      assert.equal((await engine.queues.getQueue('dlq.fifo')).metrics.visible, 2);
      assert.deepEqual(await engine.queues.redrive('dlq.fifo'), { moved: 2 });
      assert.deepEqual((await engine.queues.receive('a.fifo', { max: 10 })).map((m) => m.body), ['a.fifo']);
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a FIFO group that holds one message at a time: the delete of its only message removes the group, a later message keeps it', async () => {
    const { dir, engine } = fresh();
    try {
      await engine.queues.createQueue({ name: 'g.fifo' });
      await engine.queues.send('g.fifo', { body: 'a', groupId: 'g', dedupId: 'a' });
      const [a] = await engine.queues.receive('g.fifo', { max: 10 });
      // Sent while the group's only message is in flight: the group must outlive the delete of `a`.
      await engine.queues.send('g.fifo', { body: 'b', groupId: 'g', dedupId: 'b' });
      assert.deepEqual(await engine.queues.receive('g.fifo', { max: 10 }), [], 'the group is held');
      await engine.queues.delete('g.fifo', a!.receiptHandle);
      const [b] = await engine.queues.receive('g.fifo', { max: 10 });
      assert.equal(b?.body, 'b');
      assert.equal(b?.receiveCount, 1);
      await engine.queues.delete('g.fifo', b!.receiptHandle);
      const db = file(dir);
      try {
        assert.equal(db.prepare('SELECT COUNT(*) FROM queue_groups').pluck().get(), 0, 'no group row is left behind');
      } finally {
        db.close();
      }
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a stage message of a group with no backlog costs six statements of the queue tables, sent, received and settled', async () => {
    const { dir, engine } = fresh();
    try {
      await engine.queues.createQueue({ name: 'cost.fifo' });
      const statements = await queueStatements(async () => {
        for (let i = 0; i < 10; i++) {
          await engine.store.transaction(async (tx) => {
            await tx.queues.send('cost.fifo', { body: `m${i}`, groupId: `g${i}`, dedupId: `t${i}:processing`, dedupScope: 'retry' });
          });
        }
        const got = await engine.queues.receive('cost.fifo', { max: 10, untilDurable: false });
        assert.equal(got.length, 10);
        for (const m of got) {
          await engine.store.transaction(async (tx) => assert.equal(await tx.queues.settle!('cost.fifo', m.receiptHandle), true));
        }
      });
      // Per message: insert + group (send), claim + group held (receive), delete + group gone (settle); one
      // look for ready groups per receive.
      assert.ok(statements.length <= 61, `at most 6 statements per message, not ${statements.length / 10}:\n${statements.join('\n')}`);
      assert.equal((await engine.queues.getQueue('cost.fifo')).metrics.visible, 0);
    } finally {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a database of the first queue schema upgrades in place and keeps its messages and groups', async () => {
    const { dir, clock, engine } = fresh();
    await engine.queues.createQueue({ name: 'old.fifo' });
    for (const [body, group] of [['x1', 'x'], ['x2', 'x'], ['y1', 'y']] as const) {
      await engine.queues.send('old.fifo', { body, groupId: group, dedupId: body });
    }
    await engine.close();
    // Back to version 1 of the queue tables, as a database written before the upgrade.
    const db = file(dir);
    db.exec(`
      DROP INDEX queue_messages_dedup;
      ALTER TABLE queue_messages DROP COLUMN dedup_key;
      DROP INDEX queue_groups_ready;
      ALTER TABLE queue_groups DROP COLUMN tail_seq;
      CREATE INDEX queue_groups_ready ON queue_groups (queue_id, available_at, head_seq);
      DELETE FROM schema_migrations WHERE component = 'queues' AND version = 2;
    `);
    db.close();
    const reopened = open(dir, clock);
    try {
      const check = file(dir);
      try {
        const tails = check.prepare('SELECT group_id, head_seq < tail_seq AS several FROM queue_groups ORDER BY group_id').all();
        assert.deepEqual(tails, [{ group_id: 'x', several: 1 }, { group_id: 'y', several: 0 }]);
      } finally {
        check.close();
      }
      const got = await reopened.queues.receive('old.fifo', { max: 10 });
      assert.deepEqual(got.map((m) => m.body), ['x1', 'x2', 'y1']);
      assert.equal((await reopened.queues.deleteBatch('old.fifo', got.map((m) => m.receiptHandle))).every((o) => o.ok), true);
      assert.equal((await reopened.queues.send('old.fifo', { body: 'x1', groupId: 'x', dedupId: 'x1' })).duplicate, true, 'window records kept');
    } finally {
      await reopened.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// A receive hands out only durable messages, but does not wait for the flush of its own change.
describe('embedded queues: a receive waits for what it hands out, not for itself', () => {
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'mxgate-queues-'));
    const engine = openEmbeddedEngine({ config: loadConfig({ overrides: { dataDir: dir } }), clock: new ManualClock(), ids: randomIds, logger: silentLogger() });
    return {
      engine,
      close: async () => {
        await engine.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };

  test('a message sent in the batch of the receive is handed out only once that batch is durable', async () => {
    const { engine, close } = fresh();
    try {
      await engine.queues.createQueue({ name: 'q' });
      const settled: string[] = [];
      // Both in one group commit: the send first, then the receive that finds its message.
      const send = engine.queues.send('q', { body: 'm' }).then(() => settled.push('send'));
      const receive = engine.queues.receive('q', { max: 1 }).then((got) => settled.push(`receive ${got.map((m) => m.body).join()}`));
      await Promise.all([send, receive]);
      assert.deepEqual(settled, ['send', 'receive m'], 'the receive answers after the send is durable, never before');
    } finally {
      await close();
    }
  });

  test('a receive of a durable message answers at its commit, before a write of its own batch is durable', async () => {
    const { engine, close } = fresh();
    try {
      await engine.queues.createQueue({ name: 'q' });
      await engine.queues.createQueue({ name: 'other' });
      await engine.queues.send('q', { body: 'm' });
      for (let round = 0; round < 5; round++) {
        const settled: string[] = [];
        // One group commit: a durable write first, then the receive.
        const write = engine.queues.send('other', { body: `w${round}` }).then(() => settled.push('write'));
        const receive = engine.queues.receive('q', { max: 1, visibilityTimeoutS: 0 }).then((got) => settled.push(`receive ${got.length}`));
        await Promise.all([write, receive]);
        assert.deepEqual(settled, ['receive 1', 'write'], 'the receive did not wait for the flush of its batch');
      }
    } finally {
      await close();
    }
  });

  test('a long poll is woken by a send and answers once that send is durable', async () => {
    const { engine, close } = fresh();
    try {
      await engine.queues.createQueue({ name: 'q' });
      const settled: string[] = [];
      const receive = engine.queues.receive('q', { max: 1, waitMs: 5_000 }).then((got) => settled.push(`receive ${got.map((m) => m.body).join()}`));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const started = Date.now();
      await engine.queues.send('q', { body: 'm' }).then(() => settled.push('send'));
      await receive;
      assert.deepEqual(settled, ['send', 'receive m']);
      assert.ok(Date.now() - started < 2_000, 'woken by the send, not by the end of the poll');
    } finally {
      await close();
    }
  });
});
