import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { formatInspection, inspectBytes } from '../../../src/cli/inspect.js';
import { sampleFiles, sharedIso20022 } from '../../helpers/shared.js';

test('inspect shows type, version, header, ids, amounts and parties', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const file = sampleFiles('').find((f) => f.includes('pacs.008.001.08-fednow-envelope'))!;
  const inspection = inspectBytes('msg.xml', readFileSync(file));
  assert.equal(inspection.message, 'pacs.008.001.08');
  assert.equal(inspection.headerId, 'head.001.001.02');
  const text = formatInspection(inspection);
  for (const expected of ['message: pacs.008.001.08', 'bizMsgIdr: B20260702FIXTURE00000000000001', 'amount: 1250.00 USD',
    'endToEndId: E2E-20260702-0001', 'name: Jane Example Debtor', 'memberId: 021040078']) {
    assert.ok(text.includes(expected), `missing "${expected}" in\n${text}`);
  }
  const json = JSON.parse(JSON.stringify(inspection)) as { model: { transactions: Array<{ amount: { value: string } }> } };
  assert.equal(json.model.transactions[0]!.amount.value, '1250.00');
});

test('inspect works on every valid sample', (t) => {
  if (sharedIso20022(t) === undefined) return;
  for (const file of sampleFiles('')) {
    const text = formatInspection(inspectBytes(file, readFileSync(file)));
    assert.match(text, /message: [a-z]{4}\.\d{3}\.\d{3}\.\d{2}/, file);
  }
});
