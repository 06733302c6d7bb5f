/**
 * The one XML serializer: every document the hub writes comes out of `serializeXml`, from a tree (tree.ts).
 *
 * It escapes every text and attribute value, and derives namespace declarations from the tree itself: an element
 * declares its namespace (under its prefix) only where that binding is not already in scope, so a parsed tree is
 * written back with the same qualified names and a built tree needs no declarations in it. Element order is the
 * tree's order; builders put children in schema order before serializing (see build/order.ts).
 */
import { XSI_NS, type XmlElement } from './tree.js';

export interface SerializeOptions {
  /** Write `<?xml version="1.0" encoding="UTF-8"?>` first (default true). */
  declaration?: boolean;
  /** Indentation per level for elements that hold only elements ('' or undefined: no whitespace added). */
  indent?: string;
}

/** Prefix -> namespace URI bindings in scope; a small linked chain, one link per declaring element. */
interface Scope {
  readonly prefix: string;
  readonly uri: string;
  readonly up: Scope | undefined;
}

const XML_NS = 'http://www.w3.org/XML/1998/namespace';

function lookup(scope: Scope | undefined, prefix: string): string | undefined {
  for (let s = scope; s !== undefined; s = s.up) if (s.prefix === prefix) return s.uri;
  // The default namespace is "no namespace" until declared; the xml prefix is always bound.
  if (prefix === '') return '';
  if (prefix === 'xml') return XML_NS;
  return undefined;
}

export function serializeXml(root: XmlElement, options?: SerializeOptions): string {
  const head = options?.declaration === false ? '' : '<?xml version="1.0" encoding="UTF-8"?>';
  const indent = options?.indent ?? '';
  const body = writeElement(root, undefined, indent, indent === '' ? '' : '\n');
  return head === '' ? body : head + (indent === '' ? '' : '\n') + body;
}

function writeElement(el: XmlElement, outer: Scope | undefined, indent: string, pad: string): string {
  let scope = outer;
  let decls = '';
  // An element in no namespace cannot carry a prefix; write it unprefixed.
  const prefix = el.ns === '' ? '' : el.prefix;
  if (lookup(scope, prefix) !== el.ns) {
    scope = { prefix, uri: el.ns, up: scope };
    decls += prefix === '' ? ` xmlns="${escapeAttr(el.ns)}"` : ` xmlns:${prefix}="${escapeAttr(el.ns)}"`;
  }
  const qname = prefix === '' ? el.name : `${prefix}:${el.name}`;
  let attrs = '';
  for (const a of el.attrs) {
    let aPrefix = a.prefix;
    if (a.ns === '') {
      aPrefix = '';
    } else {
      if (aPrefix === '') aPrefix = a.ns === XSI_NS ? 'xsi' : 'ns1';
      if (lookup(scope, aPrefix) !== a.ns) {
        scope = { prefix: aPrefix, uri: a.ns, up: scope };
        decls += ` xmlns:${aPrefix}="${escapeAttr(a.ns)}"`;
      }
    }
    attrs += ` ${aPrefix === '' ? a.name : `${aPrefix}:${a.name}`}="${escapeAttr(a.value)}"`;
  }
  const open = `<${qname}${decls}${attrs}`;
  const kids = el.children;
  if (kids.length === 0) {
    return el.text === '' ? `${open}/>` : `${open}>${escapeText(el.text)}</${qname}>`;
  }
  const inner = pad === '' ? '' : pad + indent;
  let out = `${open}>${escapeText(el.text)}`;
  for (let i = 0; i < kids.length; i++) out += inner + writeElement(kids[i]!, scope, indent, inner);
  return `${out}${pad}</${qname}>`;
}

const TEXT_SPECIAL = /[&<>\r]/;
const ATTR_SPECIAL = /[&<>"\t\n\r]/;

/** Escapes character data; a carriage return is written as a reference so it survives re-parsing. */
export function escapeText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  return s.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

/** Escapes an attribute value (quotes, and whitespace that attribute normalization would otherwise change). */
export function escapeAttr(s: string): string {
  if (!ATTR_SPECIAL.test(s)) return s;
  return s.replace(/[&<>"\t\n\r]/g, (c) => ATTR_ESCAPES[c]!);
}

const ATTR_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};
