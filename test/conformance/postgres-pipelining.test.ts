/**
 * Pipelining on the PostgreSQL store's connections: a transaction's first statement goes out behind BEGIN and its
 * COMMIT behind the last statement its work hands over, without waiting for their answers; and that saves round
 * trips only: a last statement that fails on the server commits nothing of its unit (the units done before it in
 * its transaction run again and commit), a connection that ends under it commits nothing and says so, and the
 * same holds for transactions of their own connection (`PostgresDatabase.transaction`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { MxError } from '../../src/errors.js';
import type { PostgresEngine } from '../../src/storage/postgres/index.js';
import { freshStores, postgresOrSkip, statementsSentDuring } from '../helpers/postgres.js';

const kind = (text: string) => (/^(BEGIN|COMMIT|ROLLBACK)$/.test(text) ? text : /outbox/.test(text) ? 'outbox' : /kv/.test(text) ? 'kv' : text);

if (await postgresOrSkip('PostgreSQL pipelining')) {
  const open = freshStores({ poolMax: 2, commitBatchesMax: 1, commitBatchMs: 10_000 });
  const keys = async (p: PostgresEngine) =>
    (await p.database.query<{ key: string }>(`SELECT key FROM ${p.database.name('kv')} ORDER BY key`)).rows.map((r) => r.key);
  const insertKey = (p: PostgresEngine, client: pg.ClientBase, key: string) =>
    client.query(`INSERT INTO ${p.database.name('kv')} (namespace, key, value, version) VALUES ('n', $1, 'v', 1)`, [key]);

  test('the first statement goes out behind BEGIN, and COMMIT behind the last statement, unanswered', async () => {
    const p = await open();
    const sent = await statementsSentDuring(() =>
      p.store.transaction(async (tx) => {
        await tx.kv.insert('n', 'a', 'v');
        await tx.queues.send('q', { body: 'a' });
      }),
    );
    assert.deepEqual(sent.map((s) => kind(s.text)), ['BEGIN', 'kv', 'outbox', 'COMMIT']);
    assert.equal(sent[1]!.unanswered, 1, 'the kv statement was sent before BEGIN was answered');
    assert.equal(sent[2]!.unanswered, 0, 'the outbox statement was sent after the kv statement was answered');
    assert.equal(sent[3]!.unanswered, 1, 'COMMIT was sent before the outbox statement was answered');
    assert.deepEqual(await keys(p), ['a']);
    const outbox = await p.database.query<{ body: string }>(`SELECT body FROM ${p.database.name('outbox')}`);
    assert.deepEqual(outbox.rows.map((r) => r.body), ['a']);
  });

  test('a unit followed by another in its transaction has its last statement answered before the next one starts', async () => {
    const p = await open();
    const sent = await statementsSentDuring(() =>
      Promise.all(
        ['a', 'b'].map((key) =>
          p.store.transaction(async (tx) => {
            await tx.kv.insert('n', key, 'v');
            await tx.queues.send('q', { body: key });
          }),
        ),
      ),
    );
    assert.deepEqual(sent.map((s) => kind(s.text)), ['BEGIN', 'kv', 'outbox', 'kv', 'outbox', 'COMMIT']);
    assert.equal(sent[3]!.unanswered, 0, "the second unit starts once the first one's last statement is answered");
    assert.equal(sent[5]!.unanswered, 1, 'COMMIT goes out behind the second unit’s last statement');
    assert.deepEqual(await keys(p), ['a', 'b']);
  });

  test('a last statement that fails on the server commits nothing of its unit; the units before it run again and commit', async () => {
    const p = await open();
    const runs: string[] = [];
    const before = p.database.stats;
    const outcomes = await Promise.allSettled([
      p.database.unit(async ({ client }) => {
        runs.push('a');
        await insertKey(p, client, 'a');
        return 'a';
      }),
      p.database.unit(async ({ client, last }) => {
        runs.push('b');
        await insertKey(p, client, 'b');
        last(client.query('SELECT 1 / 0'));
        return 'b';
      }),
    ]);
    assert.equal(outcomes[0]!.status, 'fulfilled');
    assert.equal(outcomes[1]!.status, 'rejected');
    assert.equal((outcomes[1] as PromiseRejectedResult).reason.code, '22012', 'division by zero, as the server said');
    assert.deepEqual(runs, ['a', 'b', 'a'], 'a ran again after b rolled their transaction back');
    assert.deepEqual(await keys(p), ['a']);
    const after = p.database.stats;
    assert.equal(after.rolledBack - before.rolledBack, 1);
    assert.equal(after.ranAgain - before.ranAgain, 1);
  });

  test('a connection that ends under the last statement commits nothing and fails the unit as unavailable', async () => {
    const p = await open();
    const outcome = await p.database
      .unit(async ({ client, last }) => {
        await insertKey(p, client, 'gone');
        last(client.query('SELECT pg_terminate_backend(pg_backend_pid())'));
      })
      .then(
        () => null,
        (error: unknown) => error,
      );
    assert.ok(outcome instanceof MxError && outcome.code === 'STORE_UNAVAILABLE', String(outcome));
    assert.deepEqual(await keys(p), []);
    // The pool dropped the dead connection: the next unit runs on a good one.
    await p.database.unit(async ({ client }) => insertKey(p, client, 'next'));
    assert.deepEqual(await keys(p), ['next']);
  });

  test('a transaction of its own connection pipelines the same way and commits nothing when its last statement fails', async () => {
    const p = await open();
    const sent = await statementsSentDuring(() =>
      p.database.transaction(async ({ client, last }) => {
        await insertKey(p, client, 'a');
        last(insertKey(p, client, 'b'));
      }),
    );
    assert.deepEqual(sent.map((s) => kind(s.text)), ['BEGIN', 'kv', 'kv', 'COMMIT']);
    assert.equal(sent[1]!.unanswered, 1);
    assert.equal(sent[3]!.unanswered, 1);
    assert.deepEqual(await keys(p), ['a', 'b']);
    await assert.rejects(
      p.database.transaction(async ({ client, last }) => {
        await insertKey(p, client, 'c');
        last(insertKey(p, client, 'a'));
      }),
      (error: unknown) => (error as { code?: string }).code === '23505',
    );
    assert.deepEqual(await keys(p), ['a', 'b'], 'c went with the failed last statement');
  });
}
