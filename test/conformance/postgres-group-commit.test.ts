/**
 * Group commit of the PostgreSQL store: transactions issued at the same time share one commit, with no savepoint;
 * a unit that throws or whose statement fails is rejected alone (its writes, outbox rows and after-commit effects
 * go), and the units done before it in its transaction run again and commit; a connection lost mid-batch fails every unit of the batch with STORE_UNAVAILABLE and commits
 * none; units are spread over free connections and start in the order they came, a running batch takes units
 * issued meanwhile, batches are bounded in units and in time, and a unit waits for a batch no longer than
 * connectTimeoutMs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { MxError } from '../../src/errors.js';
import type { NewTransaction } from '../../src/ports/transactions.js';
import type { PostgresEngine } from '../../src/storage/postgres/index.js';
import { freshStores, POSTGRES_URL, postgresOrSkip } from '../helpers/postgres.js';

const unavailable = (error: unknown) => error instanceof MxError && error.code === 'STORE_UNAVAILABLE';

function transaction(id: string): NewTransaction {
  return { id, clientId: 'c', status: 'ACTC', messageType: null, msgId: null, contentHash: null, deadlineAt: null, groupKey: null, payments: [], at: 1 };
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

if (await postgresOrSkip('PostgreSQL group commit')) {
  // By default one batch at a time (units that find no free connection share a batch) and a long time bound, so
  // that a slow machine does not split the batches the tests count.
  const open = freshStores({ poolMax: 4, commitBatchesMax: 1, commitBatchMs: 10_000 });
  /** Another session inserts the kv row `key` and holds it uncommitted, so a unit writing it waits. */
  const holdRow = async (p: PostgresEngine, key: string): Promise<pg.Client> => {
    const holder = new pg.Client({ connectionString: POSTGRES_URL });
    holder.on('error', () => undefined);
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`INSERT INTO ${p.database.name('kv')} (namespace, key, value, version) VALUES ('n', $1, 'x', 1)`, [key]);
    return holder;
  };
  const keys = async (p: PostgresEngine) =>
    (await p.database.query<{ key: string }>(`SELECT key FROM ${p.database.name('kv')} ORDER BY key`)).rows.map((r) => r.key);

  test('transactions issued together share one commit, each with its own result', async () => {
    const p = await open();
    const before = p.database.stats;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        p.store.transaction(async (tx) => {
          await tx.kv.insert('n', `k${i}`, 'v');
          return i;
        }),
      ),
    );
    assert.deepEqual(results, [...Array(10).keys()]);
    const after = p.database.stats;
    assert.equal(after.commits - before.commits, 1, 'one commit');
    assert.equal(after.units - before.units, 10);
    assert.equal((await keys(p)).length, 10);
  });

  test('a unit that throws rolls back alone: its writes, its outbox rows and its after-commit effects', async () => {
    const p = await open();
    const effects: string[] = [];
    const runs: string[] = [];
    const unit = (name: string, fail: boolean) =>
      p.store.transaction(async (tx) => {
        runs.push(name);
        await tx.kv.insert('n', name, 'v');
        await tx.queues.send('q', { body: name });
        tx.afterCommit(() => effects.push(name));
        if (fail) throw new Error(`${name} refuses`);
        return name;
      });
    const before = p.database.stats;
    const outcomes = await Promise.allSettled([unit('a', false), unit('b', true), unit('c', false)]);
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal((outcomes[1] as PromiseRejectedResult).reason.message, 'b refuses', 'the unit gets its own error, unchanged');
    assert.equal(p.database.stats.commits - before.commits, 1);
    assert.equal(p.database.stats.rolledBack - before.rolledBack, 1);
    assert.equal(p.database.stats.ranAgain - before.ranAgain, 1, 'a, done before b in its transaction, ran again');
    assert.deepEqual(runs, ['a', 'b', 'a', 'c']);
    assert.deepEqual(await keys(p), ['a', 'c']);
    const outbox = await p.database.query<{ body: string }>(`SELECT body FROM ${p.database.name('outbox')} ORDER BY id`);
    assert.deepEqual(outbox.rows.map((r) => r.body), ['a', 'c']);
    assert.deepEqual(effects, ['a', 'c'], 'the effects of the first run of a are dropped');
  });

  test('a unit that fails first in its transaction sends nothing back; later failures each run the done units again', async () => {
    const p = await open();
    const runs: string[] = [];
    const unit = (name: string, fail: boolean) =>
      p.store.transaction(async (tx) => {
        runs.push(name);
        await tx.kv.insert('n', name, 'v');
        if (fail) throw new Error(`${name} refuses`);
      });
    const before = p.database.stats;
    const outcomes = await Promise.allSettled([unit('a', true), unit('b', false), unit('c', true), unit('d', true), unit('e', false)]);
    assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
    assert.deepEqual(runs, ['a', 'b', 'c', 'b', 'd', 'b', 'e']);
    assert.equal(p.database.stats.rolledBack - before.rolledBack, 3);
    assert.equal(p.database.stats.ranAgain - before.ranAgain, 2);
    assert.equal(p.database.stats.commits - before.commits, 1);
    assert.deepEqual(await keys(p), ['b', 'e']);
  });

  test('a failed statement rolls back only its unit, even when its work caught the error', async () => {
    const p = await open();
    await p.store.transaction((tx) => tx.transactions.create(transaction('t1')));
    const outcomes = await Promise.allSettled([
      p.store.transaction((tx) => tx.kv.insert('n', 'before', 'v')),
      p.store.transaction(async (tx) => {
        await tx.kv.insert('n', 'failing', 'v');
        await tx.transactions.create(transaction('t1')).catch(() => undefined);
        return 'claims success';
      }),
      p.store.transaction((tx) => tx.kv.insert('n', 'after', 'v')),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal(((outcomes[1] as PromiseRejectedResult).reason as { code?: string }).code, '23505');
    assert.deepEqual(await keys(p), ['after', 'before']);
  });

  test('a unit sees what the units before it in its batch wrote', async () => {
    const p = await open();
    const [, seen] = await Promise.all([
      p.store.transaction((tx) => tx.kv.insert('n', 'first', 'v1')),
      p.store.transaction(async (tx) => (await tx.kv.get('n', 'first'))?.value ?? null),
    ]);
    assert.equal(seen, 'v1');
  });

  test('a connection lost in the middle of a batch fails every unit of it with STORE_UNAVAILABLE and commits none', async () => {
    const p = await open();
    // Another session holds the row the middle unit writes, so the batch waits there until its backend is ended.
    const holder = await holdRow(p, 'held');
    try {
      const before = p.database.stats;
      const units = Promise.allSettled([
        p.store.transaction((tx) => tx.kv.insert('n', 'a', 'v')),
        p.store.transaction((tx) => tx.kv.put('n', 'held', 'v')),
        p.store.transaction((tx) => tx.kv.insert('n', 'c', 'v')),
      ]);
      let pid: number | undefined;
      await until(async () => {
        // The batch's backend, found as the one our holder blocks (never another test's session).
        const waiting = await holder.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))');
        pid = waiting.rows[0]?.pid;
        return pid !== undefined;
      });
      await holder.query('SELECT pg_terminate_backend($1)', [pid]);
      const outcomes = await units;
      // The third unit was still waiting when the batch took the held row: it never joined the lost transaction
      // and commits in the next one.
      assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected', 'fulfilled']);
      for (const o of outcomes.slice(0, 2)) assert.ok(unavailable((o as PromiseRejectedResult).reason), String((o as PromiseRejectedResult).reason));
      assert.equal(p.database.stats.commits, before.commits + 1, 'only the next batch committed');
      await holder.query('ROLLBACK');
      assert.deepEqual(await keys(p), ['c'], 'none of the lost batch is there');
      assert.equal(await p.store.transaction((tx) => tx.kv.insert('n', 'after', 'v')), true, 'the store goes on');
    } finally {
      await holder.end();
    }
  });

  test('units are spread over the free connections: a unit waits behind others only when none is free', async () => {
    const p = await open({ commitBatchesMax: 4 });
    const before = p.database.stats;
    await Promise.all(Array.from({ length: 3 }, (_, i) => p.store.transaction((tx) => tx.kv.insert('n', `a${i}`, 'v'))));
    assert.equal(p.database.stats.commits - before.commits, 3, 'three units, three free connections: one batch each');
    await Promise.all(Array.from({ length: 8 }, (_, i) => p.store.transaction((tx) => tx.kv.insert('n', `b${i}`, 'v'))));
    assert.equal(p.database.stats.commits - before.commits, 3 + 4, 'eight units, four free connections: batches of two');
    assert.equal(p.database.stats.units - before.units, 11);
  });

  test('units start in the order they came, whichever batch takes them', async () => {
    const batches = 2;
    const p = await open({ commitBatchesMax: batches, commitBatchMs: 0 });
    const started: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        p.store.transaction(async (tx) => {
          started.push(i);
          await tx.kv.insert('n', `k${i}`, 'v');
        }),
      ),
    );
    // Units are taken oldest first and each batch runs its units one after another, so each batch starts its units
    // in the order they came. Batches on different connections run side by side (one may be held up by its
    // connection for any time), so the start order is an interleaving of at most `batches` increasing runs: no
    // decreasing run in it is longer than the number of batches.
    assert.deepEqual([...started].sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i));
    assert.ok(longestDecreasingRun(started) <= batches, `started ${started.join(',')}`);
  });

  test('a unit issued while a batch runs joins that batch instead of waiting for its commit', async () => {
    const p = await open();
    const before = p.database.stats;
    let second: Promise<unknown> | undefined;
    await p.store.transaction(async (tx) => {
      // Issued from inside the first unit's work: it can only run once that work is done, in the same batch.
      second ??= p.store.transaction((inner) => inner.kv.insert('n', 'second', 'v'));
      await tx.kv.insert('n', 'first', 'v');
    });
    await second;
    assert.equal(p.database.stats.commits - before.commits, 1, 'one commit for both');
    assert.deepEqual(await keys(p), ['first', 'second']);
  });

  test('a unit that waits longer than connectTimeoutMs for a batch is STORE_UNAVAILABLE; the stuck batch goes on', async () => {
    const p = await open({ connectTimeoutMs: 300 });
    const holder = await holdRow(p, 'held');
    try {
      // The only batch waits for the held row; the unit issued after it waits for a batch.
      const stuck = p.store.transaction((tx) => tx.kv.put('n', 'held', 'v'));
      await until(async () => (await holder.query('SELECT 1 FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))')).rowCount === 1);
      const started = Date.now();
      await assert.rejects(p.store.transaction((tx) => tx.kv.insert('n', 'waiting', 'v')), unavailable);
      assert.ok(Date.now() - started < 3000, 'rejected while the batch is still stuck');
      await holder.query('ROLLBACK');
      assert.equal(await stuck, 1, 'the stuck unit completes once the row is free');
      assert.deepEqual(await keys(p), ['held']);
    } finally {
      await holder.end();
    }
  });

  test('a batch takes at most commitUnitsMax units', async () => {
    const p = await open({ commitUnitsMax: 3 });
    const before = p.database.stats;
    await Promise.all(Array.from({ length: 7 }, (_, i) => p.store.transaction((tx) => tx.kv.insert('n', `k${i}`, 'v'))));
    assert.equal(p.database.stats.commits - before.commits, 3, 'batches of 3, 3 and 1');
    assert.equal((await keys(p)).length, 7);
  });

  test('a batch starts no unit after commitBatchMs; the rest go to the next batch', async () => {
    const p = await open({ commitBatchMs: 0, commitBatchesMax: 1 });
    const before = p.database.stats;
    await Promise.all(Array.from({ length: 4 }, (_, i) => p.store.transaction((tx) => tx.kv.insert('n', `k${i}`, 'v'))));
    assert.equal(p.database.stats.commits - before.commits, 4, 'each batch ran one unit');
    assert.equal((await keys(p)).length, 4);
  });

  test('with commitUnitsMax 1 every transaction commits on its own', async () => {
    const p = await open({ commitUnitsMax: 1 });
    const before = p.database.stats;
    await Promise.all(Array.from({ length: 5 }, (_, i) => p.store.transaction((tx) => tx.kv.insert('n', `k${i}`, 'v'))));
    assert.equal(p.database.stats.commits - before.commits, 5);
  });

  test('without prepared statements the store works the same', async () => {
    const p = await open({ preparedStatements: false });
    await Promise.all(Array.from({ length: 3 }, (_, i) => p.store.transaction((tx) => tx.kv.insert('n', `k${i}`, 'v'))));
    assert.deepEqual(await keys(p), ['k0', 'k1', 'k2']);
  });
}

/** Length of the longest decreasing subsequence: the fewest increasing runs whose interleaving gives `values`. */
function longestDecreasingRun(values: readonly number[]): number {
  const longestEndingAt = values.map(() => 1);
  for (let i = 0; i < values.length; i++) {
    for (let j = 0; j < i; j++) if (values[j]! > values[i]!) longestEndingAt[i] = Math.max(longestEndingAt[i]!, longestEndingAt[j]! + 1);
  }
  return Math.max(0, ...longestEndingAt);
}
