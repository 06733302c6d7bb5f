/**
 * The store port's conformance suite: atomic transactions across state and queue messages, compare-and-set,
 * expiry, after-commit effects, durability across a reopen. Every engine passes it.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { ManualClock } from '../../src/ports/clock.js';
import type { QueueService } from '../../src/ports/queues.js';
import type { Store } from '../../src/ports/store.js';

export interface StoreHarness {
  store: Store;
  queues: QueueService;
  clock: ManualClock;
  /** Closes the engine and opens it again on the same data (a restart). */
  reopen(): Promise<StoreHarness>;
  close(): Promise<void>;
}

/** Messages a transaction sends may reach the queues a moment after the commit (an outbox relay): wait for them. */
const ARRIVE = { waitMs: 5000 };
/** How long to wait before concluding that nothing arrives. */
const NOTHING = { waitMs: 500 };

export function storeConformance(engine: string, open: () => Promise<StoreHarness>): void {
  describe(`store conformance: ${engine}`, () => {
    let h: StoreHarness;
    beforeEach(async () => {
      h = await open();
      await h.queues.createQueue({ name: 'out' });
    });
    afterEach(async () => {
      await h.close();
    });

    test('a committed transaction makes its state and its queue messages visible together', async () => {
      const result = await h.store.transaction(async (tx) => {
        assert.equal(await tx.kv.insert('payments', 'p1', 'ACTC'), true);
        await tx.queues.send('out', { body: 'p1 accepted' });
        return 'done';
      });
      assert.equal(result, 'done');
      const record = await h.store.transaction((tx) => tx.kv.get('payments', 'p1'));
      assert.equal(record?.value, 'ACTC');
      assert.equal(record?.version, 1);
      const [m] = await h.queues.receive('out', { max: 1, ...ARRIVE });
      assert.equal(m?.body, 'p1 accepted');
    });

    test('a transaction that throws leaves neither state nor messages behind', async () => {
      await assert.rejects(
        h.store.transaction(async (tx) => {
          await tx.kv.insert('payments', 'p2', 'ACTC');
          await tx.queues.send('out', { body: 'must not exist' });
          throw new Error('stage failed');
        }),
        /stage failed/,
      );
      assert.equal(await h.store.transaction((tx) => tx.kv.get('payments', 'p2')), null);
      assert.deepEqual(await h.queues.receive('out', { max: 10, ...NOTHING }), []);
    });

    test('one failing transaction does not take concurrent ones down with it', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          h.store.transaction(async (tx) => {
            await tx.kv.insert('n', `k${i}`, String(i));
            await tx.queues.send('out', { body: `m${i}` });
            if (i % 5 === 0) throw new Error(`fail ${i}`);
          }),
        ),
      );
      assert.equal(results.filter((r) => r.status === 'rejected').length, 4);
      const received = [];
      for (let batch = await h.queues.receive('out', { max: 10, ...ARRIVE }); batch.length > 0; batch = await h.queues.receive('out', { max: 10, ...NOTHING })) {
        received.push(...batch.map((m) => m.body));
      }
      assert.equal(received.length, 16);
      assert.ok(!received.includes('m0') && !received.includes('m5'));
      assert.equal(await h.store.transaction((tx) => tx.kv.get('n', 'k5')), null);
      assert.equal((await h.store.transaction((tx) => tx.kv.get('n', 'k6')))?.value, '6');
    });

    test('insert is first-writer-wins, also under concurrency', async () => {
      const wins = await Promise.all(
        Array.from({ length: 10 }, (_, i) => h.store.transaction((tx) => tx.kv.insert('idem', 'key-1', `writer-${i}`))),
      );
      assert.equal(wins.filter(Boolean).length, 1);
      const winner = wins.indexOf(true);
      assert.equal((await h.store.transaction((tx) => tx.kv.get('idem', 'key-1')))?.value, `writer-${winner}`);
    });

    test('a read sees what committed before it and nothing of a transaction that threw', async () => {
      assert.equal(await h.store.read((tx) => tx.kv.get('r', 'k')), null);
      await h.store.transaction((tx) => tx.kv.put('r', 'k', 'v1'));
      await assert.rejects(
        h.store.transaction(async (tx) => {
          await tx.kv.put('r', 'k', 'v2');
          throw new Error('rolled back');
        }),
      );
      const [record, missing] = await h.store.read(async (tx) => [await tx.kv.get('r', 'k'), await tx.transactions.get('absent')] as const);
      assert.equal(record?.value, 'v1');
      assert.equal(missing, null);
    });

    test('put with expectVersion is compare-and-set; versions grow by one', async () => {
      assert.equal(await h.store.transaction((tx) => tx.kv.put('s', 'a', 'v1', { expectVersion: 0 })), 1);
      assert.equal(await h.store.transaction((tx) => tx.kv.put('s', 'a', 'v2', { expectVersion: 0 })), null);
      assert.equal(await h.store.transaction((tx) => tx.kv.put('s', 'a', 'v2', { expectVersion: 1 })), 2);
      assert.equal(await h.store.transaction((tx) => tx.kv.put('s', 'a', 'v3')), 3);
      assert.equal((await h.store.transaction((tx) => tx.kv.get('s', 'a')))?.value, 'v3');
      assert.equal(await h.store.transaction((tx) => tx.kv.delete('s', 'a')), true);
      assert.equal(await h.store.transaction((tx) => tx.kv.delete('s', 'a')), false);
    });

    test('records expire after their ttl and can then be inserted again', async () => {
      await h.store.transaction((tx) => tx.kv.insert('lease', 'scheduler', 'node-a', { ttlMs: 5_000 }));
      assert.equal(await h.store.transaction((tx) => tx.kv.insert('lease', 'scheduler', 'node-b', { ttlMs: 5_000 })), false);
      h.clock.advance(5_000);
      assert.equal(await h.store.transaction((tx) => tx.kv.get('lease', 'scheduler')), null);
      assert.equal(await h.store.transaction((tx) => tx.kv.insert('lease', 'scheduler', 'node-b', { ttlMs: 5_000 })), true);
      assert.equal((await h.store.transaction((tx) => tx.kv.get('lease', 'scheduler')))?.value, 'node-b');
    });

    test('after-commit effects run once after the commit, never after a rollback', async () => {
      const effects: string[] = [];
      await h.store.transaction(async (tx) => {
        tx.afterCommit(() => effects.push('committed'));
        assert.deepEqual(effects, [], 'not before the commit');
      });
      await assert.rejects(
        h.store.transaction(async (tx) => {
          tx.afterCommit(() => effects.push('rolled back'));
          throw new Error('no');
        }),
      );
      assert.deepEqual(effects, ['committed']);
    });

    test('a transaction that need not wait until durable commits its state, messages and effects like any other', async () => {
      const effects: string[] = [];
      const result = await h.store.transaction(
        async (tx) => {
          await tx.kv.insert('payments', 'p5', 'ACSP');
          await tx.queues.send('out', { body: 'p5 released' });
          tx.afterCommit(() => effects.push('committed'));
          return 'moved';
        },
        { untilDurable: false },
      );
      assert.equal(result, 'moved');
      assert.deepEqual(effects, ['committed']);
      assert.equal((await h.store.transaction((tx) => tx.kv.get('payments', 'p5')))?.value, 'ACSP');
      assert.deepEqual((await h.queues.receive('out', { max: 10, ...ARRIVE })).map((m) => m.body), ['p5 released']);
      await assert.rejects(
        h.store.transaction(async (tx) => {
          await tx.kv.insert('payments', 'p6', 'ACSP');
          throw new Error('stage failed');
        }, { untilDurable: false }),
        /stage failed/,
      );
      assert.equal(await h.store.transaction((tx) => tx.kv.get('payments', 'p6')), null);
    });

    test('committed state and messages survive a restart', async () => {
      await h.store.transaction(async (tx) => {
        await tx.kv.put('payments', 'p9', 'ACSC');
        await tx.queues.send('out', { body: 'durable' });
      });
      h = await h.reopen();
      assert.equal((await h.store.transaction((tx) => tx.kv.get('payments', 'p9')))?.value, 'ACSC');
      assert.deepEqual((await h.queues.receive('out', { max: 10, ...ARRIVE })).map((m) => m.body), ['durable']);
    });
  });
}
