/**
 * Carrying a part of one message into another: when the schemas give both places the same type (the usual case
 * inside one ISO release) the part is copied whole, so nothing the original said is lost; when the types differ
 * (say a pain.001.001.03 debtor going into a pacs.008.001.08) the part is rebuilt from its typed view, keeping what
 * the newer type can hold.
 */
import type { MessageId } from '../identify.js';
import { readAccount, readAgent, readParty } from '../models/common.js';
import type { XmlElement } from '../xml/tree.js';
import { Nodes } from './nodes.js';
import { typeAt } from './order.js';

export interface Place {
  id: MessageId;
  /** Path of local names below the root, e.g. 'CstmrCdtTrfInitn/PmtInf/Dbtr'. */
  path: string;
}

export function sameType(from: Place, to: Place): boolean {
  const a = typeAt(from.id.id, from.path);
  return a !== undefined && a === typeAt(to.id.id, to.path);
}

/** An agent (…/FinInstnId) carried across; undefined when the source is absent. */
export function carryAgent(n: Nodes, src: XmlElement | undefined, from: Place, to: Place, name: string): XmlElement | undefined {
  if (src === undefined) return undefined;
  return sameType(from, to) ? n.adopt(src, name) : n.agent(name, readAgent(src));
}

/** A party (name, country, organisation or private id) carried across. */
export function carryParty(n: Nodes, src: XmlElement | undefined, from: Place, to: Place, name: string): XmlElement | undefined {
  if (src === undefined) return undefined;
  return sameType(from, to) ? n.adopt(src, name) : n.party(name, readParty(src));
}

/** An account carried across (IBAN or other id, currency, name). */
export function carryAccount(n: Nodes, src: XmlElement | undefined, from: Place, to: Place, name: string): XmlElement | undefined {
  if (src === undefined) return undefined;
  return sameType(from, to) ? n.adopt(src, name) : n.account(name, readAccount(src));
}

/** Any other part: copied when the types agree, else rebuilt by `rebuild` (which may give up with undefined). */
export function carry(
  n: Nodes,
  src: XmlElement | undefined,
  from: Place,
  to: Place,
  name: string,
  rebuild: (src: XmlElement) => XmlElement | undefined,
): XmlElement | undefined {
  if (src === undefined) return undefined;
  return sameType(from, to) ? n.adopt(src, name) : rebuild(src);
}
