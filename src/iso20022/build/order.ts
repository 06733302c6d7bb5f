/**
 * Schema knowledge for builders: element order and element types, from the table generated out of the official
 * XSDs (schema-order.generated.ts). A builder assembles a tree in any order; `sortBySchema` then puts every
 * element's children in the order of its type's sequence, so output follows the schema without hand-kept lists.
 */
import { ROOTS, TYPES } from './schema-order.generated.js';
import type { XmlElement } from '../xml/tree.js';

interface TypeInfo {
  readonly index: ReadonlyMap<string, number>;
  readonly childType: ReadonlyMap<string, string>;
}

const cache = new Map<string, TypeInfo | null>();

function typeInfo(type: string): TypeInfo | undefined {
  let info = cache.get(type);
  if (info === undefined) {
    const spec = TYPES[type];
    if (spec === undefined) {
      info = null;
    } else {
      const index = new Map<string, number>();
      const childType = new Map<string, string>();
      spec.split(' ').forEach((entry, i) => {
        const colon = entry.indexOf(':');
        const name = entry.slice(0, colon);
        if (!index.has(name)) index.set(name, i);
        childType.set(name, entry.slice(colon + 1));
      });
      info = { index, childType };
    }
    cache.set(type, info);
  }
  return info ?? undefined;
}

/** The type of a message's root element (Document or AppHdr), or undefined for an unknown message. */
export function rootType(messageId: string): string | undefined {
  const root = ROOTS[messageId];
  return root === undefined ? undefined : root.slice(root.indexOf(':') + 1);
}

/** The type of the element at a path of local names below the root ('FIToFICstmrCdtTrf/CdtTrfTxInf/Dbtr'). */
export function typeAt(messageId: string, path: string): string | undefined {
  let type = rootType(messageId);
  for (const name of path.split('/')) {
    if (type === undefined) return undefined;
    type = typeInfo(type)?.childType.get(name);
  }
  return type;
}

/** Whether an element of this type may hold a child of this name. */
export function allowsChild(type: string | undefined, name: string): boolean {
  return type !== undefined && (typeInfo(type)?.index.has(name) ?? false);
}

/**
 * Sorts the children of every element of `root` (a Document or AppHdr of message `messageId`) into schema order.
 * A child the schema does not know at that place is a builder bug and throws; only elements below an
 * xs:any (SplmtryData/Envlp and similar) are left as they are.
 */
export function sortBySchema(root: XmlElement, messageId: string): void {
  const type = rootType(messageId);
  if (type === undefined) throw new Error(`assertion failed: no schema order for ${messageId}`);
  sortElement(root, type, messageId);
}

function sortElement(el: XmlElement, type: string, messageId: string): void {
  const info = typeInfo(type);
  if (info === undefined || el.children.length === 0) return;
  const kids = el.children;
  for (const k of kids) {
    if (!info.index.has(k.name)) {
      throw new Error(`assertion failed: ${messageId}: <${k.name}> is not allowed in <${el.name}> (${type})`);
    }
  }
  if (kids.length > 1) {
    // Array.prototype.sort is stable, so repeated elements keep their relative order.
    kids.sort((a, b) => info.index.get(a.name)! - info.index.get(b.name)!);
  }
  for (const k of kids) sortElement(k, info.childType.get(k.name)!, messageId);
}
