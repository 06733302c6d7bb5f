/**
 * The one list of mxgate error codes.
 *
 * Every error the hub reports to a caller carries one of these codes. A code is never reused for another
 * meaning and never renamed once released; `docs/ERRORS.md` documents each (a test checks both lists agree).
 * `status` is the HTTP status the API answers with; `retryable` says whether the same request may succeed
 * later without change (the stage runner and clients decide on retries from this flag alone).
 */
export const ERROR_CATALOG = {
  // Requests
  BAD_REQUEST: { status: 400, retryable: false, summary: 'The request is malformed or breaks a documented bound.' },
  INVALID_ATTRIBUTE: { status: 400, retryable: false, summary: 'An attribute value is missing, of the wrong type or out of bounds.' },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, summary: 'The request body is larger than the configured limit.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, summary: 'The request body has a content type this endpoint does not take.' },
  NOT_FOUND: { status: 404, retryable: false, summary: 'No such resource (or it belongs to another client).' },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, summary: 'The resource does not support this method.' },

  // Authentication (POST /oauth2/token itself answers in the OAuth 2.0 error shape, RFC 6749 section 5.2)
  UNAUTHENTICATED: { status: 401, retryable: false, summary: 'No bearer token, or the token is malformed, expired, badly signed or of a disabled client.' },
  FORBIDDEN: { status: 403, retryable: false, summary: 'The token lacks the scope this call needs (mx/read, mx/write or mx/admin).' },

  // Queues
  QUEUE_NOT_FOUND: { status: 404, retryable: false, summary: 'No queue has this name.' },
  QUEUE_ALREADY_EXISTS: { status: 409, retryable: false, summary: 'A queue with this name exists with different attributes.' },
  QUEUE_NAME_INVALID: { status: 400, retryable: false, summary: 'Queue names are 1-80 characters of letters, digits, "-", "_" and ".".' },
  QUEUE_IN_USE: { status: 409, retryable: false, summary: 'The queue is the dead-letter queue of another queue and cannot be deleted.' },
  QUEUE_LIMIT_REACHED: { status: 409, retryable: false, summary: 'The configured maximum number of queues exists already.' },
  MESSAGE_TOO_LARGE: { status: 413, retryable: false, summary: 'The message (body and attributes) exceeds the queue\'s max_message_bytes.' },
  GROUP_ID_REQUIRED: { status: 400, retryable: false, summary: 'A FIFO queue needs a group_id on every message.' },
  DEDUP_ID_REQUIRED: { status: 400, retryable: false, summary: 'A FIFO queue without content-based deduplication needs a dedup_id on every message.' },
  DELAY_NOT_ALLOWED: { status: 400, retryable: false, summary: 'Per-message delays are not allowed on FIFO queues (use the queue delay).' },
  BATCH_EMPTY: { status: 400, retryable: false, summary: 'A batch needs at least one entry.' },
  BATCH_TOO_LARGE: { status: 400, retryable: false, summary: 'A batch holds at most 10 entries.' },
  BATCH_IDS_NOT_DISTINCT: { status: 400, retryable: false, summary: 'Two entries of one batch have the same id.' },
  RECEIPT_HANDLE_INVALID: { status: 404, retryable: false, summary: 'The receipt handle is malformed, unknown, or was superseded by a later receive.' },
  NOT_A_DEAD_LETTER_QUEUE: { status: 400, retryable: false, summary: 'Redrive takes a queue that holds dead-lettered messages.' },

  // Transactions
  TRANSACTION_STATE: { status: 409, retryable: false, summary: 'The transaction is not in a state that allows this call (for example, a reserved id used twice).' },
  ORIGINAL_NOT_FOUND: { status: 422, retryable: false, summary: 'An answer refers to nothing the hub forwarded: a pacs.002 to no payment (OrgnlMsgId, OrgnlEndToEndId, OrgnlUETR), a camt.029 to no cancellation request (X-Transaction-Id).' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, retryable: false, summary: 'The Idempotency-Key was used before for a different message.' },

  // ISO 20022 input (thrown by the message layer before any business processing)
  XML_UNSAFE: { status: 400, retryable: false, summary: 'The XML uses a forbidden construct (DTD, entity, external reference, processing instruction outside the prolog).' },
  XML_MALFORMED: { status: 400, retryable: false, summary: 'The document is not well-formed XML or not valid UTF-8.' },
  XML_LIMIT_EXCEEDED: { status: 413, retryable: false, summary: 'The document exceeds a size, depth or element-count limit.' },
  MESSAGE_UNSUPPORTED: { status: 422, retryable: false, summary: 'The message type or version is not one the hub handles.' },
  MESSAGE_INVALID: { status: 422, retryable: false, summary: 'The message fails schema, built-in or profile validation.' },
  SCHEMA_UNAVAILABLE: { status: 500, retryable: false, summary: 'The configured schema directory lacks the schema for this message.' },

  // Configuration and start-up
  CONFIG_INVALID: { status: 500, retryable: false, summary: 'The configuration breaks its schema; the process does not start.' },

  // Infrastructure
  STORE_UNAVAILABLE: { status: 503, retryable: true, summary: 'The store could not complete the operation; retry later.' },
  DOWNSTREAM_UNAVAILABLE: { status: 502, retryable: true, summary: 'The downstream payment system did not answer, or answered with a server error; the hub retries.' },
  WEBHOOK_UNAVAILABLE: { status: 502, retryable: true, summary: "A client's webhook did not answer, or answered 408, 429 or a server error; the hub retries the push." },
  WEBHOOK_REFUSED: { status: 502, retryable: false, summary: "A client's webhook refused a pushed status report (4xx); the push is dead-lettered." },
  BRIDGE_UNAVAILABLE: { status: 502, retryable: true, summary: "The broker a client's reports are bridged to did not take a report (unreachable, no confirm in time, or nothing bound to the client's routing key); the hub retries." },
  BRIDGE_REFUSED: { status: 502, retryable: false, summary: "A client's bridge setting names a broker this hub has no configuration for, or the broker refused the publish; the push is dead-lettered." },
  OVERLOADED: { status: 503, retryable: true, summary: 'More payments wait for processing than workflow.backlogMax allows; new payments are refused until the backlog shrinks. Retry later.' },
  SHUTTING_DOWN: { status: 503, retryable: true, summary: 'The process is shutting down and takes no new work.' },
  INTERNAL: { status: 500, retryable: true, summary: 'An unexpected error; the response carries a correlation id to find it in the logs.' },
} as const satisfies Record<string, { status: number; retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CATALOG, value);
}

/** An operating error with a stable code. Programmer errors are plain `Error`s (asserts) and become INTERNAL. */
export class MxError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MxError';
    this.code = code;
    this.details = options?.details;
  }

  get status(): number {
    return ERROR_CATALOG[this.code].status;
  }

  get retryable(): boolean {
    return ERROR_CATALOG[this.code].retryable;
  }
}

export function isMxError(value: unknown): value is MxError {
  return value instanceof MxError;
}

/** Programmer-error assertion: a failed assert is a bug, never an input problem. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
