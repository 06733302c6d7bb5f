import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runValidate } from '../../../src/cli/validate.js';
import { directorySchemaSource } from '../../../src/cli/schema-directory.js';
import { isMxError } from '../../../src/errors.js';
import { MessageValidator } from '../../../src/iso20022/validation/index.js';
import { SHARED_ISO20022_DIR, sampleFiles, sharedIso20022 } from '../../helpers/shared.js';

const XSD_DIR = join(SHARED_ISO20022_DIR, 'xsd');
const validator = new MessageValidator({ schemas: directorySchemaSource(XSD_DIR) });
after(() => validator.dispose());

function profileFor(name: string): string | undefined {
  return name.includes('cbpr') ? 'cbpr+' : name.includes('fednow') ? 'fednow' : undefined;
}

describe('MessageValidator: every layer together', () => {
  it('accepts every valid sample under XSD, built-in rules and its profile', (t) => {
    if (sharedIso20022(t) === undefined) return;
    for (const file of sampleFiles('')) {
      const profile = profileFor(basename(file));
      const report = validator.validate(readFileSync(file), profile === undefined ? {} : { profile });
      assert.equal(report.valid, true, `${basename(file)}: ${JSON.stringify(report.findings.filter((f) => f.severity === 'error'))}`);
      assert.equal(report.profile, profile);
    }
  });

  it('rejects every negative sample, each in its own layer', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const cases: Array<[folder: 'invalid-builtin' | 'invalid-rules', layer: string]> = [['invalid-builtin', 'builtin'], ['invalid-rules', 'profile']];
    for (const [folder, layer] of cases) {
      for (const file of sampleFiles(folder)) {
        const report = validator.validate(readFileSync(file), { profile: profileFor(basename(file)) ?? 'auto' });
        assert.equal(report.valid, false, basename(file));
        assert.ok(report.findings.some((f) => f.layer === layer && f.severity === 'error'), basename(file));
        assert.ok(!report.findings.some((f) => f.layer === 'xsd'), `${basename(file)} passes its XSD`);
      }
    }
    for (const file of sampleFiles('invalid-xsd')) {
      try {
        const report = validator.validate(readFileSync(file));
        assert.equal(report.valid, false, basename(file));
        assert.ok(report.findings.some((f) => f.layer === 'xsd'), basename(file));
      } catch (error) {
        // Without an ISO namespace the message cannot even be identified: a coded refusal, not a crash.
        assert.ok(isMxError(error) && error.code === 'MESSAGE_UNSUPPORTED', `${basename(file)}: ${String(error)}`);
      }
    }
  });

  it('validates without schemas (built-in rules only) and refuses unknown profiles', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const bare = new MessageValidator();
    const file = sampleFiles('invalid-xsd').find((f) => f.endsWith('pacs.008.001.08-bad-bic.xml'))!;
    const report = bare.validate(readFileSync(file));
    assert.deepEqual(report.findings.filter((f) => f.severity === 'error').map((f) => f.rule), ['bic.format']);
    assert.throws(() => bare.validate(readFileSync(file), { profile: 'sepa' }), (e: unknown) => isMxError(e) && e.code === 'CONFIG_INVALID');
    bare.dispose();
  });
});

describe('mxgate validate', () => {
  it('prints one line per valid file and one per error, and fails when a file is invalid', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const good = sampleFiles('').find((f) => f.endsWith('pacs.008.001.08-fednow-envelope.xml'))!;
    const bad = sampleFiles('invalid-rules').find((f) => f.endsWith('pacs.008.001.08-fednow-non-usd.xml'))!;
    const lines: string[] = [];
    assert.equal(runValidate([good], { schemas: XSD_DIR, profile: 'fednow' }, (l) => lines.push(l)), true);
    assert.deepEqual(lines, [`${good}: valid (fednow)`]);
    lines.length = 0;
    assert.equal(runValidate([good, bad, 'missing.xml'], { profile: 'fednow' }, (l) => lines.push(l)), false);
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, /: AM03 fednow\.ccy\.usd \/Document\/FIToFICstmrCdtTrf\/CdtTrfTxInf\[1\]\/IntrBkSttlmAmt:\d+ /);
    assert.match(lines[2]!, /^missing\.xml: FILE_UNREADABLE /);
  });

  it('writes JSON lines with --json', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const bad = sampleFiles('invalid-builtin').find((f) => f.endsWith('pacs.002.001.10-cbpr-min.xml'))!;
    const lines: string[] = [];
    assert.equal(runValidate([bad], { json: true }, (l) => lines.push(l)), false);
    const parsed = JSON.parse(lines[0]!) as { valid: boolean; findings: Array<{ rule: string; code: string }> };
    assert.equal(parsed.valid, false);
    assert.ok(parsed.findings.some((f) => f.rule === 'code.status' && f.code === 'CH16'));
  });
});
