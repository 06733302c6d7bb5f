/**
 * The secure XML parser: bytes or text in, an element tree (see tree.ts) out, or an MxError.
 *
 * Security layer 1 of the message layer. What it refuses and why:
 * - any DOCTYPE (so no DTD, no entity declarations, no external references: XXE and billion-laughs need one),
 *   entity references other than the five predefined ones and numeric character references, and processing
 *   instructions after the prolog: XML_UNSAFE;
 * - input larger than `maxBytes` (checked before any parsing, so 50 MB is refused in microseconds), more than
 *   `maxDepth` nested elements, more than `maxElements` elements or `maxAttributes` attributes on one element:
 *   XML_LIMIT_EXCEEDED, raised at the first element past the bound;
 * - invalid UTF-8 (strict decoding of byte input), an encoding declaration other than UTF-8 and anything that is
 *   not well-formed namespace-aware XML 1.0: XML_MALFORMED.
 *
 * saxes does the tokenizing; this module only reacts to its events. One parser object per call, handlers bound
 * once per call (never per node), so the cost per element is the element object itself.
 *
 * Speed note: saxes stores each handler as a property of the parser object. Past six handlers V8 turns that object
 * into a slow dictionary and parsing gets five times slower, so errors are caught around write() instead of through
 * an 'error' handler, and the encoding is read from the XML declaration directly instead of an 'xmldecl' handler.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { MxError } from '../../errors.js';
import type { XmlAttribute, XmlDocument, XmlElement } from './tree.js';

export interface XmlLimits {
  /** Largest input in bytes of UTF-8. */
  maxBytes: number;
  /** Deepest element nesting (the root is depth 1). */
  maxDepth: number;
  /** Most elements in one document. */
  maxElements: number;
  /** Most attributes (namespace declarations included) on one element. */
  maxAttributes: number;
}

export const DEFAULT_XML_LIMITS: Readonly<XmlLimits> = Object.freeze({
  maxBytes: 10 * 1024 * 1024,
  maxDepth: 64,
  maxElements: 250_000,
  maxAttributes: 64,
});

export type XmlParseOptions = Partial<XmlLimits>;

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';
const NO_ATTRS: XmlAttribute[] = [];
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a document. Byte input is decoded as strict UTF-8; a string is taken as already decoded text. */
export function parseXml(input: string | Uint8Array, options?: XmlParseOptions): XmlDocument {
  const limits = options === undefined ? DEFAULT_XML_LIMITS : { ...DEFAULT_XML_LIMITS, ...options };
  const text = decode(input, limits.maxBytes);
  return parseText(text, limits);
}

function decode(input: string | Uint8Array, maxBytes: number): string {
  if (typeof input === 'string') {
    // Cheap bound first; the exact UTF-8 length is only counted when the string could be over the limit, and
    // after the prolog check, so a large hostile DTD is refused without a pass over the whole text.
    if (input.length > maxBytes) throw tooLarge(maxBytes);
    refuseDoctype(input);
    if (input.length * 3 > maxBytes && utf8Length(input) > maxBytes) throw tooLarge(maxBytes);
    return input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  }
  if (input.byteLength > maxBytes) throw tooLarge(maxBytes);
  try {
    return utf8.decode(input);
  } catch (cause) {
    throw new MxError('XML_MALFORMED', 'the document is not valid UTF-8', { cause });
  }
}

function tooLarge(maxBytes: number): MxError {
  return new MxError('XML_LIMIT_EXCEEDED', `the document is larger than ${maxBytes} bytes`, { details: { limit: 'maxBytes', maxBytes } });
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function parseText(text: string, limits: XmlLimits): XmlDocument {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let current: XmlElement | undefined;
  let count = 0;
  const encoding = declaredEncoding(text);
  refuseDoctype(text);

  parser.on('doctype', () => {
    throw new MxError('XML_UNSAFE', 'a DOCTYPE (DTD) is not allowed', { details: { line: parser.line } });
  });
  parser.on('processinginstruction', (pi) => {
    if (root !== undefined) {
      throw new MxError('XML_UNSAFE', `processing instruction <?${pi.target}?> after the prolog is not allowed`, {
        details: { line: parser.line },
      });
    }
  });
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (++count > limits.maxElements) {
      throw new MxError('XML_LIMIT_EXCEEDED', `more than ${limits.maxElements} elements`, {
        details: { limit: 'maxElements', line: parser.line },
      });
    }
    if (stack.length >= limits.maxDepth) {
      throw new MxError('XML_LIMIT_EXCEEDED', `elements nested deeper than ${limits.maxDepth}`, {
        details: { limit: 'maxDepth', line: parser.line },
      });
    }
    const el: XmlElement = {
      ns: tag.uri,
      name: tag.local,
      prefix: tag.prefix,
      attrs: NO_ATTRS,
      children: [],
      text: '',
      line: parser.line,
    };
    let attrs: XmlAttribute[] | undefined;
    let n = 0;
    for (const key in tag.attributes) {
      if (++n > limits.maxAttributes) {
        throw new MxError('XML_LIMIT_EXCEEDED', `more than ${limits.maxAttributes} attributes on <${tag.name}>`, {
          details: { limit: 'maxAttributes', line: parser.line },
        });
      }
      const a = tag.attributes[key]!;
      if (a.uri === XMLNS_NS) continue;
      (attrs ??= []).push({ ns: a.uri, name: a.local, prefix: a.prefix, value: a.value });
    }
    if (attrs !== undefined) el.attrs = attrs;
    if (current === undefined) root = el;
    else current.children.push(el);
    stack.push(el);
    current = el;
  });
  parser.on('text', (t: string) => {
    if (current !== undefined) current.text = current.text === '' ? t : current.text + t;
  });
  parser.on('cdata', (t: string) => {
    if (current !== undefined) current.text = current.text === '' ? t : current.text + t;
  });
  parser.on('closetag', () => {
    const el = stack.pop()!;
    if (el.children.length > 0 && el.text !== '' && isWhitespace(el.text)) el.text = '';
    current = stack.length === 0 ? undefined : stack[stack.length - 1];
  });

  try {
    parser.write(text).close();
  } catch (error) {
    if (error instanceof MxError) throw error;
    throw saxesError(error, parser.line, parser.column);
  }
  if (root === undefined) throw new MxError('XML_MALFORMED', 'the document has no root element');
  return { root, encoding };
}

const XML_DECL_ENCODING = /^<\?xml\s[^>]*?encoding\s*=\s*["']([^"']*)["']/;

/** The encoding named in the XML declaration ('' when none); anything but UTF-8 is refused. */
function declaredEncoding(text: string): string {
  if (!text.startsWith('<?xml')) return '';
  const m = XML_DECL_ENCODING.exec(text.slice(0, 200));
  const enc = m?.[1] ?? '';
  const lower = enc.toLowerCase();
  if (enc !== '' && lower !== 'utf-8' && lower !== 'utf8') {
    throw new MxError('XML_MALFORMED', `encoding ${enc} is not accepted; ISO 20022 messages are UTF-8`);
  }
  return enc;
}

/**
 * Refuses a DOCTYPE before saxes sees it: saxes reads a whole internal subset before reporting it, which for a
 * multi-megabyte subset takes seconds. A DOCTYPE can only stand in the prolog, so only the prolog is scanned
 * (past the XML declaration, processing instructions, comments and whitespace), never the document.
 */
function refuseDoctype(text: string): void {
  let i = 0;
  for (;;) {
    while (i < text.length && (text.charCodeAt(i) <= 0x20)) i++;
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2);
      if (end === -1) return;
      i = end + 2;
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end === -1) return;
      i = end + 3;
    } else {
      break;
    }
  }
  if (text.startsWith('<!', i) && text.slice(i + 2, i + 9).toUpperCase() === 'DOCTYPE') {
    throw new MxError('XML_UNSAFE', 'a DOCTYPE (DTD) is not allowed', { details: { offset: i } });
  }
}

function saxesError(error: unknown, line: number, column: number): MxError {
  const message = error instanceof Error ? error.message : String(error);
  // saxes reports an entity it does not know as "undefined entity": a reference to a declared or external
  // entity, which this layer refuses as unsafe rather than merely malformed.
  const code = message.includes('undefined entity') ? 'XML_UNSAFE' : 'XML_MALFORMED';
  return new MxError(code, message, { cause: error, details: { line, column } });
}

function isWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}
