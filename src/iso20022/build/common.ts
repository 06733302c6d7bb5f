/** What every builder returns, and the shared step that finishes a built Document. */
import { MxError } from '../../errors.js';
import { namespaceOf, type MessageId } from '../identify.js';
import type { SplitMessage } from '../message.js';
import { serializeXml, type SerializeOptions } from '../xml/serialize.js';
import { child, childrenNamed, textAt, type XmlElement } from '../xml/tree.js';
import { sortBySchema } from './order.js';
import { Nodes, type ReasonInput } from './nodes.js';

export interface BuiltMessage {
  id: MessageId;
  /** The Document element, children in schema order. */
  document: XmlElement;
}

/** A status or reason to give one transaction of the original, picked by its 0-based position in the original. */
export interface TransactionAnswer {
  index: number;
  status: string;
  reasons?: ReasonInput[];
}

export function nodesFor(id: MessageId): Nodes {
  return new Nodes(namespaceOf(id));
}

/** Wraps the message body in its Document and puts every element in schema order. */
export function finish(id: MessageId, n: Nodes, body: XmlElement): BuiltMessage {
  const document = n.el('Document', body);
  sortBySchema(document, id.id);
  return { id, document };
}

/** Writes a built message as UTF-8 XML text through the one serializer. */
export function toXml(built: BuiltMessage, options?: SerializeOptions): string {
  return serializeXml(built.document, options);
}

/** The original's Document, or MESSAGE_UNSUPPORTED when it is not one of the families the builder answers. */
export function originalDocument(original: SplitMessage, families: readonly string[], builder: string): XmlElement {
  const id = original.documentId;
  if (original.document === undefined || id === undefined || !families.includes(id.family)) {
    throw new MxError('MESSAGE_UNSUPPORTED', `${builder} answers ${families.join(', ')}, not ${original.id.id}`);
  }
  return original.document;
}

/** Status per transaction position: explicit answers first, else the default status for all (or none). */
export function answerFor(
  index: number,
  answers: readonly TransactionAnswer[] | undefined,
  status: string | undefined,
  reasons: ReasonInput[] | undefined,
): { status: string; reasons: ReasonInput[] } | undefined {
  const explicit = answers?.find((a) => a.index === index);
  if (explicit !== undefined) return { status: explicit.status, reasons: explicit.reasons ?? [] };
  return status === undefined ? undefined : { status, reasons: reasons ?? [] };
}

/** The ids by which a later message points at one transaction of an original pacs.008, pacs.009 or pacs.004. */
export interface OriginalTxIds {
  instrId?: string;
  endToEndId?: string;
  txId?: string;
  uetr?: string;
  /** The transaction's IntrBkSttlmAmt (pacs.004: RtrdIntrBkSttlmAmt) element, with its Ccy. */
  amount?: XmlElement;
  settlementDate?: string;
}

/** The transactions of an original credit transfer (CdtTrfTxInf) or return (TxInf). */
export function originalTransactions(body: XmlElement, family: string): XmlElement[] {
  return childrenNamed(body, family === 'pacs.004' ? 'TxInf' : 'CdtTrfTxInf');
}

/**
 * How a transaction of the original is named by the messages about it. A return (pacs.004) is itself named by its
 * RtrId (as OrgnlTxId) and the end-to-end id and UETR it carries; a transfer by its PmtId.
 */
export function originalTxIds(tx: XmlElement, family: string, grp: XmlElement | undefined): OriginalTxIds {
  const isReturn = family === 'pacs.004';
  const out: OriginalTxIds = {};
  const put = <K extends keyof OriginalTxIds>(key: K, value: OriginalTxIds[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  put('instrId', isReturn ? undefined : textAt(tx, 'PmtId/InstrId'));
  put('endToEndId', isReturn ? textAt(tx, 'OrgnlEndToEndId') : textAt(tx, 'PmtId/EndToEndId'));
  put('txId', isReturn ? textAt(tx, 'RtrId') : textAt(tx, 'PmtId/TxId'));
  put('uetr', isReturn ? textAt(tx, 'OrgnlUETR') : textAt(tx, 'PmtId/UETR'));
  put('amount', child(tx, isReturn ? 'RtrdIntrBkSttlmAmt' : 'IntrBkSttlmAmt'));
  put('settlementDate', textAt(tx, 'IntrBkSttlmDt') ?? textAt(grp, 'IntrBkSttlmDt'));
  return out;
}
