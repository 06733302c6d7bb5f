/**
 * Schema validation against the official ISO 20022 XSDs, with libxml2 compiled to WebAssembly.
 *
 * The module reads no files: the caller passes a SchemaSource (namespace URI -> XSD text). Each schema is
 * compiled once, the first time a message of its namespace is seen, and reused; compiling a 60 KB ISO schema
 * costs far more than validating a message with it.
 *
 * A message may be bare (root Document or AppHdr) or wrapped (Envelope, RequestPayload, FedNowIncoming...: an
 * AppHdr and a Document under a wrapper nobody publishes a schema for). Each ISO part is validated as a
 * subtree against the schema of its own namespace; the wrapper itself is not checked here.
 *
 * libxml2 objects live in WebAssembly memory that the garbage collector does not see: every parsed document is
 * disposed in a finally block, and compiled schemas stay until dispose().
 *
 * Cache states: namespace absent -> compiled (validator + its schema document kept) | failed (error kept, so a
 * broken schema is not recompiled for every message) -> all disposed by dispose().
 */
import { ParseOption, XmlDocument, XmlElement, XmlParseError, XmlValidateError, XsdValidator } from 'libxml2-wasm';
import type { ErrorDetail } from 'libxml2-wasm';
import { MxError } from '../../errors.js';
import { pathStep } from './paths.js';
import type { Finding } from './types.js';

/** Gives the XSD text of the schema whose targetNamespace is `namespace`, or undefined when there is none. */
export type SchemaSource = (namespace: string) => string | Uint8Array | undefined;

export interface SchemaValidatorOptions {
  readonly source: SchemaSource;
  /** Findings reported per message part at most (libxml2 may report one error per bad element). */
  readonly findingsMax?: number;
}

export const ISO20022_NAMESPACE_PREFIX = 'urn:iso:std:iso:20022:tech:xsd:';

// No network, no external entities or DTDs, no entity substitution: the same posture as the safe parser.
const PARSE_OPTIONS = ParseOption.XML_PARSE_NONET | ParseOption.XML_PARSE_NO_XXE;
// A DOCTYPE has no place in an ISO 20022 message; refusing it here keeps this layer safe on its own.
const DOCTYPE = /<!DOCTYPE/i;
// How deep below the root the ISO parts may sit (Envelope > AppHdr is 1; BAH inside a transport wrapper is 2 or 3).
const PART_DEPTH_MAX = 4;
const FINDINGS_MAX_DEFAULT = 50;
const HEAD_CHARS = 4096;
const utf8 = new TextDecoder();

interface CompiledSchema {
  readonly validator: XsdValidator;
  readonly schemaDoc: XmlDocument;
}

export class SchemaValidator {
  readonly #source: SchemaSource;
  readonly #findingsMax: number;
  readonly #compiled = new Map<string, CompiledSchema>();
  readonly #failed = new Map<string, MxError>();
  #disposed = false;

  constructor(options: SchemaValidatorOptions) {
    this.#source = options.source;
    this.#findingsMax = options.findingsMax ?? FINDINGS_MAX_DEFAULT;
  }

  /** Number of schemas compiled so far (each is compiled once). */
  get compiledCount(): number {
    return this.#compiled.size;
  }

  /**
   * Validates every ISO 20022 part of `xml` against its schema. Returns findings (empty when valid).
   * Throws MxError XML_UNSAFE / XML_MALFORMED for input that is not safe, well-formed XML, and
   * SCHEMA_UNAVAILABLE when the source has no (or a broken) schema for a part's namespace.
   */
  validate(xml: string | Uint8Array): Finding[] {
    if (this.#disposed) throw new Error('assertion failed: SchemaValidator used after dispose()');
    const doc = parseInput(xml);
    try {
      const root = doc.root;
      const parts = findParts(root, 0, []);
      if (parts.length === 0) {
        return [{
          layer: 'xsd', severity: 'error', rule: 'xsd.namespace', code: 'FF01', path: `/${root.name}`, line: root.line,
          message: `no ISO 20022 Document or AppHdr (namespace ${ISO20022_NAMESPACE_PREFIX}...) in the message`,
        }];
      }
      const findings: Finding[] = [];
      for (const part of parts) findings.push(...this.#validatePart(part));
      return findings;
    } finally {
      doc.dispose();
    }
  }

  /** Releases every compiled schema. The validator cannot be used afterwards. */
  dispose(): void {
    for (const { validator, schemaDoc } of this.#compiled.values()) {
      validator.dispose();
      schemaDoc.dispose();
    }
    this.#compiled.clear();
    this.#failed.clear();
    this.#disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #validatePart(part: XmlElement): Finding[] {
    const namespace = part.namespaceUri;
    const schema = this.#schema(namespace);
    try {
      schema.validator.validate(part);
      return [];
    } catch (error) {
      if (!(error instanceof XmlValidateError)) throw error;
      const details = error.details.length > 0 ? error.details : [{ message: error.message, level: 2, line: part.line, col: 0 }];
      return details.slice(0, this.#findingsMax).map((detail) => toFinding(detail, part));
    }
  }

  #schema(namespace: string): CompiledSchema {
    const compiled = this.#compiled.get(namespace);
    if (compiled !== undefined) return compiled;
    const failed = this.#failed.get(namespace);
    if (failed !== undefined) throw failed;
    try {
      const fresh = compile(namespace, this.#source);
      this.#compiled.set(namespace, fresh);
      return fresh;
    } catch (error) {
      const wrapped = error instanceof MxError ? error : new MxError('SCHEMA_UNAVAILABLE',
        `the schema for ${namespace} does not compile`, { cause: error, details: { namespace } });
      this.#failed.set(namespace, wrapped);
      throw wrapped;
    }
  }
}

function compile(namespace: string, source: SchemaSource): CompiledSchema {
  const text = source(namespace);
  if (text === undefined) {
    throw new MxError('SCHEMA_UNAVAILABLE', `no schema configured for ${namespace}`, { details: { namespace } });
  }
  const schemaDoc = typeof text === 'string'
    ? XmlDocument.fromString(text, { option: PARSE_OPTIONS })
    : XmlDocument.fromBuffer(text, { option: PARSE_OPTIONS });
  try {
    // The compiled schema may point into its source document, so the document is kept until dispose().
    return { validator: XsdValidator.fromDoc(schemaDoc), schemaDoc };
  } catch (error) {
    schemaDoc.dispose();
    throw error;
  }
}

function parseInput(xml: string | Uint8Array): XmlDocument {
  const head = typeof xml === 'string' ? xml.slice(0, HEAD_CHARS) : utf8.decode(xml.subarray(0, HEAD_CHARS));
  // A DOCTYPE can only come before the root element, so the head of the document is enough to find it.
  if (DOCTYPE.test(head)) throw new MxError('XML_UNSAFE', 'the message carries a DOCTYPE declaration');
  try {
    return typeof xml === 'string'
      ? XmlDocument.fromString(xml, { option: PARSE_OPTIONS })
      : XmlDocument.fromBuffer(xml, { option: PARSE_OPTIONS });
  } catch (error) {
    if (error instanceof XmlParseError) {
      const first = error.details[0];
      throw new MxError('XML_MALFORMED', `not well-formed XML${first === undefined ? '' : ` (line ${first.line}): ${first.message.trim()}`}`,
        { cause: error, details: first === undefined ? {} : { line: first.line } });
    }
    throw error;
  }
}

function isIsoPart(element: XmlElement): boolean {
  return (element.name === 'Document' || element.name === 'AppHdr') && element.namespaceUri.startsWith(ISO20022_NAMESPACE_PREFIX);
}

/** Collects the ISO parts in document order: the root itself, or the parts found under the wrapper. */
function findParts(element: XmlElement, depth: number, out: XmlElement[]): XmlElement[] {
  if (isIsoPart(element)) {
    out.push(element);
    return out;
  }
  if (depth >= PART_DEPTH_MAX) return out;
  for (let child = element.firstChild; child !== null; child = child.next) {
    if (child instanceof XmlElement) findParts(child, depth + 1, out);
  }
  return out;
}

function toFinding(detail: ErrorDetail, part: XmlElement): Finding {
  const path = detail.xpath === undefined ? undefined : resolveXPath(detail.xpath, part);
  return {
    layer: 'xsd',
    severity: 'error',
    rule: 'xsd.schema',
    code: 'FF01',
    path: path ?? `/${part.name}`,
    ...(detail.line > 0 ? { line: detail.line } : {}),
    message: tidy(detail.message, part.namespaceUri),
  };
}

/** Drops the namespace from libxml2's '{urn:...}Name' so messages read like the element paths. */
function tidy(message: string, namespace: string): string {
  return message.trim().split(`{${namespace}}`).join('');
}

/**
 * Turns libxml2's node path ('/RequestPayload/*[2]/*[3]', where '*' is an element of a default namespace and
 * the index counts element siblings) into a path of local names rooted at the part ('/Document/...').
 */
function resolveXPath(xpath: string, part: XmlElement): string | undefined {
  const steps = xpath.split('/').slice(1);
  let node: XmlElement | undefined;
  let inPart = false;
  const names: string[] = [];
  for (const step of steps) {
    const match = /^([^[]+)(?:\[(\d+)\])?$/.exec(step);
    if (match === null) return undefined;
    const [, name = '', index] = match;
    const wanted = index === undefined ? 1 : Number(index);
    const next: XmlElement | undefined = node === undefined ? rootOf(part) : nthChild(node, name, wanted);
    if (next === undefined) return undefined;
    node = next;
    if (node.isSameNode(part)) inPart = true;
    if (inPart) names.push(describe(node));
  }
  return inPart ? `/${names.join('/')}` : undefined;
}

function rootOf(element: XmlElement): XmlElement {
  let current = element;
  while (current.parent !== null) current = current.parent;
  return current;
}

function nthChild(parent: XmlElement, name: string, wanted: number): XmlElement | undefined {
  let seen = 0;
  for (let child = parent.firstChild; child !== null; child = child.next) {
    if (!(child instanceof XmlElement)) continue;
    const qualified = child.prefix === '' ? child.name : `${child.prefix}:${child.name}`;
    if (name === '*' || name === qualified) {
      seen += 1;
      if (seen === wanted) return child;
    }
  }
  return undefined;
}

function describe(element: XmlElement): string {
  let index = 1;
  let same = 1;
  for (let s = element.prev; s !== null; s = s.prev) {
    if (s instanceof XmlElement && s.name === element.name) { index += 1; same += 1; }
  }
  for (let s = element.next; s !== null; s = s.next) {
    if (s instanceof XmlElement && s.name === element.name) same += 1;
  }
  return pathStep(element.name, index, same);
}
