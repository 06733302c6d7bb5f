/**
 * From a parsed XML document to a message: find the business application header (AppHdr) and the Document,
 * alone or inside any wrapper element (SWIFT <Envelope>, <RequestPayload>, FedNow's FedNowIncoming, Fedwire's
 * FedwireFundsOutgoing, ...), identify the Document from its namespace, and report a header that names another
 * message (MsgDefIdr) than the Document is.
 *
 * Wrappers are not interpreted: their element names are kept in `wrapperPath` for profile rules to check.
 */
import { MxError } from '../errors.js';
import { identifyNamespace, isSupported, type MessageId } from './identify.js';
import { readAppHeader, type AppHeader } from './models/head.js';
import { parseXml, type XmlParseOptions } from './xml/parse.js';
import type { XmlDocument, XmlElement } from './xml/tree.js';

/** A fact about the message's structure that is not a parse error; validation decides what it means. */
export interface MessageFinding {
  code: 'HEADER_MSGDEFIDR_MISMATCH';
  message: string;
}

export interface SplitMessage {
  /** The parsed document as a whole (the wrapper when there is one). */
  xml: XmlDocument;
  /** The AppHdr element, when present. */
  appHdr?: XmlElement;
  /** The AppHdr's own identity (from its namespace), such as head.001.001.02. */
  headerId?: MessageId;
  /** The header as a typed view. */
  header?: AppHeader;
  /** The Document element, when present. */
  document?: XmlElement;
  /** The Document's identity (from its namespace). */
  documentId?: MessageId;
  /** The message that this is: the Document's identity, or the header's for a header alone. */
  id: MessageId;
  /** Local names of the elements around the AppHdr/Document, outermost first ([] when not wrapped). */
  wrapperPath: string[];
  findings: MessageFinding[];
}

const MAX_SEARCH_DEPTH = 8;

/**
 * Splits a parsed document into header and Document. Throws MESSAGE_UNSUPPORTED when there is neither, when there
 * is more than one of either, or when the Document has no ISO 20022 namespace. Does not check the version is one the
 * hub supports (see parseMessage).
 */
export function splitMessage(xml: XmlDocument): SplitMessage {
  const found = { hdrs: [] as XmlElement[], docs: [] as XmlElement[], path: [] as string[] };
  search(xml.root, [], found, 0);
  if (found.hdrs.length > 1 || found.docs.length > 1) {
    throw new MxError('MESSAGE_UNSUPPORTED', 'the input holds more than one AppHdr or Document');
  }
  const appHdr = found.hdrs[0];
  const document = found.docs[0];
  if (appHdr === undefined && document === undefined) {
    throw new MxError(
      'MESSAGE_UNSUPPORTED',
      `no ISO 20022 AppHdr or Document found (root element <${xml.root.name}>, namespace ${xml.root.ns || 'none'})`,
    );
  }
  const headerId = appHdr === undefined ? undefined : identifyNamespace(appHdr.ns)!;
  const documentId = document === undefined ? undefined : identifyNamespace(document.ns)!;
  const out: SplitMessage = { xml, id: (documentId ?? headerId)!, wrapperPath: found.path, findings: [] };
  if (appHdr !== undefined) {
    out.appHdr = appHdr;
    out.headerId = headerId!;
    out.header = readAppHeader(appHdr);
  }
  if (document !== undefined) {
    out.document = document;
    out.documentId = documentId!;
  }
  const declared = out.header?.msgDefIdr;
  if (declared !== undefined && out.documentId !== undefined && declared !== out.documentId.id) {
    out.findings.push({
      code: 'HEADER_MSGDEFIDR_MISMATCH',
      message: `the AppHdr names ${declared} (MsgDefIdr) but the Document is ${out.documentId.id}`,
    });
  }
  return out;
}

/** Walks wrappers (not into AppHdr or Document) collecting ISO 20022 headers and Documents. */
function search(el: XmlElement, path: string[], found: { hdrs: XmlElement[]; docs: XmlElement[]; path: string[] }, depth: number): void {
  const id = identifyNamespace(el.ns);
  if (id !== undefined && el.name === 'AppHdr' && id.family === 'head.001') {
    found.hdrs.push(el);
    found.path = path;
    return;
  }
  if (el.name === 'Document') {
    if (id === undefined) {
      throw new MxError('MESSAGE_UNSUPPORTED', `<Document> has no ISO 20022 message namespace (${el.ns || 'none'})`);
    }
    found.docs.push(el);
    found.path = path;
    return;
  }
  if (depth >= MAX_SEARCH_DEPTH) return;
  const inner = [...path, el.name];
  for (const c of el.children) search(c, inner, found, depth + 1);
}

/**
 * Parses and splits a message, and refuses a message type or version the hub does not handle (MESSAGE_UNSUPPORTED).
 * The one entry point for raw input: XML_* errors for bad XML, MESSAGE_UNSUPPORTED for a foreign message.
 */
export function parseMessage(input: string | Uint8Array, options?: XmlParseOptions): SplitMessage {
  const split = splitMessage(parseXml(input, options));
  for (const id of [split.documentId, split.headerId]) {
    if (id !== undefined && !isSupported(id)) {
      throw new MxError('MESSAGE_UNSUPPORTED', `${id.id} is not a message version the hub handles`, { details: { id: id.id } });
    }
  }
  return split;
}
