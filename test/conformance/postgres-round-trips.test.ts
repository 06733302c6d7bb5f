/**
 * Round trips of the PostgreSQL store, counted on the driver: a transaction's messages are written to the outbox
 * in one statement, in send order, after its work; a winning key claim is one statement and takes no savepoint;
 * a status step with payments of their own is one statement; a stored message is written with the unit's outbox
 * rows, and so is a new transaction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshStores, postgresOrSkip, statementsSentDuring } from '../helpers/postgres.js';

/** Runs `during` and returns the text of every statement the driver sent meanwhile, in order. */
const statementsOf = async (during: () => Promise<unknown>): Promise<string[]> => (await statementsSentDuring(during)).map((s) => s.text);

if (await postgresOrSkip('PostgreSQL round trips')) {
  const open = freshStores({ poolMax: 2 });

  test('the messages of a transaction are written in one statement after its work, in the order they were sent', async () => {
    const p = await open();
    const sequences: bigint[] = [];
    const texts = await statementsOf(() =>
      p.store.transaction(async (tx) => {
        for (const [queue, body] of [['a', 'a1'], ['b', 'b1'], ['a', 'a2']] as const) sequences.push(BigInt((await tx.queues.send(queue, { body })).sequenceNumber));
        await tx.kv.insert('n', 'k', 'v');
      }),
    );
    assert.deepEqual(texts.map((t) => (/outbox/.test(t) ? 'outbox' : /kv/.test(t) ? 'kv' : t)), ['BEGIN', 'kv', 'outbox', 'COMMIT']);
    assert.ok(sequences[0]! < sequences[1]! && sequences[1]! < sequences[2]!, 'sequence numbers increase');
    const rows = await p.database.query<{ queue: string; body: string }>(`SELECT queue, body FROM ${p.database.name('outbox')} ORDER BY id`);
    assert.deepEqual(rows.rows.map((r) => `${r.queue}:${r.body}`), ['a:a1', 'b:b1', 'a:a2']);
  });

  test('a transaction that throws after sending writes no outbox statement at all', async () => {
    const p = await open();
    const texts = await statementsOf(() =>
      p.store.transaction(async (tx) => {
        await tx.queues.send('a', { body: 'never' });
        throw new Error('refused');
      }).catch(() => undefined),
    );
    assert.deepEqual(texts, ['BEGIN', 'ROLLBACK']);
  });

  test('a winning key claim is one statement; a losing one is two and keeps none of its keys', async () => {
    const p = await open();
    const claim = (transactionId: string, values: string[]) =>
      p.store.transaction((tx) =>
        tx.transactions.claimKeys({ clientId: 'c', keys: values.map((value) => ({ kind: 'end_to_end_id', value })), transactionId, contentHash: null, expiresAt: 10_000, now: 0 }),
      );
    const won = await statementsOf(() => claim('t1', ['B']));
    assert.equal(won.length, 3, won.join(' | '));
    assert.ok(!won.some((t) => /SAVEPOINT/.test(t)));
    const lost = await statementsOf(() => claim('t2', ['A', 'B']));
    assert.equal(lost.length, 4, lost.join(' | '));
    const held = await p.database.query<{ value: string; transaction_id: string }>(`SELECT value, transaction_id FROM ${p.database.name('business_keys')} ORDER BY value`);
    assert.deepEqual(held.rows.map((r) => `${r.value}:${r.transaction_id}`), ['B:t1']);
  });

  test('a status step with payments of their own is one statement', async () => {
    const p = await open();
    const id = '00000000-0000-4000-8000-000000000001';
    await p.store.transaction((tx) =>
      tx.transactions.create({
        id, clientId: 'c', status: 'ACTC', messageType: null, msgId: null, contentHash: null, deadlineAt: 5, groupKey: null, at: 1,
        payments: [{ index: 0, endToEndId: null, txId: null, uetr: null, instrId: null, amount: '1', currency: 'EUR' }],
      }),
    );
    const texts = await statementsOf(() =>
      p.store.transaction((tx) => tx.transactions.move(id, { from: 'ACTC', to: 'RJCT', payments: [{ index: 0, status: 'RJCT', reasonCode: 'AM04' }], at: 2 })),
    );
    assert.equal(texts.length, 3, texts.join(' | '));
  });

  test("a stored message goes in the statement that writes its unit's outbox rows; a later read of the unit sees it", async () => {
    const p = await open();
    const id = '00000000-0000-4000-8000-000000000002';
    await p.store.transaction((tx) =>
      tx.transactions.create({ id, clientId: 'c', status: 'ACTC', messageType: null, msgId: null, contentHash: null, deadlineAt: 5, groupKey: null, at: 1, payments: [] }),
    );
    const name = (t: string) => (/outbox/.test(t) && /transaction_messages/.test(t) ? 'messages+outbox' : /transaction_messages/.test(t) ? 'messages' : /outbox/.test(t) ? 'outbox' : t);
    const together = await statementsOf(() =>
      p.store.transaction(async (tx) => {
        await tx.transactions.putMessage(id, { kind: 'out', messageType: 'pacs.002.001.10', xml: '<first/>', createdAt: 2 });
        await tx.transactions.putMessage(id, { kind: 'out', messageType: 'pacs.002.001.10', xml: '<report/>', createdAt: 3 });
        await tx.queues.send('a', { body: 'released' });
      }),
    );
    assert.deepEqual(together.map(name), ['BEGIN', 'messages+outbox', 'COMMIT']);
    assert.equal((await p.store.read((tx) => tx.transactions.getMessage(id, 'out')))?.xml, '<report/>', 'the last write of a message wins');

    const read = await statementsOf(() =>
      p.store.transaction(async (tx) => {
        await tx.transactions.putMessage(id, { kind: 'in', messageType: 'pacs.008.001.08', xml: '<in/>', createdAt: 4 });
        assert.equal((await tx.transactions.getMessage(id, 'in'))?.xml, '<in/>', 'a read of the unit sees the held message');
      }),
    );
    assert.deepEqual(read.map(name), ['BEGIN', 'messages', 'messages', 'COMMIT']);
    const lost = await p.store
      .transaction(async (tx) => {
        await tx.transactions.putMessage(id, { kind: 'in', messageType: 'pacs.008.001.08', xml: '<rolled back/>', createdAt: 5 });
        await tx.queues.send('a', { body: 'never' });
        throw new Error('refused');
      })
      .catch((error: unknown) => error);
    assert.ok(lost instanceof Error);
    assert.equal((await p.store.read((tx) => tx.transactions.getMessage(id, 'in')))?.xml, '<in/>', 'a unit that throws writes none of its held messages');
  });
  test("a new transaction goes in the statement that writes its unit's messages and outbox rows, and fails the unit there", async () => {
    const p = await open();
    const id = '00000000-0000-4000-8000-000000000003';
    const created = (status: 'ACCP' | 'ACTC') => ({
      id, clientId: 'c', status, messageType: 'pacs.008.001.08', msgId: 'M1', contentHash: 'h', deadlineAt: 5, groupKey: 'g', at: 1,
      payments: [{ index: 0, endToEndId: 'E1', txId: null, uetr: null, instrId: null, amount: '10.50', currency: 'EUR' }],
    });
    const intake = () =>
      p.store.transaction(async (tx) => {
        await tx.transactions.create(created('ACTC'));
        await tx.transactions.putMessage(id, { kind: 'in', messageType: 'pacs.008.001.08', xml: '<in/>', createdAt: 1 });
        await tx.queues.send('processing', { body: id });
      });
    const texts = await statementsOf(intake);
    assert.equal(texts.length, 3, texts.join(' | '));
    assert.ok(/transactions/.test(texts[1]!) && /transaction_messages/.test(texts[1]!) && /outbox/.test(texts[1]!), texts[1]);
    const loaded = await p.store.read((tx) => tx.transactions.load(id, 'in'));
    assert.equal(loaded?.transaction.status, 'ACTC');
    assert.deepEqual(loaded?.payments.map((x) => [x.amount, x.status]), [['10.50', 'ACTC']]);
    assert.equal(loaded?.message?.xml, '<in/>');
    assert.deepEqual((await p.store.read((tx) => tx.transactions.history(id))).map((h) => h.status), ['ACTC']);

    // The same id again: the unit fails with the unique violation, and writes none of its rows.
    const outboxRows = async () => (await p.database.query(`SELECT 1 FROM ${p.database.name('outbox')}`)).rowCount;
    const before = await outboxRows();
    await assert.rejects(intake(), (error: unknown) => (error as { code?: string }).code === '23505');
    assert.equal(await outboxRows(), before);

    // A read in the unit writes the held transaction first, and sees it.
    const other = '00000000-0000-4000-8000-000000000004';
    const seen = await p.store.transaction(async (tx) => {
      await tx.transactions.create({ ...created('ACCP'), id: other });
      return (await tx.transactions.get(other))?.status;
    });
    assert.equal(seen, 'ACCP');
  });
}
