/**
 * Back-pressure over HTTP: while more payments wait for processing than workflow.backlogMax, a new payment is
 * answered 503 OVERLOADED with Retry-After and nothing is stored; once workers take the backlog, payments are
 * accepted again. The hub here serves only the API at first (no stage consumers), so the backlog stays put.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, fresh, sample, startE2eHub } from '../helpers/e2e.js';
import { sharedIso20022Available } from '../helpers/shared.js';

const skip = !sharedIso20022Available() && process.env.CI !== 'true' ? 'ISO 20022 reference material not found at ../shared/iso20022' : false;
const LIMIT = 5;

test('new payments are refused with 503 OVERLOADED while the backlog is at workflow.backlogMax, and accepted again once it shrinks', { skip }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mxgate-admission-'));
  const template = sample('pacs.008.001.08-cbpr-single.xml');
  const overrides = { workflow: { backlogMax: LIMIT } };
  try {
    const apiOnly = await startE2eHub(overrides, { dataDir, keepData: true, role: 'api' });
    const { token } = await apiOnly.token();
    const accepted: string[] = [];
    let refused: Awaited<ReturnType<typeof api>> | null = null;
    // The limit is judged on the last background probe (every 250 ms), so a few more than the limit may pass.
    for (let n = 0; n < 200 && refused === null; n++) {
      const res = await api(apiOnly.url, token, 'POST', '/v1/messages', { xml: fresh(template, `adm${n}`) });
      if (res.status === 202) accepted.push(res.json().transaction_id as string);
      else refused = res;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(refused, 'a payment was refused');
    assert.equal(refused.status, 503, refused.text);
    assert.equal((refused.json().error as { code: string }).code, 'OVERLOADED');
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.ok(accepted.length >= LIMIT && accepted.length <= LIMIT + 20, `accepted ${accepted.length} before refusing`);
    const listed = await api(apiOnly.url, token, 'GET', '/v1/transactions?limit=100');
    assert.equal((listed.json().transactions as unknown[]).length, accepted.length, 'a refused payment stores nothing');
    await apiOnly.close();

    // Workers take the backlog; the same client is accepted again.
    const whole = await startE2eHub(overrides, { dataDir, keepData: true, role: 'all' });
    try {
      const deadline = Date.now() + 20_000;
      let status = 0;
      for (let n = 0; status !== 202 && Date.now() < deadline; n++) {
        status = (await api(whole.url, token, 'POST', '/v1/messages', { xml: fresh(template, `again${n}`) })).status;
        if (status !== 202) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(status, 202, 'accepted again once the backlog shrank');
      for (const id of accepted) {
        const deadlineOne = Date.now() + 15_000;
        let view: Record<string, unknown> = {};
        while (Date.now() < deadlineOne) {
          view = (await api(whole.url, token, 'GET', `/v1/transactions/${id}`)).json();
          if (view.status === 'ACSC') break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.equal(view.status, 'ACSC', `backlogged payment ${id} completed`);
      }
    } finally {
      await whole.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
