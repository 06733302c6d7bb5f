/**
 * What the NATS queue engine writes to the server besides message bodies: the message headers, the records it
 * keeps in KV (receipts, dedup keys) and the receipt handles it gives out; and which client
 * errors mean "the server did not complete the operation".
 */
import type { KvEntry } from '@nats-io/kv';
import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import { errors as natsErrors } from '@nats-io/transport-node';
import { MxError } from '../../errors.js';
import type { MessageAttributes } from '../../ports/queues.js';

/** Headers of a queue message. */
export const H = {
  messageId: 'Mx-Message-Id',
  sentAt: 'Mx-Sent-At',
  visibleAt: 'Mx-Visible-At',
  group: 'Mx-Group',
  attributes: 'Mx-Attributes',
  sourceQueue: 'Mx-Source-Queue',
} as const;

/** The state of one delivery that was handed out (or given back uncounted), in KV under r.<key>.<seq>. */
export interface Receipt {
  /** Token of the receipt handle; null when the delivery was given back without being handed out. */
  t: string | null;
  /** Ack subject of that delivery. */
  rs: string | null;
  dc: number;
  /** Clock deadline of the visibility timeout. */
  dl: number;
  /** Clock time of the first receive; null before one. */
  f: number | null;
  /** Deliveries the adapter did not hand out (not receives). */
  sk: number;
  /** h: handed out and held; r: released (visible again or given back). */
  st: 'h' | 'r';
  /** The FIFO group token (subject token) of the message. */
  g: string;
  /** The last failure a consumer gave when it released the message (changeVisibility), for its dead-letter reason. */
  lf?: string;
}

/** The first message sent under a dedup key, in KV under d.<key>.<hash>; `exp` is the Clock end of the window. */
export interface DedupRecord {
  id: string;
  seq: number;
  exp: number;
}

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

/** The JSON record of a KV entry; null when there is none or it was deleted. */
export function json<T>(entry: KvEntry | null): T | null {
  return entry && entry.operation === 'PUT' ? (JSON.parse(decoder.decode(entry.value)) as T) : null;
}

/** Message attributes as a header value: base64url JSON, since attribute names may hold any character. */
export function encodeAttributes(attributes: MessageAttributes): string {
  return Buffer.from(JSON.stringify(attributes)).toString('base64url');
}

export function decodeAttributes(header: string | undefined): MessageAttributes {
  return header ? (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as MessageAttributes) : {};
}

const RECEIPT = /^(\d{1,15})\.([A-Za-z0-9_-]{8,64})$/;

/** A receipt handle is "<stream sequence>.<token>". */
export function receiptHandle(seq: number, token: string): string {
  return `${seq}.${token}`;
}

export function parseReceiptHandle(handle: string): { seq: number; token: string } {
  const match = typeof handle === 'string' ? RECEIPT.exec(handle) : null;
  if (!match) throw new MxError('RECEIPT_HANDLE_INVALID', 'malformed receipt handle');
  return { seq: Number(match[1]), token: match[2]! };
}

/** Whether an error says the server (or the connection to it) did not complete an operation. */
export function isNatsError(error: unknown): boolean {
  return (
    error instanceof JetStreamError ||
    error instanceof JetStreamApiError ||
    error instanceof natsErrors.TimeoutError ||
    error instanceof natsErrors.ConnectionError ||
    error instanceof natsErrors.ClosedConnectionError ||
    error instanceof natsErrors.RequestError ||
    error instanceof natsErrors.NoRespondersError
  );
}

export function isStreamNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === 10059;
}
