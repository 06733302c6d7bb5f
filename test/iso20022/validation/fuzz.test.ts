/**
 * Property tests: mutated valid messages never crash the validator. Byte-level mutations may make the input
 * unparseable (then a coded MxError is the answer); tree-level mutations keep it parseable and must always give
 * findings, never an exception.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { directorySchemaSource } from '../../../src/cli/schema-directory.js';
import { isMxError } from '../../../src/errors.js';
import { parseMessage } from '../../../src/iso20022/message.js';
import type { XmlElement } from '../../../src/iso20022/xml/tree.js';
import { MessageValidator, PROFILES, validateBuiltin, validateProfile, type Finding } from '../../../src/iso20022/validation/index.js';
import { SHARED_ISO20022_DIR, sampleFiles, sharedIso20022 } from '../../helpers/shared.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const PICKED = ['pacs.008.001.08-fednow-envelope.xml', 'pacs.008.001.08-cbpr-single.xml', 'pain.001.001.03-multi-3tx.xml',
  'pacs.002.001.10-fednow-frb-acsc-envelope.xml', 'camt.054.001.08-genkgo.xml', 'pacs.004.001.09-cbpr-ac04.xml'];

function assertFindings(findings: readonly Finding[]): void {
  for (const f of findings) {
    assert.ok(f.layer === 'xsd' || f.layer === 'builtin' || f.layer === 'profile');
    assert.match(f.code, /^[A-Z0-9]{4}$/);
    assert.equal(typeof f.rule, 'string');
    assert.match(f.path, /^\//);
  }
}

/** A text mutation: cut, insert or overwrite at a position (positions as fractions of the length). */
const textMutation = fc.oneof(
  fc.record({ kind: fc.constant('cut' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.double({ min: 0, max: 1, noNaN: true }),
    text: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('<', '>', '&', '&amp;', '</x>', '<!DOCTYPE x>', '"', '\u0000', 'é', '9999999999.999')) }),
  fc.record({ kind: fc.constant('dup' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), len: fc.integer({ min: 1, max: 200 }) }),
);

type TextMutation = typeof textMutation extends fc.Arbitrary<infer T> ? T : never;

function applyText(xml: string, m: TextMutation): string {
  const at = Math.floor(m.at * xml.length);
  if (m.kind === 'cut') return xml.slice(0, at) + xml.slice(at + m.len);
  if (m.kind === 'insert') return xml.slice(0, at) + m.text + xml.slice(at);
  return xml.slice(0, at) + xml.slice(at, at + m.len) + xml.slice(at);
}

function allElements(root: XmlElement, out: XmlElement[] = []): XmlElement[] {
  out.push(root);
  for (const c of root.children) allElements(c, out);
  return out;
}

/** A tree mutation: new text, a removed or duplicated child, a changed attribute. */
const treeMutation = fc.record({
  target: fc.nat(),
  kind: fc.constantFrom('text', 'drop', 'dup', 'attr'),
  text: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('', 'RJCT', 'EXCd', 'XAU', '-1', '1.123456', 'DE00', '2024-02-30', '0'.repeat(40))),
});

describe('validator robustness (fast-check)', () => {
  const validator = new MessageValidator({ schemas: directorySchemaSource(join(SHARED_ISO20022_DIR, 'xsd')) });
  after(() => validator.dispose());

  it('answers mutated bytes with findings or a coded error', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const samples = sampleFiles('').filter((f) => PICKED.some((p) => f.endsWith(p))).map((f) => readFileSync(f, 'utf8'));
    assert.equal(samples.length, PICKED.length);
    fc.assert(fc.property(fc.nat({ max: samples.length - 1 }), fc.array(textMutation, { minLength: 1, maxLength: 4 }), fc.constantFrom('auto', 'cbpr+', 'fednow'),
      (which, mutations, profile) => {
        const xml = mutations.reduce(applyText, samples[which]!);
        try {
          assertFindings(validator.validate(xml, { profile }).findings);
        } catch (error) {
          if (!isMxError(error)) throw error;
        }
      }), { numRuns: RUNS });
  });

  it('answers mutated trees with findings, never an exception', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const files = sampleFiles('').filter((f) => PICKED.some((p) => f.endsWith(p)));
    fc.assert(fc.property(fc.nat({ max: files.length - 1 }), fc.array(treeMutation, { minLength: 1, maxLength: 6 }), (which, mutations) => {
      const message = parseMessage(readFileSync(files[which]!));
      const root = message.document ?? message.appHdr!;
      for (const m of mutations) {
        const elements = allElements(root);
        const el = elements[m.target % elements.length]!;
        if (m.kind === 'text') el.text = m.text;
        else if (m.kind === 'drop' && el.children.length > 0) el.children.splice(m.target % el.children.length, 1);
        else if (m.kind === 'dup' && el.children.length > 0) el.children.push(el.children[m.target % el.children.length]!);
        else if (m.kind === 'attr') el.attrs = [{ ns: '', name: 'Ccy', prefix: '', value: m.text }];
      }
      assertFindings(validateBuiltin(message));
      for (const profile of PROFILES.values()) assertFindings(validateProfile(message, profile));
    }), { numRuns: RUNS * 2 });
  });
});
