import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MxError } from '../../../src/errors.js';
import { limitsCheck, toMinorLimits, type ClientSettings } from '../../../src/pipeline/checks/limits.js';
import { context, pacs008, pain001 } from './messages.js';

const limits = (amounts: Record<string, string>) => toMinorLimits(amounts, 'checks.limits', 'CONFIG_INVALID');

const check = (options: { payment?: Record<string, string>; message?: Record<string, string>; settings?: Record<string, ClientSettings | null> }) =>
  limitsCheck({
    payment: limits(options.payment ?? {}),
    message: limits(options.message ?? {}),
    clientSettings: options.settings === undefined ? undefined : async (clientId) => options.settings![clientId] ?? null,
  });

describe('amount limits', () => {
  test('limits convert to minor units with the ISO 4217 exponent; a bad currency or precision is CONFIG_INVALID', () => {
    assert.deepEqual([...limits({ EUR: '1000', JPY: '5000', BHD: '1.5' })], [['EUR', 100000n], ['JPY', 5000n], ['BHD', 1500n]]);
    const isConfigInvalid = (error: unknown) => error instanceof MxError && error.code === 'CONFIG_INVALID';
    assert.throws(() => limits({ JPY: '100.5' }), isConfigInvalid);
    assert.throws(() => limits({ XXX: '1' }), isConfigInvalid);
  });

  test('a payment at the limit passes, one minor unit above is AM02 for that payment only', async () => {
    const c = check({ payment: { EUR: '1000.00' } });
    const xml = pacs008([{ amount: '1000.00' }, { amount: '1000.01' }, { amount: '999999999', currency: 'USD' }]);
    const out = await c.run(context(xml));
    assert.equal(out.length, 1);
    assert.deepEqual({ ...out[0] }, {
      index: 1,
      code: 'AM02',
      text: 'amount 1000.01 EUR is above the limit of 1000.00 EUR per payment',
      check: 'limits',
    });
  });

  test('amounts beyond the precision of a JS number are compared exactly', async () => {
    const c = check({ payment: { EUR: '90071992547409.91' } });
    assert.deepEqual(await c.run(context(pacs008([{ amount: '90071992547409.91' }]))), []);
    assert.equal((await c.run(context(pacs008([{ amount: '90071992547409.92' }])))).length, 1);
  });

  test('per-client settings override the configured limit per currency, other currencies keep theirs', async () => {
    const c = check({
      payment: { EUR: '100', USD: '100' },
      settings: { big: { limits: { EUR: '10000' } }, small: { limits: { EUR: '10' } }, plain: { other: 1 } },
    });
    const xml = pacs008([{ amount: '500', currency: 'EUR' }, { amount: '500', currency: 'USD' }]);
    assert.deepEqual((await c.run(context(xml, { clientId: 'big' }))).map((r) => r.index), [1]);
    assert.deepEqual((await c.run(context(xml, { clientId: 'plain' }))).map((r) => r.index), [0, 1]);
    assert.deepEqual((await c.run(context(xml, { clientId: 'unknown' }))).map((r) => r.index), [0, 1]);
    const small = await c.run(context(pacs008([{ amount: '50' }]), { clientId: 'small' }));
    assert.match(small[0]!.text, /above the limit of 10\.00 EUR/);
  });

  test('a client limit applies even when the configuration sets none', async () => {
    const c = check({ settings: { capped: { limits: { GBP: '1' } } } });
    assert.equal((await c.run(context(pacs008([{ amount: '2', currency: 'GBP' }]), { clientId: 'capped' }))).length, 1);
    assert.deepEqual(await c.run(context(pacs008([{ amount: '2', currency: 'GBP' }]), { clientId: 'other' })), []);
  });

  test('a malformed client setting is an INVALID_ATTRIBUTE error, never a silent pass', async () => {
    for (const bad of [{ limits: { EUR: 1000 } }, { limits: { eur: '1' } }, { limits: { JPY: '1.5' } }, { messageLimits: '100' }]) {
      const c = check({ settings: { c: bad } });
      await assert.rejects(
        async () => c.run(context(pacs008([{}]), { clientId: 'c' })),
        (error: unknown) => error instanceof MxError && error.code === 'INVALID_ATTRIBUTE',
        JSON.stringify(bad),
      );
    }
  });

  test('the message total per currency above messageLimits is AM02 for the whole message', async () => {
    const c = check({ message: { EUR: '250' } });
    const ok = pacs008([{ amount: '100' }, { amount: '150' }, { amount: '900', currency: 'USD' }]);
    assert.deepEqual(await c.run(context(ok)), []);
    const over = await c.run(context(pacs008([{ amount: '100' }, { amount: '150.01' }])));
    assert.deepEqual(over.map((r) => [r.index, r.code]), [[null, 'AM02']]);
    assert.match(over[0]!.text, /message total 250\.01 EUR is above the limit of 250\.00 EUR per message/);
    const client = check({ message: { EUR: '250' }, settings: { c: { messageLimits: { EUR: '1000' } } } });
    assert.deepEqual(await client.run(context(pacs008([{ amount: '100' }, { amount: '150.01' }]), { clientId: 'c' })), []);
  });

  test('pain.001 payments are limited by their instructed amount, indexed across payment information blocks', async () => {
    const c = check({ payment: { EUR: '100' } });
    const xml = pain001([{ txs: [{ amount: '50' }] }, { txs: [{ amount: '100' }, { amount: '100.5' }] }]);
    assert.deepEqual((await c.run(context(xml))).map((r) => r.index), [2]);
  });

  test('a malformed amount is left to validation', async () => {
    const c = check({ payment: { EUR: '100' } });
    assert.deepEqual(await c.run(context(pacs008([{ amount: '100.001' }]))), []);
  });
});
