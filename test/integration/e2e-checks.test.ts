/**
 * The processing stage's checks in the running hub, on each engine: sanctions (RR04), amount limits (AM02), the
 * business calendar (DT01) and an operator's plug-in, each configured and answered with a status report.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, awaitReport, describeOnEngines, e2eEngines, fresh, sample, schemaFindings, startE2eHub, type E2eHub } from '../helpers/e2e.js';

describeOnEngines(await e2eEngines(), 'checks in the workflow', (engine) => {
  let e: E2eHub;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mxgate-checks-'));
    const list = join(dir, 'sanctions.txt');
    writeFileSync(list, '# test list\nBIC:SANCTDE1\n');
    // A check of the operator's own: holds payments of one amount (checks.plugins).
    const plugin = join(dir, 'hold.mjs');
    writeFileSync(
      plugin,
      `export function createCheck({ options }) {
        return { name: 'hold', run: ({ submission }) => submission.payments.filter((p) => p.amount === options.amount)
          .map((p) => ({ index: p.index, code: 'AM09', text: 'amount held for review' })) };
      }\n`,
    );
    const checks = {
      plugins: [{ module: plugin, options: { amount: '4242.42' } }],
      order: ['hold'],
      sanctions: { file: list },
      limits: { EUR: '1000000' },
      calendar: { timeZone: 'Europe/Berlin', businessDays: ['MON', 'TUE', 'WED', 'THU', 'FRI'] },
    };
    e = await startE2eHub({ checks }, { engine });
  });
  after(async () => {
    await e.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const outcome = async (xml: string) => {
    const { token } = await e.token();
    const res = await api(e.url, token, 'POST', '/v1/messages', { xml });
    assert.equal(res.status, 202, res.text);
    const id = res.json().transaction_id as string;
    const out = await awaitReport(e.url, token, id);
    assert.deepEqual(schemaFindings(out.text), []);
    return { ...(await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json(), report: out.text } as Record<string, unknown>;
  };

  // A Monday in the future, so that the calendar accepts it.
  const monday = (() => {
    const d = new Date(Date.now() + 14 * 86_400_000);
    while (d.getUTCDay() !== 1) d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  })();
  const base = () => fresh(sample('pacs.008.001.08-cbpr-single.xml'), `c${Math.random().toString(36).slice(2, 8)}`).replace(/(IntrBkSttlmDt>)[^<]+</, `$1${monday}<`);

  test('a payment within every check completes', async () => {
    const view = await outcome(base().replace(/(IntrBkSttlmAmt Ccy="EUR">)750000</, '$1999999.99<').replace(/(InstdAmt Ccy="EUR">)750000</, '$1999999.99<'));
    assert.equal(view.status, 'ACSC', String(view.reason_text));
  });

  test('an amount above the limit is rejected with AM02', async () => {
    const view = await outcome(base().replace(/(IntrBkSttlmAmt Ccy="EUR">)750000</, '$11000000.01<').replace(/(InstdAmt Ccy="EUR">)750000</, '$11000000.01<'));
    assert.equal(view.status, 'RJCT');
    assert.equal(view.reason_code, 'AM02');
  });

  test('a listed BIC is rejected with RR04', async () => {
    const xml = base().replace(/(<(?:\w+:)?CdtrAgt>\s*<(?:\w+:)?FinInstnId>\s*<(?:\w+:)?BICFI>)[^<]+</, '$1SANCTDE1XXX<');
    assert.ok(xml.includes('SANCTDE1XXX'));
    const view = await outcome(xml);
    assert.equal(view.status, 'RJCT');
    assert.equal(view.reason_code, 'RR04');
    // Tipping off: neither the API nor the status report says which list entry matched, or that a list did.
    assert.doesNotMatch(String(view.reason_text), /sanction|SANCTDE1|line \d/i);
    assert.doesNotMatch(String(view.report), /sanction|list line/i);
  });

  test("a check of the operator's own (checks.plugins) rejects with its code, first as checks.order says", async () => {
    const held = (xml: string) => xml.replace(/(IntrBkSttlmAmt Ccy="EUR">)[^<]+</, '$14242.42<').replace(/(InstdAmt Ccy="EUR">)[^<]+</, '$14242.42<');
    const view = await outcome(held(base()));
    assert.equal(view.status, 'RJCT');
    assert.equal(view.reason_code, 'AM09');
    assert.equal(view.reason_text, 'amount held for review');
    const sanctioned = await outcome(held(base()).replace(/(<(?:\w+:)?CdtrAgt>\s*<(?:\w+:)?FinInstnId>\s*<(?:\w+:)?BICFI>)[^<]+</, '$1SANCTDE1XXX<'));
    assert.equal(sanctioned.reason_code, 'AM09', 'the plug-in runs before screening here');
    assert.equal((await outcome(base())).status, 'ACSC', 'other amounts pass');
  });

  test('a settlement date on a weekend is rejected with DT01', async () => {
    const saturday = new Date(Date.parse(`${monday}T00:00:00Z`) + 5 * 86_400_000).toISOString().slice(0, 10);
    const view = await outcome(base().replace(/(IntrBkSttlmDt>)[^<]+</, `$1${saturday}<`));
    assert.equal(view.status, 'RJCT');
    assert.equal(view.reason_code, 'DT01');
  });
});
