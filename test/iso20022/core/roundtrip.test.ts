import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test } from 'node:test';
import {
  parseMessage,
  parseXml,
  readModel,
  serializeXml,
  type CreditTransfer,
  type StatusReport,
  type XmlElement,
} from '../../../src/iso20022/index.js';
import { sampleFiles, sharedIso20022 } from '../../helpers/shared.js';

/** The tree without line numbers (they change when indentation changes). */
function content(el: XmlElement): unknown {
  return { ns: el.ns, name: el.name, prefix: el.prefix, attrs: el.attrs, text: el.text, children: el.children.map(content) };
}

function allSamples(): string[] {
  return [...sampleFiles(''), ...sampleFiles('invalid-builtin'), ...sampleFiles('invalid-rules')];
}

test('parse -> serialize -> parse keeps every element, attribute and text, and the typed model', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const files = allSamples();
  assert.ok(files.length > 60);
  for (const file of files) {
    const first = parseMessage(readFileSync(file));
    for (const indent of ['', '  ']) {
      const xml = serializeXml(first.xml.root, { indent });
      const second = parseMessage(xml);
      assert.deepEqual(content(second.xml.root), content(first.xml.root), `${basename(file)} indent=${JSON.stringify(indent)}`);
      assert.deepEqual(second.header, first.header, file);
      if (first.document !== undefined) assert.deepEqual(readModel(second), readModel(first), file);
    }
  }
});

test('the Document alone serializes with its namespace and reads back the same', (t) => {
  if (sharedIso20022(t) === undefined) return;
  for (const file of allSamples()) {
    const msg = parseMessage(readFileSync(file));
    if (msg.document === undefined) continue;
    const xml = serializeXml(msg.document);
    const again = parseMessage(xml);
    assert.equal(again.wrapperPath.length, 0);
    assert.deepEqual(content(again.document!), content(msg.document), file);
  }
});

test('supplementary data and unknown extension elements survive a round trip as they are', () => {
  const ns = 'urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08';
  const xml =
    `<Document xmlns="${ns}"><FIToFICstmrCdtTrf><GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-01-01T00:00:00Z</CreDtTm>` +
    `<NbOfTxs>1</NbOfTxs><SttlmInf><SttlmMtd>CLRG</SttlmMtd></SttlmInf></GrpHdr>` +
    `<SplmtryData><Envlp><x:Ext xmlns:x="urn:example:ext" x:flag="1"><x:Val>00042</x:Val><Other xmlns="">a&amp;b</Other></x:Ext></Envlp></SplmtryData>` +
    `</FIToFICstmrCdtTrf></Document>`;
  const first = parseMessage(xml);
  const out = serializeXml(first.xml.root, { declaration: false });
  assert.match(out, /<x:Ext xmlns:x="urn:example:ext" x:flag="1"><x:Val>00042<\/x:Val><Other xmlns="">a&amp;b<\/Other><\/x:Ext>/);
  assert.deepEqual(content(parseXml(out).root), content(first.xml.root));
  assert.equal((readModel(first) as CreditTransfer).hasSupplementaryData, true);
});

test('the pacs.008 view keeps ids, amounts and codes as written', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const file = sampleFiles('').find((f) => f.includes('pacs.008.001.08-fednow-envelope'))!;
  const model = readModel(parseMessage(readFileSync(file))) as CreditTransfer;
  assert.equal(model.family, 'pacs.008');
  assert.equal(model.groupHeader.msgId, '20260702021040078FIXTURE001');
  assert.equal(model.groupHeader.nbOfTxs, '1');
  const tx = model.transactions[0]!;
  assert.deepEqual(tx.amount, { value: '1250.00', currency: 'USD' });
  assert.equal(tx.uetr, '8a562c67-ca16-48ba-b074-65581be6f001');
  assert.equal(tx.debtorAgent?.memberId, '021040078');
  assert.equal(tx.debtorAgent?.clearingSystem, 'USABA');
  assert.equal(tx.creditorAccount?.other, '987654321000');
  assert.equal(tx.localInstrument, 'FDNA');
  assert.equal(tx.chargeBearer, 'SLEV');
});

test('the pacs.002 view reads original ids, statuses and reasons', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const file = sampleFiles('').find((f) => f.includes('pacs.002.001.12-generic'))!;
  const model = readModel(parseMessage(readFileSync(file))) as StatusReport;
  assert.equal(model.original.originalMsgId, 'MSG-ORIG-001');
  assert.equal(model.original.originalMsgNmId, 'pacs.008.001.13');
  const tx = model.transactions[0]!;
  assert.equal(tx.originalEndToEndId, 'E2E-ORIG-001');
  assert.equal(tx.status, 'ACSC');
  assert.deepEqual(tx.reasons, [{ code: 'AB05', additionalInfo: ['Payment accepted and settled'] }]);
});

test('every sample has a typed view with its family and ids filled', (t) => {
  if (sharedIso20022(t) === undefined) return;
  for (const file of allSamples()) {
    const msg = parseMessage(readFileSync(file));
    if (msg.document === undefined) continue;
    const model = readModel(msg);
    assert.equal(model.family, msg.documentId!.family, file);
    const json = JSON.stringify(model, (_k, v: unknown) => (typeof v === 'number' ? assert.fail(`number in ${file}`) : v));
    assert.ok(json.length > 50, file);
  }
});
