/**
 * Back-pressure over HTTP: while more payments wait for processing than workflow.backlogMax, a new payment is
 * answered 503 OVERLOADED with Retry-After and nothing is stored (an exact resend of one already taken is still
 * answered with its transaction); once workers take the backlog, payments are
 * accepted again. The hub here runs no stage workers at first, so the backlog stays put.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, describeOnEngines, e2eEngines, fresh, sample, startE2eHub } from '../helpers/e2e.js';

const LIMIT = 5;

describeOnEngines(await e2eEngines(), 'admission', (engine) => {
  test('new payments are refused with 503 OVERLOADED while the backlog is at workflow.backlogMax, and accepted again once it shrinks', async () => {
    const template = sample('pacs.008.001.08-cbpr-single.xml');
    // A deadline beyond the test: the backlog waits for the workers, not for the timeout sweeper.
    const e = await startE2eHub({ workflow: { backlogMax: LIMIT, slaMs: 120_000 } }, { engine, workers: false });
    try {
      const { token } = await e.token();
      const accepted: string[] = [];
      let firstXml = '';
      let refused: Awaited<ReturnType<typeof api>> | null = null;
      // The limit is judged on the last background probe (every 250 ms), so a few more than the limit may pass.
      for (let n = 0; n < 200 && refused === null; n++) {
        const xml = fresh(template, `adm${n}`);
        const res = await api(e.url, token, 'POST', '/v1/messages', { xml });
        if (res.status === 202) accepted.push(res.json().transaction_id as string);
        else refused = res;
        if (n === 0) firstXml = xml;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.ok(refused, 'a payment was refused');
      assert.equal(refused.status, 503, refused.text);
      assert.equal((refused.json().error as { code: string }).code, 'OVERLOADED');
      assert.equal(refused.headers.get('retry-after'), '1');
      assert.ok(accepted.length >= LIMIT && accepted.length <= LIMIT + 20, `accepted ${accepted.length} before refusing`);
      // A client that lost the answer to a payment it sent and sends it again learns it went in, overload or not.
      const resent = await api(e.url, token, 'POST', '/v1/messages', { xml: firstXml });
      assert.equal(resent.status, 200, resent.text);
      assert.equal(resent.json().transaction_id, accepted[0]);
      assert.equal(resent.json().duplicate, true);
      const listed = await api(e.url, token, 'GET', '/v1/transactions?limit=100');
      assert.equal((listed.json().transactions as unknown[]).length, accepted.length, 'a refused payment, or a resend, stores nothing');

      // Workers take the backlog; the same client is accepted again.
      await e.startWorkers();
      const deadline = Date.now() + 20_000;
      let status = 0;
      for (let n = 0; status !== 202 && Date.now() < deadline; n++) {
        status = (await api(e.url, token, 'POST', '/v1/messages', { xml: fresh(template, `again${n}`) })).status;
        if (status !== 202) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(status, 202, 'accepted again once the backlog shrank');
      for (const id of accepted) {
        const deadlineOne = Date.now() + 15_000;
        let view: Record<string, unknown> = {};
        while (Date.now() < deadlineOne) {
          view = (await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json();
          if (view.status === 'ACSC') break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.equal(view.status, 'ACSC', `backlogged payment ${id} completed`);
      }
    } finally {
      await e.close();
    }
  });
});
