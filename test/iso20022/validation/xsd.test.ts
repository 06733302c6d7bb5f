import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { diag } from 'libxml2-wasm';
import { directorySchemaSource } from '../../../src/cli/schema-directory.js';
import { isMxError } from '../../../src/errors.js';
import { SchemaValidator } from '../../../src/iso20022/validation/index.js';
import { SHARED_ISO20022_DIR, sampleFiles, sharedIso20022 } from '../../helpers/shared.js';

const validator = new SchemaValidator({ source: directorySchemaSource(join(SHARED_ISO20022_DIR, 'xsd')) });
after(() => validator.dispose());

describe('XSD validation of the shared samples', () => {
  it('accepts every valid sample (wrapped ones part by part)', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const files = sampleFiles('');
    assert.ok(files.length > 30, 'expected the valid samples');
    for (const file of files) {
      const findings = validator.validate(readFileSync(file));
      assert.deepEqual(findings, [], basename(file));
    }
  });

  it('accepts the samples of invalid-builtin and invalid-rules (they break rules, not the schema)', (t) => {
    if (sharedIso20022(t) === undefined) return;
    for (const file of [...sampleFiles('invalid-builtin'), ...sampleFiles('invalid-rules')]) {
      assert.deepEqual(validator.validate(readFileSync(file, 'utf8')), [], basename(file));
    }
  });

  it('rejects every file of invalid-xsd with coded, located findings', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const files = sampleFiles('invalid-xsd');
    assert.ok(files.length >= 8);
    for (const file of files) {
      const findings = validator.validate(readFileSync(file, 'utf8'));
      assert.ok(findings.length > 0, `${basename(file)} should fail the XSD`);
      for (const f of findings) {
        assert.equal(f.layer, 'xsd');
        assert.equal(f.code, 'FF01');
        assert.match(f.path, /^\/[A-Za-z]/);
        assert.ok(f.message.length > 0);
      }
    }
  });

  it('names the element and line of a schema error', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const file = join(SHARED_ISO20022_DIR, 'samples', 'invalid-xsd', 'pacs.008.001.08-bad-bic.xml');
    const [finding, ...rest] = validator.validate(readFileSync(file, 'utf8'));
    assert.equal(rest.length, 0);
    assert.equal(finding?.rule, 'xsd.schema');
    assert.equal(finding?.path, '/Document/FIToFICstmrCdtTrf/CdtTrfTxInf[1]/InstgAgt/FinInstnId/BICFI');
    assert.equal(finding?.line, 43);
    assert.match(finding?.message ?? '', /WRONGUS33XXX/);
  });

  it('reports a message without an ISO namespace', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const file = join(SHARED_ISO20022_DIR, 'samples', 'invalid-xsd', 'pain.002.001.03-xmlns-typo.xml');
    const findings = validator.validate(readFileSync(file, 'utf8'));
    assert.deepEqual(findings.map((f) => f.rule), ['xsd.namespace']);
  });

  it('compiles each schema once and reuses it', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const calls: string[] = [];
    const source = directorySchemaSource(join(SHARED_ISO20022_DIR, 'xsd'));
    const counting = new SchemaValidator({ source: (ns) => { calls.push(ns); return source(ns); } });
    try {
      const xml = readFileSync(join(SHARED_ISO20022_DIR, 'samples', 'pacs.008.001.08-cbpr-single.xml'), 'utf8');
      for (let i = 0; i < 20; i += 1) assert.deepEqual(counting.validate(xml), []);
      assert.equal(counting.compiledCount, 2);
      assert.deepEqual(calls.map((ns) => ns.split(':').at(-1)).sort(), ['head.001.001.02', 'pacs.008.001.08']);
    } finally {
      counting.dispose();
    }
  });

  it('leaves no libxml2 object undisposed and does not grow memory over many validations', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const xml = readFileSync(join(SHARED_ISO20022_DIR, 'samples', 'pacs.008.001.08-fednow-envelope.xml'), 'utf8');
    const bad = readFileSync(join(SHARED_ISO20022_DIR, 'samples', 'invalid-xsd', 'pacs.008.001.08-bad-bic.xml'), 'utf8');
    diag.configure({ enabled: true });
    try {
      const v = new SchemaValidator({ source: directorySchemaSource(join(SHARED_ISO20022_DIR, 'xsd')) });
      for (let i = 0; i < 500; i += 1) {
        v.validate(xml);
        v.validate(bad);
      }
      v.dispose();
      // The report lists every libxml2 object still alive; after dispose() there must be none.
      assert.deepEqual(diag.report(), {});
    } finally {
      diag.configure({ enabled: false });
    }
  });
});

describe('XSD validation without reference material', () => {
  const tiny = '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:iso:std:iso:20022:tech:xsd:test.001.001.01" xmlns="urn:iso:std:iso:20022:tech:xsd:test.001.001.01" elementFormDefault="qualified">'
    + '<xs:element name="Document"><xs:complexType><xs:sequence><xs:element name="Amt" type="xs:decimal"/></xs:sequence></xs:complexType></xs:element></xs:schema>';
  const ns = 'urn:iso:std:iso:20022:tech:xsd:test.001.001.01';
  const v = new SchemaValidator({ source: (n) => (n === ns ? tiny : undefined) });
  after(() => v.dispose());

  it('validates a bare Document and a wrapped one', () => {
    assert.deepEqual(v.validate(`<Document xmlns="${ns}"><Amt>1.5</Amt></Document>`), []);
    assert.deepEqual(v.validate(`<Wrap><Document xmlns="${ns}"><Amt>1.5</Amt></Document></Wrap>`), []);
    const findings = v.validate(`<Wrap>\n<Document xmlns="${ns}">\n<Amt>x</Amt></Document></Wrap>`);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.path, '/Document/Amt');
    assert.equal(findings[0]?.line, 3);
  });

  it('refuses a DOCTYPE and malformed XML with coded errors', () => {
    assert.throws(() => v.validate(`<!DOCTYPE x [<!ENTITY a "b">]><Document xmlns="${ns}"><Amt>&a;</Amt></Document>`),
      (e: unknown) => isMxError(e) && e.code === 'XML_UNSAFE');
    assert.throws(() => v.validate(`<Document xmlns="${ns}"><Amt>1</Document>`),
      (e: unknown) => isMxError(e) && e.code === 'XML_MALFORMED');
  });

  it('throws SCHEMA_UNAVAILABLE for an ISO namespace the source does not have', () => {
    assert.throws(() => v.validate('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.999.001.01"/>'),
      (e: unknown) => isMxError(e) && e.code === 'SCHEMA_UNAVAILABLE');
  });
});
