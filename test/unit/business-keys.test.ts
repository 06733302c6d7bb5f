/**
 * The business keys a submission claims (duplicate detection per sender), read from the reference samples: a
 * payment's own ids, and for a return or a cancellation request only its own ids, never those it quotes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSubmission } from '../../src/pipeline/submission.js';
import { sample } from '../helpers/e2e.js';
import { sharedIso20022Available } from '../helpers/shared.js';

const skip = !sharedIso20022Available() && process.env.CI !== 'true' ? 'ISO 20022 reference material not found at ../shared/iso20022' : false;

test('a credit transfer claims its message id and each payment\'s end-to-end id, transaction id and UETR', { skip }, () => {
  const s = readSubmission(sample('pacs.008.001.08-cbpr-single.xml'));
  const p = s.payments[0]!;
  assert.ok(p.endToEndId !== null && p.uetr !== null);
  const expected = [`msg_id=${s.msgId}`, `end_to_end_id=pacs.008|${p.endToEndId}`, `uetr=pacs.008|${p.uetr}`];
  if (p.txId !== null) expected.push(`tx_id=pacs.008|${p.txId}`);
  assert.deepEqual(s.keys.map((k) => `${k.kind}=${k.value}`).sort(), expected.sort());
});

test('a cancellation request and a return claim their own ids only: a second one for the same payment is no duplicate', { skip }, () => {
  for (const file of ['camt.056.001.08-fednow-dupl.xml', 'pacs.004.001.09-cbpr-ac04.xml']) {
    const s = readSubmission(sample(file));
    const quoted = s.payments.flatMap((p) => [p.endToEndId, p.uetr]).filter((v) => v !== null);
    assert.ok(quoted.length > 0, `${file} quotes its original's ids`);
    for (const key of s.keys) {
      assert.ok(key.kind === 'msg_id' || key.kind === 'tx_id', `${file}: ${key.kind} ${key.value}`);
      assert.ok(!quoted.some((q) => key.value.endsWith(`|${q}`)), `${file}: no key of a quoted id (${key.value})`);
    }
    assert.ok(s.keys.some((k) => k.kind === 'msg_id'), `${file}: its message id is claimed`);
  }
});
