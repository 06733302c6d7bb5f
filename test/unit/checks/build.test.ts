import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config/index.js';
import { MxError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { runChecks } from '../../../src/pipeline/checks.js';
import { buildChecks } from '../../../src/pipeline/checks/index.js';
import { context, pacs008 } from './messages.js';

const checksConfig = (checks: Record<string, unknown> = {}) => loadConfig({ env: {}, overrides: { checks } }).checks;

test('with the default configuration no check runs', async () => {
  const built = buildChecks(checksConfig(), { logger: silentLogger() });
  assert.deepEqual(built.checks, []);
  assert.equal(built.sanctions, null);
  built.close();
});

test('with client settings the limits check runs even without configured limits', () => {
  const built = buildChecks(checksConfig(), { logger: silentLogger(), clientSettings: async () => null });
  assert.deepEqual(built.checks.map((c) => c.name), ['limits']);
});

test('every check configured: sanctions, limits, calendar in that order; the first rejection of a payment is the sanctions one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-checks-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'list.txt');
  writeFileSync(file, '# list\nNAME:Acme Trading\n');
  const built = buildChecks(
    checksConfig({
      sanctions: { file, reloadIntervalMs: 1000 },
      limits: { EUR: '1000' },
      calendar: { timeZone: 'Europe/Berlin', cutoff: '16:00' },
    }),
    { logger: silentLogger(), clientSettings: async (id) => (id === 'vip' ? { limits: { EUR: '1000000' } } : null) },
  );
  t.after(() => built.close());
  assert.deepEqual(built.checks.map((c) => c.name), ['sanctions', 'limits', 'calendar']);
  assert.equal(built.sanctions?.current().size, 1);

  const xml = pacs008([
    { amount: '5000', settlementDate: '2026-01-05', creditor: { name: 'ACME trading' } },
    { amount: '5000', settlementDate: '2026-01-05' },
    { amount: '10', settlementDate: '2026-01-04' },
    { amount: '10', settlementDate: '2026-01-05' },
  ]);
  const out = await runChecks(built.checks, context(xml, { now: Date.parse('2026-01-05T09:00:00Z') }));
  assert.deepEqual(out.map((r) => [r.index, r.code]), [[0, 'RR04'], [0, 'AM02'], [1, 'AM02'], [2, 'DT01']]);
  const vip = await runChecks(built.checks, context(xml, { clientId: 'vip', now: Date.parse('2026-01-05T09:00:00Z') }));
  assert.deepEqual(vip.map((r) => [r.index, r.code]), [[0, 'RR04'], [2, 'DT01']]);
});

test('configuration the schema cannot judge alone is CONFIG_INVALID at build time', () => {
  const isConfigInvalid = (error: unknown) => error instanceof MxError && error.code === 'CONFIG_INVALID';
  const build = (checks: Record<string, unknown>) => buildChecks(checksConfig(checks), { logger: silentLogger() });
  assert.throws(() => build({ limits: { JPY: '10.5' } }), isConfigInvalid);
  assert.throws(() => build({ messageLimits: { ABC: '10' } }), isConfigInvalid);
  assert.throws(() => build({ calendar: { timeZone: 'Not/AZone' } }), isConfigInvalid);
  assert.throws(() => build({ sanctions: { file: join(tmpdir(), 'mxgate-no-such-list.txt') } }), isConfigInvalid);
  // And the schema itself refuses numbers for amounts and out-of-bounds intervals.
  assert.throws(() => checksConfig({ limits: { EUR: 1000 } }), isConfigInvalid);
  assert.throws(() => checksConfig({ limits: { EUR: '1e6' } }), isConfigInvalid);
  assert.throws(() => checksConfig({ sanctions: { reloadIntervalMs: 10 } }), isConfigInvalid);
});
