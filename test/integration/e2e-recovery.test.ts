/**
 * Recovery of payments stranded in flight, on each engine (POST /v1/admin/recovery, `mxgate recover`): a hub
 * started without workers holds payments at ACTC, as after lost queues or a failover. A dry run changes nothing; a
 * cancel makes them final as CANC with a status report that validates against pacs.002, and their stage messages
 * change nothing later; a redrive hands them to processing again, whether their stage message is still there (it
 * absorbs the new one) or was lost (purged), and each ends with exactly one report. Work still moving is left alone
 * (quiet_s), and the call is for operators only.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { api, awaitReport, describeOnEngines, e2eEngines, fresh, sample, schemaFindings, startE2eHub, type E2eHub } from '../helpers/e2e.js';

const engines = await e2eEngines();

describeOnEngines(engines, 'recovery of payments stranded in flight', (engine) => {
  let e: E2eHub;
  let token: string;
  let clientId: string;
  let admin: string;
  before(async () => {
    e = await startE2eHub({}, { engine, workers: false });
    // An SLA of its own: the hub's is short (for the deadline tests), and the payments here wait for workers.
    const client = await e.createClient({ name: 'stranded', scopes: ['mx/read', 'mx/write'], settings: { slaMs: 120_000 } });
    token = await e.tokenOf(client);
    clientId = client.id;
    ({ token: admin } = await e.token({ scopes: ['mx/admin'] }));
  });
  after(async () => {
    await e?.close();
  });

  async function submit(tag: string): Promise<string> {
    const answer = await api(e.url, token, 'POST', '/v1/messages', { xml: fresh(sample('pacs.008.001.08-cbpr-single.xml'), tag) });
    assert.equal(answer.status, 202, answer.text);
    return answer.json().transaction_id as string;
  }

  const view = async (id: string) => (await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json();
  const recover = async (body: Record<string, unknown>) => {
    const answer = await api(e.url, admin, 'POST', '/v1/admin/recovery', { json: body });
    assert.equal(answer.status, 200, answer.text);
    return answer.json() as { examined: number; redriven: string[]; cancelled: string[]; skipped: Array<{ transaction_id: string; reason: string }>; next_cursor: string | null; dry_run: boolean };
  };

  let cancelledIds: string[] = [];
  let redrivenIds: string[] = [];

  test('a dry run says what a cancel would do and changes nothing; the cancel makes them CANC with a report', async () => {
    cancelledIds = [await submit('rc1'), await submit('rc2')];
    const quietNone = await recover({ action: 'cancel', quiet_s: 3600 });
    assert.equal(quietNone.examined, 0, 'payments that changed in the last hour are left alone');

    const dry = await recover({ action: 'cancel', quiet_s: 0, dry_run: true });
    assert.equal(dry.dry_run, true);
    assert.deepEqual([...dry.cancelled].sort(), [...cancelledIds].sort());
    for (const id of cancelledIds) assert.equal((await view(id)).status, 'ACTC');

    const paged = await recover({ action: 'cancel', quiet_s: 0, limit: 1 });
    assert.equal(paged.cancelled.length, 1);
    assert.notEqual(paged.next_cursor, null);
    const rest = await recover({ action: 'cancel', quiet_s: 0, limit: 1, cursor: paged.next_cursor });
    assert.deepEqual([...paged.cancelled, ...rest.cancelled].sort(), [...cancelledIds].sort());

    for (const id of cancelledIds) {
      const v = await view(id);
      assert.equal(v.status, 'CANC');
      const payments = v.payments as Array<{ status: string; reason_code: string | null }>;
      assert.deepEqual(payments.map((p) => [p.status, p.reason_code]), [['CANC', 'NARR']]);
      const report = await awaitReport(e.url, token, id);
      assert.deepEqual(schemaFindings(report.text), []);
      assert.match(report.text, /<TxSts>CANC<\/TxSts>/);
    }
  });

  test('a redrive hands payments to processing again, whether their stage message survived or was lost', async () => {
    const lost = [await submit('rd1'), await submit('rd2')];
    // Their stage messages are lost; the next payment's survives (submitted after the purge).
    for (let i = 0; i < 50 && (await purgeProcessing()) === 0; i += 1) await new Promise((r) => setTimeout(r, 100));
    const kept = await submit('rd3');
    redrivenIds = [...lost, kept];
    const result = await recover({ action: 'redrive', quiet_s: 0 });
    for (const id of redrivenIds) assert.ok(result.redriven.includes(id), `${id} redriven`);
    assert.deepEqual(result.cancelled, []);
  });

  async function purgeProcessing(): Promise<number> {
    const answer = await api(e.url, admin, 'POST', '/v1/queues/mx.processing.fifo/purge');
    assert.equal(answer.status, 200, answer.text);
    return (answer.json().purged as number | undefined) ?? 0;
  }

  test('mxgate recover pages through the call from a shell', async () => {
    const cli = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        execFile(process.execPath, ['--import', 'tsx', join('src', 'cli', 'main.ts'), 'recover', '--url', e.url, '--token', admin, ...args], { cwd: resolve(import.meta.dirname, '..', '..'), env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 }, (error, stdout, stderr) =>
          done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
        );
      });
    // The payments just redriven are still in flight (no worker has taken them): a dry run would cancel them.
    const dry = await cli(['--cancel', '--quiet-s', '0', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, '3 transaction(s) in flight: 0 would be redriven, 3 would be cancelled, 0 skipped\n');
    for (const id of redrivenIds) assert.equal((await view(id)).status, 'ACTC');
    const both = await cli(['--redrive', '--cancel']);
    assert.equal(both.code, 2, 'a usage error');
    assert.match(both.stderr, /choose one: --redrive or --cancel/);
  });

  test('with workers, each payment ends once: the redriven complete, the cancelled stay cancelled', async () => {
    await e.startWorkers();
    for (const id of redrivenIds) await awaitReport(e.url, token, id);
    for (const id of redrivenIds) assert.equal((await view(id)).status, 'ACSC');
    for (const id of cancelledIds) {
      const history = ((await view(id)).history as Array<{ status: string }>).map((h) => h.status).filter((s) => s !== 'RCVD');
      assert.deepEqual(history, ['ACTC', 'CANC']);
    }
    // Exactly one report per transaction in the participant queue.
    const reports = new Map<string, number>();
    for (const until = Date.now() + 15_000; Date.now() < until; ) {
      const messages = (await api(e.url, token, 'GET', `/v1/queues/participant.${clientId}/messages?max=10&wait_s=1`)).json().messages as Array<{ receipt_handle: string; attributes: Record<string, string> }>;
      if (messages.length === 0 && [...cancelledIds, ...redrivenIds].every((id) => reports.has(id))) break;
      for (const m of messages) reports.set(m.attributes.transaction_id!, (reports.get(m.attributes.transaction_id!) ?? 0) + 1);
      if (messages.length > 0) await api(e.url, token, 'POST', `/v1/queues/participant.${clientId}/messages/delete`, { json: { receipt_handles: messages.map((m) => m.receipt_handle) } });
    }
    for (const id of [...cancelledIds, ...redrivenIds]) assert.equal(reports.get(id), 1, `one report for ${id}`);
    const after = await recover({ action: 'redrive', quiet_s: 0 });
    assert.equal(after.examined, 0, 'nothing is in flight any more');
  });

  test('for operators only, with a cursor of its own', async () => {
    const denied = await api(e.url, token, 'POST', '/v1/admin/recovery', { json: { action: 'redrive' } });
    assert.equal(denied.status, 403);
    const bad = await api(e.url, admin, 'POST', '/v1/admin/recovery', { json: { action: 'redrive', cursor: 'not-a-cursor' } });
    assert.equal(bad.status, 400, bad.text);
    assert.equal((bad.json().error as { code: string }).code, 'INVALID_ATTRIBUTE');
    const unknown = await api(e.url, admin, 'POST', '/v1/admin/recovery', { json: { action: 'delete' } });
    assert.equal(unknown.status, 400);
  });

});
