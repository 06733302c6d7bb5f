import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test } from 'node:test';
import { isMxError } from '../../../src/errors.js';
import { parseMessage, parseXml, serializeXml, textAt } from '../../../src/iso20022/index.js';
import { sampleFiles, sharedIso20022 } from '../../helpers/shared.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(isMxError(error), `expected an MxError, got ${String(error)}`);
    return error.code;
  }
  assert.fail('expected an error');
}

test('every valid sample parses, and its type and version come from the Document namespace', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const files = sampleFiles('');
  assert.ok(files.length > 30);
  for (const file of files) {
    const msg = parseMessage(readFileSync(file));
    const expected = basename(file).split('-')[0]!;
    assert.equal(msg.id.id, expected, file);
  }
});

test('wrapped messages are split into AppHdr and Document, with the wrapper path kept', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const wrapped = sampleFiles('').filter((f) => /envelope|cbpr-(acsp|ac04|credit)|camt.052.001.08-cbpr|cbpr-single/.test(f));
  assert.ok(wrapped.length >= 8);
  for (const file of wrapped) {
    const msg = parseMessage(readFileSync(file));
    assert.ok(msg.appHdr, file);
    assert.ok(msg.document, file);
    assert.equal(msg.appHdr.name, 'AppHdr');
    assert.equal(msg.document.name, 'Document');
    assert.ok(msg.wrapperPath.length >= 1, file);
    assert.equal(msg.header?.msgDefIdr, msg.documentId?.id, file);
  }
  const fednow = parseMessage(readFileSync(sampleFiles('').find((f) => f.includes('pacs.008.001.08-fednow-envelope'))!));
  assert.deepEqual(fednow.wrapperPath, ['FedNowIncoming', 'FedNowIncomingMessage', 'FedNowCustomerCreditTransfer']);
  assert.equal(fednow.headerId?.id, 'head.001.001.02');
  assert.equal(fednow.header?.from?.agent?.memberId, '021040078');
});

test('a stand-alone AppHdr is a head.001 message', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const msg = parseMessage(readFileSync(sampleFiles('').find((f) => basename(f).startsWith('head.001'))!));
  assert.equal(msg.id.family, 'head.001');
  assert.equal(msg.document, undefined);
});

test('a header naming another message than the Document is reported', (t) => {
  if (sharedIso20022(t) === undefined) return;
  for (const file of sampleFiles('invalid-rules').filter((f) => f.includes('msgdefidr-mismatch'))) {
    const msg = parseMessage(readFileSync(file));
    assert.equal(msg.findings[0]?.code, 'HEADER_MSGDEFIDR_MISMATCH', file);
  }
});

test('a Document without an ISO 20022 namespace or of an unknown version is unsupported', () => {
  assert.equal(codeOf(() => parseMessage('<Document><X/></Document>')), 'MESSAGE_UNSUPPORTED');
  assert.equal(codeOf(() => parseMessage('<Other xmlns="urn:x"/>')), 'MESSAGE_UNSUPPORTED');
  assert.equal(
    codeOf(() => parseMessage('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.02"/>')),
    'MESSAGE_UNSUPPORTED',
  );
});

test('values stay strings exactly as written', () => {
  const doc = parseXml('<a><Amt Ccy="JPY">000123.40</Amt><Id> 007 </Id><T>a &amp; b &#233;<![CDATA[<x>]]></T></a>');
  assert.equal(textAt(doc.root, 'Amt'), '000123.40');
  assert.equal(textAt(doc.root, 'Id'), ' 007 ');
  assert.equal(textAt(doc.root, 'T'), 'a & b é<x>');
  assert.equal(doc.root.children[0]!.attrs[0]!.value, 'JPY');
});

test('element lines are recorded', () => {
  const doc = parseXml('<a>\n  <b/>\n  <c>x</c>\n</a>');
  assert.deepEqual(doc.root.children.map((c) => c.line), [2, 3]);
});

test('forbidden constructs and limits give coded errors', () => {
  assert.equal(codeOf(() => parseXml('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')), 'XML_UNSAFE');
  assert.equal(codeOf(() => parseXml('<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>')), 'XML_UNSAFE');
  assert.equal(codeOf(() => parseXml('<a>&x;</a>')), 'XML_UNSAFE');
  assert.equal(codeOf(() => parseXml('<a><?php x ?></a>')), 'XML_UNSAFE');
  assert.equal(codeOf(() => parseXml('<a><b></a>')), 'XML_MALFORMED');
  assert.equal(codeOf(() => parseXml('')), 'XML_MALFORMED');
  assert.equal(codeOf(() => parseXml(new Uint8Array([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e]))), 'XML_MALFORMED');
  assert.equal(codeOf(() => parseXml('<?xml version="1.0" encoding="ISO-8859-1"?><a/>')), 'XML_MALFORMED');
  assert.equal(codeOf(() => parseXml('<a>' + 'x'.repeat(100) + '</a>', { maxBytes: 50 })), 'XML_LIMIT_EXCEEDED');
  assert.equal(codeOf(() => parseXml('<a><a><a/></a></a>', { maxDepth: 2 })), 'XML_LIMIT_EXCEEDED');
  assert.equal(codeOf(() => parseXml('<a><b/><b/><b/></a>', { maxElements: 3 })), 'XML_LIMIT_EXCEEDED');
  assert.equal(codeOf(() => parseXml('<a x="1" y="2" z="3"/>', { maxAttributes: 2 })), 'XML_LIMIT_EXCEEDED');
});

test('the serializer escapes and declares namespaces where needed', () => {
  const doc = parseXml('<p:a xmlns:p="urn:p" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="t"><b xmlns="urn:d" Ccy="&quot;&lt;">&amp;&lt;&gt;</b><p:c/></p:a>');
  const out = serializeXml(doc.root, { declaration: false });
  assert.equal(
    out,
    '<p:a xmlns:p="urn:p" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="t"><b xmlns="urn:d" Ccy="&quot;&lt;">&amp;&lt;&gt;</b><p:c/></p:a>',
  );
  assert.deepEqual(parseXml(out).root, doc.root);
});
