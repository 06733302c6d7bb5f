import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { NatsQueues } from '../../src/broker/nats/queues.js';
import type { ReceivedMessage } from '../../src/ports/queues.js';
import { connectNats, countingConnection, natsSkipReason } from '../helpers/nats.js';
import { queueConformance, rejectsWith } from './queues.suite.js';

const skip = await natsSkipReason();

if (skip !== null) {
  test('queue conformance: NATS JetStream', { skip }, () => {});
} else {
  // Fresh streams and buckets per test under a unique prefix, deleted afterwards; the same defaults as the
  // embedded engine's configuration.
  const open = async (shared?: { prefix: string; clock: ManualClock }, options: { holdMaxMs?: number; ackGraceS?: number } = {}) => {
    const prefix = shared?.prefix ?? `t${randomIds.token(6).toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 12);
    const clock = shared?.clock ?? new ManualClock();
    const nc = await connectNats();
    // Every request of the engine is counted (what an operation costs on this engine is its number of requests).
    const { connection, sent } = countingConnection(nc);
    const queues = await NatsQueues.open({
      connection,
      clock,
      ids: randomIds,
      logger: silentLogger(),
      defaults: { visibilityTimeoutS: 30, retentionS: 345_600, maxMessageBytes: 262_144 },
      maxQueues: 1000,
      dedupWindowS: 300,
      prefix,
      ...options,
    });
    return {
      prefix,
      queues,
      clock,
      sent,
      sweep: async () => {
        await queues.sweep();
      },
      close: async () => {
        await queues.close();
        const jsm = await jetstreamManager(nc);
        const mine = prefix.toUpperCase();
        for await (const name of jsm.streams.names()) {
          if (name.startsWith(`${mine}_`) || name.startsWith(`KV_${mine}_`)) await jsm.streams.delete(name);
        }
        await nc.close();
      },
    };
  };
  queueConformance('NATS JetStream', () => open());

  /** Requests since `from` that count per message: less pulls and the reads of queue attributes (cached for a second). */
  const messageRequests = (h: { prefix: string; sent: { subjects: string[] } }, from: number): string[] => {
    const bucket = `KV_${h.prefix.toUpperCase()}_queues`;
    return h.sent.subjects.slice(from).filter((s) => !s.includes(bucket) && !s.startsWith('$JS.API.CONSUMER.MSG.NEXT'));
  };

  // What the shared suite cannot reach: several hub processes on one queue (two engines, two connections, one
  // prefix), and deliveries the engine fetched but did not hand out.
  describe('NATS JetStream engine', () => {
    test('a receipt handle works from another process; a FIFO group stays locked across processes', async () => {
      const a = await open();
      const b = await open({ prefix: a.prefix, clock: a.clock });
      try {
        await a.queues.createQueue({ name: 'x.fifo', contentBasedDedup: true });
        await a.queues.send('x.fifo', { body: 'a0', groupId: 'A' });
        await a.queues.send('x.fifo', { body: 'a1', groupId: 'A' });
        const [first] = await a.queues.receive('x.fifo', { max: 1 });
        assert.equal(first?.body, 'a0');
        assert.deepEqual(await b.queues.receive('x.fifo', { max: 10 }), [], 'group A is in flight in the other process');
        await b.queues.changeVisibility('x.fifo', first.receiptHandle, 0);
        const [again] = await b.queues.receive('x.fifo', { max: 1 });
        assert.equal(again?.body, 'a0');
        assert.equal(again?.receiveCount, 2);
        await rejectsWith(a.queues.delete('x.fifo', first.receiptHandle), 'RECEIPT_HANDLE_INVALID');
        await a.queues.delete('x.fifo', again.receiptHandle);
        // a1 may sit in b's pool (fetched, not handed out) for a while; b hands it out at once.
        const next = await b.queues.receive('x.fifo', { max: 10, waitMs: 2000 });
        assert.deepEqual(next.map((m) => m.body), ['a1']);
        assert.equal(next[0]!.receiveCount, 1);
      } finally {
        await b.close();
        await a.close();
      }
    });

    test('a FIFO message costs five requests from a relayed send to its delete', async () => {
      const h = await open();
      try {
        await h.queues.createQueue({ name: 'cost.fifo' });
        const requests = (from: number) => messageRequests(h, from).length;
        const before = h.sent.subjects.length;
        const outcomes = await h.queues.sendBatch(
          'cost.fifo',
          Array.from({ length: 10 }, (_, i) => ({ body: `m${i}`, groupId: `g${i}`, dedupId: `outbox:${i}`, dedupScope: 'retry' as const })),
        );
        assert.ok(outcomes.every((o) => o.ok));
        assert.equal(requests(before), 10, 'a relayed send is its publish alone');
        const got: ReceivedMessage[] = [];
        for (let i = 0; i < 20 && got.length < 10; i++) got.push(...(await h.queues.receive('cost.fifo', { max: 10, waitMs: 500 })));
        assert.equal(got.length, 10);
        const deleted = await h.queues.deleteBatch('cost.fifo', got.map((m) => m.receiptHandle));
        assert.ok(deleted.every((o) => o.ok));
        // Receive: the group's head (direct get) and the receipt record; delete: the record and the +ACK.
        assert.ok(requests(before) <= 50, `at most 5 requests per message besides pulls, not ${requests(before) / 10}`);
        assert.deepEqual(await h.queues.receive('cost.fifo', { max: 10 }), [], 'deleted messages never come back');
      } finally {
        await h.close();
      }
    });

    test('a local receive writes no receipt record for a message deleted at once: three requests a FIFO message', async () => {
      const h = await open();
      try {
        await h.queues.createQueue({ name: 'local.fifo' });
        const requests = (from: number) => messageRequests(h, from);
        const before = h.sent.subjects.length;
        await h.queues.sendBatch('local.fifo', Array.from({ length: 10 }, (_, i) => ({ body: `m${i}`, groupId: `g${i}`, dedupId: `outbox:${i}`, dedupScope: 'retry' as const })));
        const got: ReceivedMessage[] = [];
        for (let i = 0; i < 20 && got.length < 10; i++) got.push(...(await h.queues.receive('local.fifo', { max: 10, waitMs: 500, local: true })));
        assert.equal(got.length, 10);
        assert.ok((await h.queues.deleteBatch('local.fifo', got.map((m) => m.receiptHandle))).every((o) => o.ok));
        const sent = requests(before);
        assert.equal(sent.filter((s) => s.includes('_state.r.')).length, 0, 'no receipt record put or deleted');
        assert.ok(sent.length <= 30, `at most 3 requests per message besides pulls, not ${sent.length / 10}`);
        assert.deepEqual(await h.queues.receive('local.fifo', { max: 10 }), [], 'deleted messages never come back');
      } finally {
        await h.close();
      }
    });

    test('a local receive records its message once held a second or given a new visibility; its deadline releases it', async () => {
      const a = await open();
      const b = await open({ prefix: a.prefix, clock: a.clock });
      try {
        await a.queues.createQueue({ name: 'local', visibilityTimeoutS: 30 });
        for (const body of ['x', 'y', 'z']) await a.queues.send('local', { body });
        const got = await a.queues.receive('local', { max: 3, local: true });
        assert.deepEqual(got.map((m) => m.body), ['x', 'y', 'z']);
        const [x, y, z] = got as [ReceivedMessage, ReceivedMessage, ReceivedMessage];
        // Not recorded yet: another process does not know the handle.
        await rejectsWith(b.queues.delete('local', x.receiptHandle), 'RECEIPT_HANDLE_INVALID');
        // A new visibility records it: from then on any process may use the handle.
        await a.queues.changeVisibility('local', y.receiptHandle, 60);
        await b.queues.delete('local', y.receiptHandle);
        // Held a second: the housekeeping tick records it.
        await new Promise((resolve) => setTimeout(resolve, 1800));
        await b.queues.delete('local', x.receiptHandle);
        // z: its deadline passes (the clock), and it is received again, counted.
        a.clock.advance(31_000);
        const again = await a.queues.receive('local', { max: 10, waitMs: 2000 });
        assert.deepEqual(again.map((m) => [m.body, m.receiveCount]), [['z', 2]]);
        await a.queues.delete('local', again[0]!.receiptHandle);
        await rejectsWith(a.queues.delete('local', z.receiptHandle), 'RECEIPT_HANDLE_INVALID');
      } finally {
        await b.close();
        await a.close();
      }
    });

    test('a local receive whose deadline passes before it is recorded gives the message back, with no record', async () => {
      const h = await open();
      try {
        await h.queues.createQueue({ name: 'lapse', visibilityTimeoutS: 30 });
        await h.queues.send('lapse', { body: 'w' });
        const before = h.sent.subjects.length;
        const [w] = await h.queues.receive('lapse', { max: 1, local: true });
        assert.equal(w?.body, 'w');
        h.clock.advance(31_000);
        const again = await h.queues.receive('lapse', { max: 1, waitMs: 2000 });
        assert.deepEqual(again.map((m) => [m.body, m.receiveCount]), [['w', 2]]);
        // The local receive and its release wrote nothing; the second receive reads for an earlier record and puts its own.
        const records = h.sent.subjects.slice(before).filter((s) => s.includes('_state.r.'));
        assert.equal(records.length, 2, records.join(', '));
        assert.ok(records[0]!.startsWith('$JS.API.DIRECT.GET'), records.join(', '));
        await rejectsWith(h.queues.delete('lapse', w.receiptHandle), 'RECEIPT_HANDLE_INVALID');
        await h.queues.delete('lapse', again[0]!.receiptHandle);
      } finally {
        await h.close();
      }
    });

    test("a relayed send's dedup id stops its repeat without a dedup record", async () => {
      const h = await open();
      try {
        await h.queues.createQueue({ name: 'relay' });
        const entry = { body: 'once', dedupId: 'outbox:7', dedupScope: 'retry' as const };
        const [first] = await h.queues.sendBatch('relay', [entry]);
        const [again] = await h.queues.sendBatch('relay', [entry]);
        assert.ok(first?.ok && again?.ok);
        assert.equal(again.value.duplicate, true);
        assert.equal(again.value.sequenceNumber, first.value.sequenceNumber);
        assert.equal(again.value.messageId, first.value.messageId, 'the first message is still in the stream: its id');
        const got = await h.queues.receive('relay', { max: 10 });
        assert.deepEqual(got.map((m) => m.body), ['once']);
      } finally {
        await h.close();
      }
    });

    test('a FIFO head delivered again after its holder stopped waits for its visibility deadline', async () => {
      // A "crashes" (stops, leaving its message unacknowledged and no longer kept alive): the server delivers the
      // message again after its ack wait (visibility 1 s + grace 3 s), long before the manual clock's deadline. b
      // gives back what it cannot hand out after 300 ms, so the head goes back and forth several times meanwhile.
      const a = await open(undefined, { ackGraceS: 3 });
      const b = await open({ prefix: a.prefix, clock: a.clock }, { ackGraceS: 3, holdMaxMs: 300 });
      try {
        await a.queues.createQueue({ name: 'held.fifo', contentBasedDedup: true, visibilityTimeoutS: 1 });
        await a.queues.send('held.fifo', { body: 'h0', groupId: 'H' });
        await a.queues.send('held.fifo', { body: 'h1', groupId: 'H' });
        const [first] = await a.queues.receive('held.fifo', { max: 1 });
        assert.equal(first?.body, 'h0');
        await a.queues.close();
        const early: string[] = [];
        const until = Date.now() + 6000;
        while (Date.now() < until) early.push(...(await b.queues.receive('held.fifo', { max: 10, waitMs: 500 })).map((m) => m.body));
        assert.deepEqual(early, [], 'nothing of the group while its head is in flight by the clock');
        a.clock.advance(1_000);
        const next = await b.queues.receive('held.fifo', { max: 10, waitMs: 5000 });
        assert.equal(next[0]?.body, 'h0', 'the head comes first once its deadline has passed');
        assert.equal(next[0]?.receiveCount, 2);
        assert.ok(next.every((m) => m.body === 'h0' || m.body === 'h1'));
      } finally {
        await b.close();
        await a.close();
      }
    });

    test('deliveries fetched too early and given back are not counted as receives', async () => {
      const h = await open(undefined, { holdMaxMs: 50 });
      try {
        await h.queues.createQueue({ name: 'later' });
        await h.queues.send('later', { body: 'x', delayS: 1 });
        assert.deepEqual(await h.queues.receive('later', { max: 1 }), []);
        // Held past holdMaxMs, the early delivery goes back to the stream with the rest of its delay as a NAK
        // delay (server time), and the server delivers it again after that.
        await new Promise((r) => setTimeout(r, 800));
        h.clock.advance(1_000);
        const got = await h.queues.receive('later', { max: 1, waitMs: 5000 });
        assert.deepEqual(got.map((m) => m.body), ['x']);
        assert.equal(got[0]!.receiveCount, 1);
      } finally {
        await h.close();
      }
    });

    test('receives waiting on a queue take a burst through one open pull request, not a request per message', async () => {
      const h = await open();
      try {
        await h.queues.createQueue({ name: 'burst' });
        const pulls = () => h.sent.subjects.filter((s) => s.startsWith('$JS.API.CONSUMER.MSG.NEXT')).length;
        const got: ReceivedMessage[] = [];
        const consumers = Array.from({ length: 4 }, async () => {
          while (got.length < 40) {
            const batch = await h.queues.receive('burst', { max: 10, waitMs: 1000 });
            if (batch.length === 0) return;
            got.push(...batch);
          }
        });
        await new Promise((resolve) => setTimeout(resolve, 100)); // the four receives are waiting
        for (let i = 0; i < 4; i++) {
          const outcomes = await h.queues.sendBatch('burst', Array.from({ length: 10 }, (_, j) => ({ body: `m${i * 10 + j}` })));
          assert.ok(outcomes.every((o) => o.ok));
        }
        await Promise.all(consumers);
        assert.deepEqual(got.map((m) => m.body).sort(), Array.from({ length: 40 }, (_, i) => `m${i}`).sort(), 'each message once');
        // One pull for the 40 messages the four receives wanted; a few more when the server splits the burst.
        assert.ok(pulls() <= 4, `${pulls()} pull requests for 40 messages`);
      } finally {
        await h.close();
      }
    });

    test('a receive is not held up when another process\'s long poll takes the message it asked for', async () => {
      const a = await open();
      const b = await open({ prefix: a.prefix, clock: a.clock });
      try {
        await a.queues.createQueue({ name: 'race' });
        // nats-server 2.9 may queue a's no_wait request behind b's long poll; b takes the message and the request
        // is never answered. a's receive must end anyway, long before the request timeout (5 s).
        const slowest: number[] = [];
        const seen: string[] = [];
        const take = async (from: typeof a, got: Awaited<ReturnType<typeof a.queues.receive>>) => {
          for (const m of got) {
            seen.push(m.body);
            await from.queues.delete('race', m.receiptHandle);
          }
        };
        for (let i = 0; i < 10; i++) {
          const polling = b.queues.receive('race', { max: 1, waitMs: 1000 });
          await new Promise((r) => setTimeout(r, 20));
          const started = Date.now();
          const sending = a.queues.send('race', { body: String(i) });
          const mine = await a.queues.receive('race', { max: 1 });
          slowest.push(Date.now() - started);
          await sending;
          await take(a, mine);
          await take(b, await polling);
        }
        // A message neither receive got sits in a's pool, fetched by a request a gave up waiting for.
        for (let i = 0; i < 10 && seen.length < 10; i++) {
          await take(a, await a.queues.receive('race', { max: 10, waitMs: 200 }));
          await take(b, await b.queues.receive('race', { max: 10, waitMs: 200 }));
        }
        assert.deepEqual(seen.map(Number).sort((x, y) => x - y), Array.from({ length: 10 }, (_, i) => i), 'each message once');
        assert.ok(Math.max(...slowest) < 2000, `every receive ended well before the request timeout (${Math.max(...slowest)} ms)`);
      } finally {
        await b.close();
        await a.close();
      }
    });
  });
}
