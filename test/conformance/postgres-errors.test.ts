/**
 * How the PostgreSQL store fails: outages and timeouts are STORE_UNAVAILABLE (retryable); constraint conflicts
 * surface unchanged and are not retried; a transaction whose statement failed never commits, even when `work`
 * caught the error; a deadlock is retried and both transactions complete, also between units of two group commits.
 */
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { MxError, isMxError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import type { NewTransaction } from '../../src/ports/transactions.js';
import { openPostgresStore, type PostgresEngine } from '../../src/storage/postgres/index.js';
import { dropSchema, freshSchemaName, POSTGRES_URL, postgresOrSkip } from '../helpers/postgres.js';

const unavailable = (error: unknown) => error instanceof MxError && error.code === 'STORE_UNAVAILABLE' && error.retryable;

function transaction(id: string): NewTransaction {
  return { id, clientId: 'c', status: 'ACTC', messageType: null, msgId: null, contentHash: null, deadlineAt: null, groupKey: null, payments: [], at: 1 };
}

if (await postgresOrSkip('PostgreSQL store errors')) {
  let schema: string;
  let p: PostgresEngine;
  beforeEach(async () => {
    schema = freshSchemaName();
    p = await openPostgresStore({ url: POSTGRES_URL, schema, poolMax: 4, clock: new ManualClock(), ids: randomIds, logger: silentLogger() });
  });
  afterEach(async () => {
    await p.close();
    await dropSchema(schema);
  });

  test('an unreachable server is STORE_UNAVAILABLE, retryable', async () => {
    const url = new URL(POSTGRES_URL);
    url.port = '1'; // nothing listens there
    await assert.rejects(
      openPostgresStore({ url: url.toString(), schema, connectTimeoutMs: 1000, clock: new ManualClock(), ids: randomIds, logger: silentLogger() }),
      unavailable,
    );
  });

  test('a statement over the timeout is STORE_UNAVAILABLE', async () => {
    const quick = await openPostgresStore({ url: POSTGRES_URL, schema, statementTimeoutMs: 200, clock: new ManualClock(), ids: randomIds, logger: silentLogger() });
    try {
      await assert.rejects(quick.database.query('SELECT pg_sleep(1)'), unavailable);
      assert.equal((await quick.database.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1, 'the pool goes on');
    } finally {
      await quick.close();
    }
  });

  test('a connection ended inside a transaction is STORE_UNAVAILABLE, and the process goes on', async () => {
    await assert.rejects(
      p.database.transaction(async ({ client }) => {
        const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
        await p.database.query('SELECT pg_terminate_backend($1)', [pid]);
        await new Promise((resolve) => setTimeout(resolve, 100)); // the session ends while no query runs on it
        await client.query('SELECT 1');
      }),
      unavailable,
    );
    assert.equal(await p.store.transaction((tx) => tx.kv.insert('n', 'after', 'x')), true, 'the pool goes on');
  });

  test('a constraint conflict surfaces unchanged, is not retried, and rolls back the transaction', async () => {
    await p.store.transaction((tx) => tx.transactions.create(transaction('t1')));
    let runs = 0;
    await assert.rejects(
      p.store.transaction(async (tx) => {
        runs += 1;
        await tx.kv.insert('n', 'written-before', 'x');
        await tx.transactions.create(transaction('t1'));
      }),
      (error: unknown) => !isMxError(error) && (error as { code?: string }).code === '23505',
    );
    assert.equal(runs, 1);
    assert.equal(await p.store.transaction((tx) => tx.kv.get('n', 'written-before')), null);
  });

  test('a transaction whose statement failed never commits, even when work caught the error', async () => {
    await p.store.transaction((tx) => tx.transactions.create(transaction('t2')));
    await assert.rejects(
      p.store.transaction(async (tx) => {
        await tx.transactions.create(transaction('t2')).catch(() => undefined);
        await tx.kv.insert('n', 'after-failure', 'x').catch(() => undefined);
        return 'claims success';
      }),
      (error: unknown) => (error as { code?: string }).code === '23505',
    );
    assert.equal(await p.store.transaction((tx) => tx.kv.get('n', 'after-failure')), null);
  });

  // Two engines on one schema stand for two processes: the units of one engine share its batches, and a unit that
  // waits for another of its own batch would wait forever, so crossing transactions come from different engines.
  test('a deadlock is retried: both transactions complete', async () => {
    const q = await openPostgresStore({ url: POSTGRES_URL, schema, poolMax: 4, clock: new ManualClock(), ids: randomIds, logger: silentLogger() });
    try {
      let runs = 0;
      let arrived = 0;
      let release!: () => void;
      const bothHoldOne = new Promise<void>((resolve) => (release = resolve));
      const crossing = (engine: PostgresEngine, first: string, second: string) =>
        engine.store.transaction(async (tx) => {
          runs += 1;
          await tx.kv.put('locks', first, 'held');
          if (++arrived === 2) release();
          await bothHoldOne;
          await tx.kv.put('locks', second, 'held');
        });
      await Promise.all([crossing(p, 'a', 'b'), crossing(q, 'b', 'a')]);
      assert.equal(runs, 3, 'the deadlock victim ran again once');
      assert.equal((await p.store.transaction((tx) => tx.kv.get('locks', 'a')))?.version, 2);
      assert.equal((await p.store.transaction((tx) => tx.kv.get('locks', 'b')))?.version, 2);
    } finally {
      await q.close();
    }
  });

  test('a deadlock between units of two batches runs the victim unit again; the unit done before it in its batch runs again and commits', async () => {
    // One batch at a time and a long time bound keep each pair of units in one batch whatever the machine's speed.
    const options = { url: POSTGRES_URL, schema, poolMax: 4, commitBatchesMax: 1, commitBatchMs: 30_000, clock: new ManualClock(), ids: randomIds, logger: silentLogger() };
    const q = await openPostgresStore(options);
    const r = await openPostgresStore(options);
    try {
      const runs = new Map<string, number>();
      let arrived = 0;
      let release!: () => void;
      const bothHoldOne = new Promise<void>((resolve) => (release = resolve));
      // In each engine's batch: the first unit locks one key and waits until the other batch holds the other key;
      // the second unit then wants the key the other batch holds.
      const pair = (engine: PostgresEngine, first: string, second: string) => [
        engine.store.transaction(async (tx) => {
          runs.set(`${first}1`, (runs.get(`${first}1`) ?? 0) + 1);
          await tx.kv.put('locks', first, 'held');
          if (++arrived === 2) release();
          await bothHoldOne;
        }),
        engine.store.transaction(async (tx) => {
          runs.set(`${first}2`, (runs.get(`${first}2`) ?? 0) + 1);
          await tx.kv.put('locks', second, 'held');
        }),
      ];
      const before = [q.database.stats, r.database.stats];
      await Promise.all([...pair(q, 'a', 'b'), ...pair(r, 'b', 'a')]);
      // The victim's transaction is rolled back whole: the victim runs again after a backoff, and the first unit of
      // its batch, done before it, runs again at once. The other batch runs each of its units once.
      const victim = (runs.get('a2') ?? 0) === 2 ? 'a' : 'b';
      const other = victim === 'a' ? 'b' : 'a';
      assert.deepEqual([runs.get(`${victim}1`), runs.get(`${victim}2`)], [2, 2], `the victim's batch ran both its units twice: ${JSON.stringify([...runs])}`);
      assert.deepEqual([runs.get(`${other}1`), runs.get(`${other}2`)], [1, 1], 'the other batch ran each unit once');
      const after = [q.database.stats, r.database.stats];
      const delta = (field: 'rolledBack' | 'ranAgain') => after[0]![field] - before[0]![field] + after[1]![field] - before[1]![field];
      assert.equal(delta('rolledBack'), 1, 'one unit failed');
      assert.equal(delta('ranAgain'), 1, 'one unit ran again for it');
      assert.equal((await p.store.transaction((tx) => tx.kv.get('locks', 'a')))?.version, 2);
      assert.equal((await p.store.transaction((tx) => tx.kv.get('locks', 'b')))?.version, 2);
    } finally {
      await q.close();
      await r.close();
    }
  });
}
