import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { after, test } from 'node:test';
import { isMxError } from '../../../src/errors.js';
import {
  answerVersion,
  buildCamt029,
  buildPacs002,
  buildPacs004,
  buildPacs008,
  buildPain002,
  parseMessage,
  parseMessageId,
  readModel,
  toXml,
  type BuiltMessage,
  type CreditTransfer,
  type InvestigationResolution,
  type PaymentReturn,
  type SplitMessage,
  type StatusReport,
} from '../../../src/iso20022/index.js';
import { sampleFiles, sharedIso20022 } from '../../helpers/shared.js';
import { sharedSchemaValidator } from './xsd-helper.js';

const validator = sharedSchemaValidator();
after(() => validator.dispose());

const NOW = '2026-07-02T10:30:00Z';

function samples(pattern: RegExp): Array<[string, SplitMessage]> {
  return [...sampleFiles(''), ...sampleFiles('invalid-builtin'), ...sampleFiles('invalid-rules')]
    .filter((f) => pattern.test(basename(f)))
    .map((f) => [basename(f), parseMessage(readFileSync(f))]);
}

/** Serializes, checks the official XSD accepts it, and reads it back. */
function valid(name: string, built: BuiltMessage): SplitMessage {
  const xml = toXml(built, { indent: '  ' });
  assert.deepEqual(validator.validate(xml), [], `${name} -> ${built.id.id}\n${xml}`);
  return parseMessage(xml);
}

test('the XSD check used here rejects a built message with elements out of order', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const [, original] = samples(/^pacs\.008\.001\.08-fednow-envelope/)[0]!;
  const built = buildPacs002(original, { msgId: 'S1', creDtTm: NOW, transactionStatus: 'ACSC' });
  built.document.children[0]!.children.reverse();
  assert.notDeepEqual(validator.validate(toXml(built)), []);
});

test('pacs.002 from pacs.008, pacs.009 and pacs.004 is valid in the matching and in every configured version', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const originals = samples(/^pacs\.00[489]/);
  assert.ok(originals.length >= 10);
  for (const [name, original] of originals) {
    for (const version of [undefined, '001.10', '001.12', '001.14', '001.15']) {
      const built = buildPacs002(original, {
        msgId: 'STS-0001',
        creDtTm: NOW,
        version,
        groupStatus: 'RJCT',
        groupReasons: [{ code: 'FF01' }],
        transactionStatus: 'RJCT',
        transactionReasons: [{ code: 'AC04', additionalInfo: ['Account closed'] }],
        acceptanceDateTime: NOW,
      });
      const report = readModel(valid(name, built)) as StatusReport;
      const src = readModel(original);
      assert.equal(report.original.originalMsgNmId, original.documentId!.id);
      assert.equal(report.groupStatus, 'RJCT');
      assert.equal(report.transactions.length, src.family === 'pacs.004' ? src.transactions.length : (src as CreditTransfer).transactions.length);
      const tx = report.transactions[0]!;
      assert.equal(tx.status, 'RJCT');
      assert.equal(tx.reasons[0]?.code, 'AC04');
      if (src.family !== 'pacs.004') {
        const o = (src as CreditTransfer).transactions[0]!;
        assert.equal(tx.originalEndToEndId, o.endToEndId);
        assert.equal(tx.originalInstrId, o.instrId);
        assert.equal(tx.originalTxId, o.txId);
        assert.equal(tx.originalUetr, o.uetr);
      }
    }
  }
});

test('pacs.002 is built in the version of the original release unless configured', () => {
  const v = (id: string, family: string, configured?: string) => answerVersion(parseMessageId(id)!, family, configured).id;
  assert.equal(v('pacs.008.001.08', 'pacs.002'), 'pacs.002.001.10');
  assert.equal(v('pacs.008.001.10', 'pacs.002'), 'pacs.002.001.12');
  assert.equal(v('pacs.008.001.12', 'pacs.002'), 'pacs.002.001.14');
  assert.equal(v('pacs.008.001.13', 'pacs.002'), 'pacs.002.001.15');
  assert.equal(v('pacs.009.001.11', 'pacs.002'), 'pacs.002.001.14');
  assert.equal(v('pacs.004.001.10', 'pacs.002'), 'pacs.002.001.10');
  assert.equal(v('pain.001.001.03', 'pain.002'), 'pain.002.001.03');
  assert.equal(v('pacs.008.001.13', 'pacs.004'), 'pacs.004.001.13');
  assert.equal(v('pacs.008.001.08', 'pacs.002', '001.14'), 'pacs.002.001.14');
  assert.throws(() => v('pacs.008.001.08', 'pacs.002', '001.03'), (e: unknown) => isMxError(e) && e.code === 'MESSAGE_UNSUPPORTED');
});

test('a status for one transaction leaves the others out; a group status alone has no transactions', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const [name, original] = samples(/^pain\.001\.001\.03-multi-3tx/)[0]!;
  const one = readModel(valid(name, buildPacs002Like(original))) as StatusReport;
  assert.equal(one.paymentInfos.flatMap((p) => p.transactions).length, 1);
  assert.equal(one.paymentInfos.flatMap((p) => p.transactions)[0]!.reasons[0]!.code, 'AM04');
  const [n2, pacs] = samples(/^pacs\.008\.001\.08-cbpr-single/)[0]!;
  const group = readModel(valid(n2, buildPacs002(pacs, { msgId: 'S', creDtTm: NOW, groupStatus: 'ACCP' }))) as StatusReport;
  assert.equal(group.transactions.length, 0);
  assert.equal(group.groupStatus, 'ACCP');
});

function buildPacs002Like(original: SplitMessage): BuiltMessage {
  return buildPain002(original, { msgId: 'PST-1', creDtTm: '2026-07-02T10:30:00', transactions: [{ index: 1, status: 'RJCT', reasons: [{ code: 'AM04' }] }] });
}

test('pain.002 from pain.001 is valid in every version', (t) => {
  if (sharedIso20022(t) === undefined) return;
  for (const [name, original] of samples(/^pain\.001/)) {
    for (const version of [undefined, '001.03', '001.10', '001.12', '001.14']) {
      const built = buildPain002(original, {
        msgId: 'PST-1',
        creDtTm: '2026-07-02T10:30:00',
        version,
        groupStatus: 'PART',
        paymentInfos: [{ index: 0, status: 'PART' }],
        transactions: [{ index: 0, status: 'RJCT', reasons: [{ code: 'AC01', additionalInfo: ['Wrong IBAN'] }] }],
      });
      const report = readModel(valid(name, built)) as StatusReport;
      assert.equal(report.family, 'pain.002');
      assert.equal(report.paymentInfos[0]!.transactions[0]!.status, 'RJCT');
    }
  }
});

test('camt.029 from camt.056 is valid and quotes the cancelled transaction', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const originals = samples(/^camt\.056/);
  assert.ok(originals.length >= 1);
  for (const [name, original] of originals) {
    for (const version of [undefined, '001.09', '001.11', '001.13']) {
      const built = buildCamt029(original, {
        assignmentId: 'RES-1',
        creDtTm: NOW,
        version,
        confirmation: 'RJCR',
        reasons: [{ code: 'LEGL', additionalInfo: ['Legal decision'] }],
      });
      const res = readModel(valid(name, built)) as InvestigationResolution;
      assert.equal(res.confirmation, 'RJCR');
      assert.equal(res.transactions[0]!.status, 'RJCR');
      assert.equal(res.transactions[0]!.reasons[0]!.code, 'LEGL');
      const req = readModel(original);
      assert.equal(res.transactions[0]!.originalEndToEndId, (req as { transactions: Array<{ originalEndToEndId?: string }> }).transactions[0]!.originalEndToEndId);
    }
  }
});

test('camt.029 for a whole-message camt.056 answers for the message (OrgnlGrpInfAndSts) and is valid in every version', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const file = sampleFiles('').find((f) => /^camt\.056/.test(basename(f)))!;
  const name = basename(file);
  const group = [
    '<OrgnlGrpInfAndCxl><GrpCxlId>GRP-1</GrpCxlId><OrgnlMsgId>MSG-1</OrgnlMsgId><OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId>',
    '<OrgnlCreDtTm>2026-07-02T10:30:00Z</OrgnlCreDtTm><NbOfTxs>2</NbOfTxs><CtrlSum>12.50</CtrlSum><GrpCxl>true</GrpCxl></OrgnlGrpInfAndCxl>',
  ].join('');
  const original = parseMessage(readFileSync(file, 'utf8').replace(/<TxInf>[\s\S]*<\/TxInf>/, group));
  const request = readModel(original);
  assert.equal(request.family, 'camt.056');
  assert.equal((request as { groupCancellation?: boolean }).groupCancellation, true);
  for (const version of [undefined, '001.09', '001.11', '001.13']) {
    for (const [status, conf, reason] of [['RJCR', 'RJCR', 'AGNT'], ['ACCR', 'CNCL', undefined]] as const) {
      const built = buildCamt029(original, {
        assignmentId: 'RES-1',
        creDtTm: NOW,
        version,
        confirmation: conf,
        group: { status, reasons: reason === undefined ? [] : [{ code: reason }] },
      });
      const res = readModel(valid(name, built)) as InvestigationResolution;
      assert.equal(res.confirmation, conf);
      assert.deepEqual(res.transactions, []);
      assert.equal(res.original.groupCancellationId, 'GRP-1');
      assert.equal(res.original.originalMsgId, 'MSG-1');
      assert.equal(res.original.groupCancellationStatus, status);
      assert.equal(res.original.groupReasons?.[0]?.code, reason);
    }
  }
  assert.throws(
    () => buildCamt029(original, { assignmentId: 'RES-1', creDtTm: NOW, confirmation: 'RJCR', group: { status: 'CNCL' as 'ACCR' } }),
    (e: unknown) => isMxError(e) && /not a group cancellation status/.test(e.message),
  );
});

test('pacs.004 from pacs.008 is valid and returns the original amounts with the reason', (t) => {
  if (sharedIso20022(t) === undefined) return;
  for (const [name, original] of samples(/^pacs\.008/)) {
    for (const version of [undefined, '001.09', '001.10', '001.11', '001.13']) {
      const built = buildPacs004(original, {
        msgId: 'RTN-1',
        creDtTm: NOW,
        version,
        settlementDate: '2026-07-03',
        reason: { code: 'AC04' },
        returnIds: ['RTR-1'],
      });
      const ret = readModel(valid(name, built)) as PaymentReturn;
      const src = readModel(original) as CreditTransfer;
      assert.equal(ret.transactions.length, src.transactions.length);
      assert.deepEqual(ret.transactions[0]!.returnedAmount, src.transactions[0]!.amount);
      assert.equal(ret.transactions[0]!.originalEndToEndId, src.transactions[0]!.endToEndId);
      assert.equal(ret.transactions[0]!.reasons[0]!.code, 'AC04');
    }
  }
});

test('pacs.008 from pain.001 is valid and carries every transaction', (t) => {
  if (sharedIso20022(t) === undefined) return;
  let built = 0;
  for (const [name, original] of samples(/^pain\.001\.001\.03/)) {
    for (const version of [undefined, '001.10', '001.12', '001.13']) {
      const msg = buildPacs008(original, { msgId: 'PCS-1', creDtTm: NOW, version, settlementDate: '2026-07-03' });
      const ct = readModel(valid(name, msg)) as CreditTransfer;
      const init = readModel(original) as { paymentInfos: Array<{ transactions: Array<{ endToEndId: string; amount: unknown }> }> };
      const srcTxs = init.paymentInfos.flatMap((p) => p.transactions);
      assert.equal(ct.transactions.length, srcTxs.length);
      assert.deepEqual(ct.transactions.map((x) => x.endToEndId), srcTxs.map((x) => x.endToEndId));
      assert.deepEqual(ct.transactions.map((x) => x.amount), srcTxs.map((x) => x.amount));
      built++;
    }
  }
  assert.ok(built >= 8);
});

test('a builder refuses a message it does not answer', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const [, camt] = samples(/^camt\.056/)[0]!;
  assert.throws(() => buildPacs002(camt, { msgId: 'X', creDtTm: NOW, groupStatus: 'ACCP' }), (e: unknown) => isMxError(e) && e.code === 'MESSAGE_UNSUPPORTED');
});
