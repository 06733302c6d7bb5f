/**
 * Business application headers (head.001) for built messages, and the wrapper that carries a header with its
 * Document. An answer's header swaps the original's From and To, keeps its business service and market practice,
 * and points at the original header (Rltd), so the receiver can match request and answer.
 */
import { child, element, textAt, type XmlElement } from '../xml/tree.js';
import { parseMessageId, type MessageId } from '../identify.js';
import type { SplitMessage } from '../message.js';
import type { Agent } from '../models/common.js';
import { nodesFor, type BuiltMessage } from './common.js';
import { sortBySchema } from './order.js';

export interface AppHeaderOptions {
  /** head.001 version ('001.02' by default). */
  version?: string;
  from: Agent;
  to: Agent;
  bizMsgIdr: string;
  /** The message the header travels with, such as 'pacs.002.001.10'. */
  msgDefIdr: string;
  creDt: string;
  bizSvc?: string;
  marketPractice?: { registry?: string; id: string };
  possibleDuplicate?: boolean;
}

export interface BuiltHeader {
  id: MessageId;
  appHdr: XmlElement;
}

export function buildAppHeader(options: AppHeaderOptions): BuiltHeader {
  const id = parseMessageId(`head.001.${options.version ?? '001.02'}`)!;
  const n = nodesFor(id);
  const mkt = options.marketPractice;
  const appHdr = n.el(
    'AppHdr',
    n.el('Fr', n.agent('FIId', options.from)),
    n.el('To', n.agent('FIId', options.to)),
    n.leaf('BizMsgIdr', options.bizMsgIdr),
    n.leaf('MsgDefIdr', options.msgDefIdr),
    n.leaf('BizSvc', options.bizSvc),
    mkt !== undefined && n.el('MktPrctc', n.leaf('Regy', mkt.registry ?? 'NOTPROVIDED'), n.leaf('Id', mkt.id)),
    n.leaf('CreDt', options.creDt),
    options.possibleDuplicate === true && n.leaf('PssblDplct', 'true'),
  );
  sortBySchema(appHdr, id.id);
  return { id, appHdr };
}

/**
 * The header of an answer to `original` (which must have one): From and To swapped, the same business service and
 * market practice, and Rltd pointing at the original header. Same head.001 version as the original's.
 */
export function buildAnswerHeader(original: SplitMessage, answer: BuiltMessage, options: { bizMsgIdr: string; creDt: string }): BuiltHeader | undefined {
  const hdr = original.appHdr;
  if (hdr === undefined || original.headerId === undefined) return undefined;
  const id = original.headerId;
  const n = nodesFor(id);
  const fr = child(hdr, 'Fr');
  const to = child(hdr, 'To');
  const related = n.el(
    'Rltd',
    fr !== undefined && n.adopt(fr),
    to !== undefined && n.adopt(to),
    n.leaf('BizMsgIdr', textAt(hdr, 'BizMsgIdr') ?? ''),
    n.leaf('MsgDefIdr', textAt(hdr, 'MsgDefIdr') ?? ''),
    child(hdr, 'BizSvc') !== undefined && n.adopt(child(hdr, 'BizSvc')!),
    n.leaf('CreDt', textAt(hdr, 'CreDt') ?? ''),
  );
  const appHdr = n.el(
    'AppHdr',
    to !== undefined && n.adopt(to, 'Fr'),
    fr !== undefined && n.adopt(fr, 'To'),
    n.leaf('BizMsgIdr', options.bizMsgIdr),
    n.leaf('MsgDefIdr', answer.id.id),
    child(hdr, 'BizSvc') !== undefined && n.adopt(child(hdr, 'BizSvc')!),
    child(hdr, 'MktPrctc') !== undefined && n.adopt(child(hdr, 'MktPrctc')!),
    n.leaf('CreDt', options.creDt),
    related,
  );
  sortBySchema(appHdr, id.id);
  return { id, appHdr };
}

/**
 * A header and a Document under one wrapper element (by default the SWIFT-style <Envelope> in no namespace of
 * its own, as CBPR+ exchanges use); pass another name and namespace for a scheme's wrapper.
 */
export function wrapMessage(header: BuiltHeader, document: BuiltMessage, wrapper?: { ns: string; name: string }): XmlElement {
  return element(wrapper?.ns ?? 'urn:swift:xsd:envelope', wrapper?.name ?? 'Envelope', { children: [header.appHdr, document.document] });
}
