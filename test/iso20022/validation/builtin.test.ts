import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { parseMessage } from '../../../src/iso20022/message.js';
import { errorsOf, validateBuiltin } from '../../../src/iso20022/validation/index.js';
import { sampleFiles, sharedIso20022 } from '../../helpers/shared.js';

function builtin(file: string) {
  return validateBuiltin(parseMessage(readFileSync(file)));
}

/** The rule each invalid-builtin sample breaks (it may break others too). */
const EXPECTED: Record<string, string> = {
  'camt.053.001.02-nordea.xml': 'iban.checksum',
  'pacs.002.001.10-cbpr-maxpopulated.xml': 'code.status',
  'pacs.002.001.10-cbpr-min.xml': 'code.status',
  'pacs.004.001.09-cbpr-maxpopulated.xml': 'code.return-reason',
  'pacs.008.001.08-cbpr-maxpopulated.xml': 'code.category-purpose',
  'pacs.009.001.08-cbpr-cov-maxpopulated.xml': 'code.service-level',
  'pain.001.001.03-intl-usd.xml': 'iban.checksum',
  'pain.001.001.03-sepa-lt.xml': 'iban.checksum',
  'pain.001.001.03-sepa-multi-pmtinf.xml': 'iban.checksum',
  'pain.001.001.03-sepa-single.xml': 'iban.checksum',
  'pain.001.001.03-swift-single.xml': 'iban.checksum',
  'pain.001.001.09-cbpr-maxpopulated.xml': 'code.local-instrument',
};

describe('built-in rules over the shared samples', () => {
  it('find no error in any valid sample', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const files = sampleFiles('');
    assert.ok(files.length > 30);
    for (const file of files) assert.deepEqual(errorsOf(builtin(file)), [], basename(file));
  });

  it('find no error in the samples that break scheme rules only', (t) => {
    if (sharedIso20022(t) === undefined) return;
    for (const file of sampleFiles('invalid-rules')) assert.deepEqual(errorsOf(builtin(file)), [], basename(file));
  });

  it('reject every invalid-builtin sample, naming the rule it breaks', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const files = sampleFiles('invalid-builtin');
    assert.deepEqual(files.map((f) => basename(f)).sort(), Object.keys(EXPECTED).sort(), 'the table covers every file');
    for (const file of files) {
      const errors = errorsOf(builtin(file));
      const rule = EXPECTED[basename(file)]!;
      assert.ok(errors.some((f) => f.rule === rule), `${basename(file)} should break ${rule}: ${JSON.stringify(errors.map((f) => f.rule))}`);
      for (const f of errors) {
        assert.equal(f.layer, 'builtin');
        assert.match(f.code, /^[A-Z0-9]{4}$/);
        assert.match(f.path, /^\/(Document|AppHdr)\//);
      }
    }
  });

  it('locates an IBAN error by path, line and ISO reason code', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const file = sampleFiles('invalid-builtin').find((f) => f.endsWith('pain.001.001.03-sepa-single.xml'))!;
    const finding = builtin(file).find((f) => f.rule === 'iban.checksum');
    assert.equal(finding?.code, 'AC01');
    assert.match(finding?.path ?? '', /^\/Document\/CstmrCdtTrfInitn\/PmtInf\[1\]\/.*\/IBAN$/);
    assert.ok((finding?.line ?? 0) > 1);
  });

  it('reports placeholder codes with the code of their field', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const file = sampleFiles('invalid-builtin').find((f) => f.endsWith('pacs.008.001.08-cbpr-maxpopulated.xml'))!;
    const byRule = new Map(builtin(file).map((f) => [f.rule, f]));
    assert.equal(byRule.get('code.service-level')?.code, 'FF04');
    assert.equal(byRule.get('code.local-instrument')?.code, 'FF05');
    assert.equal(byRule.get('code.category-purpose')?.code, 'FF06');
    assert.equal(byRule.get('code.purpose')?.code, 'FF07');
    assert.equal(byRule.get('code.purpose')?.severity, 'warning');
    assert.match(byRule.get('code.category-purpose')?.path ?? '', /\/CdtTrfTxInf\[1\]\/PmtTpInf\/CtgyPurp\/Cd$/);
  });
});
