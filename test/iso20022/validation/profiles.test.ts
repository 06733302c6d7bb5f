import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, it } from 'node:test';
import { isMxError } from '../../../src/errors.js';
import { parseMessage } from '../../../src/iso20022/message.js';
import { compileProfile, detectProfile, getProfile, validateProfile } from '../../../src/iso20022/validation/index.js';
import { sampleFiles, sharedIso20022 } from '../../helpers/shared.js';

/** Profile and rule each invalid-rules sample breaks (SOURCES.md names them). */
const EXPECTED: Record<string, [profile: string, rule: string]> = {
  'camt.029.001.09-fednow-rjcr-without-reason.xml': ['fednow', 'fednow.rjcr.reason'],
  'camt.056.001.08-fednow-missing-cxl-reason.xml': ['fednow', 'fednow.cxlrsn.required'],
  'head.001.001.02-fednow-sgntr-out-of-band.xml': ['fednow', 'fednow.sgntr.outofband'],
  'head.001.001.02-fednow-wrong-to-party.xml': ['fednow', 'fednow.to.service'],
  'pacs.002.001.10-cbpr-msgdefidr-mismatch.xml': ['cbpr+', 'cbpr.apphdr.msgdefidr'],
  'pacs.002.001.10-fednow-rjct-without-reason.xml': ['fednow', 'fednow.rjct.reason'],
  'pacs.004.001.09-cbpr-xau-currency.xml': ['cbpr+', 'cbpr.ccy.commodity'],
  'pacs.004.001.10-fednow-missing-return-reason.xml': ['fednow', 'fednow.rtrrsn.required'],
  'pacs.008.001.08-fednow-bad-aba-checksum.xml': ['fednow', 'fednow.aba.checksum'],
  'pacs.008.001.08-fednow-bad-msgid.xml': ['fednow', 'fednow.msgid.format'],
  'pacs.008.001.08-fednow-envelope-msgdefidr-mismatch.xml': ['fednow', 'fednow.env.msgdefidr.match'],
  'pacs.008.001.08-fednow-envelope-wrapper-mismatch.xml': ['fednow', 'fednow.env.wrapper.match'],
  'pacs.008.001.08-fednow-missing-ctgypurp.xml': ['fednow', 'fednow.pmttpinf.ctgypurp'],
  'pacs.008.001.08-fednow-non-usd.xml': ['fednow', 'fednow.ccy.usd'],
  'pacs.028.001.03-fednow-missing-original.xml': ['fednow', 'fednow.orgnlgrpinf.required'],
};

function profileFor(name: string): string | undefined {
  return name.includes('cbpr') ? 'cbpr+' : name.includes('fednow') ? 'fednow' : undefined;
}

function run(file: string, profile: string) {
  return validateProfile(parseMessage(readFileSync(file)), getProfile(profile)!);
}

describe('scheme profiles over the shared samples', () => {
  it('accept every valid sample whose name says cbpr or fednow', (t) => {
    if (sharedIso20022(t) === undefined) return;
    let checked = 0;
    for (const file of sampleFiles('')) {
      const profile = profileFor(basename(file));
      if (profile === undefined) continue;
      checked += 1;
      assert.deepEqual(run(file, profile), [], `${basename(file)} under ${profile}`);
    }
    assert.ok(checked >= 15);
  });

  it('reject every invalid-rules sample under its profile, naming the broken rule', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const files = sampleFiles('invalid-rules');
    assert.deepEqual(files.map((f) => basename(f)).sort(), Object.keys(EXPECTED).sort(), 'the table covers every file');
    for (const file of files) {
      const [profile, rule] = EXPECTED[basename(file)]!;
      const findings = run(file, profile);
      assert.ok(findings.some((f) => f.rule === rule), `${basename(file)}: expected ${rule}, got ${JSON.stringify(findings.map((f) => f.rule))}`);
      for (const f of findings) {
        assert.equal(f.layer, 'profile');
        assert.equal(f.severity, 'error');
        assert.match(f.code, /^[A-Z0-9]{4}$/);
      }
    }
  });

  it('name the element and an ISO reason code', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const file = sampleFiles('invalid-rules').find((f) => f.endsWith('pacs.008.001.08-fednow-non-usd.xml'))!;
    const [finding] = run(file, 'fednow');
    assert.equal(finding?.code, 'AM03');
    assert.equal(finding?.path, '/Document/FIToFICstmrCdtTrf/CdtTrfTxInf[1]/IntrBkSttlmAmt');
    assert.ok((finding?.line ?? 0) > 1);
  });

  it('detect the profile a message declares', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const byName = (name: string) => parseMessage(readFileSync(sampleFiles('').find((f) => f.endsWith(name))!));
    assert.equal(detectProfile(byName('pacs.008.001.08-cbpr-single.xml')), 'cbpr+');
    assert.equal(detectProfile(byName('pacs.008.001.08-fednow-envelope.xml')), 'fednow');
    assert.equal(detectProfile(byName('pacs.008.001.08-generic-clrg.xml')), undefined);
  });
});

describe('profile data', () => {
  const pacs008 = (ccy: string) => parseMessage(
    `<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"><FIToFICstmrCdtTrf><GrpHdr><MsgId>M1</MsgId></GrpHdr>`
    + `<CdtTrfTxInf><IntrBkSttlmAmt Ccy="${ccy}">1.00</IntrBkSttlmAmt></CdtTrfTxInf></FIToFICstmrCdtTrf></Document>`);

  it('is interpreted from plain objects', () => {
    const profile = compileProfile({
      id: 'test', name: 'Test', description: 'EUR only',
      rules: [{ id: 'test.eur', kind: 'allowed', families: ['pacs.008'], path: '**/@Ccy', values: ['EUR'], code: 'AM03', message: 'EUR only' }],
    });
    assert.deepEqual(validateProfile(pacs008('EUR'), profile), []);
    assert.deepEqual(validateProfile(pacs008('USD'), profile).map((f) => f.rule), ['test.eur']);
  });

  it('is checked when compiled', () => {
    const bad = (rules: unknown[]) => () => compileProfile({ id: 'bad', name: 'Bad', description: 'x', rules });
    const isConfig = (e: unknown) => isMxError(e) && e.code === 'CONFIG_INVALID';
    assert.throws(bad([{ id: 'r', kind: 'nope', families: ['*'], code: 'FF01', message: 'm' }]), isConfig);
    assert.throws(bad([{ id: 'r', kind: 'forbidden', families: ['*'], code: 'not a code', message: 'm', path: 'A' }]), isConfig);
    assert.throws(bad([{ id: 'r', kind: 'forbidden', families: ['*'], code: 'FF01', message: 'm', path: 'A/<B>' }]), isConfig);
    assert.throws(bad([{ id: 'r', kind: 'pattern', families: ['*'], code: 'FF01', message: 'm', path: 'A', pattern: '(' }]), isConfig);
  });
});
