/**
 * Replay of status reports over HTTP, on each engine: a consumer that lost the reports it took from its
 * participant queue has them sent again, one transaction at a time (POST /v1/transactions/{id}/replay) or a page of
 * them (POST /v1/replay; operators: POST /v1/admin/clients/{id}/replay). The report is the same XML with the first
 * delivery's attributes and `replayed_at`; a transaction in flight is refused (409), another client's is not found
 * (404), and the transaction itself does not change.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, awaitReport, describeOnEngines, e2eEngines, fresh, sample, startE2eHub, type E2eHub } from '../helpers/e2e.js';

const engines = await e2eEngines();

const PACS008 = 'pacs.008.001.08-cbpr-single.xml';

interface QueueMessage {
  receipt_handle: string;
  body: string;
  attributes: Record<string, string>;
}

/** Takes (and deletes) every report now in the client's participant queue, waiting until `count` have come. */
async function drain(e: E2eHub, token: string, clientId: string, count: number): Promise<QueueMessage[]> {
  const queue = `participant.${clientId}`;
  const taken: QueueMessage[] = [];
  const deadline = Date.now() + 15_000;
  while (taken.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${taken.length} of ${count} reports reached ${queue}`);
    const answer = await api(e.url, token, 'GET', `/v1/queues/${queue}/messages?max=10&wait_s=1`);
    assert.equal(answer.status, 200, answer.text);
    const messages = answer.json().messages as QueueMessage[];
    if (messages.length === 0) continue;
    const deleted = await api(e.url, token, 'POST', `/v1/queues/${queue}/messages/delete`, { json: { receipt_handles: messages.map((m) => m.receipt_handle) } });
    assert.equal(deleted.status, 200, deleted.text);
    taken.push(...messages);
  }
  return taken;
}

async function submit(e: E2eHub, token: string, tag: string): Promise<{ id: string; report: string }> {
  const answer = await api(e.url, token, 'POST', '/v1/messages', { xml: fresh(sample(PACS008), tag) });
  assert.equal(answer.status, 202, answer.text);
  const id = answer.json().transaction_id as string;
  return { id, report: (await awaitReport(e.url, token, id)).text };
}

describeOnEngines(engines, 'replay of status reports', (engine) => {
  let e: E2eHub;
  before(async () => {
    e = await startE2eHub({}, { engine });
  });
  after(async () => {
    await e.close();
  });

  test('one transaction: the same report again, with replayed_at; the transaction does not change', async () => {
    const { token, clientId } = await e.token();
    const { id, report } = await submit(e, token, 'rpl1');
    const [first] = await drain(e, token, clientId, 1);
    assert.equal(first!.attributes.transaction_id, id);
    assert.equal(first!.attributes.replayed_at, undefined);
    const before = (await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json();

    const replayed = await api(e.url, token, 'POST', `/v1/transactions/${id}/replay`);
    assert.equal(replayed.status, 202, replayed.text);
    assert.deepEqual(replayed.json(), { transaction_id: id, status: 'ACSC', message_type: 'pacs.002.001.10', queue: `participant.${clientId}` });
    const [again] = await drain(e, token, clientId, 1);
    assert.equal(again!.body, report);
    assert.equal(again!.body, first!.body);
    assert.equal(again!.attributes.transaction_id, id);
    assert.equal(again!.attributes.message_type, 'pacs.002.001.10');
    assert.equal(again!.attributes.status, 'ACSC');
    assert.ok(Number.isFinite(Date.parse(again!.attributes.replayed_at ?? '')), 'replayed_at is a time');
    assert.deepEqual((await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json(), before);
  });

  test('a transaction in flight is refused (409), another client\'s or an unknown one is not found (404)', async () => {
    const { token } = await e.token();
    const reserved = await api(e.url, token, 'POST', '/v1/transactions');
    const reservedId = reserved.json().transaction_id as string;
    const refused = await api(e.url, token, 'POST', `/v1/transactions/${reservedId}/replay`);
    assert.equal(refused.status, 409, refused.text);
    assert.equal((refused.json().error as { code: string }).code, 'TRANSACTION_STATE');

    const { token: other } = await e.token();
    const { id } = await submit(e, other, 'rpl2');
    const foreign = await api(e.url, token, 'POST', `/v1/transactions/${id}/replay`);
    assert.equal(foreign.status, 404, foreign.text);
    assert.equal((await api(e.url, token, 'POST', `/v1/transactions/${crypto.randomUUID()}/replay`)).status, 404);
    // Reading alone is not enough: a replay writes to the queue.
    const { token: reader } = await e.token({ scopes: ['mx/read'] });
    assert.equal((await api(e.url, reader, 'POST', `/v1/transactions/${id}/replay`)).status, 403);
  });

  test('a page at a time: released transactions replayed newest first, those in flight skipped, with a cursor', async () => {
    const { token, clientId } = await e.token();
    const since = new Date().toISOString();
    const ids: string[] = [];
    for (const tag of ['rpl3a', 'rpl3b', 'rpl3c']) ids.push((await submit(e, token, tag)).id);
    const reserved = (await api(e.url, token, 'POST', '/v1/transactions')).json().transaction_id as string;
    await drain(e, token, clientId, 3);

    const first = await api(e.url, token, 'POST', '/v1/replay', { json: { since, limit: 2 } });
    assert.equal(first.status, 200, first.text);
    const page1 = first.json() as { queue: string; replayed: Array<{ transaction_id: string }>; skipped: string[]; next_cursor: string | null };
    assert.equal(page1.queue, `participant.${clientId}`);
    assert.ok(page1.next_cursor !== null);
    const second = (await api(e.url, token, 'POST', '/v1/replay', { json: { since, limit: 2, cursor: page1.next_cursor } })).json() as typeof page1;
    assert.equal(second.next_cursor, null);
    assert.deepEqual([...page1.skipped, ...second.skipped], [reserved]);
    const replayed = [...page1.replayed, ...second.replayed].map((r) => r.transaction_id);
    assert.deepEqual(replayed, [...ids].reverse(), 'every released transaction once, newest first');
    const again = await drain(e, token, clientId, 3);
    assert.deepEqual(again.map((m) => m.attributes.transaction_id).sort(), [...ids].sort());

    const bad = await api(e.url, token, 'POST', '/v1/replay', { json: { since: 'yesterday' } });
    assert.equal(bad.status, 400, bad.text);
  });

  test('operators replay for a client (mx/admin); an unknown client is not found', async () => {
    const { token, clientId } = await e.token({ scopes: ['mx/read', 'mx/write'] });
    const since = new Date().toISOString();
    const { id } = await submit(e, token, 'rpl4');
    await drain(e, token, clientId, 1);
    const { token: admin } = await e.token({ scopes: ['mx/admin'] });
    const page = await api(e.url, admin, 'POST', `/v1/admin/clients/${clientId}/replay`, { json: { since } });
    assert.equal(page.status, 200, page.text);
    assert.deepEqual((page.json().replayed as Array<{ transaction_id: string }>).map((r) => r.transaction_id), [id]);
    const [again] = await drain(e, token, clientId, 1);
    assert.equal(again!.attributes.transaction_id, id);
    assert.equal((await api(e.url, admin, 'POST', '/v1/admin/clients/mxc_nobody/replay', { json: {} })).status, 404);
    assert.equal((await api(e.url, token, 'POST', `/v1/admin/clients/${clientId}/replay`, { json: {} })).status, 403);
  });
});
