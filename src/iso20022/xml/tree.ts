/**
 * The element tree every part of the ISO 20022 layer works on.
 *
 * Shape (plain objects, no parent pointers, so a tree can be compared with deepEqual and printed as JSON):
 *
 *   XmlElement {
 *     ns       namespace URI ('' when the element is in no namespace)
 *     name     local name ('GrpHdr', 'MsgId', ...)
 *     prefix   prefix as written ('' for a default namespace); kept so output uses the same qualified names
 *     attrs    attributes in document order, namespace declarations excluded (the serializer derives those)
 *     children child elements in document order
 *     text     character data directly inside, exactly as decoded (entities and CDATA resolved, never trimmed
 *              or converted); '' for an element whose children are separated only by whitespace
 *     line     1-based line where the start tag ends in the parsed input; 0 for elements built in code
 *   }
 *
 * Comments are not kept. ISO 20022 has no mixed content: if an element holds both non-whitespace text and child
 * elements, its text is kept as one string written before the children.
 *
 * Values stay strings: the tree never turns an amount, id or date into a number.
 */

export interface XmlAttribute {
  /** Namespace URI, '' for an unqualified attribute (such as Ccy). */
  readonly ns: string;
  readonly name: string;
  readonly prefix: string;
  value: string;
}

export interface XmlElement {
  readonly ns: string;
  readonly name: string;
  readonly prefix: string;
  attrs: XmlAttribute[];
  children: XmlElement[];
  text: string;
  line: number;
}

/** A parsed document: the root element plus what the prolog said. */
export interface XmlDocument {
  root: XmlElement;
  /** The encoding named in the XML declaration ('' when absent); only UTF-8 is accepted. */
  encoding: string;
}

/** The namespace of the XML Schema instance attributes (xsi:schemaLocation and friends). */
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

/** Creates an element; children and attributes may be added afterwards. */
export function element(
  ns: string,
  name: string,
  init?: { text?: string; children?: XmlElement[]; attrs?: XmlAttribute[]; prefix?: string },
): XmlElement {
  return {
    ns,
    name,
    prefix: init?.prefix ?? '',
    attrs: init?.attrs ?? [],
    children: init?.children ?? [],
    text: init?.text ?? '',
    line: 0,
  };
}

/** First child with this local name, or undefined. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  if (el === undefined) return undefined;
  const kids = el.children;
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i]!;
    if (k.name === name) return k;
  }
  return undefined;
}

/** All children with this local name, in document order. */
export function childrenNamed(el: XmlElement | undefined, name: string): XmlElement[] {
  if (el === undefined) return [];
  const out: XmlElement[] = [];
  for (const k of el.children) if (k.name === name) out.push(k);
  return out;
}

/** Follows a path of local names ('GrpHdr/MsgId'), taking the first match at each step. */
export function at(el: XmlElement | undefined, path: string): XmlElement | undefined {
  let cur = el;
  let start = 0;
  while (cur !== undefined) {
    const slash = path.indexOf('/', start);
    const name = slash === -1 ? path.slice(start) : path.slice(start, slash);
    cur = child(cur, name);
    if (slash === -1) return cur;
    start = slash + 1;
  }
  return undefined;
}

/** Text at a path, or undefined when the element is absent. */
export function textAt(el: XmlElement | undefined, path: string): string | undefined {
  return at(el, path)?.text;
}

/** Value of an attribute by local name (and namespace, '' by default), or undefined. */
export function attr(el: XmlElement | undefined, name: string, ns = ''): string | undefined {
  if (el === undefined) return undefined;
  for (const a of el.attrs) if (a.name === name && a.ns === ns) return a.value;
  return undefined;
}

/** Depth-first search for the first element (the start included) matching the predicate. */
export function findElement(start: XmlElement, match: (el: XmlElement) => boolean): XmlElement | undefined {
  const stack: XmlElement[] = [start];
  while (stack.length > 0) {
    const el = stack.pop()!;
    if (match(el)) return el;
    for (let i = el.children.length - 1; i >= 0; i--) stack.push(el.children[i]!);
  }
  return undefined;
}

/** A deep copy (so a builder can change a copy of a parsed part without touching the original). */
export function cloneElement(el: XmlElement): XmlElement {
  return {
    ns: el.ns,
    name: el.name,
    prefix: el.prefix,
    attrs: el.attrs.map((a) => ({ ...a })),
    children: el.children.map(cloneElement),
    text: el.text,
    line: el.line,
  };
}
