/**
 * Black-box end-to-end tests over a real socket, on each engine: the reference sample's client flow, accept and
 * reject paths of each rule family, duplicates, tenancy, and the API's error answers. Every status report is
 * checked against its official XSD and for the original ids.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage, readStatusReport } from '../../src/iso20022/index.js';
import { api, awaitReport, describeOnEngines, e2eEngines, fresh, sample, schemaFindings, startE2eHub, type E2eHub } from '../helpers/e2e.js';

const engines = await e2eEngines();

function reportOf(xml: string) {
  const message = parseMessage(xml);
  return readStatusReport(message.document!, message.documentId!);
}

describeOnEngines(engines, 'end to end over HTTP', (engine) => {
  let e: E2eHub;
  let token: string;
  before(async () => {
    e = await startE2eHub({}, { engine });
    ({ token } = await e.token());
  });
  after(async () => {
    await e.close();
  });

  test("the reference sample's client flow: token -> GET /uuid -> POST /inbox -> poll POST /outbox", async () => {
    const uuid = await api(e.url, token, 'GET', '/uuid', { headers: { 'x-message-type': 'pacs.008' } });
    assert.equal(uuid.status, 200);
    const id = uuid.json().transaction_id as string;
    assert.equal(uuid.json().status, 'ACCP');
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'flow1');
    const inbox = await api(e.url, token, 'POST', '/inbox', { xml, headers: { 'x-transaction-id': id, 'x-message-type': 'pacs.008' } });
    assert.equal(inbox.status, 202, inbox.text);
    assert.equal(inbox.headers.get('location'), `/v1/transactions/${id}`);
    assert.equal(inbox.json().transaction_id, id);
    let out;
    for (let i = 0; i < 500; i++) {
      out = await api(e.url, token, 'POST', '/outbox', { headers: { 'x-transaction-id': id } });
      if (out.status === 200) break;
      assert.equal(out.status, 202);
      assert.equal(out.headers.get('retry-after'), '1');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(out!.status, 200);
    assert.match(out!.headers.get('content-type') ?? '', /application\/xml/);
    assert.deepEqual(schemaFindings(out!.text), []);
    const report = reportOf(out!.text);
    const original = parseMessage(xml);
    assert.equal(report.original.originalMsgNmId, 'pacs.008.001.08');
    assert.equal(report.original.originalMsgId, /<(?:\w+:)?MsgId>([^<]+)</.exec(xml)![1]);
    assert.equal(report.transactions[0]?.status, 'ACSC');
    assert.equal(report.transactions[0]?.originalUetr, /<(?:\w+:)?UETR>([^<]+)</.exec(xml)![1]);
    assert.ok(original.documentId);
    const view = await api(e.url, token, 'GET', `/v1/transactions/${id}`);
    const body = view.json();
    assert.equal(body.status, 'ACSC');
    assert.deepEqual((body.history as Array<{ status: string }>).map((h) => h.status), ['ACCP', 'ACTC', 'ACSP', 'ACSC', 'RCVD']);
    const payments = body.payments as Array<Record<string, unknown>>;
    assert.equal(payments[0]!.amount, '750000');
    assert.equal(typeof payments[0]!.amount, 'string');
  });

  test('POST /v1/messages assigns the id; an Idempotency-Key returns the same transaction', async () => {
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'idem1');
    const first = await api(e.url, token, 'POST', '/v1/messages', { xml, headers: { 'idempotency-key': 'key-1' } });
    assert.equal(first.status, 202);
    const again = await api(e.url, token, 'POST', '/v1/messages', { xml, headers: { 'idempotency-key': 'key-1' } });
    assert.equal(again.json().transaction_id, first.json().transaction_id);
    assert.equal(again.json().duplicate, true);
    assert.equal(again.json().report_url, `/v1/outbox/${first.json().transaction_id as string}`);
    const other = await api(e.url, token, 'POST', '/v1/messages', { xml: fresh(xml, 'x'), headers: { 'idempotency-key': 'key-1' } });
    assert.equal(other.status, 422);
    assert.equal((other.json().error as { code: string }).code, 'IDEMPOTENCY_KEY_REUSED');
  });

  test('each rule family rejects with an official reason code and an XSD-valid report', async () => {
    // The built-in rules' sample asks to settle by 10:00 on 2026-01-01 (SttlmTmReq): a deadline long past, which the
    // timeout sweeper (AB06) may reach before processing does. Without it the deadline is the SLA, and the rule
    // decides: the first finding in document order, an unknown clearing system id (RC08).
    const withoutDeadline = (xml: string) => xml.replace(/<SttlmTmReq>[\s\S]*?<\/SttlmTmReq>/, '');
    const cases: Array<{ file: string; code: RegExp; profile?: string; edit?: (xml: string) => string }> = [
      { file: 'invalid-xsd/pacs.008.001.08-bad-bic.xml', code: /^FF01$/ },
      { file: 'invalid-builtin/pacs.008.001.08-cbpr-maxpopulated.xml', code: /^RC08$/, edit: withoutDeadline },
      { file: 'invalid-rules/pacs.008.001.08-fednow-bad-aba-checksum.xml', code: /^RC08$/, profile: 'fednow' },
      { file: 'invalid-rules/pacs.008.001.08-fednow-non-usd.xml', code: /^AM03$/, profile: 'fednow' },
    ];
    for (const c of cases) {
      const client = (await e.token({ profile: c.profile ?? null })).token;
      const xml = (c.edit ?? ((x: string) => x))(sample(c.file));
      assert.equal(xml.includes('SttlmTmReq'), false, `${c.file}: no deadline of its own`);
      const res = await api(e.url, client, 'POST', '/v1/messages', { xml });
      assert.equal(res.status, 202, `${c.file}: ${res.text}`);
      const id = res.json().transaction_id as string;
      const out = await awaitReport(e.url, client, id);
      assert.deepEqual(schemaFindings(out.text), [], c.file);
      const view = (await api(e.url, client, 'GET', `/v1/transactions/${id}`)).json();
      assert.equal(view.status, 'RJCT', c.file);
      assert.match(String(view.reason_code), c.code, `${c.file}: ${String(view.reason_code)} ${String(view.reason_text)}`);
      const report = reportOf(out.text);
      assert.equal(report.groupStatus, 'RJCT');
      assert.equal(report.transactions.every((t) => t.status === 'RJCT'), true);
    }
  });

  test('a payment asking to settle by a time already past is a timeout (AB06), whatever gets to it first', async () => {
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'late').replace(/<(\w+:)?IntrBkSttlmDt>[^<]+<\/(?:\w+:)?IntrBkSttlmDt>/, (_m, ns: string | undefined) => {
      const p = ns ?? '';
      return `<${p}IntrBkSttlmDt>2026-01-01</${p}IntrBkSttlmDt><${p}SttlmTmReq><${p}TillTm>10:00:00Z</${p}TillTm></${p}SttlmTmReq>`;
    });
    assert.ok(xml.includes('SttlmTmReq>'));
    const res = await api(e.url, token, 'POST', '/v1/messages', { xml });
    assert.equal(res.status, 202, res.text);
    const id = res.json().transaction_id as string;
    const out = await awaitReport(e.url, token, id);
    assert.deepEqual(schemaFindings(out.text), []);
    const view = (await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json();
    assert.equal(view.status, 'RJCT');
    assert.equal(view.reason_code, 'AB06');
    assert.deepEqual((view.history as Array<{ status: string }>).map((h) => h.status), ['ACTC', 'RJCT', 'RCVD'], 'never accepted for settlement');
  });

  test('a reserved id takes one message: of several sent to it at once one is accepted, the others 409, none lost', async () => {
    const id = (await api(e.url, token, 'POST', '/v1/transactions')).json().transaction_id as string;
    const messages = Array.from({ length: 6 }, (_, i) => fresh(sample('pacs.008.001.08-cbpr-single.xml'), `rsv${i}`));
    const answers = await Promise.all(messages.map((xml) => api(e.url, token, 'POST', '/v1/inbox', { xml, headers: { 'x-transaction-id': id } })));
    const accepted = answers.map((a, i) => ({ a, i })).filter(({ a }) => a.status === 202);
    assert.equal(accepted.length, 1, answers.map((a) => `${a.status} ${a.text}`).join('\n'));
    for (const a of answers.filter((x) => x.status !== 202)) {
      assert.equal(a.status, 409, a.text);
      assert.equal((a.json().error as { code: string }).code, 'TRANSACTION_STATE');
    }
    const out = await awaitReport(e.url, token, id);
    const winner = messages[accepted[0]!.i]!;
    const msgId = /<(?:\w+:)?MsgId>([^<]+)</.exec(winner)![1];
    assert.equal(reportOf(out.text).original.originalMsgId, msgId, 'the report answers the message that was accepted');
    assert.equal((await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json().msg_id, msgId);
  });

  test('valid samples of each family are accepted and answered with their report type', async () => {
    const cases: Array<{ file: string; report: string; profile?: string }> = [
      { file: 'pacs.008.001.08-fednow-envelope.xml', report: 'pacs.002', profile: 'fednow' },
      { file: 'pacs.009.001.08-cbpr-cov-min.xml', report: 'pacs.002' },
      { file: 'pacs.004.001.09-cbpr-ac04.xml', report: 'pacs.002' },
      { file: 'pain.001.001.03-multi-3tx.xml', report: 'pain.002' },
      { file: 'pacs.008.001.10-generic.xml', report: 'pacs.002' },
    ];
    for (const c of cases) {
      // A client per sample: several samples share a MsgId, which one sender may use only once.
      const client = (await e.token({ profile: c.profile ?? null })).token;
      const res = await api(e.url, client, 'POST', '/v1/messages', { xml: sample(c.file) });
      assert.equal(res.status, 202, `${c.file}: ${res.text}`);
      const id = res.json().transaction_id as string;
      const out = await awaitReport(e.url, client, id);
      assert.equal(out.headers.get('x-message-type')?.slice(0, 8), c.report, c.file);
      assert.deepEqual(schemaFindings(out.text), [], c.file);
      const view = (await api(e.url, client, 'GET', `/v1/transactions/${id}`)).json();
      assert.equal(view.status, 'ACSC', `${c.file}: ${String(view.reason_code)} ${String(view.reason_text)}`);
    }
  });

  test('duplicates: exact resend answers the original; modified content is RJCT AM05; concurrent resends make one payment', async () => {
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'dup1');
    const first = await api(e.url, token, 'POST', '/v1/messages', { xml });
    const id = first.json().transaction_id as string;
    assert.equal(first.json().report_url, `/v1/outbox/${id}`);
    const report = await awaitReport(e.url, token, id);
    const resend = await api(e.url, token, 'POST', '/v1/messages', { xml });
    assert.equal(resend.status, 200);
    assert.equal(resend.json().transaction_id, id);
    assert.equal(resend.json().duplicate, true);
    assert.equal(resend.json().status, 'ACSC');
    // The duplicate's answer leads to the original's status report.
    assert.equal(resend.json().report_url, `/v1/outbox/${id}`);
    const again = await api(e.url, token, 'GET', resend.json().report_url as string);
    assert.equal(again.status, 200);
    assert.equal(again.text, report.text);
    assert.equal(again.headers.get('x-transaction-id'), id);
    // Sent with a reserved id of its own, the duplicate's id stands for the original: its outbox is the original's report.
    const reserved = (await api(e.url, token, 'POST', '/v1/transactions')).json().transaction_id as string;
    const viaReserved = await api(e.url, token, 'POST', '/inbox', { xml, headers: { 'x-transaction-id': reserved } });
    assert.equal(viaReserved.status, 200);
    assert.deepEqual(viaReserved.json(), { transaction_id: id, status: 'ACSC', duplicate: true, report_url: `/v1/outbox/${id}` });
    for (const fetched of [
      await api(e.url, token, 'GET', `/v1/outbox/${reserved}`),
      await api(e.url, token, 'POST', '/outbox', { headers: { 'x-transaction-id': reserved } }),
    ]) {
      assert.equal(fetched.status, 200);
      assert.equal(fetched.text, report.text);
      assert.equal(fetched.headers.get('x-transaction-id'), id);
      assert.equal(reportOf(fetched.text).original.originalMsgId, /<(?:\w+:)?MsgId>([^<]+)</.exec(xml)![1]);
    }
    assert.equal((await api(e.url, token, 'GET', `/v1/transactions/${reserved}`)).json().transaction_id, id);
    const modified = xml.replace(/(IntrBkSttlmAmt Ccy="EUR">)750000</, '$1750001<');
    const conflict = await api(e.url, token, 'POST', '/v1/messages', { xml: modified });
    const conflictId = conflict.json().transaction_id as string;
    assert.notEqual(conflictId, id);
    const out = await awaitReport(e.url, token, conflictId);
    assert.deepEqual(schemaFindings(out.text), []);
    assert.equal(reportOf(out.text).transactions[0]?.reasons[0]?.code, 'AM05');
    const burst = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'dup2');
    const answers = await Promise.all(Array.from({ length: 10 }, () => api(e.url, token, 'POST', '/v1/messages', { xml: burst })));
    const ids = new Set(answers.map((a) => a.json().transaction_id));
    assert.equal(ids.size, 1, 'one payment for ten concurrent submissions');
    assert.equal(answers.filter((a) => a.status === 202).length, 1);
  });

  test('tenancy: another client gets 404 for the transaction and its outbox', async () => {
    const res = await api(e.url, token, 'POST', '/v1/messages', { xml: fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'ten1') });
    const id = res.json().transaction_id as string;
    const other = (await e.token()).token;
    assert.equal((await api(e.url, other, 'GET', `/v1/transactions/${id}`)).status, 404);
    assert.equal((await api(e.url, other, 'GET', `/v1/outbox/${id}`)).status, 404);
    assert.equal((await api(e.url, other, 'POST', '/inbox', { xml: sample('pacs.008.001.08-cbpr-min.xml'), headers: { 'x-transaction-id': id } })).status, 404);
    const list = (await api(e.url, other, 'GET', '/v1/transactions')).json();
    assert.deepEqual(list.transactions, []);
  });

  test('listing filters and pages with a cursor', async () => {
    const { token: lister } = await e.token();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await api(e.url, lister, 'POST', '/v1/messages', { xml: fresh(sample('pacs.008.001.08-cbpr-single.xml'), `ls${i}`) });
      ids.push(res.json().transaction_id as string);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await api(e.url, lister, 'GET', `/v1/transactions?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json();
      seen.push(...(page.transactions as Array<{ transaction_id: string }>).map((t) => t.transaction_id));
      cursor = page.next_cursor as string | null;
    } while (cursor);
    assert.deepEqual([...seen].sort(), [...ids].sort());
    const e2e = /<(?:\w+:)?EndToEndId>([^<]+)</.exec(fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'ls3'))![1]!;
    const filtered = (await api(e.url, lister, 'GET', `/v1/transactions?end_to_end_id=${encodeURIComponent(e2e)}`)).json();
    assert.equal((filtered.transactions as unknown[]).length, 1);
    assert.equal((await api(e.url, lister, 'GET', '/v1/transactions?status=NOPE')).status, 400);
    assert.equal((await api(e.url, lister, 'GET', '/v1/transactions?cursor=bogus')).status, 400);
  });

  test('/metrics gives queue depths and store counters in the Prometheus format, and what the process runs', async () => {
    const res = await api(e.url, token, 'GET', '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(res.text, /^mxgate_queue_messages\{queue="mx\.processing\.fifo",state="visible"\} \d+$/m);
    // Group commit: earlier tests committed work, and a commit carries at least one unit.
    const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(res.text)?.[1] ?? NaN);
    const commits = counter('mxgate_store_commits_total');
    assert.ok(commits > 0, `${commits} commits`);
    assert.ok(counter('mxgate_store_units_total') >= commits);
    // Nothing has been in flight for a minute here.
    assert.match(res.text, /^mxgate_transactions_stranded 0$/m);
    if (engine === 'embedded') {
      // One process runs every stage and the scheduler, on SQLite and its WAL; there is no outbox.
      assert.match(res.text, /^mxgate_stage_messages_total\{stage="processing",outcome="ack"\} [1-9]\d*$/m);
      assert.match(res.text, /^mxgate_scheduler_active 1$/m);
      assert.ok(counter('mxgate_store_wal_flushes_total') > 0);
      assert.ok(counter('mxgate_store_wal_resets_total') >= 0);
      assert.match(res.text, /^mxgate_store_wal_reset_pause_seconds_total \d+(\.\d+)?(e-\d+)?$/m);
      assert.doesNotMatch(res.text, /mxgate_outbox/, 'the embedded engine has no outbox');
    } else {
      // The API's process: the stages and the scheduler run in the others (each on its own /metrics); the outbox,
      // rows in PostgreSQL waiting for the queues, is counted here.
      assert.match(res.text, /^mxgate_outbox_rows\{state="pending"\} \d+$/m);
      assert.match(res.text, /^mxgate_outbox_rows\{state="retrying"\} 0$/m);
      assert.match(res.text, /^mxgate_outbox_oldest_age_seconds \d+$/m);
      assert.doesNotMatch(res.text, /mxgate_store_wal|mxgate_stage_messages_total\{stage="processing"/, 'no SQLite WAL and no processing stage in the API process');
    }
    assert.equal((await api(e.url, null, 'GET', '/metrics')).status, 401);
  });

  test('errors: 401 without a token, 403 with the wrong scope, 4xx for bad input', async () => {
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'err1');
    assert.equal((await api(e.url, null, 'POST', '/v1/messages', { xml })).status, 401);
    const reader = (await e.token({ scopes: ['mx/read'] })).token;
    const forbidden = await api(e.url, reader, 'POST', '/v1/messages', { xml });
    assert.equal(forbidden.status, 403);
    assert.equal((forbidden.json().error as { code: string }).code, 'FORBIDDEN');
    const hostile = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08">&a;</Document>';
    const unsafe = await api(e.url, token, 'POST', '/v1/messages', { xml: hostile });
    assert.equal(unsafe.status, 400);
    assert.equal((unsafe.json().error as { code: string }).code, 'XML_UNSAFE');
    const statement = await api(e.url, token, 'POST', '/v1/messages', { xml: sample('camt.053.001.02-ing.xml') });
    assert.equal(statement.status, 422);
    assert.equal((statement.json().error as { code: string }).code, 'MESSAGE_UNSUPPORTED');
    const mismatch = await api(e.url, token, 'POST', '/v1/messages', { xml, headers: { 'x-message-type': 'pain.001' } });
    assert.equal(mismatch.status, 400);
    const json = await api(e.url, token, 'POST', '/v1/messages', { json: { not: 'xml' } });
    assert.equal(json.status, 415);
    assert.equal((await api(e.url, token, 'GET', '/v1/transactions/not-a-uuid')).status, 400);
    assert.equal((await api(e.url, token, 'GET', `/v1/outbox/${crypto.randomUUID()}`)).status, 404);
    const reserved = (await api(e.url, token, 'POST', '/v1/transactions')).json().transaction_id as string;
    assert.equal((await api(e.url, token, 'POST', '/v1/inbox', { xml, headers: { 'x-transaction-id': reserved } })).status, 202);
    const twice = await api(e.url, token, 'POST', '/v1/inbox', { xml: fresh(xml, 'b'), headers: { 'x-transaction-id': reserved } });
    assert.equal(twice.status, 409);
    assert.equal((twice.json().error as { code: string }).code, 'TRANSACTION_STATE');
  });
});

describeOnEngines(engines, 'request size limit', (engine) => {
  test('a body over the configured limit is answered 413 and creates nothing', async () => {
    // Nothing here is processed: the hub needs no workers.
    const e = await startE2eHub({ http: { bodyLimitBytes: 2048 } }, { engine, workers: false });
    try {
      const { token } = await e.token();
      const res = await api(e.url, token, 'POST', '/v1/messages', { xml: sample('pacs.008.001.08-cbpr-single.xml') });
      assert.equal(res.status, 413);
      assert.equal((res.json().error as { code: string }).code, 'PAYLOAD_TOO_LARGE');
      assert.deepEqual((await api(e.url, token, 'GET', '/v1/transactions')).json().transactions, []);
    } finally {
      await e.close();
    }
  });
});
