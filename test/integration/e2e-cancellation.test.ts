/**
 * Cancellation requests end to end over HTTP, on each engine: a client submits a pacs.008, then a camt.056
 * for it (the reference sample with its references rewritten to the payment's), and gets a camt.029 that its
 * official XSD accepts, quotes the original's ids and says what really happened to the payment:
 *  - no payment of the client matches: RJCR with NOOR;
 *  - the payment is settled already: RJCR (AGNT), and it stays ACSC with its one report;
 *  - the payment waits for a downstream system's answer: PDCR, and the answer still decides it; the camt.056 goes
 *    downstream too, and the system's camt.029 (posted to the inbox, or in the response in sync mode) is relayed
 *    to the client;
 *  - the payment is still in the hub (held before processing): ACCR / CNCL, and it becomes RJCT with CUST and a
 *    pacs.002 saying so; when its processing runs after all, nothing changes.
 *  - a camt.056 that fails its schema: RJCR with a code of the cancellation rejection list (NARR + FF01 in the text).
 *  - a camt.056 for a whole message (no TxInf, GrpCxl true): answered for the message (GrpCxlSts), NOOR, AGNT or
 *    ACCR as above, and every payment of a message still in the hub stopped.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildCamt029,
  buildPacs002,
  parseMessage,
  readModel,
  readStatusReport,
  toXml,
  type CreditTransfer,
  type InvestigationResolution,
} from '../../src/iso20022/index.js';
import { api, awaitReport, describeOnEngines, e2eEngines, fresh, sample, schemaFindings, startE2eHub, type E2eEngine, type E2eHub } from '../helpers/e2e.js';
import { Downstream, startAsyncDownstream, type AsyncDownstreamHub } from '../helpers/downstream.js';

const NOW = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The downstream system's camt.029 for a camt.056: the cancellation accepted (CNCL). */
const acceptedDownstream = (camt056: string) => toXml(buildCamt029(parseMessage(camt056), { assignmentId: `DSR${Date.now()}`, creDtTm: NOW(), confirmation: 'CNCL' }));

/** Takes (and deletes) the messages of the client's participant queue about transaction `id`, until `count` came. */
async function reportsOf(e: E2eHub, token: string, clientId: string, id: string, count: number): Promise<Array<{ body: string; attributes: Record<string, string> }>> {
  const queue = `participant.${clientId}`;
  const found: Array<{ body: string; attributes: Record<string, string> }> = [];
  for (const until = Date.now() + 15_000; found.length < count; ) {
    if (Date.now() > until) throw new Error(`only ${found.length} of ${count} messages about ${id} reached ${queue}`);
    const answer = await api(e.url, token, 'GET', `/v1/queues/${queue}/messages?max=10&wait_s=1`);
    const messages = answer.json().messages as Array<{ receipt_handle: string; body: string; attributes: Record<string, string> }>;
    if (messages.length === 0) continue;
    await api(e.url, token, 'POST', `/v1/queues/${queue}/messages/delete`, { json: { receipt_handles: messages.map((m) => m.receipt_handle) } });
    found.push(...messages.filter((m) => m.attributes.transaction_id === id));
  }
  return found;
}

const engines = await e2eEngines();

const PACS008 = 'pacs.008.001.08-cbpr-single.xml';

/** The camt.056 sample, as a new request (its own Assgnmt/Id) to cancel the first payment of `pacs008`. */
function cancellationFor(pacs008: string, tag: string): string {
  const model = readModel(parseMessage(pacs008)) as CreditTransfer;
  const tx = model.transactions[0]!;
  const put = (xml: string, name: string, value: string | undefined) =>
    value === undefined ? xml.replace(new RegExp(`\\s*<${name}>[^<]*</${name}>`), '') : xml.replace(new RegExp(`<${name}>[^<]*</${name}>`), `<${name}>${value}</${name}>`);
  let xml = sample('camt.056.001.08-fednow-dupl.xml');
  xml = xml.replace('<Id>20260703021040078RETREQ0001</Id>', `<Id>${`CXL-${tag}-${Date.now()}`.slice(0, 35)}</Id>`);
  xml = put(xml, 'OrgnlMsgId', model.groupHeader.msgId);
  xml = put(xml, 'OrgnlMsgNmId', 'pacs.008.001.08');
  xml = put(xml, 'OrgnlCreDtTm', model.groupHeader.creDtTm);
  xml = put(xml, 'OrgnlInstrId', tx.instrId);
  xml = put(xml, 'OrgnlEndToEndId', tx.endToEndId);
  xml = put(xml, 'OrgnlUETR', tx.uetr);
  xml = xml.replace(/<OrgnlIntrBkSttlmAmt Ccy="[A-Z]+">[^<]+</, `<OrgnlIntrBkSttlmAmt Ccy="${tx.amount!.currency}">${tx.amount!.value}<`);
  return put(xml, 'OrgnlIntrBkSttlmDt', tx.settlementDate ?? model.groupHeader.interbankSettlementDate);
}

/** The camt.056 sample, as a new request to cancel the whole message `pacs008` (OrgnlGrpInfAndCxl, no TxInf). */
function wholeMessageCancellationFor(pacs008: string, tag: string): string {
  const model = readModel(parseMessage(pacs008)) as CreditTransfer;
  const group = [
    '<OrgnlGrpInfAndCxl>',
    `<GrpCxlId>${`GRP-${tag}`.slice(0, 35)}</GrpCxlId>`,
    `<OrgnlMsgId>${model.groupHeader.msgId}</OrgnlMsgId>`,
    '<OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId>',
    `<OrgnlCreDtTm>${model.groupHeader.creDtTm}</OrgnlCreDtTm>`,
    `<NbOfTxs>${model.transactions.length}</NbOfTxs>`,
    '<GrpCxl>true</GrpCxl>',
    '<CxlRsnInf><Rsn><Cd>DUPL</Cd></Rsn></CxlRsnInf>',
    '</OrgnlGrpInfAndCxl>',
  ].join('');
  return sample('camt.056.001.08-fednow-dupl.xml')
    .replace('<Id>20260703021040078RETREQ0001</Id>', `<Id>${`CXL-${tag}-${Date.now()}`.slice(0, 35)}</Id>`)
    .replace(/<TxInf>[\s\S]*<\/TxInf>/, group);
}

/** Checks that the resolution answers for the message `pacs008` as a whole, with `status` and `reason`. */
function answersForMessage(resolution: InvestigationResolution, pacs008: string, status: string, reason?: string): void {
  assert.equal(resolution.transactions.length, 0, 'no transaction answered: the request named none');
  assert.equal(resolution.original.originalMsgId, (readModel(parseMessage(pacs008)) as CreditTransfer).groupHeader.msgId);
  assert.equal(resolution.original.originalMsgNmId, 'pacs.008.001.08');
  assert.match(resolution.original.groupCancellationId ?? '', /^GRP-/);
  assert.equal(resolution.original.groupCancellationStatus, status);
  assert.equal(resolution.original.groupReasons?.[0]?.code, reason);
}

/**
 * A payment still in the hub: accepted by a hub without workers, its processing message taken by an operator with
 * a long visibility timeout (as a worker that stalls on it would); then the workers start.
 */
async function heldInHub(engine: E2eEngine, tag: string) {
  const e = await startE2eHub({ workflow: { slaMs: 120_000 } }, { engine, workers: false });
  try {
    const { token } = await e.token();
    const { token: admin } = await e.token({ scopes: ['mx/admin', 'mx/write', 'mx/read'] });
    const pacs008 = fresh(sample(PACS008), tag);
    const original = await submit(e, token, pacs008);
    // A long poll: on the distributed engine the message reaches the queue a little later (the outbox relay).
    const held = await api(e.url, admin, 'GET', '/v1/queues/mx.processing.fifo/messages?max=1&visibility_s=600&wait_s=10');
    assert.equal(held.status, 200, held.text);
    const message = (held.json().messages as Array<{ receipt_handle: string; body: string }>)[0]!;
    assert.equal(JSON.parse(message.body).transaction_id, original);
    await e.startWorkers();
    return { e, token, admin, pacs008, original, message };
  } catch (error) {
    await e.close();
    throw error;
  }
}

async function submit(e: E2eHub, token: string, xml: string): Promise<string> {
  const answer = await api(e.url, token, 'POST', '/v1/messages', { xml });
  assert.equal(answer.status, 202, answer.text);
  return answer.json().transaction_id as string;
}

/** The camt.029 of a request: valid against its XSD, read back. */
async function resolutionOf(e: E2eHub, token: string, id: string): Promise<InvestigationResolution> {
  const out = await awaitReport(e.url, token, id);
  assert.deepEqual(schemaFindings(out.text), [], out.text);
  const resolution = readModel(parseMessage(out.text)) as InvestigationResolution;
  assert.equal(resolution.family, 'camt.029');
  return resolution;
}

const view = async (e: E2eHub, token: string, id: string) => (await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json();

/** Checks that `original` was stopped by a cancellation: RJCT with CUST, and a valid pacs.002 that says so. Returns it. */
async function stoppedReport(e: E2eHub, token: string, original: string): Promise<string> {
  const stopped = await view(e, token, original);
  assert.equal(stopped.status, 'RJCT');
  assert.equal(stopped.reason_code, 'CUST');
  const report = (await awaitReport(e.url, token, original)).text;
  assert.deepEqual(schemaFindings(report), []);
  const parsed = parseMessage(report);
  const status = readStatusReport(parsed.document!, parsed.documentId!);
  assert.equal(status.transactions[0]!.status, 'RJCT');
  assert.equal(status.transactions[0]!.reasons[0]!.code, 'CUST');
  return report;
}

/** Checks that the resolution quotes the payment's ids. */
function quotes(resolution: InvestigationResolution, pacs008: string): void {
  const tx = (readModel(parseMessage(pacs008)) as CreditTransfer).transactions[0]!;
  const answered = resolution.transactions[0]!;
  assert.equal(answered.originalEndToEndId, tx.endToEndId);
  assert.equal(answered.originalUetr, tx.uetr);
  assert.equal(answered.originalMsgId, (readModel(parseMessage(pacs008)) as CreditTransfer).groupHeader.msgId);
}

describeOnEngines(engines, 'cancellation requests (camt.056)', (engine) => {
  let e: E2eHub;
  let token: string;
  before(async () => {
    e = await startE2eHub({}, { engine });
    ({ token } = await e.token());
  });
  after(async () => {
    await e.close();
  });

  test('a request for no payment of the client is rejected with NOOR', async () => {
    const unknown = fresh(sample(PACS008), 'none1'); // never submitted
    const id = await submit(e, token, cancellationFor(unknown, 'none1'));
    const resolution = await resolutionOf(e, token, id);
    assert.equal(resolution.confirmation, 'RJCR');
    assert.equal(resolution.transactions[0]!.status, 'RJCR');
    assert.equal(resolution.transactions[0]!.reasons[0]!.code, 'NOOR');
    quotes(resolution, unknown);
    const request = await view(e, token, id);
    assert.equal(request.status, 'RJCT');
    assert.equal(request.reason_code, 'NOOR');
  });

  test("another client's payment is not found either", async () => {
    const { token: other } = await e.token();
    const pacs008 = fresh(sample(PACS008), 'tenant1');
    await awaitReport(e.url, other, await submit(e, other, pacs008));
    const resolution = await resolutionOf(e, token, await submit(e, token, cancellationFor(pacs008, 'tenant1')));
    assert.equal(resolution.transactions[0]!.reasons[0]!.code, 'NOOR');
  });

  test('a settled payment is not cancelled: RJCR (AGNT), and it keeps its status and its one report', async () => {
    const pacs008 = fresh(sample(PACS008), 'final1');
    const original = await submit(e, token, pacs008);
    const report = (await awaitReport(e.url, token, original)).text;
    assert.equal((await view(e, token, original)).status, 'ACSC');
    const id = await submit(e, token, cancellationFor(pacs008, 'final1'));
    const resolution = await resolutionOf(e, token, id);
    assert.equal(resolution.confirmation, 'RJCR');
    assert.equal(resolution.transactions[0]!.status, 'RJCR');
    assert.equal(resolution.transactions[0]!.reasons[0]!.code, 'AGNT');
    quotes(resolution, pacs008);
    assert.equal((await view(e, token, original)).status, 'ACSC');
    assert.equal((await awaitReport(e.url, token, original)).text, report);
  });

  test('a rejected payment is not cancelled again: RJCR with NARR, saying why', async () => {
    // A payment with a schema error is rejected by processing.
    const pacs008 = fresh(sample(PACS008), 'rjct1').replace(/<(\w+:)?ChrgBr>[A-Z]+</, '<$1ChrgBr>XXXX<');
    const original = await submit(e, token, pacs008);
    await awaitReport(e.url, token, original);
    assert.equal((await view(e, token, original)).status, 'RJCT');
    const resolution = await resolutionOf(e, token, await submit(e, token, cancellationFor(pacs008, 'rjct1')));
    assert.equal(resolution.transactions[0]!.status, 'RJCR');
    assert.equal(resolution.transactions[0]!.reasons[0]!.code, 'NARR');
    assert.match(resolution.transactions[0]!.reasons[0]!.additionalInfo.join(' '), /rejected already/);
  });

  test('a request that fails its schema is rejected with a code of the cancellation rejection list', async () => {
    const pacs008 = fresh(sample(PACS008), 'xsd1');
    const invalid = cancellationFor(pacs008, 'xsd1').replace('<Cd>DUPL</Cd>', '<Cd>DUPLICATE</Cd>');
    const id = await submit(e, token, invalid);
    const resolution = await resolutionOf(e, token, id);
    assert.equal(resolution.confirmation, 'RJCR');
    assert.equal(resolution.transactions[0]!.status, 'RJCR');
    assert.equal(resolution.transactions[0]!.reasons[0]!.code, 'NARR');
    assert.match(resolution.transactions[0]!.reasons[0]!.additionalInfo[0] ?? '', /^FF01 /);
    assert.equal((await view(e, token, id)).status, 'RJCT');
  });
});

describeOnEngines(engines, 'cancellation requests for a payment forwarded downstream', (engine) => {
  let hub: AsyncDownstreamHub;
  let downstream: Downstream;
  let e: E2eHub<'answering'>;
  let token: string;
  let answerToken: string;
  before(async () => {
    hub = await startAsyncDownstream(engine, { slaMs: 60_000 });
    ({ e, downstream, token, answerToken } = hub);
  });
  after(() => hub.close());

  test('the cancellation is pending (PDCR) while the downstream system has the payment; its answer still decides it', async () => {
    const pacs008 = fresh(sample(PACS008), 'pdcr1');
    const original = await submit(e, token, pacs008);
    assert.ok(await downstream.reached(original), 'forwarded');
    const id = await submit(e, token, cancellationFor(pacs008, 'pdcr1'));
    const resolution = await resolutionOf(e, token, id);
    assert.equal(resolution.confirmation, 'PDCR');
    assert.equal(resolution.transactions[0]!.status, 'PDCR');
    quotes(resolution, pacs008);
    assert.equal((await view(e, token, id)).status, 'ACSC', 'the request was answered');
    assert.equal((await view(e, token, original)).status, 'ACSP', 'the payment still waits for its answer');
    const answer = buildPacs002(parseMessage(pacs008), { msgId: `DS${Date.now()}`, creDtTm: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), groupStatus: 'ACSC', transactionStatus: 'ACSC' });
    assert.equal((await api(e.url, answerToken, 'POST', '/v1/inbox', { xml: toXml(answer) })).status, 202);
    await awaitReport(e.url, token, original);
    assert.equal((await view(e, token, original)).status, 'ACSC');
  });

  test('the request goes downstream behind its payment, and the camt.029 the system posts reaches the client', async () => {
    const { token: sender, clientId } = await e.token({ scopes: ['mx/read', 'mx/write'] });
    const pacs008 = fresh(sample(PACS008), 'pdcr2');
    const original = await submit(e, sender, pacs008);
    assert.ok(await downstream.reached(original), 'the payment was forwarded');
    const camt056 = cancellationFor(pacs008, 'pdcr2');
    const id = await submit(e, sender, camt056);
    assert.equal((await resolutionOf(e, sender, id)).confirmation, 'PDCR');
    assert.ok(await downstream.reached(id), 'the cancellation request was forwarded');
    const sent = downstream.received.filter((r) => r.transactionId === id);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.xml, camt056, 'the camt.056 as the client sent it');
    const order = downstream.received.map((r) => r.transactionId);
    assert.ok(order.indexOf(original) < order.indexOf(id), 'after the payment');

    // Refused without naming the request, or from a client that does not answer for the system.
    const resolution = acceptedDownstream(camt056);
    const unnamed = await api(e.url, answerToken, 'POST', '/v1/inbox', { xml: resolution });
    assert.equal(unnamed.status, 422, unnamed.text);
    assert.equal((unnamed.json().error as { code: string }).code, 'ORIGINAL_NOT_FOUND');
    assert.equal((await api(e.url, sender, 'POST', '/v1/inbox', { xml: resolution, headers: { 'x-transaction-id': id } })).status, 403);

    const relayed = await api(e.url, answerToken, 'POST', '/v1/inbox', { xml: resolution, headers: { 'x-transaction-id': id } });
    assert.equal(relayed.status, 200, relayed.text);
    assert.deepEqual(relayed.json(), { transaction_id: id, status: 'ACSC', applied: false });
    const messages = await reportsOf(e, sender, clientId, id, 2);
    assert.equal(messages.filter((m) => m.attributes.source === undefined).length, 1, "the hub's own camt.029 (PDCR)");
    const fromSystem = messages.find((m) => m.attributes.source === 'downstream');
    assert.equal(fromSystem?.attributes.message_type, 'camt.029.001.09');
    assert.equal(fromSystem?.body, resolution);
    // The payment is still the system's to decide: it waits for its own answer.
    assert.equal((await view(e, sender, original)).status, 'ACSP');
    assert.equal((await view(e, sender, id)).status, 'ACSC');
  });
});

describeOnEngines(engines, 'cancellation requests for a payment forwarded downstream in sync mode', (engine) => {
  test("the system's camt.029 in the response to the forwarded request reaches the client", async () => {
    const downstream = new Downstream();
    await downstream.start();
    // The payment gets an interim pacs.002 (it waits for its final answer); the request a camt.029.
    downstream.answer = (xml) => {
      const family = parseMessage(xml).documentId?.family;
      if (family === 'camt.056') return { status: 200, body: acceptedDownstream(xml) };
      const interim = buildPacs002(parseMessage(xml), { msgId: `DS${Date.now()}`, creDtTm: NOW(), transactionStatus: 'ACSP' });
      return { status: 200, body: toXml(interim) };
    };
    const e = await startE2eHub({ downstream: { url: downstream.url, mode: 'sync' }, workflow: { slaMs: 60_000 } }, { engine });
    try {
      const { token, clientId } = await e.token({ scopes: ['mx/read', 'mx/write'] });
      const pacs008 = fresh(sample(PACS008), 'pdcr3');
      const original = await submit(e, token, pacs008);
      assert.ok(await downstream.reached(original));
      const camt056 = cancellationFor(pacs008, 'pdcr3');
      const id = await submit(e, token, camt056);
      assert.equal((await resolutionOf(e, token, id)).confirmation, 'PDCR');
      const messages = await reportsOf(e, token, clientId, id, 2);
      const relayed = messages.find((m) => m.attributes.source === 'downstream');
      assert.ok(relayed, 'the camt.029 of the system was relayed');
      assert.deepEqual(schemaFindings(relayed.body), []);
      const read = readModel(parseMessage(relayed.body)) as InvestigationResolution;
      assert.equal(read.confirmation, 'CNCL');
      assert.equal((await view(e, token, original)).status, 'ACSP');
    } finally {
      await e.close();
      await downstream.stop();
    }
  });
});

describeOnEngines(engines, 'cancellation requests for a payment still in the hub', (engine) => {
  test('the payment is stopped: ACCR / CNCL, the payment RJCT with CUST and its pacs.002; its late processing changes nothing', async () => {
    const { e, token, admin, pacs008, original, message } = await heldInHub(engine, 'accr1');
    try {

      // The tokens hold when the embedded hub restarts on its data: the signing keys are kept there.
      assert.equal((await view(e, token, original)).status, 'ACTC');
      const id = await submit(e, token, cancellationFor(pacs008, 'accr1'));
      const resolution = await resolutionOf(e, token, id);
      assert.equal(resolution.confirmation, 'CNCL');
      assert.equal(resolution.transactions[0]!.status, 'ACCR');
      quotes(resolution, pacs008);
      assert.equal((await view(e, token, id)).status, 'ACSC');

      const report = await stoppedReport(e, token, original);

      // The held message comes back: processing finds the payment final and leaves it as it is.
      const released = await api(e.url, admin, 'PATCH', `/v1/queues/mx.processing.fifo/messages/${encodeURIComponent(message.receipt_handle)}`, { json: { visibility_s: 0 } });
      assert.equal(released.status, 204, released.text);
      for (let i = 0; i < 500; i++) {
        const q = (await api(e.url, admin, 'GET', '/v1/queues/mx.processing.fifo')).json() as { metrics: { visible: number; in_flight: number } };
        if (q.metrics.visible + q.metrics.in_flight === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const after = await view(e, token, original);
      assert.equal(after.status, 'RJCT');
      assert.equal(after.reason_code, 'CUST');
      assert.deepEqual((after.history as Array<{ status: string }>).map((h) => h.status).filter((s) => s !== 'RCVD'), ['ACTC', 'RJCT']);
      assert.equal((await awaitReport(e.url, token, original)).text, report);
    } finally {
      await e.close();
    }
  });
});

describeOnEngines(engines, 'cancellation requests for a whole message', (engine) => {
  test('no message of the client: RJCR with NOOR for the message', async () => {
    const e = await startE2eHub({}, { engine });
    try {
      const { token } = await e.token();
      const unknown = fresh(sample(PACS008), 'grpnone');
      const id = await submit(e, token, wholeMessageCancellationFor(unknown, 'none'));
      const resolution = await resolutionOf(e, token, id);
      assert.equal(resolution.confirmation, 'RJCR');
      answersForMessage(resolution, unknown, 'RJCR', 'NOOR');
      const request = await view(e, token, id);
      assert.equal(request.status, 'RJCT');
      assert.equal(request.reason_code, 'NOOR');
    } finally {
      await e.close();
    }
  });

  test('a settled message: RJCR with AGNT, and its payment keeps its status and its one report', async () => {
    const e = await startE2eHub({}, { engine });
    try {
      const { token } = await e.token();
      const pacs008 = fresh(sample(PACS008), 'grpacsc');
      const original = await submit(e, token, pacs008);
      const report = (await awaitReport(e.url, token, original)).text;
      const resolution = await resolutionOf(e, token, await submit(e, token, wholeMessageCancellationFor(pacs008, 'acsc')));
      assert.equal(resolution.confirmation, 'RJCR');
      answersForMessage(resolution, pacs008, 'RJCR', 'AGNT');
      assert.equal((await view(e, token, original)).status, 'ACSC');
      assert.equal((await awaitReport(e.url, token, original)).text, report);
    } finally {
      await e.close();
    }
  });

  test('a message still in the hub: ACCR / CNCL for the message, and its payment RJCT with CUST and its pacs.002', async () => {
    const { e, token, pacs008, original } = await heldInHub(engine, 'grpaccr');
    try {

      const id = await submit(e, token, wholeMessageCancellationFor(pacs008, 'accr'));
      const resolution = await resolutionOf(e, token, id);
      assert.equal(resolution.confirmation, 'CNCL');
      answersForMessage(resolution, pacs008, 'ACCR');
      assert.equal((await view(e, token, id)).status, 'ACSC');
      await stoppedReport(e, token, original);
    } finally {
      await e.close();
    }
  });
});
