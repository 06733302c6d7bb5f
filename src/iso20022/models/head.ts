/**
 * The business application header (head.001.001.01 to .04) as a typed view.
 */
import type { XmlElement } from '../xml/tree.js';
import { child, textAt } from '../xml/tree.js';
import { readAgent, readParty, set, type Agent, type Party } from './common.js';

export interface HeaderParty {
  /** Set when the party is a financial institution (FIId). */
  agent?: Agent;
  /** Set when the party is an organisation (OrgId). */
  party?: Party;
}

export interface AppHeader {
  from?: HeaderParty;
  to?: HeaderParty;
  bizMsgIdr?: string;
  msgDefIdr?: string;
  bizSvc?: string;
  marketPractice?: { registry?: string; id?: string };
  creDt?: string;
  copyDuplicate?: string;
  possibleDuplicate?: string;
  priority?: string;
  /** The related header (Rltd) when present: the header of the message this one answers. */
  related?: { bizMsgIdr?: string; msgDefIdr?: string; creDt?: string };
}

function readHeaderParty(el: XmlElement | undefined): HeaderParty | undefined {
  if (el === undefined) return undefined;
  const out: HeaderParty = {};
  set(out, 'agent', readAgent(child(el, 'FIId')));
  const org = child(el, 'OrgId');
  if (org !== undefined) set(out, 'party', readParty(org));
  return out;
}

export function readAppHeader(hdr: XmlElement): AppHeader {
  const out: AppHeader = {};
  set(out, 'from', readHeaderParty(child(hdr, 'Fr')));
  set(out, 'to', readHeaderParty(child(hdr, 'To')));
  set(out, 'bizMsgIdr', textAt(hdr, 'BizMsgIdr'));
  set(out, 'msgDefIdr', textAt(hdr, 'MsgDefIdr'));
  set(out, 'bizSvc', textAt(hdr, 'BizSvc'));
  const mkt = child(hdr, 'MktPrctc');
  if (mkt !== undefined) {
    const mp: { registry?: string; id?: string } = {};
    set(mp, 'registry', textAt(mkt, 'Regy'));
    set(mp, 'id', textAt(mkt, 'Id'));
    out.marketPractice = mp;
  }
  set(out, 'creDt', textAt(hdr, 'CreDt'));
  set(out, 'copyDuplicate', textAt(hdr, 'CpyDplct'));
  set(out, 'possibleDuplicate', textAt(hdr, 'PssblDplct'));
  set(out, 'priority', textAt(hdr, 'Prty'));
  const rltd = child(hdr, 'Rltd');
  if (rltd !== undefined) {
    const r: { bizMsgIdr?: string; msgDefIdr?: string; creDt?: string } = {};
    set(r, 'bizMsgIdr', textAt(rltd, 'BizMsgIdr'));
    set(r, 'msgDefIdr', textAt(rltd, 'MsgDefIdr'));
    set(r, 'creDt', textAt(rltd, 'CreDt'));
    out.related = r;
  }
  return out;
}
