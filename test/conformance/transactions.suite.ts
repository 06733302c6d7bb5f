/**
 * Conformance suite of the transactions repository (tx.transactions): the specification every store engine
 * passes. Status steps are compare-and-set and only forward; business keys are claimed atomically, all or none;
 * listing pages never skip or repeat; deadlines are found through their index.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/ports/store.js';
import type { BusinessKey, CancellationRefs, NewTransaction, StrandedPosition, TransactionsTx } from '../../src/ports/transactions.js';

export interface TransactionsHarness {
  store: Store;
  close(): Promise<void>;
}

let counter = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;

function newTransaction(overrides: Partial<NewTransaction> = {}): NewTransaction {
  return {
    id: uuid(),
    clientId: 'client-a',
    status: 'ACTC',
    messageType: 'pacs.008.001.08',
    msgId: `MSG-${counter}`,
    contentHash: 'hash',
    deadlineAt: 1_000_000,
    groupKey: 'client-a:DE89370400440532013000',
    payments: [
      { index: 0, endToEndId: `E2E-${counter}-0`, txId: null, uetr: null, instrId: null, amount: '10.00', currency: 'EUR' },
      { index: 1, endToEndId: `E2E-${counter}-1`, txId: 'TX1', uetr: '8a562c67-ca16-48ba-b074-65581be6f011', instrId: 'I1', amount: '0.01', currency: 'EUR' },
    ],
    at: 500_000,
    ...overrides,
  };
}

export function transactionsConformance(engine: string, open: () => Promise<TransactionsHarness>): void {
  describe(`transactions repository conformance: ${engine}`, () => {
    let h: TransactionsHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.close();
    });
    test('create stores the transaction, its payments (amounts as strings) and the first history entry', async () => {
      const t = newTransaction();
      await h.store.transaction((tx) => tx.transactions.create(t));
      const got = await h.store.transaction((tx) => tx.transactions.get(t.id));
      assert.equal(got?.status, 'ACTC');
      assert.equal(got?.clientId, 'client-a');
      assert.equal(got?.deadlineAt, 1_000_000);
      assert.equal(got?.version, 1);
      const payments = await h.store.transaction((tx) => tx.transactions.payments(t.id));
      assert.deepEqual(payments.map((p) => [p.index, p.amount, p.status]), [[0, '10.00', 'ACTC'], [1, '0.01', 'ACTC']]);
      const history = await h.store.transaction((tx) => tx.transactions.history(t.id));
      assert.deepEqual(history.map((e) => e.status), ['ACTC']);
      await assert.rejects(h.store.transaction((tx) => tx.transactions.create(t)), 'an existing id is refused');
    });

    test('load gives the transaction, its payments and one message as the separate reads do', async () => {
      const t = newTransaction();
      await h.store.transaction((tx) => tx.transactions.create(t));
      await h.store.transaction((tx) => tx.transactions.move(t.id, { from: 'ACTC', to: 'ACSP', payments: [{ index: 1, status: 'RJCT', reasonCode: 'AC01', reasonText: 'bad account' }], at: 600_000 }));
      await h.store.transaction((tx) => tx.transactions.putMessage(t.id, { kind: 'in', messageType: 'pacs.008.001.08', xml: '<in/>', createdAt: 500_000 }));
      const [loaded, get, payments, message, noOut] = await h.store.transaction(async (tx) => [
        await tx.transactions.load(t.id, 'in'),
        await tx.transactions.get(t.id),
        await tx.transactions.payments(t.id),
        await tx.transactions.getMessage(t.id, 'in'),
        await tx.transactions.load(t.id, 'out'),
      ] as const);
      assert.deepEqual(loaded, { transaction: get, payments, message });
      assert.equal(loaded?.payments[0]?.amount, '10.00', 'amounts stay decimal strings');
      assert.deepEqual(noOut, { transaction: get, payments, message: null }, 'no message of that kind');
      assert.equal(await h.store.transaction((tx) => tx.transactions.load('absent', 'in')), null);
    });

    test('status steps are compare-and-set, forward only, and refused steps change nothing', async () => {
      const t = newTransaction();
      await h.store.transaction((tx) => tx.transactions.create(t));
      assert.equal(await h.store.transaction((tx) => tx.transactions.move(t.id, { from: 'ACTC', to: 'ACSC', at: 600_000 })), false, 'skipping ACSP is refused');
      assert.equal(await h.store.transaction((tx) => tx.transactions.move(t.id, { from: 'ACSP', to: 'ACSC', at: 600_000 })), false, 'wrong from is refused');
      assert.equal(
        await h.store.transaction((tx) =>
          tx.transactions.move(t.id, { from: 'ACTC', to: 'ACSP', payments: [{ index: 1, status: 'RJCT', reasonCode: 'AC01', reasonText: 'bad account' }], at: 600_000 }),
        ),
        true,
      );
      assert.equal(await h.store.transaction((tx) => tx.transactions.move(t.id, { from: 'ACSP', to: 'PART', at: 700_000 })), true);
      const got = await h.store.transaction((tx) => tx.transactions.get(t.id));
      assert.equal(got?.status, 'PART');
      assert.equal(got?.deadlineAt, null, 'a final transaction has no deadline');
      assert.equal(got?.version, 3);
      const payments = await h.store.transaction((tx) => tx.transactions.payments(t.id));
      assert.deepEqual(payments.map((p) => [p.status, p.reasonCode]), [['ACSP', null], ['RJCT', 'AC01']]);
      assert.deepEqual((await h.store.transaction((tx) => tx.transactions.history(t.id))).map((e) => e.status), ['ACTC', 'ACSP', 'PART']);
      assert.equal(await h.store.transaction((tx) => tx.transactions.move(t.id, { from: 'PART', to: 'RJCT', at: 800_000 })), false, 'nothing after a final status');
    });

    test('a step through an intermediate status checks both edges, records both in the history, and is one step', async () => {
      const t = newTransaction();
      await h.store.transaction((tx) => tx.transactions.create(t));
      assert.equal(await h.store.transaction((tx) => tx.transactions.move(t.id, { from: 'ACTC', via: 'ACSC', to: 'RJCT', at: 600_000 })), false, 'ACSC -> RJCT is no step');
      assert.equal(await h.store.transaction((tx) => tx.transactions.move(t.id, { from: 'ACSP', via: 'ACSP', to: 'ACSC', at: 600_000 })), false, 'wrong from');
      const moved = await h.store.transaction((tx) =>
        tx.transactions.move(t.id, {
          from: 'ACTC',
          via: 'ACSP',
          to: 'PART',
          payments: [
            { index: 0, status: 'ACSC' },
            { index: 1, status: 'RJCT', reasonCode: 'AC01', reasonText: 'bad account' },
          ],
          at: 700_000,
        }),
      );
      assert.equal(moved, true);
      const got = await h.store.transaction((tx) => tx.transactions.get(t.id));
      assert.equal(got?.status, 'PART');
      assert.equal(got?.version, 2, 'one step');
      const history = await h.store.transaction((tx) => tx.transactions.history(t.id));
      assert.deepEqual(history.map((e) => [e.status, e.reasonCode, e.at]), [['ACTC', null, t.at], ['ACSP', null, 700_000], ['PART', null, 700_000]]);
      const payments = await h.store.transaction((tx) => tx.transactions.payments(t.id));
      assert.deepEqual(payments.map((p) => [p.status, p.reasonCode]), [['ACSC', null], ['RJCT', 'AC01']]);
    });

    test('concurrent steps from the same status: exactly one wins', async () => {
      const t = newTransaction();
      await h.store.transaction((tx) => tx.transactions.create(t));
      const results = await Promise.all([
        h.store.transaction((tx) => tx.transactions.move(t.id, { from: 'ACTC', to: 'RJCT', reasonCode: 'AB06', at: 600_000 })),
        h.store.transaction((tx) => tx.transactions.move(t.id, { from: 'ACTC', to: 'ACSP', at: 600_000 })),
        h.store.transaction((tx) => tx.transactions.move(t.id, { from: 'ACTC', to: 'CANC', at: 600_000 })),
      ]);
      assert.equal(results.filter(Boolean).length, 1);
    });

    test('business keys: all or none, first claimant wins, expired keys can be claimed again', async () => {
      const keys: BusinessKey[] = [{ kind: 'msg_id', value: 'M1' }, { kind: 'end_to_end_id', value: 'pacs.008|E1' }];
      const claim = (transactionId: string, hash: string, now: number, ks = keys) =>
        h.store.transaction((tx) => tx.transactions.claimKeys({ clientId: 'c', keys: ks, transactionId, contentHash: hash, expiresAt: now + 1000, now }));
      assert.deepEqual(await claim('t1', 'h1', 0), { ok: true });
      const conflict = await claim('t2', 'h2', 10, [{ kind: 'uetr', value: 'pacs.008|U9' }, ...keys]);
      assert.equal(conflict.ok, false);
      assert.equal(!conflict.ok && conflict.transactionId, 't1');
      assert.equal(!conflict.ok && conflict.contentHash, 'h1');
      // All or none: the UETR key claimed before the conflict was released.
      assert.deepEqual(await claim('t3', 'h3', 20, [{ kind: 'uetr', value: 'pacs.008|U9' }]), { ok: true });
      const other = await h.store.transaction((tx) => tx.transactions.claimKeys({ clientId: 'other', keys, transactionId: 't4', contentHash: 'h4', expiresAt: 5000, now: 30 }));
      assert.deepEqual(other, { ok: true }, 'keys are per client');
      assert.deepEqual(await claim('t5', 'h5', 2000), { ok: true }, 'expired keys are free again');
      assert.ok((await h.store.transaction((tx) => tx.transactions.sweepKeys(10_000, 100))) >= 1);
    });

    test('concurrent claims of the same keys: exactly one succeeds', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          h.store.transaction((tx) =>
            tx.transactions.claimKeys({ clientId: 'c', keys: [{ kind: 'msg_id', value: 'SAME' }], transactionId: `t${i}`, contentHash: null, expiresAt: 10_000, now: 0 }),
          ),
        ),
      );
      assert.equal(results.filter((r) => r.ok).length, 1);
    });

    test('concurrent claims sharing one key: exactly one succeeds, and the others keep none of their keys', async () => {
      const claim = (i: number, keys: BusinessKey[]) =>
        h.store.transaction((tx) => tx.transactions.claimKeys({ clientId: 'c', keys, transactionId: `t${i}`, contentHash: null, expiresAt: 10_000, now: 0 }));
      // Each claim's own key sorts before the shared one, so a loser has taken its own key when it meets the winner's.
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => claim(i, [{ kind: 'end_to_end_id', value: `own-${i}` }, { kind: 'msg_id', value: 'SHARED' }])));
      assert.equal(results.filter((r) => r.ok).length, 1);
      const winner = results.findIndex((r) => r.ok);
      for (let i = 0; i < 8; i++) {
        if (i === winner) continue;
        assert.deepEqual(await claim(100 + i, [{ kind: 'end_to_end_id', value: `own-${i}` }]), { ok: true }, `loser ${i} left its own key free`);
      }
    });

    test('a losing claim leaves an expired key it took over free for the next claimant', async () => {
      const claim = (transactionId: string, keys: BusinessKey[], now: number) =>
        h.store.transaction((tx) => tx.transactions.claimKeys({ clientId: 'c', keys, transactionId, contentHash: transactionId, expiresAt: now + 1000, now }));
      assert.deepEqual(await claim('old', [{ kind: 'end_to_end_id', value: 'E-OLD' }], 0), { ok: true });
      assert.deepEqual(await claim('live', [{ kind: 'msg_id', value: 'M-LIVE' }], 1500), { ok: true });
      // At 2000 E-OLD has expired; M-LIVE has not, so the claim fails and takes neither.
      const lost = await claim('loser', [{ kind: 'end_to_end_id', value: 'E-OLD' }, { kind: 'msg_id', value: 'M-LIVE' }], 2000);
      assert.equal(!lost.ok && lost.transactionId, 'live');
      assert.deepEqual(await claim('next', [{ kind: 'end_to_end_id', value: 'E-OLD' }], 2000), { ok: true });
    });

    test('a step keeps the deadline and the waiting flag unless it sets them; listed payments take their own status first', async () => {
      const t = newTransaction();
      await h.store.transaction((tx) => tx.transactions.create(t));
      await h.store.transaction((tx) => tx.transactions.move(t.id, { from: 'ACTC', to: 'ACSP', awaitingDownstream: true, at: 600_000 }));
      let got = await h.store.transaction((tx) => tx.transactions.get(t.id));
      assert.equal(got?.deadlineAt, 1_000_000, 'deadline kept');
      assert.equal(got?.awaitingDownstream, true);
      // A listed payment given a status that is not final still takes the step, keeping the reason it was given.
      await h.store.transaction((tx) =>
        tx.transactions.move(t.id, { from: 'ACSP', to: 'ACSC', payments: [{ index: 0, status: 'ACSP', reasonCode: 'G000' }, { index: 1, status: 'RJCT', reasonCode: 'AM04' }], at: 700_000 }),
      );
      got = await h.store.transaction((tx) => tx.transactions.get(t.id));
      assert.equal(got?.deadlineAt, null, 'a final step clears the deadline');
      assert.equal(got?.awaitingDownstream, false, 'a final step clears the waiting flag');
      const payments = await h.store.transaction((tx) => tx.transactions.payments(t.id));
      assert.deepEqual(payments.map((p) => [p.status, p.reasonCode]), [['ACSC', 'G000'], ['RJCT', 'AM04']]);
    });

    test('reserved ids are filled once; a duplicate alias points at its original', async () => {
      const reserved = newTransaction({ status: 'ACCP', messageType: null, msgId: null, contentHash: null, deadlineAt: null, groupKey: null, payments: [] });
      await h.store.transaction((tx) => tx.transactions.create(reserved));
      const fill = { ...newTransaction(), id: reserved.id };
      assert.equal(await h.store.transaction((tx) => tx.transactions.submitReserved(fill)), true);
      assert.equal(await h.store.transaction((tx) => tx.transactions.submitReserved(fill)), false);
      const got = await h.store.transaction((tx) => tx.transactions.get(reserved.id));
      assert.equal(got?.status, 'ACTC');
      assert.equal((await h.store.transaction((tx) => tx.transactions.payments(reserved.id))).length, 2);
      const alias = newTransaction({ status: 'ACCP', messageType: null, payments: [] });
      await h.store.transaction((tx) => tx.transactions.create(alias));
      await h.store.transaction((tx) => tx.transactions.markDuplicateOf(alias.id, reserved.id, 900_000));
      assert.equal((await h.store.transaction((tx) => tx.transactions.get(alias.id)))?.duplicateOf, reserved.id);
    });

    test('messages in and out, RCVD once, forwarded flag, audit', async () => {
      const t = newTransaction();
      await h.store.transaction(async (tx) => {
        await tx.transactions.create(t);
        await tx.transactions.putMessage(t.id, { kind: 'in', messageType: 'pacs.008.001.08', xml: '<Document/>', createdAt: 1 });
        await tx.transactions.move(t.id, { from: 'ACTC', to: 'ACSP', at: 2 });
      });
      assert.equal((await h.store.transaction((tx) => tx.transactions.getMessage(t.id, 'in')))?.xml, '<Document/>');
      assert.equal(await h.store.transaction((tx) => tx.transactions.getMessage(t.id, 'out')), null);
      assert.equal(await h.store.transaction((tx) => tx.transactions.markForwarded(t.id, 3)), true);
      assert.equal((await h.store.transaction((tx) => tx.transactions.get(t.id)))?.awaitingDownstream, true);
      assert.equal(await h.store.transaction((tx) => tx.transactions.markReceived(t.id, 4)), true);
      assert.equal(await h.store.transaction((tx) => tx.transactions.markReceived(t.id, 5)), false);
      assert.deepEqual((await h.store.transaction((tx) => tx.transactions.history(t.id))).map((e) => e.status), ['ACTC', 'ACSP', 'RCVD']);
      await h.store.transaction((tx) => tx.transactions.audit(t.id, 'note', { a: 1 }, 6));
    });

    test('overdue finds passed deadlines of unfinished transactions, oldest first and bounded', async () => {
      const a = newTransaction({ deadlineAt: 300 });
      const b = newTransaction({ deadlineAt: 100 });
      const c = newTransaction({ deadlineAt: 5_000 });
      const d = newTransaction({ deadlineAt: 200 });
      await h.store.transaction(async (tx) => {
        for (const t of [a, b, c, d]) await tx.transactions.create(t);
        await tx.transactions.move(d.id, { from: 'ACTC', to: 'RJCT', at: 150 });
      });
      assert.deepEqual(await h.store.transaction((tx) => tx.transactions.overdue(1_000, 10)), [b.id, a.id]);
      assert.deepEqual(await h.store.transaction((tx) => tx.transactions.overdue(1_000, 1)), [b.id]);
    });

    test('stranded pages through transactions in flight that have been quiet, by deadline, and records forwarding', async () => {
      const a = newTransaction({ deadlineAt: 300, at: 10 });
      const b = newTransaction({ deadlineAt: 100, at: 10 });
      const c = newTransaction({ deadlineAt: 300, at: 10 });
      const done = newTransaction({ deadlineAt: 50, at: 10 });
      const busy = newTransaction({ deadlineAt: 60, at: 10 });
      await h.store.transaction(async (tx) => {
        for (const t of [a, b, c, done, busy]) await tx.transactions.create(t);
        await tx.transactions.move(done.id, { from: 'ACTC', to: 'RJCT', at: 20 });
        await tx.transactions.move(b.id, { from: 'ACTC', to: 'ACSP', at: 20 });
        await tx.transactions.move(busy.id, { from: 'ACTC', to: 'ACSP', at: 90 });
        assert.equal(await tx.transactions.markForwarding(b.id, 25), true);
      });
      const page = (after: StrandedPosition | null, limit: number) => h.store.transaction((tx) => tx.transactions.stranded({ quietSince: 50, after, limit }));
      const [x, y] = [a, c].sort((p, q) => (p.id < q.id ? -1 : 1));
      const first = await page(null, 2);
      assert.deepEqual(first, [{ id: b.id, deadlineAt: 100 }, { id: x!.id, deadlineAt: 300 }], 'final ones and ones changed since are left out');
      assert.deepEqual(await page(first[1]!, 2), [{ id: y!.id, deadlineAt: 300 }], 'the same deadline is ordered by id');
      assert.deepEqual(await page({ id: y!.id, deadlineAt: 300 }, 2), []);
      const read = await h.store.transaction((tx) => tx.transactions.get(b.id));
      assert.equal(read?.forwardedAt, 25);
      assert.equal((await h.store.transaction((tx) => tx.transactions.get(a.id)))?.forwardedAt, null);
    });

    test('findForwarded finds only forwarded transactions whose given references all match, a waiting one first', async () => {
      const uetr = uuid();
      const payments = [{ index: 0, endToEndId: 'E2E-FWD', txId: null, uetr, instrId: null, amount: '5.00', currency: 'EUR' }];
      const notForwarded = newTransaction({ msgId: 'MSG-FWD', payments, at: 1 });
      const waiting = newTransaction({ msgId: 'MSG-FWD', payments, at: 2 });
      const settled = newTransaction({ msgId: 'MSG-FWD', payments, at: 3 });
      await h.store.transaction(async (tx) => {
        for (const t of [notForwarded, waiting, settled]) await tx.transactions.create(t);
        for (const t of [waiting, settled]) {
          await tx.transactions.move(t.id, { from: 'ACTC', to: 'ACSP', at: 10 });
          assert.equal(await tx.transactions.markForwarding(t.id, 11), true);
          await tx.transactions.markForwarded(t.id, 12);
        }
        await tx.transactions.move(settled.id, { from: 'ACSP', to: 'ACSC', at: 12 });
      });
      const find = (refs: Parameters<TransactionsTx['findForwarded']>[0]) => h.store.transaction((tx) => tx.transactions.findForwarded(refs));
      assert.equal(await find({ uetr }), waiting.id, 'the waiting one before a newer final one; never the one not forwarded');
      assert.equal(await find({ uetr, msgId: 'MSG-FWD', messageType: 'pacs.008.001.10' }), waiting.id, 'the family matches whatever the version');
      assert.equal(await find({ endToEndId: 'E2E-FWD', msgId: 'MSG-FWD' }), waiting.id);
      assert.equal(await find({ msgId: 'MSG-FWD' }), waiting.id);
      assert.equal(await find({ uetr, msgId: 'OTHER' }), null, 'a given message id must match');
      assert.equal(await find({ uetr, messageType: 'pacs.009.001.08' }), null, 'a given message type must match');
      assert.equal(await find({ endToEndId: 'NOTPROVIDED' }), null, 'NOTPROVIDED identifies no payment');
      assert.equal(await find({ uetr, transactionId: settled.id }), settled.id, 'the id the answer names decides among the candidates');
      assert.equal(await find({ uetr, transactionId: notForwarded.id }), null, 'but only among them');
      assert.equal(await find({}), null);
      await h.store.transaction((tx) => tx.transactions.move(waiting.id, { from: 'ACSP', to: 'RJCT', reasonCode: 'AB05', at: 13 }));
      assert.equal(await find({ uetr }), settled.id, 'among final ones, the newest');
      // A payment whose forwarding started (its HTTP request under way) is found before the forwarding commits: a
      // fast system's answer can come first. One in ACSP not yet forwarded, or final without forwarding, never is.
      const other = uuid();
      const p2 = [{ ...payments[0]!, uetr: other }];
      const rejected = newTransaction({ payments: p2, at: 20 });
      const beingForwarded = newTransaction({ payments: p2, at: 21 });
      await h.store.transaction(async (tx) => {
        await tx.transactions.create(rejected);
        await tx.transactions.move(rejected.id, { from: 'ACTC', to: 'RJCT', reasonCode: 'FF01', at: 22 });
        await tx.transactions.create(beingForwarded);
      });
      assert.equal(await find({ uetr: other }), null, 'not ACSP and never forwarded');
      await h.store.transaction((tx) => tx.transactions.move(beingForwarded.id, { from: 'ACTC', to: 'ACSP', at: 23 }));
      assert.equal(await find({ uetr: other }), null, 'ACSP, waiting for the forwarding stage');
      assert.equal(await h.store.transaction((tx) => tx.transactions.markForwarding(beingForwarded.id, 24)), true);
      assert.equal(await find({ uetr: other }), beingForwarded.id);
      assert.equal(await h.store.transaction((tx) => tx.transactions.markForwarding(rejected.id, 25)), false, 'only an ACSP payment starts forwarding');
    });

    test("findCancellable finds the client's own payments of the given families, every given reference matching", async () => {
      const uetr = '8a562c67-ca16-48ba-b074-65581be6f011';
      const t = newTransaction();
      // A cancellation request quotes the original's ids in its own payments: it is never taken for the original.
      const request = newTransaction({ messageType: 'camt.056.001.08', payments: [{ ...t.payments[1]!, index: 0 }] });
      const other = newTransaction({ clientId: 'client-b' });
      await h.store.transaction(async (tx) => {
        for (const x of [t, request, other]) await tx.transactions.create(x);
        await tx.transactions.move(t.id, { from: 'ACTC', to: 'ACSP', at: 600_000 });
      });
      const find = (refs: Omit<CancellationRefs, 'clientId' | 'families'>, clientId = 'client-a') =>
        h.store.read((tx) => tx.transactions.findCancellable({ clientId, families: ['pacs.008', 'pacs.009'], ...refs }, 10));
      const one = [{ transactionId: t.id, index: 1, transactionStatus: 'ACSP', paymentStatus: 'ACSP' }];
      assert.deepEqual(await find({ uetr }), one);
      assert.deepEqual(await find({ uetr, endToEndId: t.payments[1]!.endToEndId!, txId: 'TX1', instrId: 'I1', msgId: t.msgId! }), one);
      assert.deepEqual(await find({ endToEndId: t.payments[1]!.endToEndId!, msgId: t.msgId! }), one);
      assert.deepEqual((await find({ msgId: t.msgId! })).map((m) => m.index), [0, 1]);
      assert.deepEqual(await find({ msgId: t.msgId!, txId: 'TX1' }), one);
      assert.deepEqual(await find({ uetr, txId: 'OTHER' }), [], 'a reference given must match');
      assert.deepEqual(await find({ uetr, msgId: 'OTHER' }), []);
      assert.deepEqual(await find({ txId: 'TX1' }), [], 'neither UETR, EndToEndId nor MsgId: nothing to go by');
      assert.deepEqual(await find({ uetr }, 'client-c'), [], "another client's payments are not found");
      assert.deepEqual(
        await h.store.read((tx) => tx.transactions.findCancellable({ clientId: 'client-a', families: ['pacs.009'], uetr }, 10)),
        [],
        'only the given families',
      );
    });

    test('sweepReservations removes unused reserved ids up to a time, oldest first and bounded, and nothing else', async () => {
      const reserved = (at: number) =>
        newTransaction({ status: 'ACCP', messageType: null, msgId: null, contentHash: null, deadlineAt: null, groupKey: null, payments: [], at });
      const old1 = reserved(100);
      const old2 = reserved(150);
      const young = reserved(300);
      const pointing = reserved(100);
      const submitted = newTransaction({ at: 100 });
      await h.store.transaction(async (tx) => {
        for (const t of [old1, old2, young, pointing, submitted]) await tx.transactions.create(t);
        await tx.transactions.markDuplicateOf(pointing.id, submitted.id, 120);
        await tx.transactions.audit(old1.id, 'note', { a: 1 }, 110);
      });
      assert.equal(await h.store.transaction((tx) => tx.transactions.sweepReservations(200, 1)), 1, 'bounded by the limit');
      assert.equal(await h.store.transaction((tx) => tx.transactions.get(old1.id)), null, 'the oldest first');
      assert.deepEqual(await h.store.transaction((tx) => tx.transactions.history(old1.id)), []);
      assert.equal(await h.store.transaction((tx) => tx.transactions.sweepReservations(200, 10)), 1);
      assert.equal(await h.store.transaction((tx) => tx.transactions.get(old2.id)), null);
      for (const kept of [young, pointing, submitted]) {
        assert.notEqual(await h.store.transaction((tx) => tx.transactions.get(kept.id)), null, 'a younger reservation, one a duplicate points at, a submitted transaction stay');
      }
      assert.equal(await h.store.transaction((tx) => tx.transactions.sweepReservations(200, 10)), 0);
    });

    test('listing filters by client, status, ids and time, newest first, with a cursor that never skips or repeats', async () => {
      const made: string[] = [];
      for (let i = 0; i < 7; i++) {
        const t = newTransaction({ at: 1_000 + Math.floor(i / 2) }); // pairs share a creation time
        made.push(t.id);
        await h.store.transaction((tx) => tx.transactions.create(t));
      }
      await h.store.transaction((tx) => tx.transactions.create(newTransaction({ clientId: 'client-b' })));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: Array<{ id: string }>; nextCursor: string | null } = await h.store.transaction((tx) =>
          tx.transactions.list({ clientId: 'client-a', limit: 3, ...(cursor ? { cursor } : {}) }),
        );
        seen.push(...page.items.map((t) => t.id));
        cursor = page.nextCursor;
      } while (cursor);
      assert.equal(seen.length, 7);
      assert.deepEqual([...seen].sort(), [...made].sort());
      const last = made.at(-1)!;
      assert.equal(seen[0], last, 'newest first');
      const byStatus = await h.store.transaction((tx) => tx.transactions.list({ clientId: 'client-a', status: 'ACSC', limit: 10 }));
      assert.equal(byStatus.items.length, 0);
      const since = await h.store.transaction((tx) => tx.transactions.list({ clientId: 'client-a', since: 1_003, limit: 10 }));
      assert.equal(since.items.length, 1);
      await assert.rejects(h.store.transaction((tx) => tx.transactions.list({ clientId: 'client-a', cursor: 'garbage', limit: 3 })));
    });
  });
}
