import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { XmlPool } from '../../src/pipeline/xml-pool.js';
import { hasTree, readSubmission, PAYMENT_FAMILIES } from '../../src/pipeline/submission.js';
import { builtinAndProfileFindings } from '../../src/pipeline/xml-work.js';
import { buildReport, type Outcome } from '../../src/pipeline/report.js';
import { parseMessage } from '../../src/iso20022/index.js';
import { MxError, isMxError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { sampleFiles, sharedIso20022 } from '../helpers/shared.js';

const paymentSamples = () =>
  [...sampleFiles(''), ...sampleFiles('invalid-builtin'), ...sampleFiles('invalid-rules')].filter((f) => Object.keys(PAYMENT_FAMILIES).some((family) => basename(f).startsWith(`${family}.`)));

test('a submission read on an XML worker equals the one read on the event loop; its tree is parsed only when asked for', async (t) => {
  if (!sharedIso20022(t)) return;
  const pool = new XmlPool({ size: 2, logger: silentLogger() });
  try {
    const files = paymentSamples();
    assert.ok(files.length >= 10, `${files.length} payment samples`);
    for (const file of files) {
      const bytes = readFileSync(file);
      const inline = readSubmission(bytes);
      const pooled = await pool.read(bytes, null);
      assert.equal(hasTree(pooled), false, file);
      for (const key of ['xml', 'role', 'messageType', 'family', 'msgId', 'payments', 'keys', 'contentHash', 'deadlineAt', 'model'] as const) {
        assert.deepEqual(pooled[key], inline[key], `${basename(file)}: ${key}`);
      }
      assert.deepEqual(pooled.findings, { clientProfile: null, findings: builtinAndProfileFindings(inline.message, null) }, basename(file));
      assert.deepEqual(pooled.message, inline.message, basename(file));
      assert.equal(hasTree(pooled), true);
    }
  } finally {
    await pool.close();
  }
});

test('an XML worker throws what the event loop would: the same code and message', async () => {
  const pool = new XmlPool({ size: 1, logger: silentLogger() });
  try {
    for (const input of ['not xml at all', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', Buffer.from([0x3c, 0x61, 0xff, 0x3e]), '<Document xmlns="urn:example"/>']) {
      let expected: unknown;
      try {
        readSubmission(input);
      } catch (error) {
        expected = error;
      }
      assert.ok(isMxError(expected), `the event loop refuses ${String(input)}`);
      await assert.rejects(pool.read(input, null), (error: unknown) => isMxError(error) && error.code === expected.code && error.message === expected.message);
    }
  } finally {
    await pool.close();
  }
});

test('a status report built on an XML worker equals the one built from the tree, whether the worker kept the tree or not', async (t) => {
  if (!sharedIso20022(t)) return;
  const pool = new XmlPool({ size: 2, logger: silentLogger() });
  try {
    for (const file of sampleFiles('').filter((f) => /^(pacs\.008|pacs\.004|pain\.001|camt\.056)\./.test(basename(f)))) {
      const xml = readFileSync(file, 'utf8');
      const { payments } = readSubmission(xml);
      const outcome: Outcome = {
        status: 'PART',
        reasonCode: null,
        reasonText: null,
        payments: payments.map((p) => ({ index: p.index, status: p.index === 0 ? 'RJCT' : 'ACSC', reasonCode: p.index === 0 ? 'AM05' : null, reasonText: p.index === 0 ? 'duplicate' : null })),
      };
      const ids = { msgId: 'MXGREPORT1', now: Date.UTC(2026, 11, 1, 12) };
      const expected = buildReport(parseMessage(xml), outcome, ids);
      // Read on a worker (which keeps the tree), then read here (the worker has only the XML).
      assert.deepEqual(await pool.report(await pool.read(xml, null), outcome, ids), expected, basename(file));
      assert.deepEqual(await pool.report(readSubmission(xml), outcome, ids), expected, basename(file));
    }
  } finally {
    await pool.close();
  }
});

test('a closed pool refuses work, and requests in hand at the close are refused too', async () => {
  const pool = new XmlPool({ size: 1, logger: silentLogger() });
  const inHand = pool.read('<x/>', null).catch((error: unknown) => error);
  await pool.close();
  const early = await inHand;
  assert.ok(isMxError(early), 'the request in hand settles');
  await assert.rejects(pool.read('<x/>', null), (error: unknown) => error instanceof MxError && error.code === 'SHUTTING_DOWN');
});

test('an idle pool does not keep the process alive', () => {
  const pool = pathToFileURL(join(import.meta.dirname, '..', '..', 'src', 'pipeline', 'xml-pool.ts')).href;
  const log = pathToFileURL(join(import.meta.dirname, '..', '..', 'src', 'log.ts')).href;
  const script = `
    const { XmlPool } = await import(${JSON.stringify(pool)});
    const { silentLogger } = await import(${JSON.stringify(log)});
    const pool = new XmlPool({ size: 2, logger: silentLogger() });
    const refused = await pool.read('<x/>', null).catch((error) => error.code);
    console.log(refused);`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(child.error, undefined, 'the process ended by itself');
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'MESSAGE_UNSUPPORTED');
});
