/**
 * Checks of the operator's own (checks.plugins): real ES modules written to a temporary directory, loaded the way
 * the hub loads them at start, ordered with the built-in checks, and held to what a status report may carry.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { MxError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { runChecks } from '../../../src/pipeline/checks.js';
import { BUILTIN_CHECKS, buildChecks, loadCheckPlugins } from '../../../src/pipeline/checks/index.js';
import { context, pacs008 } from './messages.js';
import { sample } from '../../helpers/e2e.js';
import { sharedIso20022Available } from '../../helpers/shared.js';

const isConfigInvalid = (error: unknown) => error instanceof MxError && error.code === 'CONFIG_INVALID';
const checksConfig = (checks: Record<string, unknown> = {}) => loadConfig({ env: {}, overrides: { checks } }).checks;

/** A plug-in that holds payments of one amount (its options) with AM09; `rejection` replaces what it returns. */
const HOLD = `
export async function createCheck({ options }) {
  return {
    name: options.name ?? 'hold',
    run({ submission }) {
      if (options.rejection) return [options.rejection];
      return submission.payments
        .filter((p) => p.amount === options.amount)
        .map((p) => ({ index: p.index, code: 'AM09', text: 'amount held for review', detail: 'held amount ' + p.amount }));
    },
  };
}
`;

describe('check plug-ins', () => {
  let dir: string;
  let hold: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mxgate-plugins-'));
    hold = join(dir, 'hold.mjs');
    writeFileSync(hold, HOLD);
    writeFileSync(join(dir, 'nothing.mjs'), 'export const other = 1;\n');
    writeFileSync(join(dir, 'throws.mjs'), 'export function createCheck() { throw new Error("no licence key"); }\n');
    writeFileSync(join(dir, 'no-run.mjs'), 'export function createCheck() { return { name: "broken" }; }\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a plug-in gets its options, runs with the built-in checks and names itself in its rejections', async () => {
    const plugins = await loadCheckPlugins([{ module: hold, options: { amount: '250.00' } }], silentLogger(), BUILTIN_CHECKS);
    const built = buildChecks(checksConfig({ limits: { EUR: '1000' } }), { logger: silentLogger(), plugins });
    assert.deepEqual(built.checks.map((c) => c.name), ['limits', 'hold'], 'after the built-in checks by default');
    const xml = pacs008([{ amount: '250.00' }, { amount: '5000' }, { amount: '10' }]);
    const out = await runChecks(built.checks, context(xml));
    assert.deepEqual(out.map((r) => [r.check, r.index, r.code]), [['limits', 1, 'AM02'], ['hold', 0, 'AM09']]);
    assert.equal(out[1]!.text, 'amount held for review');
    assert.equal(out[1]!.detail, 'held amount 250.00');
  });

  test('checks.order puts a plug-in first; the checks it does not name keep their order', async () => {
    const plugins = await loadCheckPlugins([{ module: hold, options: { amount: '5000' } }], silentLogger(), BUILTIN_CHECKS);
    const built = buildChecks(checksConfig({ limits: { EUR: '1000' }, calendar: { timeZone: 'Europe/Berlin' }, order: ['hold'] }), { logger: silentLogger(), plugins });
    assert.deepEqual(built.checks.map((c) => c.name), ['hold', 'limits', 'calendar']);
    const out = await runChecks(built.checks, context(pacs008([{ amount: '5000', settlementDate: '2026-01-05' }]), { now: Date.parse('2026-01-05T09:00:00Z') }));
    assert.equal(out[0]?.code, 'AM09', 'the first rejection of the payment, the one it is rejected for, is the plug-in\'s');
  });

  test('a relative module path is taken from the working directory', async () => {
    const previous = process.cwd();
    process.chdir(dir);
    try {
      const [check] = await loadCheckPlugins([{ module: './hold.mjs', options: { amount: '1' } }], silentLogger(), BUILTIN_CHECKS);
      assert.equal(check?.name, 'hold');
    } finally {
      process.chdir(previous);
    }
  });

  test('a plug-in that cannot be loaded or built, or takes a taken name, stops the start with CONFIG_INVALID', async () => {
    const load = (module: string, options: Record<string, unknown> = {}) => loadCheckPlugins([{ module, options }], silentLogger(), BUILTIN_CHECKS);
    await assert.rejects(load(join(dir, 'missing.mjs')), isConfigInvalid);
    await assert.rejects(load(join(dir, 'nothing.mjs')), isConfigInvalid);
    await assert.rejects(load(join(dir, 'throws.mjs')), (e: unknown) => isConfigInvalid(e) && /no licence key/.test((e as Error).message));
    await assert.rejects(load(join(dir, 'no-run.mjs')), isConfigInvalid);
    await assert.rejects(load(hold, { name: 'limits' }), isConfigInvalid, 'a built-in check\'s name');
    await assert.rejects(load(hold, { name: 'Not A Name' }), isConfigInvalid);
    await assert.rejects(
      loadCheckPlugins([{ module: hold, options: {} }, { module: hold, options: {} }], silentLogger(), BUILTIN_CHECKS),
      isConfigInvalid,
      'two plug-ins of one name',
    );
    assert.throws(() => buildChecks(checksConfig({ order: ['screening'] }), { logger: silentLogger() }), isConfigInvalid, 'an unknown name in checks.order');
    assert.throws(() => buildChecks(checksConfig({ order: ['limits', 'limits'] }), { logger: silentLogger() }), isConfigInvalid);
    assert.deepEqual(buildChecks(checksConfig({ order: ['calendar'] }), { logger: silentLogger() }).checks, [], 'a built-in check that is off may be named');
  });

  test('a plug-in sees the payments the built-in checks see: never a cancellation request', { skip: !sharedIso20022Available() && process.env.CI !== 'true' }, async () => {
    const [check] = await loadCheckPlugins([{ module: hold, options: { rejection: { index: null, code: 'AM09', text: 'held' } } }], silentLogger(), BUILTIN_CHECKS);
    assert.equal((await runChecks([check!], context(pacs008([{ amount: '1' }])))).length, 1);
    assert.deepEqual(await runChecks([check!], context(sample('camt.056.001.08-fednow-dupl.xml'))), [], 'a camt.056 names the payments it would stop');
  });

  test('a rejection a status report could not carry fails the check instead of reaching the sender', async () => {
    const run = async (rejection: unknown) => {
      const [check] = await loadCheckPlugins([{ module: hold, options: { rejection } }], silentLogger(), BUILTIN_CHECKS);
      return runChecks([check!], context(pacs008([{ amount: '1' }])));
    };
    assert.deepEqual((await run({ index: 0, code: 'AM09', text: 'ok' })).map((r) => [r.index, r.code, r.check]), [[0, 'AM09', 'hold']]);
    assert.deepEqual((await run({ index: null, code: 'RR04', text: 'whole message' })).map((r) => r.index), [null]);
    await assert.rejects(run({ index: 0, code: 'bad', text: 'x' }), /four-character reason code/);
    await assert.rejects(run({ index: 3, code: 'AM09', text: 'x' }), /names payment 3 of 1/);
    await assert.rejects(run({ index: 0, code: 'AM09', text: 'x'.repeat(106) }), /at most 105/);
    await assert.rejects(run({ index: 0, code: 'AM09' }), /text/);
  });
});
