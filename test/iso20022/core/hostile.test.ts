import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { isMxError } from '../../../src/errors.js';
import { parseMessage, parseXml, readModel } from '../../../src/iso20022/index.js';
import { sampleFiles, sharedIso20022 } from '../../helpers/shared.js';

/** Generous for a busy machine; a hang or an expansion would take seconds, not milliseconds. */
const BUDGET_MS = 100;

function rejectFast(name: string, input: string | Uint8Array, code: string): void {
  const started = performance.now();
  let caught: unknown;
  try {
    parseMessage(input);
  } catch (error) {
    caught = error;
  }
  const elapsed = performance.now() - started;
  assert.ok(isMxError(caught), `${name}: expected a coded error, got ${String(caught)}`);
  assert.equal(caught.code, code, `${name}: ${caught.message}`);
  assert.ok(elapsed < BUDGET_MS, `${name}: took ${elapsed.toFixed(1)} ms`);
}

const lol = ['<?xml version="1.0"?>', '<!DOCTYPE lolz [', '<!ENTITY lol "lol">'];
for (let i = 1; i <= 9; i++) lol.push(`<!ENTITY lol${i} "${`&lol${i - 1 === 0 ? '' : i - 1};`.repeat(10)}">`);
lol.push(']>', '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08">&lol9;</Document>');

test('hostile documents are rejected quickly with a coded error', () => {
  rejectFast('billion laughs', lol.join('\n'), 'XML_UNSAFE');
  rejectFast(
    'external entity',
    '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Document>&xxe;</Document>',
    'XML_UNSAFE',
  );
  rejectFast('external DTD', '<!DOCTYPE d SYSTEM "http://example.com/evil.dtd"><Document/>', 'XML_UNSAFE');
  rejectFast('entity without a DTD', '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08">&xxe;</Document>', 'XML_UNSAFE');
  rejectFast('huge internal subset', `<!DOCTYPE d [${'<!-- x -->'.repeat(500_000)}]><d/>`, 'XML_UNSAFE');
  const big = new Uint8Array(50 * 1024 * 1024).fill(0x20);
  rejectFast('50 MB of bytes', big, 'XML_LIMIT_EXCEEDED');
  rejectFast('50 MB string', `<a>${'x'.repeat(50 * 1024 * 1024)}</a>`, 'XML_LIMIT_EXCEEDED');
  rejectFast('10,000-deep nesting', `${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}`, 'XML_LIMIT_EXCEEDED');
  const badUtf8 = Buffer.concat([Buffer.from('<Document><a>'), Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('</a></Document>')]);
  rejectFast('invalid UTF-8', badUtf8, 'XML_MALFORMED');
  rejectFast('overlong UTF-8', Buffer.from([0x3c, 0x61, 0x3e, 0xc0, 0xaf, 0x3c, 0x2f, 0x61, 0x3e]), 'XML_MALFORMED');
  rejectFast('NUL character reference', '<a>&#0;</a>', 'XML_MALFORMED');
});

test('a flood of elements is stopped at the element limit', () => {
  const many = `<a>${'<b/>'.repeat(2_000)}</a>`;
  assert.throws(() => parseXml(many, { maxElements: 1_000 }), (e: unknown) => isMxError(e) && e.code === 'XML_LIMIT_EXCEEDED');
  assert.equal(parseXml(many).root.children.length, 2_000);
});

const CODES = new Set(['XML_UNSAFE', 'XML_MALFORMED', 'XML_LIMIT_EXCEEDED', 'MESSAGE_UNSUPPORTED', 'MESSAGE_INVALID']);

function parseOrCodedError(input: string | Uint8Array): void {
  try {
    const msg = parseMessage(input);
    if (msg.document !== undefined) readModel(msg);
  } catch (error) {
    if (!isMxError(error) || !CODES.has(error.code)) throw error;
  }
}

const TOKENS = ['<', '>', '&', '&amp;', '&#x0;', '&#65;', '<!DOCTYPE x>', '<![CDATA[', ']]>', '<?pi?>', '"', "'", '</', '/>', 'xmlns:p="u"', '<p:x>', '\u0000', '\uFFFE', '\uD800', '<Document>', '</Document>'];

test('mutated valid messages never crash the parser: they parse or give a coded error', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const texts = sampleFiles('').slice(0, 40).map((f) => readFileSync(f, 'utf8'));
  const bytes = texts.map((s) => Buffer.from(s, 'utf8'));
  fc.assert(
    fc.property(
      fc.nat({ max: texts.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom(...TOKENS), fc.nat({ max: 20 })), { minLength: 1, maxLength: 4 }),
      (k, edits) => {
        let s = texts[k]!;
        for (const [at, token, cut] of edits) {
          const i = at % (s.length + 1);
          s = s.slice(0, i) + token + s.slice(i + cut);
        }
        parseOrCodedError(s);
      },
    ),
    { numRuns: 1500 },
  );
  fc.assert(
    fc.property(
      fc.nat({ max: bytes.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.option(fc.nat(), { nil: undefined }),
      (k, flips, truncate) => {
        const b = Buffer.from(bytes[k]!);
        for (const [at, value] of flips) b[at % b.length] = value;
        parseOrCodedError(truncate === undefined ? b : b.subarray(0, truncate % b.length));
      },
    ),
    { numRuns: 1500 },
  );
});

test('arbitrary text never crashes the parser', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => parseOrCodedError(s)),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => parseOrCodedError(b)),
    { numRuns: 2000 },
  );
});
