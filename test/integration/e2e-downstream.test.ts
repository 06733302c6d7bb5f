/**
 * The hub as a proxy in front of a payment system (a real HTTP server on loopback), on each engine: sync answers, async answers
 * posted back to the inbox, interim answers that settle nothing, answers matched to the payment that was forwarded,
 * timeouts with AB05, late answers that change nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildPacs002, parseMessage, readStatusReport, toXml } from '../../src/iso20022/index.js';
import { api, awaitReport, describeOnEngines, e2eEngines, fresh, sample, schemaFindings, startE2eHub, type Answer, type E2eHub } from '../helpers/e2e.js';
import { Downstream, startAsyncDownstream, type AsyncDownstreamHub } from '../helpers/downstream.js';

const engines = await e2eEngines();

/** The pacs.002 a downstream system would send about `original`. */
function statusReportFor(original: string, status: 'ACSC' | 'ACSP' | 'RJCT', reason?: string): string {
  return toXml(
    buildPacs002(parseMessage(original), {
      msgId: `DS${Date.now()}`,
      creDtTm: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      groupStatus: status,
      transactionStatus: status,
      ...(reason ? { transactionReasons: [{ code: reason }] } : {}),
    }),
  );
}

/**
 * Posts a downstream system's answer to the inbox, as a fast system does: the moment the payment reached it, before
 * the hub has its HTTP response and records the forwarding. The hub takes it all the same.
 */
async function postAnswer(e: E2eHub, answerToken: string, xml: string): Promise<Answer> {
  return api(e.url, answerToken, 'POST', '/v1/inbox', { xml });
}

async function finalStatus(e: E2eHub, token: string, id: string): Promise<Record<string, unknown>> {
  await awaitReport(e.url, token, id);
  return (await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json();
}

describeOnEngines(engines, 'downstream connector, sync mode', (engine) => {
  const downstream = new Downstream();
  let e: E2eHub;
  let token: string;
  before(async () => {
    await downstream.start();
    e = await startE2eHub({ downstream: { url: downstream.url, mode: 'sync' } }, { engine });
    ({ token } = await e.token());
  });
  after(async () => {
    await e.close();
    await downstream.stop();
  });

  test('the accepted pacs.008 is forwarded; the pacs.002 in the response decides ACSC', async () => {
    downstream.answer = (xml) => ({ status: 200, body: statusReportFor(xml, 'ACSC') });
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'sync1');
    const id = (await api(e.url, token, 'POST', '/v1/messages', { xml })).json().transaction_id as string;
    const view = await finalStatus(e, token, id);
    assert.equal(view.status, 'ACSC');
    const forwarded = downstream.received.find((r) => r.transactionId === id);
    assert.ok(forwarded, 'the payment reached the downstream system with its transaction id');
    assert.equal(forwarded.xml, xml);
  });

  test('a rejection downstream becomes RJCT with its reason code and an XSD-valid report', async () => {
    downstream.answer = (xml) => ({ status: 200, body: statusReportFor(xml, 'RJCT', 'AM04') });
    const id = (await api(e.url, token, 'POST', '/v1/messages', { xml: fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'sync2') })).json().transaction_id as string;
    const view = await finalStatus(e, token, id);
    assert.equal(view.status, 'RJCT');
    assert.equal(view.reason_code, 'AM04');
    const out = await awaitReport(e.url, token, id);
    assert.deepEqual(schemaFindings(out.text), []);
    const parsed = parseMessage(out.text);
    assert.equal(readStatusReport(parsed.document!, parsed.documentId!).transactions[0]?.reasons[0]?.code, 'AM04');
  });

  test('an interim ACSP in the response settles nothing: the payment stays ACSP, waiting for the final answer', async () => {
    downstream.answer = (xml) => ({ status: 200, body: statusReportFor(xml, 'ACSP') });
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'sync4');
    const id = (await api(e.url, token, 'POST', '/v1/messages', { xml })).json().transaction_id as string;
    assert.ok(await downstream.reached(id), 'the payment was forwarded');
    // The answer is applied in the same transaction that records the forwarding: give it time to commit.
    await new Promise((r) => setTimeout(r, 300));
    const view = (await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json();
    assert.equal(view.status, 'ACSP');
    assert.equal((await api(e.url, token, 'GET', `/v1/outbox/${id}`)).status, 202);
  });

  test('a downstream failure is retried until the system answers', async () => {
    let calls = 0;
    downstream.answer = (xml) => (++calls < 2 ? { status: 503, body: '' } : { status: 200, body: statusReportFor(xml, 'ACSC') });
    const id = (await api(e.url, token, 'POST', '/v1/messages', { xml: fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'sync3') })).json().transaction_id as string;
    const view = await finalStatus(e, token, id);
    assert.equal(view.status, 'ACSC');
    assert.ok(calls >= 2);
  });
});

describeOnEngines(engines, 'downstream connector, async mode', (engine) => {
  let hub: AsyncDownstreamHub;
  let downstream: Downstream;
  let e: E2eHub<'answering'>;
  let token: string;
  let answerToken: string;
  let patient: string;
  before(async () => {
    hub = await startAsyncDownstream(engine, { slaMs: 1500 });
    ({ e, downstream, token, answerToken } = hub);
    // The global SLA is short for the deadline tests; the payments that must wait for their answer have time.
    patient = await e.tokenOf(await e.createClient({ name: 'patient', settings: { slaMs: 30_000 } }));
  });
  after(() => hub.close());

  test('the payment waits in ACSP until the pacs.002 is posted back, then completes', async () => {
    downstream.answer = () => ({ status: 202, body: '' });
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'async1');
    const id = (await api(e.url, patient, 'POST', '/v1/messages', { xml })).json().transaction_id as string;
    assert.ok(await downstream.reached(id), 'forwarded');
    const waiting = (await api(e.url, patient, 'GET', `/v1/transactions/${id}`)).json();
    assert.equal(waiting.status, 'ACSP');
    assert.equal((await api(e.url, patient, 'GET', `/v1/outbox/${id}`)).status, 202);
    const answer = await postAnswer(e, answerToken, statusReportFor(xml, 'ACSC'));
    assert.equal(answer.status, 202, answer.text);
    assert.equal(answer.json().transaction_id, id);
    const view = await finalStatus(e, patient, id);
    assert.equal(view.status, 'ACSC');
  });

  test('an interim ACSP answer keeps the payment waiting; the final one completes it', async () => {
    downstream.answer = () => ({ status: 202, body: '' });
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'async4');
    const id = (await api(e.url, patient, 'POST', '/v1/messages', { xml })).json().transaction_id as string;
    assert.ok(await downstream.reached(id), 'forwarded');
    const interim = await postAnswer(e, answerToken, statusReportFor(xml, 'ACSP'));
    assert.equal(interim.json().transaction_id, id, interim.text);
    assert.equal(interim.json().status, 'ACSP');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await api(e.url, patient, 'GET', `/v1/transactions/${id}`)).json().status, 'ACSP');
    await api(e.url, answerToken, 'POST', '/v1/inbox', { xml: statusReportFor(xml, 'ACSC') });
    assert.equal((await finalStatus(e, patient, id)).status, 'ACSC');
  });

  test('an answer goes to the payment that was forwarded, not to another with the same ids', async () => {
    downstream.answer = () => ({ status: 202, body: '' });
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'async5');
    // The same message from a client whose scheme (FedNow: USD only) rejects it: same UETR, EndToEndId and MsgId,
    // created first, never forwarded.
    const other = (await e.token({ profile: 'fednow' })).token;
    const decoy = (await api(e.url, other, 'POST', '/v1/messages', { xml })).json().transaction_id as string;
    assert.equal((await finalStatus(e, other, decoy)).status, 'RJCT');
    const id = (await api(e.url, patient, 'POST', '/v1/messages', { xml })).json().transaction_id as string;
    assert.ok(await downstream.reached(id), 'forwarded');
    const answer = await postAnswer(e, answerToken, statusReportFor(xml, 'ACSC'));
    assert.equal(answer.status, 202, answer.text);
    assert.equal(answer.json().transaction_id, id);
    assert.equal((await finalStatus(e, patient, id)).status, 'ACSC');
    assert.equal((await api(e.url, other, 'GET', `/v1/transactions/${decoy}`)).json().status, 'RJCT');
  });

  test('two forwarded payments with the same ids: the X-Transaction-Id the answer echoes decides', async () => {
    downstream.answer = () => ({ status: 202, body: '' });
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'async6');
    // Two clients send the same message (ids are unique per sender only); both are forwarded and wait.
    const other = await e.tokenOf(await e.createClient({ name: 'patient too', settings: { slaMs: 30_000 } }));
    const first = (await api(e.url, patient, 'POST', '/v1/messages', { xml })).json().transaction_id as string;
    const second = (await api(e.url, other, 'POST', '/v1/messages', { xml })).json().transaction_id as string;
    assert.ok((await downstream.reached(first)) && (await downstream.reached(second)), 'both forwarded');
    const answer = await api(e.url, answerToken, 'POST', '/v1/inbox', { xml: statusReportFor(xml, 'RJCT', 'AC04'), headers: { 'x-transaction-id': first } });
    assert.equal(answer.status, 202, answer.text);
    assert.equal(answer.json().transaction_id, first, 'the newest candidate would be the other');
    assert.equal((await finalStatus(e, patient, first)).reason_code, 'AC04');
    assert.equal((await api(e.url, other, 'GET', `/v1/transactions/${second}`)).json().status, 'ACSP', 'the other still waits');
  });

  test("the deadline comes from the message's SttlmTmReq, else the client's SLA, else the global one", async () => {
    downstream.answer = () => ({ status: 202, body: '' });
    /** Milliseconds from ACTC to the RJCT of the deadline, by the hub's own history. */
    const waited = async (accessToken: string, xml: string): Promise<number> => {
      const id = (await api(e.url, accessToken, 'POST', '/v1/messages', { xml })).json().transaction_id as string;
      const view = await finalStatus(e, accessToken, id);
      assert.equal(view.status, 'RJCT');
      // AB05 once forwarded, AB06 when the deadline came first (a cold hub, a short deadline).
      assert.match(String(view.reason_code), /^AB0[56]$/);
      const history = view.history as Array<{ status: string; at: string }>;
      const at = (status: string) => Date.parse(history.find((h) => h.status === status)!.at);
      return at('RJCT') - at('ACTC');
    };
    // The global SLA of this hub is 1500 ms, its sweeper wakes every 200 ms or so.
    const tight = await e.tokenOf(await e.createClient({ name: 'tight-sla', settings: { slaMs: 300 } }));
    const byClient = await waited(tight, fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'sla1'));
    assert.ok(byClient >= 300 && byClient < 1500, `the client's SLA (300 ms) set the deadline: rejected after ${byClient} ms`);

    const till = new Date(Date.now() + 400);
    const day = till.toISOString().slice(0, 10);
    const time = `${till.toISOString().slice(11, 23)}Z`;
    const timed = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'sla2')
      .replace(/<(\w+:)?IntrBkSttlmDt>[^<]+<\/(?:\w+:)?IntrBkSttlmDt>/, (_m, ns: string | undefined) => {
        const p = ns ?? '';
        return `<${p}IntrBkSttlmDt>${day}</${p}IntrBkSttlmDt><${p}SttlmTmReq><${p}TillTm>${time}</${p}TillTm></${p}SttlmTmReq>`;
      });
    assert.ok(timed.includes('SttlmTmReq>'), 'the sample has an IntrBkSttlmDt to put SttlmTmReq after');
    const byMessage = await waited(token, timed);
    assert.ok(byMessage < 1500, `the message's TillTm (about 400 ms after submission) set the deadline: rejected after ${byMessage} ms`);
  });

  test('a client setting slaMs out of range is refused when stored', async () => {
    await assert.rejects(e.createClient({ name: 'bad-sla', settings: { slaMs: 50 } }), (error: { code?: string }) => error.code === 'INVALID_ATTRIBUTE');
  });

  test('only configured clients may answer; an answer about nothing is refused', async () => {
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'async2');
    const forbidden = await api(e.url, token, 'POST', '/v1/inbox', { xml: statusReportFor(xml, 'ACSC') });
    assert.equal(forbidden.status, 403);
    const unknown = await api(e.url, answerToken, 'POST', '/v1/inbox', { xml: statusReportFor(fresh(xml, 'nothing'), 'ACSC') });
    assert.equal(unknown.status, 422);
    assert.equal((unknown.json().error as { code: string }).code, 'ORIGINAL_NOT_FOUND');
  });

  test('without an answer the payment is rejected at its deadline with AB05; a late answer changes nothing', async () => {
    downstream.answer = () => ({ status: 202, body: '' });
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'async3');
    const submitted = Date.now();
    const id = (await api(e.url, token, 'POST', '/v1/messages', { xml })).json().transaction_id as string;
    const view = await finalStatus(e, token, id);
    const elapsed = Date.now() - submitted;
    assert.equal(view.status, 'RJCT');
    assert.equal(view.reason_code, 'AB05');
    assert.ok(elapsed >= 1400 && elapsed < 1500 + 1000 + 500, `rejected ${elapsed} ms after submission (deadline 1500 ms)`);
    const out = await awaitReport(e.url, token, id);
    assert.deepEqual(schemaFindings(out.text), []);
    const late = await api(e.url, answerToken, 'POST', '/v1/inbox', { xml: statusReportFor(xml, 'ACSC') });
    assert.equal(late.status, 200);
    assert.equal(late.json().status, 'RJCT');
    const after = (await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json();
    assert.equal(after.status, 'RJCT');
    assert.equal((after.history as Array<{ status: string }>).filter((h) => h.status === 'RJCT').length, 1);
  });
});
