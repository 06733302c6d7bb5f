/**
 * What the workflow needs to know about a submitted message: its type, its payments, the business keys that make
 * a duplicate recognisable, a content hash for telling an exact resend from a conflicting one, the FIFO group its
 * stages use, and the deadline it sets. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { MxError } from '../errors.js';
import {
  parseMessage,
  readModel,
  textAt,
  childrenNamed,
  child,
  type Amount,
  type MessageModel,
  type OriginalRefs,
  type SplitMessage,
  type XmlElement,
} from '../iso20022/index.js';
import type { BusinessKey } from '../ports/transactions.js';
import type { Finding } from '../iso20022/index.js';

/** How the workflow treats a message family. */
export type SubmissionRole = 'payment' | 'answer';

/** Families taken as new payments, with the report that answers each. */
export const PAYMENT_FAMILIES: Readonly<Record<string, string>> = {
  'pacs.008': 'pacs.002',
  'pacs.009': 'pacs.002',
  'pacs.004': 'pacs.002',
  'pain.001': 'pain.002',
  'camt.056': 'camt.029',
  'pacs.028': 'pacs.002',
};

/**
 * Families taken as answers from the downstream system: its status report of a payment, its resolution of a
 * cancellation request the hub forwarded.
 */
export const ANSWER_FAMILIES: ReadonlySet<string> = new Set(['pacs.002', 'camt.029']);

export interface SubmittedPayment {
  index: number;
  endToEndId: string | null;
  txId: string | null;
  uetr: string | null;
  instrId: string | null;
  amount: string | null;
  currency: string | null;
  /** Debtor account (IBAN or other id) for the FIFO group. */
  debtorAccount: string | null;
}

export interface Submission {
  /** The element tree. A submission read on a worker thread (`withLazyTree`) parses it again on first use. */
  readonly message: SplitMessage;
  /** The message as received (UTF-8 decoded). */
  xml: string;
  model: MessageModel;
  role: SubmissionRole;
  /** Full message id, e.g. pacs.008.001.08. */
  messageType: string;
  family: string;
  msgId: string | null;
  payments: SubmittedPayment[];
  keys: BusinessKey[];
  /** SHA-256 over the Document's canonical content (whitespace and the header do not count). */
  contentHash: string;
  /** A deadline the message itself sets (SttlmTmReq/RjctTm on the settlement date), epoch ms. */
  deadlineAt: number | null;
  /** The built-in and profile findings when they were found with the message (on a worker thread). */
  findings?: PrecomputedFindings;
}

export interface PrecomputedFindings {
  /** The client's profile they were found for (null: the one the message declares, if any). */
  clientProfile: string | null;
  findings: Finding[];
}

/** A submission without its element tree: what a worker thread sends back. */
export type SubmissionData = Omit<Submission, 'message' | 'xml'>;

/** Where a submission read elsewhere keeps its element tree, once something has asked for it. */
const LAZY_TREE = Symbol('lazyTree');

class LazyTree {
  tree: SplitMessage | undefined;
  constructor(readonly xml: string) {}
  get(): SplitMessage {
    return (this.tree ??= parseMessage(this.xml));
  }
}

/**
 * What every submission read elsewhere inherits: a getter for its tree. One getter for all of them, on their shared
 * prototype: with an accessor defined on each object (each its own hidden class, its own closure over the message
 * text), every submission and what the worker sent back outlived the young generation and had to wait for a full
 * collection (measured: BENCHMARKS.md, "Where the tail at 1,000/s comes from").
 */
const lazySubmission = {
  get message(): SplitMessage {
    return (this as unknown as { [LAZY_TREE]: LazyTree })[LAZY_TREE].get();
  },
};

/** A submission read on a worker thread: its tree is parsed again from its XML only if something asks for it. */
export function withLazyTree(data: SubmissionData, xml: string): Submission {
  const submission = Object.create(lazySubmission) as Submission;
  return Object.assign(submission, data, { xml, [LAZY_TREE]: new LazyTree(xml) });
}

/** Whether the submission's element tree is at hand (false: asking for it would parse the XML again). */
export function hasTree(submission: Submission): boolean {
  const lazy = (submission as Submission & { [LAZY_TREE]?: LazyTree })[LAZY_TREE];
  return lazy === undefined || lazy.tree !== undefined;
}

/** Parses and reads a submitted message. Throws coded MxErrors for input that is not a message the hub takes. */
export function readSubmission(input: string | Uint8Array): Submission {
  const message = parseMessage(input);
  const id = message.documentId;
  if (message.document === undefined || id === undefined) {
    throw new MxError('MESSAGE_UNSUPPORTED', 'the input holds no ISO 20022 Document (a header alone is not a payment)');
  }
  const role: SubmissionRole | undefined = id.family in PAYMENT_FAMILIES ? 'payment' : ANSWER_FAMILIES.has(id.family) ? 'answer' : undefined;
  if (role === undefined) {
    throw new MxError('MESSAGE_UNSUPPORTED', `${id.id} is not a message the hub processes (it takes ${[...Object.keys(PAYMENT_FAMILIES), ...ANSWER_FAMILIES].join(', ')})`);
  }
  const model = readModel(message);
  const { msgId, payments } = paymentsOf(model);
  return {
    message,
    xml: inputText(input),
    model,
    role,
    messageType: id.id,
    family: id.family,
    msgId,
    payments,
    keys: role === 'payment' ? businessKeys(id.family, msgId, payments) : [],
    contentHash: contentHash(message.document),
    deadlineAt: messageDeadline(message.document),
  };
}

/**
 * A submitted message as text. Only for input the parser has taken: it has checked the bytes are UTF-8, so
 * decoding them cannot replace anything.
 */
export function inputText(input: string | Uint8Array): string {
  return typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
}

/** Whether an X-Message-Type header agrees with the message: the full id, or its family. */
export function headerMatches(header: string, messageType: string): boolean {
  const h = header.trim();
  return h === messageType || messageType.startsWith(`${h}.`);
}

const n = (v: string | undefined) => (v === undefined || v === '' ? null : v);

/** A payment a request names by the original's ids (camt.056, pacs.028), keyed by the request's own id for it. */
function quoting(index: number, tx: OriginalRefs & { originalAmount?: Amount }, ownId: string | undefined): SubmittedPayment {
  return {
    index,
    endToEndId: n(tx.originalEndToEndId),
    txId: n(ownId),
    uetr: n(tx.originalUetr),
    instrId: n(tx.originalInstrId),
    amount: n(tx.originalAmount?.value),
    currency: n(tx.originalAmount?.currency),
    debtorAccount: null,
  };
}

function paymentsOf(model: MessageModel): { msgId: string | null; payments: SubmittedPayment[] } {
  switch (model.family) {
    case 'pacs.008':
    case 'pacs.009':
      return {
        msgId: n(model.groupHeader.msgId),
        payments: model.transactions.map((tx, index) => ({
          index,
          endToEndId: n(tx.endToEndId),
          txId: n(tx.txId),
          uetr: n(tx.uetr),
          instrId: n(tx.instrId),
          amount: n(tx.amount?.value),
          currency: n(tx.amount?.currency),
          debtorAccount: n(tx.debtorAccount?.iban ?? tx.debtorAccount?.other ?? tx.debtorAgent?.bicfi ?? tx.instructingAgent?.bicfi),
        })),
      };
    case 'pacs.004':
      return {
        msgId: n(model.groupHeader.msgId),
        payments: model.transactions.map((tx, index) => ({
          index,
          endToEndId: n(tx.originalEndToEndId),
          txId: n(tx.returnId),
          uetr: n(tx.originalUetr),
          instrId: n(tx.originalInstrId),
          amount: n(tx.returnedAmount?.value),
          currency: n(tx.returnedAmount?.currency),
          debtorAccount: null,
        })),
      };
    case 'pain.001': {
      const payments: SubmittedPayment[] = [];
      for (const info of model.paymentInfos) {
        for (const tx of info.transactions) {
          payments.push({
            index: payments.length,
            endToEndId: n(tx.endToEndId),
            txId: null,
            uetr: n(tx.uetr),
            instrId: n(tx.instrId),
            amount: n(tx.amount?.value),
            currency: n(tx.amount?.currency),
            debtorAccount: n(info.debtorAccount?.iban ?? info.debtorAccount?.other),
          });
        }
      }
      return { msgId: n(model.msgId), payments };
    }
    case 'camt.056':
      return { msgId: n(model.assignment.id), payments: model.transactions.map((tx, index) => quoting(index, tx, tx.cancellationId)) };
    case 'pacs.028':
      return { msgId: n(model.msgId), payments: model.transactions.map((tx, index) => quoting(index, tx, tx.statusRequestId)) };
    case 'pacs.002':
    case 'pain.002':
      return { msgId: n(model.msgId), payments: [] };
    default:
      return { msgId: null, payments: [] };
  }
}

/**
 * Messages whose payments are named by the ids of the payment they refer to (OrgnlEndToEndId, OrgnlUETR): a return,
 * a cancellation request and a status request. Their own per-payment id is the one in `txId` (RtrId, CxlId,
 * StsReqId).
 */
const QUOTING_FAMILIES = new Set(['pacs.004', 'camt.056', 'pacs.028']);

/**
 * Business keys per sender: the message id, and per payment its end-to-end id, transaction id and UETR. Payment
 * keys are scoped by family, so that a return (pacs.004) quoting its original's end-to-end id is no duplicate of it.
 * A return, a cancellation request or a status request keys its payments by its own id only (RtrId, CxlId,
 * StsReqId): the ids it quotes are the original's, and a second return of a payment (a partial one), a second
 * request to cancel it (a chaser) or a second question about its status is a new message, not a duplicate of the
 * first.
 */
function businessKeys(family: string, msgId: string | null, payments: SubmittedPayment[]): BusinessKey[] {
  const keys: BusinessKey[] = [];
  if (msgId !== null) keys.push({ kind: 'msg_id', value: msgId });
  const seen = new Set<string>();
  const add = (kind: BusinessKey['kind'], value: string | null) => {
    if (value === null || value === 'NOTPROVIDED') return;
    const key = `${kind}\u0000${family}|${value}`;
    if (seen.has(key)) return;
    seen.add(key);
    keys.push({ kind, value: `${family}|${value}` });
  };
  const quoting = QUOTING_FAMILIES.has(family);
  for (const p of payments) {
    if (!quoting) add('end_to_end_id', p.endToEndId);
    add('tx_id', p.txId);
    if (!quoting) add('uetr', p.uetr);
  }
  return keys;
}

/** Hash of the Document's canonical form: names with namespaces, sorted attributes, trimmed non-blank text. */
export function contentHash(document: XmlElement): string {
  // The canonical form is built as one string and hashed in one call: a native call per fragment cost more than
  // the hashing. The digest is the same as hashing the fragments one by one.
  const parts: string[] = [];
  const walk = (el: XmlElement) => {
    parts.push(`<${el.ns}|${el.name}`);
    if (el.attrs.length > 0) {
      const attrs = el.attrs.map((a) => `${a.ns}|${a.name}=${a.value}`).sort();
      for (const a of attrs) parts.push(` ${a}`);
    }
    parts.push('>');
    const text = el.text.trim();
    if (text !== '') parts.push(JSON.stringify(text));
    for (const c of el.children) walk(c);
    parts.push('</>');
  };
  walk(document);
  return createHash('sha256').update(parts.join('')).digest('base64url');
}

/** SttlmTmReq/RjctTm (a time on the interbank settlement date) of the first transaction, when both are given. */
function messageDeadline(document: XmlElement): number | null {
  const body = document.children[0];
  if (body === undefined) return null;
  const tx = childrenNamed(body, 'CdtTrfTxInf')[0];
  if (tx === undefined) return null;
  const time = textAt(tx, 'SttlmTmReq/RjctTm') ?? textAt(tx, 'SttlmTmReq/TillTm');
  const date = textAt(tx, 'IntrBkSttlmDt') ?? textAt(child(body, 'GrpHdr'), 'IntrBkSttlmDt');
  if (time === undefined || date === undefined) return null;
  const zoned = /([+-]\d{2}:\d{2}|Z)$/.test(time) ? time : `${time}Z`;
  const at = Date.parse(`${date}T${zoned}`);
  return Number.isFinite(at) ? at : null;
}
