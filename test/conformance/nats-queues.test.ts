import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { NatsQueues } from '../../src/broker/nats/queues.js';
import { connectNats, natsSkipReason } from '../helpers/nats.js';
import { queueConformance, rejectsWith } from './queues.suite.js';

const skip = await natsSkipReason();

if (skip !== null) {
  test('queue conformance: NATS JetStream', { skip }, () => {});
} else {
  // Fresh streams and buckets per test under a unique prefix, deleted afterwards; the same defaults as the
  // embedded engine's configuration.
  const open = async (shared?: { prefix: string; clock: ManualClock }, options: { holdMaxMs?: number } = {}) => {
    const prefix = shared?.prefix ?? `t${randomIds.token(6).toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 12);
    const clock = shared?.clock ?? new ManualClock();
    const nc = await connectNats();
    const queues = await NatsQueues.open({
      connection: nc,
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
  });
}
