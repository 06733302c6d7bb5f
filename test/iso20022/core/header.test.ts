import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import {
  buildAnswerHeader,
  buildAppHeader,
  buildPacs002,
  parseMessage,
  serializeXml,
  wrapMessage,
} from '../../../src/iso20022/index.js';
import { sampleFiles, sharedIso20022 } from '../../helpers/shared.js';
import { sharedSchemaValidator } from './xsd-helper.js';

const validator = sharedSchemaValidator();
after(() => validator.dispose());

test('an answer header swaps From and To, names the answer and points at the original, in every head.001 version', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const wrapped = sampleFiles('').filter((f) => /pacs\.00[489].*(envelope|cbpr)/.test(f));
  assert.ok(wrapped.length >= 4);
  for (const file of wrapped) {
    const original = parseMessage(readFileSync(file));
    const report = buildPacs002(original, { msgId: 'STS-1', creDtTm: '2026-07-02T10:30:00Z', transactionStatus: 'ACSC' });
    const header = buildAnswerHeader(original, report, { bizMsgIdr: 'BIZ-STS-1', creDt: '2026-07-02T10:30:00Z' })!;
    const xml = serializeXml(wrapMessage(header, report));
    assert.deepEqual(validator.validate(xml), [], file);
    const back = parseMessage(xml);
    assert.equal(back.header?.msgDefIdr, report.id.id);
    assert.deepEqual(back.header?.from, original.header?.to, file);
    assert.deepEqual(back.header?.to, original.header?.from, file);
    assert.equal(back.header?.related?.bizMsgIdr, original.header?.bizMsgIdr);
    assert.deepEqual(back.findings, []);
  }
});

test('a new header is valid in every head.001 version', (t) => {
  if (sharedIso20022(t) === undefined) return;
  for (const version of ['001.01', '001.02', '001.03', '001.04']) {
    const header = buildAppHeader({
      version,
      from: { bicfi: 'BANKDEFFXXX' },
      to: { clearingSystem: 'USABA', memberId: '021040078' },
      bizMsgIdr: 'B-1',
      msgDefIdr: 'pacs.008.001.08',
      creDt: '2026-07-02T10:30:00Z',
      bizSvc: 'swift.cbprplus.02',
    });
    assert.deepEqual(validator.validate(serializeXml(header.appHdr)), [], version);
  }
});
