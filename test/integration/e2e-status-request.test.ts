/**
 * Status requests end to end over HTTP, on each engine: a client submits a pacs.008, then a pacs.028 asking after
 * it, and gets a pacs.002 that its official XSD accepts, names the payment (its message in OrgnlGrpInf, its ids)
 * and gives its status as the hub holds it:
 *  - settled: ACSC; rejected: RJCT with the payment's own reason; waiting for a downstream system: ACSP;
 *  - no payment of the client matches (none, or another client's): RJCT with AG09;
 *  - a pacs.028 with no TxInf asks after a whole message: its group status in OrgnlGrpInfAndSts;
 *  - a pacs.028 that fails its schema is rejected itself: OrgnlGrpInfAndSts quotes the pacs.028, RJCT FF01.
 * The request changes nothing of the payment it asks after.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildPacs028, parseMessage, readModel, toXml, type CreditTransfer, type StatusReport } from '../../src/iso20022/index.js';
import { api, awaitReport, describeOnEngines, e2eEngines, fresh, sample, schemaFindings, startE2eHub, type E2eHub } from '../helpers/e2e.js';
import { startAsyncDownstream, type AsyncDownstreamHub } from '../helpers/downstream.js';

const engines = await e2eEngines();

const PACS008 = 'pacs.008.001.08-cbpr-single.xml';

/** A pacs.028 asking after the payments of `pacs008` (its one TxInf), or after the whole message (`whole`). */
function statusRequestFor(pacs008: string, tag: string, whole = false): string {
  const request = buildPacs028(parseMessage(pacs008), {
    msgId: `SR-${tag}-${Date.now()}`.slice(0, 35),
    creDtTm: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    ...(whole ? { transactions: [] } : { statusRequestIds: [`SRQ-${tag}`.slice(0, 35)] }),
  });
  return toXml(request);
}

async function submit(e: E2eHub, token: string, xml: string): Promise<string> {
  const answer = await api(e.url, token, 'POST', '/v1/messages', { xml });
  assert.equal(answer.status, 202, answer.text);
  return answer.json().transaction_id as string;
}

/** The pacs.002 answering a request: valid against its XSD, read back. */
async function answerOf(e: E2eHub, token: string, id: string): Promise<StatusReport> {
  const out = await awaitReport(e.url, token, id);
  assert.deepEqual(schemaFindings(out.text), [], out.text);
  const report = readModel(parseMessage(out.text)) as StatusReport;
  assert.equal(report.id.id, 'pacs.002.001.10');
  return report;
}

const view = async (e: E2eHub, token: string, id: string) => (await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json();

/** Checks that the answer's one TxInfAndSts names the payment of `pacs008` and gives it `status` (and `reason`). */
function answersFor(report: StatusReport, pacs008: string, status: string, reason?: string): void {
  const model = readModel(parseMessage(pacs008)) as CreditTransfer;
  const tx = model.transactions[0]!;
  assert.equal(report.transactions.length, 1);
  const answered = report.transactions[0]!;
  assert.equal(answered.originalMsgId, model.groupHeader.msgId);
  assert.equal(answered.originalMsgNmId, 'pacs.008.001.08');
  assert.equal(answered.originalEndToEndId, tx.endToEndId);
  assert.equal(answered.originalUetr, tx.uetr);
  assert.equal(answered.status, status);
  assert.equal(answered.reasons[0]?.code, reason);
}

describeOnEngines(engines, 'status requests (pacs.028)', (engine) => {
  let e: E2eHub;
  let token: string;
  before(async () => {
    e = await startE2eHub({}, { engine });
    ({ token } = await e.token());
  });
  after(async () => {
    await e.close();
  });

  test('a settled payment: ACSC, and the payment keeps its status and its one report', async () => {
    const pacs008 = fresh(sample(PACS008), 'sts1');
    const original = await submit(e, token, pacs008);
    const report = (await awaitReport(e.url, token, original)).text;
    const id = await submit(e, token, statusRequestFor(pacs008, 'sts1'));
    answersFor(await answerOf(e, token, id), pacs008, 'ACSC');
    const request = await view(e, token, id);
    assert.equal(request.status, 'ACSC');
    assert.equal(request.message_type, 'pacs.028.001.03');
    assert.equal((await view(e, token, original)).status, 'ACSC');
    assert.equal((await awaitReport(e.url, token, original)).text, report);
  });

  test('a rejected payment: RJCT with the reason it was rejected for', async () => {
    // A payment with a schema error is rejected by processing.
    const pacs008 = fresh(sample(PACS008), 'sts2').replace(/<(\w+:)?ChrgBr>[A-Z]+</, '<$1ChrgBr>XXXX<');
    const original = await submit(e, token, pacs008);
    await awaitReport(e.url, token, original);
    const rejected = await view(e, token, original);
    assert.equal(rejected.status, 'RJCT');
    answersFor(await answerOf(e, token, await submit(e, token, statusRequestFor(pacs008, 'sts2'))), pacs008, 'RJCT', rejected.reason_code as string);
  });

  test("no payment of the client, or another client's: RJCT with AG09, and the request is RJCT", async () => {
    const unknown = fresh(sample(PACS008), 'sts3'); // never submitted
    const id = await submit(e, token, statusRequestFor(unknown, 'sts3'));
    answersFor(await answerOf(e, token, id), unknown, 'RJCT', 'AG09');
    const request = await view(e, token, id);
    assert.equal(request.status, 'RJCT');
    assert.equal(request.reason_code, 'AG09');

    const { token: other } = await e.token();
    const foreign = fresh(sample(PACS008), 'sts4');
    await awaitReport(e.url, other, await submit(e, other, foreign));
    answersFor(await answerOf(e, token, await submit(e, token, statusRequestFor(foreign, 'sts4'))), foreign, 'RJCT', 'AG09');
  });

  test('a request with no TxInf asks after the whole message: its status in OrgnlGrpInfAndSts', async () => {
    const pacs008 = fresh(sample(PACS008), 'sts5');
    await awaitReport(e.url, token, await submit(e, token, pacs008));
    const report = await answerOf(e, token, await submit(e, token, statusRequestFor(pacs008, 'sts5', true)));
    assert.equal(report.original.originalMsgId, (readModel(parseMessage(pacs008)) as CreditTransfer).groupHeader.msgId);
    assert.equal(report.original.originalMsgNmId, 'pacs.008.001.08');
    assert.equal(report.groupStatus, 'ACSC');
    assert.deepEqual(report.transactions, []);
  });

  test('a request that fails its schema is rejected itself, quoting the pacs.028', async () => {
    const pacs008 = fresh(sample(PACS008), 'sts6');
    const invalid = statusRequestFor(pacs008, 'sts6').replace(/<OrgnlUETR>[^<]+</, '<OrgnlUETR>not-a-uuid<');
    const id = await submit(e, token, invalid);
    const report = await answerOf(e, token, id);
    assert.equal(report.original.originalMsgNmId, 'pacs.028.001.03');
    assert.match(report.original.originalMsgId ?? '', /^SR-sts6-/);
    assert.equal(report.groupStatus, 'RJCT');
    assert.equal(report.groupReasons[0]!.code, 'FF01');
    assert.deepEqual(report.transactions, []);
    assert.equal((await view(e, token, id)).status, 'RJCT');
  });
});

describeOnEngines(engines, 'status requests for a payment forwarded downstream', (engine) => {
  let hub: AsyncDownstreamHub;
  before(async () => {
    hub = await startAsyncDownstream(engine, { slaMs: 60_000 });
  });
  after(() => hub.close());

  test('a payment waiting for the downstream system: ACSP, and it still waits', async () => {
    const { e, downstream, token } = hub;
    const pacs008 = fresh(sample(PACS008), 'sts7');
    const original = await submit(e, token, pacs008);
    assert.ok(await downstream.reached(original), 'forwarded');
    answersFor(await answerOf(e, token, await submit(e, token, statusRequestFor(pacs008, 'sts7'))), pacs008, 'ACSP');
    assert.equal((await view(e, token, original)).status, 'ACSP');
  });
});
