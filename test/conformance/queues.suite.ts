/**
 * The queue port's conformance suite: the specification of the semantics every engine must pass.
 * An engine's test file calls `queueConformance` with a factory that opens a fresh, isolated engine.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { MxError, type ErrorCode } from '../../src/errors.js';
import type { ManualClock } from '../../src/ports/clock.js';
import type { QueueService, ReceivedMessage } from '../../src/ports/queues.js';

export interface QueueHarness {
  queues: QueueService;
  clock: ManualClock;
  /** Runs the engine's periodic sweep at once (retention, dedup keys). */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof MxError, `expected MxError ${code}, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

const bodies = (messages: ReceivedMessage[]) => messages.map((m) => m.body);

export function queueConformance(engine: string, open: () => Promise<QueueHarness>): void {
  describe(`queue conformance: ${engine}`, () => {
    let h: QueueHarness;
    let q: QueueService;
    beforeEach(async () => {
      h = await open();
      q = h.queues;
    });
    afterEach(async () => {
      await h.close();
    });

    describe('queue management', () => {
      test('create answers the attributes with defaults; an identical create is not an error', async () => {
        const first = await q.createQueue({ name: 'orders' });
        assert.equal(first.created, true);
        assert.equal(first.queue.fifo, false);
        assert.equal(first.queue.visibilityTimeoutS, 30);
        assert.equal(first.queue.maxReceiveCount, null);
        const again = await q.createQueue({ name: 'orders' });
        assert.equal(again.created, false);
        await rejectsWith(q.createQueue({ name: 'orders', visibilityTimeoutS: 5 }), 'QUEUE_ALREADY_EXISTS');
      });

      test('names ending in .fifo make FIFO queues; bad names and bounds are refused with codes', async () => {
        assert.equal((await q.createQueue({ name: 'pay.fifo' })).queue.fifo, true);
        await rejectsWith(q.createQueue({ name: 'has space' }), 'QUEUE_NAME_INVALID');
        await rejectsWith(q.createQueue({ name: 'x'.repeat(81) }), 'QUEUE_NAME_INVALID');
        await rejectsWith(q.createQueue({ name: 'v', visibilityTimeoutS: 43_201 }), 'INVALID_ATTRIBUTE');
        await rejectsWith(q.createQueue({ name: 'r', retentionS: 10 }), 'INVALID_ATTRIBUTE');
        await rejectsWith(q.createQueue({ name: 'd', delayS: 901 }), 'INVALID_ATTRIBUTE');
        await rejectsWith(q.createQueue({ name: 'm', maxReceiveCount: 3 }), 'INVALID_ATTRIBUTE');
      });

      test('a dead-letter queue must exist, be of the same kind, and cannot be deleted while in use', async () => {
        await rejectsWith(q.createQueue({ name: 'work', deadLetterQueue: 'missing' }), 'QUEUE_NOT_FOUND');
        await q.createQueue({ name: 'dlq' });
        await rejectsWith(q.createQueue({ name: 'work.fifo', fifo: true, deadLetterQueue: 'dlq' }), 'INVALID_ATTRIBUTE');
        const work = await q.createQueue({ name: 'work', deadLetterQueue: 'dlq' });
        assert.equal(work.queue.maxReceiveCount, 10);
        assert.equal(work.queue.deadLetterQueue, 'dlq');
        await rejectsWith(q.deleteQueue('dlq'), 'QUEUE_IN_USE');
        await q.deleteQueue('work');
        await q.deleteQueue('dlq');
        await rejectsWith(q.getQueue('dlq'), 'QUEUE_NOT_FOUND');
      });

      test('list and metrics count visible, in-flight and delayed messages and the oldest age', async () => {
        await q.createQueue({ name: 'm' });
        await q.send('m', { body: 'a' });
        await q.send('m', { body: 'b' });
        await q.send('m', { body: 'c', delayS: 60 });
        h.clock.advance(5_000);
        await q.receive('m', { max: 1 });
        const info = await q.getQueue('m');
        assert.deepEqual(info.metrics, { visible: 1, inFlight: 1, delayed: 1, oldestAgeS: 5 });
        assert.equal(await q.depth('m'), 3, 'depth counts every state');
        const list = await q.listQueues();
        assert.deepEqual(list.map((x) => x.name), ['m']);
        assert.equal((await q.purgeQueue('m')).purged, 3);
        assert.deepEqual((await q.getQueue('m')).metrics, { visible: 0, inFlight: 0, delayed: 0, oldestAgeS: 0 });
        assert.equal(await q.depth('m'), 0);
      });

      test('operations on an unknown queue fail with QUEUE_NOT_FOUND', async () => {
        await rejectsWith(q.send('nope', { body: 'x' }), 'QUEUE_NOT_FOUND');
        await rejectsWith(q.receive('nope', { max: 1 }), 'QUEUE_NOT_FOUND');
        await rejectsWith(q.getQueue('nope'), 'QUEUE_NOT_FOUND');
        await rejectsWith(q.depth('nope'), 'QUEUE_NOT_FOUND');
        await rejectsWith(q.deleteQueue('nope'), 'QUEUE_NOT_FOUND');
      });
    });

    describe('standard queues', () => {
      beforeEach(async () => {
        await q.createQueue({ name: 'std', visibilityTimeoutS: 30 });
      });

      test('send, receive and delete; a deleted message never comes back', async () => {
        const sent = await q.send('std', { body: 'hello', attributes: { kind: 'greeting' } });
        assert.equal(sent.duplicate, false);
        const [m] = await q.receive('std', { max: 10 });
        assert.ok(m);
        assert.equal(m.body, 'hello');
        assert.equal(m.messageId, sent.messageId);
        assert.equal(m.sequenceNumber, sent.sequenceNumber);
        assert.deepEqual(m.attributes, { kind: 'greeting' });
        assert.equal(m.receiveCount, 1);
        await q.delete('std', m.receiptHandle);
        h.clock.advance(60_000);
        assert.deepEqual(await q.receive('std', { max: 10 }), []);
        await rejectsWith(q.delete('std', m.receiptHandle), 'RECEIPT_HANDLE_INVALID');
        await rejectsWith(q.delete('std', 'not-a-handle'), 'RECEIPT_HANDLE_INVALID');
      });

      test('sequence numbers increase strictly in send order', async () => {
        const seqs: bigint[] = [];
        for (let i = 0; i < 5; i++) seqs.push(BigInt((await q.send('std', { body: `m${i}` })).sequenceNumber));
        for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! > seqs[i - 1]!);
      });

      test('an in-flight message is hidden until its visibility timeout expires, then redelivered', async () => {
        await q.send('std', { body: 'x' });
        const [first] = await q.receive('std', { max: 1 });
        assert.ok(first);
        h.clock.advance(29_999);
        assert.deepEqual(await q.receive('std', { max: 1 }), []);
        h.clock.advance(1);
        const [again] = await q.receive('std', { max: 1 });
        assert.ok(again);
        assert.equal(again.messageId, first.messageId);
        assert.equal(again.receiveCount, 2);
        assert.equal(again.firstReceivedAt, first.firstReceivedAt);
        assert.notEqual(again.receiptHandle, first.receiptHandle);
        await rejectsWith(q.delete('std', first.receiptHandle), 'RECEIPT_HANDLE_INVALID');
        await q.delete('std', again.receiptHandle);
      });

      test('visibility can be set per receive and changed per message; 0 makes it visible at once', async () => {
        await q.send('std', { body: 'x' });
        const [m] = await q.receive('std', { max: 1, visibilityTimeoutS: 5 });
        assert.ok(m);
        h.clock.advance(5_000);
        const [m2] = await q.receive('std', { max: 1 });
        assert.ok(m2);
        await q.changeVisibility('std', m2.receiptHandle, 120);
        h.clock.advance(60_000);
        assert.deepEqual(await q.receive('std', { max: 1 }), []);
        await q.changeVisibility('std', m2.receiptHandle, 0);
        const [m3] = await q.receive('std', { max: 1 });
        assert.equal(m3?.messageId, m.messageId);
        await rejectsWith(q.changeVisibility('std', m2.receiptHandle, 10), 'RECEIPT_HANDLE_INVALID');
        await rejectsWith(q.changeVisibility('std', m3!.receiptHandle, 50_000), 'INVALID_ATTRIBUTE');
      });

      test('delays hold a message back: per queue and per message', async () => {
        await q.createQueue({ name: 'slow', delayS: 10 });
        await q.send('slow', { body: 'queue-delay' });
        await q.send('std', { body: 'msg-delay', delayS: 3 });
        assert.deepEqual(await q.receive('slow', { max: 1 }), []);
        assert.deepEqual(await q.receive('std', { max: 1 }), []);
        h.clock.advance(3_000);
        assert.deepEqual(bodies(await q.receive('std', { max: 1 })), ['msg-delay']);
        h.clock.advance(7_000);
        assert.deepEqual(bodies(await q.receive('slow', { max: 1 })), ['queue-delay']);
      });

      test('a receive returns at most max messages, oldest first', async () => {
        for (let i = 0; i < 15; i++) await q.send('std', { body: `m${i}` });
        const first = await q.receive('std', { max: 10 });
        assert.deepEqual(bodies(first), Array.from({ length: 10 }, (_, i) => `m${i}`));
        const rest = await q.receive('std', { max: 10 });
        assert.deepEqual(bodies(rest), ['m10', 'm11', 'm12', 'm13', 'm14']);
        await rejectsWith(q.receive('std', { max: 11 }), 'INVALID_ATTRIBUTE');
        await rejectsWith(q.receive('std', { max: 0 }), 'INVALID_ATTRIBUTE');
      });

      test('batches report each entry: partial failures are listed, never hidden', async () => {
        await q.createQueue({ name: 'small', maxMessageBytes: 16 });
        const outcomes = await q.sendBatch('small', [{ body: 'ok-1' }, { body: 'x'.repeat(17) }, { body: 'ok-2' }]);
        assert.equal(outcomes.length, 3);
        assert.equal(outcomes[0]!.ok, true);
        assert.equal(outcomes[1]!.ok, false);
        assert.equal(!outcomes[1]!.ok && outcomes[1]!.error.code, 'MESSAGE_TOO_LARGE');
        assert.equal(outcomes[2]!.ok, true);
        const got = await q.receive('small', { max: 10 });
        assert.deepEqual(bodies(got), ['ok-1', 'ok-2']);
        const deletes = await q.deleteBatch('small', [got[0]!.receiptHandle, '1.bogusbogus', got[1]!.receiptHandle]);
        assert.deepEqual(deletes.map((d) => d.ok), [true, false, true]);
        assert.equal(!deletes[1]!.ok && deletes[1]!.error.code, 'RECEIPT_HANDLE_INVALID');
      });

      test('size and attribute limits are enforced', async () => {
        await q.createQueue({ name: 'tiny', maxMessageBytes: 10 });
        await rejectsWith(q.send('tiny', { body: '12345678901' }), 'MESSAGE_TOO_LARGE');
        await rejectsWith(q.send('tiny', { body: '123', attributes: { key: 'value-long' } }), 'MESSAGE_TOO_LARGE');
        await rejectsWith(q.send('std', { body: '' }), 'INVALID_ATTRIBUTE');
        const many = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`a${i}`, 'v']));
        await rejectsWith(q.send('std', { body: 'x', attributes: many }), 'INVALID_ATTRIBUTE');
        await rejectsWith(q.send('std', { body: 'x', delayS: 901 }), 'INVALID_ATTRIBUTE');
      });

      test('messages past the retention period are gone', async () => {
        await q.createQueue({ name: 'short', retentionS: 60 });
        await q.send('short', { body: 'old' });
        h.clock.advance(30_000);
        await q.send('short', { body: 'young' });
        h.clock.advance(30_000);
        await h.sweep();
        assert.equal((await q.getQueue('short')).metrics.visible, 1);
        assert.deepEqual(bodies(await q.receive('short', { max: 10 })), ['young']);
      });

      test('dedup ids on a standard queue suppress repeats within the window', async () => {
        const a = await q.send('std', { body: 'one', dedupId: 'k1' });
        const b = await q.send('std', { body: 'one again', dedupId: 'k1' });
        assert.equal(b.duplicate, true);
        assert.equal(b.messageId, a.messageId);
        assert.deepEqual(bodies(await q.receive('std', { max: 10 })), ['one']);
      });
    });

    describe('dead-letter queues', () => {
      test('after max_receive_count receives the next receive moves the message to the DLQ; redrive brings it back', async () => {
        await q.createQueue({ name: 'dlq' });
        await q.createQueue({ name: 'work', deadLetterQueue: 'dlq', maxReceiveCount: 2, visibilityTimeoutS: 10 });
        await q.send('work', { body: 'poison' });
        await q.send('work', { body: 'fine' });
        const first = await q.receive('work', { max: 10 });
        assert.deepEqual(bodies(first).sort(), ['fine', 'poison']);
        await q.delete('work', first.find((m) => m.body === 'fine')!.receiptHandle);
        h.clock.advance(10_000);
        const second = await q.receive('work', { max: 10 });
        assert.deepEqual(bodies(second), ['poison']);
        assert.equal(second[0]!.receiveCount, 2);
        h.clock.advance(10_000);
        assert.deepEqual(await q.receive('work', { max: 10 }), []);
        const dlq = await q.getQueue('dlq');
        assert.equal(dlq.metrics.visible, 1);
        await rejectsWith(q.redrive('work'), 'NOT_A_DEAD_LETTER_QUEUE');
        assert.deepEqual(await q.redrive('dlq'), { moved: 1 });
        const [back] = await q.receive('work', { max: 1 });
        assert.equal(back?.body, 'poison');
        assert.equal(back?.receiveCount, 1);
        assert.equal((await q.getQueue('dlq')).metrics.visible, 0);
      });

      test('a message the engine dead-letters carries why: its receives and the last failure its consumer gave', async () => {
        await q.createQueue({ name: 'dlq' });
        await q.createQueue({ name: 'work', deadLetterQueue: 'dlq', maxReceiveCount: 2, visibilityTimeoutS: 10 });
        await q.send('work', { body: 'failing', attributes: { kind: 'stage' } });
        await q.send('work', { body: 'silent' });
        const releaseFailing = async (reason: string) => {
          const got = await q.receive('work', { max: 10 });
          assert.deepEqual(bodies(got).sort(), ['failing', 'silent']);
          const failing = got.find((m) => m.body === 'failing')!;
          assert.deepEqual(failing.attributes, { kind: 'stage' }, 'a failure given back is not an attribute its receivers see');
          await q.changeVisibility('work', failing.receiptHandle, 10, { reason });
          h.clock.advance(10_000);
        };
        await releaseFailing('STORE_UNAVAILABLE: first attempt');
        await releaseFailing('INTERNAL: second attempt');
        assert.deepEqual(await q.receive('work', { max: 10 }), []);
        const dead = await q.receive('dlq', { max: 10 });
        const byBody = new Map(dead.map((m) => [m.body, m.attributes]));
        assert.deepEqual(byBody.get('failing'), { kind: 'stage', 'mx-dead-letter-reason': 'max_receive_count exceeded: received 2 times; last failure: INTERNAL: second attempt' });
        assert.deepEqual(byBody.get('silent'), { 'mx-dead-letter-reason': 'max_receive_count exceeded: received 2 times' });

        // Redrive forgets the last failure: dead-lettered again without one, the reason says so.
        for (const m of dead) await q.changeVisibility('dlq', m.receiptHandle, 0);
        assert.deepEqual(await q.redrive('dlq'), { moved: 2 });
        for (let i = 0; i < 2; i++) {
          assert.equal((await q.receive('work', { max: 10 })).length, 2);
          h.clock.advance(10_000);
        }
        assert.deepEqual(await q.receive('work', { max: 10 }), []);
        const again = await q.receive('dlq', { max: 10 });
        assert.deepEqual(
          again.map((m) => m.attributes['mx-dead-letter-reason']),
          ['max_receive_count exceeded: received 2 times', 'max_receive_count exceeded: received 2 times'],
        );
        const failingAgain = again.find((m) => m.body === 'failing');
        assert.equal(failingAgain?.attributes.kind, 'stage');
      });
    });

    describe('FIFO queues', () => {
      beforeEach(async () => {
        await q.createQueue({ name: 'f.fifo', fifo: true, contentBasedDedup: true, visibilityTimeoutS: 30 });
      });

      test('FIFO messages need a group id; without content-based dedup they need a dedup id; no per-message delay', async () => {
        await rejectsWith(q.send('f.fifo', { body: 'x' }), 'GROUP_ID_REQUIRED');
        await q.createQueue({ name: 'strict.fifo' });
        await rejectsWith(q.send('strict.fifo', { body: 'x', groupId: 'g' }), 'DEDUP_ID_REQUIRED');
        await rejectsWith(q.send('f.fifo', { body: 'x', groupId: 'g', delayS: 1 }), 'DELAY_NOT_ALLOWED');
        await rejectsWith(q.createQueue({ name: 'cbd', fifo: false, contentBasedDedup: true }), 'INVALID_ATTRIBUTE');
      });

      test('order within a group; nothing more from a group while one of its messages is in flight', async () => {
        for (let i = 0; i < 3; i++) await q.send('f.fifo', { body: `a${i}`, groupId: 'A' });
        const first = await q.receive('f.fifo', { max: 1 });
        assert.deepEqual(bodies(first), ['a0']);
        assert.deepEqual(await q.receive('f.fifo', { max: 10 }), [], 'group A is blocked while a0 is in flight');
        await q.delete('f.fifo', first[0]!.receiptHandle);
        assert.deepEqual(bodies(await q.receive('f.fifo', { max: 10 })), ['a1', 'a2']);
      });

      test('an expired in-flight message is redelivered before the rest of its group', async () => {
        await q.send('f.fifo', { body: 'a0', groupId: 'A' });
        await q.send('f.fifo', { body: 'a1', groupId: 'A' });
        const [m] = await q.receive('f.fifo', { max: 1 });
        assert.equal(m?.body, 'a0');
        h.clock.advance(30_000);
        const again = await q.receive('f.fifo', { max: 10 });
        assert.deepEqual(bodies(again), ['a0', 'a1']);
        assert.equal(again[0]!.receiveCount, 2);
      });

      test('a receive fills its batch from one group first, then from others', async () => {
        for (let i = 0; i < 3; i++) await q.send('f.fifo', { body: `a${i}`, groupId: 'A' });
        for (let i = 0; i < 3; i++) await q.send('f.fifo', { body: `b${i}`, groupId: 'B' });
        const got = bodies(await q.receive('f.fifo', { max: 4 }));
        assert.equal(got.length, 4);
        const firstGroup = got[0]![0];
        assert.deepEqual(got.slice(0, 3), [0, 1, 2].map((i) => `${firstGroup}${i}`));
        const other = firstGroup === 'a' ? 'b' : 'a';
        assert.equal(got[3], `${other}0`);
      });

      test('deduplication: same dedup id or same body within the window is accepted but not enqueued again', async () => {
        await q.createQueue({ name: 'ids.fifo', fifo: true });
        const a = await q.send('ids.fifo', { body: 'x', groupId: 'g', dedupId: 'd1' });
        const b = await q.send('ids.fifo', { body: 'different body', groupId: 'g', dedupId: 'd1' });
        assert.equal(b.duplicate, true);
        assert.equal(b.messageId, a.messageId);
        assert.equal(b.sequenceNumber, a.sequenceNumber);
        const c = await q.send('f.fifo', { body: 'same', groupId: 'g' });
        const d = await q.send('f.fifo', { body: 'same', groupId: 'g' });
        assert.equal(d.duplicate, true);
        assert.equal(d.messageId, c.messageId);
        h.clock.advance(299_000);
        assert.equal((await q.send('ids.fifo', { body: 'x', groupId: 'g', dedupId: 'd1' })).duplicate, true);
        h.clock.advance(1_001);
        await h.sweep();
        const e = await q.send('ids.fifo', { body: 'x', groupId: 'g', dedupId: 'd1' });
        assert.equal(e.duplicate, false, 'after the 5-minute window the same dedup id enqueues again');
        assert.notEqual(e.messageId, a.messageId);
        assert.equal((await q.getQueue('ids.fifo')).metrics.visible, 2);
      });

      test('a FIFO dead-letter queue takes the poison message and the group goes on', async () => {
        await q.createQueue({ name: 'dead.fifo', fifo: true });
        await q.createQueue({ name: 'w.fifo', fifo: true, contentBasedDedup: true, deadLetterQueue: 'dead.fifo', maxReceiveCount: 1, visibilityTimeoutS: 5 });
        await q.send('w.fifo', { body: 'p', groupId: 'G' });
        await q.send('w.fifo', { body: 'q', groupId: 'G' });
        const [p] = await q.receive('w.fifo', { max: 1 });
        assert.equal(p?.body, 'p');
        h.clock.advance(5_000);
        assert.deepEqual(bodies(await q.receive('w.fifo', { max: 10 })), ['q']);
        const dead = await q.receive('dead.fifo', { max: 10 });
        assert.deepEqual(bodies(dead), ['p']);
        assert.deepEqual(dead[0]!.attributes, { 'mx-dead-letter-reason': 'max_receive_count exceeded: received 1 times' });
      });

      test('concurrent consumers keep per-group order and process different groups in parallel', async () => {
        const groups = ['g1', 'g2', 'g3', 'g4'];
        const perGroup = 25;
        for (let i = 0; i < perGroup; i++) {
          await q.sendBatch('f.fifo', groups.map((g) => ({ body: `${g}:${i}`, groupId: g })));
        }
        const seen = new Map<string, number[]>(groups.map((g) => [g, []]));
        let inFlightGroups = 0;
        let maxParallel = 0;
        const consumer = async () => {
          for (let idle = 0; idle < 3; ) {
            const got = await q.receive('f.fifo', { max: 3 });
            if (got.length === 0) {
              idle++;
              continue;
            }
            idle = 0;
            const groupsHere = new Set(got.map((m) => m.groupId));
            inFlightGroups += groupsHere.size;
            maxParallel = Math.max(maxParallel, inFlightGroups);
            for (const m of got) {
              const [g, n] = m.body.split(':');
              seen.get(g!)!.push(Number(n));
            }
            await new Promise((r) => setImmediate(r));
            inFlightGroups -= groupsHere.size;
            await q.deleteBatch('f.fifo', got.map((m) => m.receiptHandle));
          }
        };
        await Promise.all(Array.from({ length: 6 }, consumer));
        for (const g of groups) {
          assert.deepEqual(seen.get(g), Array.from({ length: perGroup }, (_, i) => i), `group ${g} in order, each once`);
        }
        assert.ok(maxParallel >= 2, `several groups were in flight at once (max ${maxParallel})`);
      });
    });

    describe('long polling', () => {
      test('a waiting receive returns as soon as a message arrives', async () => {
        await q.createQueue({ name: 'lp' });
        const started = Date.now();
        const waiting = q.receive('lp', { max: 1, waitMs: 10_000 });
        setTimeout(() => void q.send('lp', { body: 'wake' }), 50);
        const got = await waiting;
        assert.deepEqual(bodies(got), ['wake']);
        assert.ok(Date.now() - started < 5_000, `woke after ${Date.now() - started} ms`);
      });

      test('a waiting receive on a FIFO queue wakes when the blocking message is deleted', async () => {
        await q.createQueue({ name: 'lp.fifo', contentBasedDedup: true });
        await q.send('lp.fifo', { body: '1', groupId: 'g' });
        await q.send('lp.fifo', { body: '2', groupId: 'g' });
        const [first] = await q.receive('lp.fifo', { max: 1 });
        const waiting = q.receive('lp.fifo', { max: 1, waitMs: 10_000 });
        setTimeout(() => void q.delete('lp.fifo', first!.receiptHandle), 50);
        assert.deepEqual(bodies(await waiting), ['2']);
      });

      test('a waiting receive ends empty at its deadline, or at once when aborted', async () => {
        await q.createQueue({ name: 'idle' });
        const started = Date.now();
        assert.deepEqual(await q.receive('idle', { max: 1, waitMs: 300 }), []);
        const waited = Date.now() - started;
        assert.ok(waited >= 250 && waited < 5_000, `waited ${waited} ms`);
        const controller = new AbortController();
        const aborted = q.receive('idle', { max: 1, waitMs: 10_000, signal: controller.signal });
        setTimeout(() => controller.abort(), 30);
        const t0 = Date.now();
        assert.deepEqual(await aborted, []);
        assert.ok(Date.now() - t0 < 5_000);
        await rejectsWith(q.receive('idle', { max: 1, waitMs: 21_000 }), 'INVALID_ATTRIBUTE');
      });
    });
  });
}
