/**
 * The transaction API: reserve an id, submit a message (inbox), read a transaction, list them, fetch the
 * outgoing message (outbox), replay status reports to the participant queue, and, for operators, recover payments
 * stranded in flight (redrive or cancel). The unversioned `/uuid`, `/inbox`
 * and `/outbox` calls keep the clients of the reference workflow sample working.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { MxError, type ErrorCode } from '../../errors.js';
import { TRANSACTION_STATUSES, type TransactionStatus } from '../../domain/status.js';
import { REPLAY_PAGE_MAX, type Replayed, type TransactionView, type Workflow } from '../../pipeline/workflow.js';
import type { AuthService } from '../../auth/service.js';
import { checkTransactionId } from '../../pipeline/intake.js';
import { participantQueue } from '../../pipeline/queues.js';
import { RECOVERY_PAGE_MAX } from '../../pipeline/recovery.js';
import type { StrandedPosition } from '../../ports/transactions.js';
import { errorAnswers, nullable, responseHeader } from '../schemas.js';

const READ = { scope: 'mx/read' } as const;
const WRITE = { scope: 'mx/write' } as const;
const ADMIN = { scope: 'mx/admin' } as const;
const XML_TYPES = /^(application|text)\/([\w.-]+\+)?xml$/;

const TransactionIdText = 'a transaction id: a lower-case UUID';
const IdParams = Type.Object({ id: Type.String({ maxLength: 64, description: TransactionIdText }) });
const RecoveryBody = Type.Object(
  {
    action: Type.Union([Type.Literal('redrive'), Type.Literal('cancel')], {
      description: 'redrive: hand each payment to its stage again; cancel: make each final as CANC, with its status report',
    }),
    quiet_s: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 2_592_000, default: 60, description: 'take only transactions unchanged for this many seconds (0: every one in flight)' }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: RECOVERY_PAGE_MAX, default: RECOVERY_PAGE_MAX })),
    cursor: Type.Optional(Type.String({ maxLength: 200, description: 'next_cursor of the previous page' })),
    dry_run: Type.Optional(Type.Boolean({ default: false, description: 'say what the recovery would do; change nothing' })),
  },
  { additionalProperties: false },
);
const RecoveryPage = Type.Object(
  {
    action: Type.String(),
    dry_run: Type.Boolean(),
    examined: Type.Integer({ description: 'transactions in flight looked at in this page' }),
    redriven: Type.Array(Type.String(), { description: 'handed to their stage again' }),
    cancelled: Type.Array(Type.String(), { description: 'made final as CANC, each with its status report' }),
    skipped: Type.Array(Type.Object({ transaction_id: Type.String(), reason: Type.String() }), { description: 'left as they are, and why' }),
    next_cursor: nullable('string', { description: 'pass as cursor for the next page; null on the last page' }),
  },
  { description: 'one page of a recovery' },
);

const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(TRANSACTION_STATUSES.map((s) => Type.Literal(s)))),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    msg_id: Type.Optional(Type.String({ maxLength: 35 })),
    end_to_end_id: Type.Optional(Type.String({ maxLength: 35 })),
    uetr: Type.Optional(Type.String({ maxLength: 36 })),
    cursor: Type.Optional(Type.String({ maxLength: 200, description: 'next_cursor of the previous page' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  },
  { additionalProperties: false },
);
/** Which transactions a replay takes: the filters of the list, one page of at most REPLAY_PAGE_MAX. */
const ReplayBody = Type.Object(
  {
    status: ListQuery.properties.status,
    since: ListQuery.properties.since,
    until: ListQuery.properties.until,
    msg_id: ListQuery.properties.msg_id,
    end_to_end_id: ListQuery.properties.end_to_end_id,
    uetr: ListQuery.properties.uetr,
    cursor: ListQuery.properties.cursor,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: REPLAY_PAGE_MAX, default: REPLAY_PAGE_MAX })),
  },
  { additionalProperties: false },
);
const ClientParams = Type.Object({ id: Type.String({ maxLength: 128, description: 'a client id' }) });

/**
 * XML bodies are not validated by JSON schema: they arrive as bytes and the message layer checks them. `consumes`
 * names their content types; the document shows the body as an XML string (src/http/openapi.ts).
 */
const XML_CONSUMES = ['application/xml', 'text/xml'];

// Request headers. Checked by the handlers (checkTransactionId, the intake), which keep their coded errors; the
// schemas bound their length and describe them.
const MessageTypeHeader = Type.String({ maxLength: 64, description: 'the message type, e.g. pacs.008; refused (400) when the message is another' });
const IdempotencyKeyHeader = Type.String({ maxLength: 255, description: 'the same key with the same message answers the same transaction for 24 hours; with another message, 422 IDEMPOTENCY_KEY_REUSED' });
const InboxHeaders = Type.Object({
  'x-transaction-id': Type.Optional(Type.String({ maxLength: 64, description: `${TransactionIdText}, reserved with POST /v1/transactions or GET /uuid; absent, the hub assigns one` })),
  'x-message-type': Type.Optional(MessageTypeHeader),
  'idempotency-key': Type.Optional(IdempotencyKeyHeader),
});
const MessagesHeaders = Type.Object({
  'x-message-type': Type.Optional(MessageTypeHeader),
  'idempotency-key': Type.Optional(IdempotencyKeyHeader),
});
const UuidHeaders = Type.Object({ 'x-message-type': Type.Optional(Type.String({ maxLength: 64, description: 'sent by the reference sample\'s clients; not used' })) });
const OutboxHeaders = Type.Object({ 'x-transaction-id': Type.String({ minLength: 1, maxLength: 64, description: TransactionIdText }) });

// Answers. A response schema also serializes: it names every field the handler returns.
const Status = Type.Unsafe<TransactionStatus>({ type: 'string', enum: [...TRANSACTION_STATUSES] });
const Timestamp = Type.String({ format: 'date-time' });
const Reserved = Type.Object({ transaction_id: Type.String({ description: TransactionIdText }), status: Status }, { description: 'a new transaction id, status ACCP' });
const Submitted = Type.Object(
  {
    transaction_id: Type.String({ description: 'the transaction; for a duplicate, the original one' }),
    status: Status,
    duplicate: Type.Optional(Type.Boolean({ description: 'an exact duplicate (or a repeated Idempotency-Key): nothing new was created' })),
    report_url: Type.Optional(Type.String({ description: 'where the status report of the transaction is fetched (GET; 202 while in flight)' })),
    applied: Type.Optional(Type.Boolean({ description: 'a downstream answer: whether it decided the payment it answers (a pacs.002); a camt.029 is relayed to the requesting client and decides nothing' })),
  },
  { headers: { location: responseHeader('/v1/transactions/{transaction_id} (not for a downstream answer)') } },
);
const Payment = Type.Object({
  end_to_end_id: nullable('string'),
  tx_id: nullable('string'),
  uetr: nullable('string'),
  instr_id: nullable('string'),
  amount: nullable('string', { description: 'a decimal string exactly as in the message' }),
  currency: nullable('string'),
  status: Type.Unsafe<string>({ type: 'string', enum: TRANSACTION_STATUSES.filter((s) => s !== 'ACCP' && s !== 'PART') }),
  reason_code: nullable('string'),
});
const TransactionFields = {
  transaction_id: Type.String({ description: TransactionIdText }),
  status: Status,
  reason_code: nullable('string', { description: 'an ISO 20022 status reason code' }),
  reason_text: nullable('string'),
  message_type: nullable('string', { description: 'e.g. pacs.008.001.08; null before a message is submitted' }),
  msg_id: nullable('string'),
  created_at: Timestamp,
  updated_at: Timestamp,
  deadline_at: nullable('string', { format: 'date-time', description: 'when a final status is due; null once final' }),
  received_at: nullable('string', { format: 'date-time', description: 'the first fetch of the outgoing message (RCVD)' }),
  payments: Type.Array(Payment),
};
const TransactionView = Type.Object(
  {
    ...TransactionFields,
    history: Type.Array(
      Type.Object({ status: Type.Unsafe<string>({ type: 'string', enum: [...TRANSACTION_STATUSES, 'RCVD'] }), reason_code: nullable('string'), at: Timestamp }),
      { description: 'the statuses applied, oldest first' },
    ),
  },
  { description: 'the transaction with its payments and history' },
);
const TransactionPage = Type.Object(
  {
    transactions: Type.Array(Type.Object(TransactionFields), { description: 'newest first, without history' }),
    next_cursor: nullable('string', { description: 'pass as cursor for the next page; null on the last page' }),
  },
  { description: 'a page of transactions' },
);
const InFlight = Type.Object(
  { transaction_id: Type.String({ description: TransactionIdText }), status: Status },
  { description: 'not released yet: ask again after Retry-After seconds', headers: { 'retry-after': responseHeader('seconds') } },
);
const Report = {
  description: 'the outgoing message (the status report), released',
  headers: { 'x-message-type': responseHeader('e.g. pacs.002.001.10'), 'x-transaction-id': responseHeader('the transaction (for a duplicate, the original)') },
  content: { 'application/xml': { schema: Type.String({ description: 'an ISO 20022 message' }) } },
};

const ReplayedFields = {
  transaction_id: Type.String({ description: TransactionIdText }),
  status: Status,
  message_type: Type.String({ description: 'the status report sent again, e.g. pacs.002.001.10' }),
};
const ReplayedOne = Type.Object(
  { ...ReplayedFields, queue: Type.String({ description: 'the participant queue the report was sent to' }) },
  { description: 'the status report was sent to the participant queue again' },
);
const ReplayedPage = Type.Object(
  {
    queue: Type.String({ description: 'the participant queue the reports were sent to' }),
    replayed: Type.Array(Type.Object(ReplayedFields), { description: 'the transactions whose reports were sent again, newest first' }),
    skipped: Type.Array(Type.String(), { description: 'transactions of the page with no report yet (in flight, or a reserved id)' }),
    next_cursor: nullable('string', { description: 'pass as cursor for the next page; null on the last page' }),
  },
  { description: 'one page of transactions replayed' },
);

// The errors each route answers with (their statuses come from the one list of errors).
const SUBMIT_ERRORS = [
  'INVALID_ATTRIBUTE', 'BAD_REQUEST', 'XML_MALFORMED', 'XML_UNSAFE', 'PAYLOAD_TOO_LARGE', 'XML_LIMIT_EXCEEDED', 'UNSUPPORTED_MEDIA_TYPE',
  'MESSAGE_UNSUPPORTED', 'IDEMPOTENCY_KEY_REUSED', 'ORIGINAL_NOT_FOUND', 'OVERLOADED', 'STORE_UNAVAILABLE', 'SHUTTING_DOWN',
  // A downstream answer (pacs.002, camt.029) from a client that does not answer for the downstream system.
  'FORBIDDEN',
] as const satisfies readonly ErrorCode[];
const submitResponses = (errors: readonly ErrorCode[]) => ({
  202: { ...Submitted, description: 'accepted: the workflow runs (or a downstream answer decided its payment)' },
  200: { ...Submitted, description: 'an exact duplicate: the original transaction, whose status report is at report_url (or a downstream answer that changed nothing)' },
  ...errorAnswers(errors),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function viewJson(v: TransactionView) {
  const t = v.transaction;
  return {
    transaction_id: t.id,
    status: t.status,
    reason_code: t.reasonCode,
    reason_text: t.reasonText,
    message_type: t.messageType,
    msg_id: t.msgId,
    created_at: iso(t.createdAt),
    updated_at: iso(t.updatedAt),
    deadline_at: iso(t.deadlineAt),
    received_at: iso(t.receivedAt),
    payments: v.payments.map((p) => ({
      end_to_end_id: p.endToEndId,
      tx_id: p.txId,
      uetr: p.uetr,
      instr_id: p.instrId,
      amount: p.amount,
      currency: p.currency,
      status: p.status,
      reason_code: p.reasonCode,
    })),
    history: v.history.map((h) => ({ status: h.status, reason_code: h.reasonCode, at: iso(h.at) })),
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function xmlBody(request: FastifyRequest): Buffer {
  const body = request.body;
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new MxError('UNSUPPORTED_MEDIA_TYPE', 'send the ISO 20022 message as the body, with Content-Type application/xml');
  }
  return body;
}

function toMs(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new MxError('INVALID_ATTRIBUTE', `${name} must be an RFC 3339 date-time`);
  return ms;
}

/** Where a transaction's outgoing message (its status report) is fetched. */
const reportUrl = (transactionId: string) => `/v1/outbox/${transactionId}`;

const replayedJson = (r: Replayed) => ({ transaction_id: r.transactionId, status: r.status, message_type: r.messageType });

export const transactionRoutes: FastifyPluginAsync<{ workflow: Workflow; auth: AuthService }> = async (app, { workflow, auth }) => {
  // XML bodies arrive as bytes: the message layer checks the encoding and parses them safely.
  app.addContentTypeParser(XML_TYPES, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const reserve = async (request: FastifyRequest) => {
    const { transactionId, status } = await workflow.intake.reserve(request.client.id);
    return { transaction_id: transactionId, status };
  };
  app.post(
    '/v1/transactions',
    { config: WRITE, schema: { summary: 'Reserve a transaction id (ACCP)', tags: ['transactions'], response: { 201: Reserved, ...errorAnswers(['STORE_UNAVAILABLE']) } } },
    async (request, reply) => reply.code(201).send(await reserve(request)),
  );
  app.get(
    '/uuid',
    {
      config: WRITE,
      schema: { summary: 'Reserve a transaction id (reference-sample compatible)', tags: ['compatibility'], headers: UuidHeaders, response: { 200: Reserved, ...errorAnswers(['STORE_UNAVAILABLE']) } },
    },
    async (request) => reserve(request),
  );

  const submit = async (request: FastifyRequest, reply: FastifyReply, options: { assign: boolean }) => {
    const reserved = options.assign ? undefined : header(request, 'x-transaction-id');
    const result = await workflow.intake.submit({
      clientId: request.client.id,
      transactionId: reserved === undefined || reserved === '' ? undefined : checkTransactionId(reserved),
      body: xmlBody(request),
      messageType: header(request, 'x-message-type'),
      idempotencyKey: header(request, 'idempotency-key'),
    });
    if (result.answer) {
      // A downstream answer: 202 when it decides the payment (released shortly), 200 when it changes nothing (a
      // late or interim pacs.002, a relayed camt.029).
      return reply.code(result.answer.applied ? 202 : 200).send({ transaction_id: result.transactionId, status: result.status, applied: result.answer.applied });
    }
    // An exact duplicate names the original transaction: its report is the duplicate's answer, at report_url (and
    // at the outbox of a reserved id the duplicate was sent with, which stands for the original).
    reply.header('location', `/v1/transactions/${result.transactionId}`);
    return reply
      .code(result.duplicate ? 200 : 202)
      .send({ transaction_id: result.transactionId, status: result.status, duplicate: result.duplicate, report_url: reportUrl(result.transactionId) });
  };
  const inboxSchema = {
    summary: 'Submit an ISO 20022 message for a (reserved or new) transaction',
    tags: ['transactions'],
    consumes: XML_CONSUMES,
    headers: InboxHeaders,
    // A reserved id: unknown (404), or used already (409).
    response: submitResponses([...SUBMIT_ERRORS, 'NOT_FOUND', 'TRANSACTION_STATE']),
  };
  app.post('/v1/inbox', { config: WRITE, schema: inboxSchema }, (request, reply) => submit(request, reply, { assign: false }));
  app.post('/inbox', { config: WRITE, schema: { ...inboxSchema, tags: ['compatibility'] } }, (request, reply) => submit(request, reply, { assign: false }));
  app.post(
    '/v1/messages',
    {
      config: WRITE,
      schema: {
        summary: 'Submit a message; the hub assigns the transaction id (Idempotency-Key honoured)',
        tags: ['transactions'],
        consumes: XML_CONSUMES,
        headers: MessagesHeaders,
        response: submitResponses(SUBMIT_ERRORS),
      },
    },
    (request, reply) => submit(request, reply, { assign: true }),
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/v1/transactions/:id',
    {
      config: READ,
      schema: {
        summary: 'A transaction with its payments and history',
        tags: ['transactions'],
        params: IdParams,
        response: { 200: TransactionView, ...errorAnswers(['INVALID_ATTRIBUTE', 'NOT_FOUND']) },
      },
    },
    async (request) => viewJson(await workflow.transaction(request.client.id, checkTransactionId(request.params.id))),
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/v1/transactions',
    {
      config: READ,
      schema: {
        summary: 'List transactions, newest first, with cursor pagination',
        tags: ['transactions'],
        querystring: ListQuery,
        response: { 200: TransactionPage, ...errorAnswers(['INVALID_ATTRIBUTE']) },
      },
    },
    async (request) => {
      const q = request.query;
      const page = await workflow.list({
        clientId: request.client.id,
        ...(q.status ? { status: q.status as TransactionStatus } : {}),
        ...(q.since ? { since: toMs(q.since, 'since')! } : {}),
        ...(q.until ? { until: toMs(q.until, 'until')! } : {}),
        ...(q.msg_id ? { msgId: q.msg_id } : {}),
        ...(q.end_to_end_id ? { endToEndId: q.end_to_end_id } : {}),
        ...(q.uetr ? { uetr: q.uetr } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
        limit: q.limit ?? 50,
      });
      return { transactions: page.items.map((v) => { const j = viewJson(v); return { ...j, history: undefined }; }), next_cursor: page.nextCursor };
    },
  );

  const outbox = async (request: FastifyRequest, reply: FastifyReply, id: string | undefined) => {
    if (id === undefined || id === '') throw new MxError('BAD_REQUEST', 'name the transaction (X-Transaction-Id)');
    const result = await workflow.outbox(request.client.id, checkTransactionId(id));
    if (!result.ready) {
      reply.header('retry-after', '1');
      return reply.code(202).send({ transaction_id: result.transactionId, status: result.status });
    }
    reply.header('x-message-type', result.messageType);
    reply.header('x-transaction-id', result.transactionId);
    return reply.code(200).type('application/xml; charset=utf-8').send(result.xml);
  };
  const outboxResponses = { 200: Report, 202: InFlight, ...errorAnswers(['INVALID_ATTRIBUTE', 'BAD_REQUEST', 'NOT_FOUND']) };
  app.get<{ Params: Static<typeof IdParams> }>(
    '/v1/outbox/:id',
    {
      config: READ,
      schema: {
        summary: 'The outgoing message (status report) once released; 202 while in flight',
        tags: ['transactions'],
        params: IdParams,
        response: outboxResponses,
      },
    },
    (request, reply) => outbox(request, reply, request.params.id),
  );
  app.post<{ Params: Static<typeof IdParams> }>(
    '/v1/transactions/:id/replay',
    {
      config: WRITE,
      schema: {
        summary: "Send a final transaction's status report to the participant queue again",
        tags: ['transactions'],
        params: IdParams,
        response: { 202: ReplayedOne, ...errorAnswers(['INVALID_ATTRIBUTE', 'NOT_FOUND', 'TRANSACTION_STATE', 'STORE_UNAVAILABLE']) },
      },
    },
    async (request, reply) => {
      const replayed = await workflow.replay(request.client.id, checkTransactionId(request.params.id));
      return reply.code(202).send({ ...replayedJson(replayed), queue: participantQueue(request.client.id) });
    },
  );

  const replayPage = async (clientId: string, body: Static<typeof ReplayBody>) => {
    const page = await workflow.replayPage({
      clientId,
      ...(body.status ? { status: body.status as TransactionStatus } : {}),
      ...(body.since ? { since: toMs(body.since, 'since')! } : {}),
      ...(body.until ? { until: toMs(body.until, 'until')! } : {}),
      ...(body.msg_id ? { msgId: body.msg_id } : {}),
      ...(body.end_to_end_id ? { endToEndId: body.end_to_end_id } : {}),
      ...(body.uetr ? { uetr: body.uetr } : {}),
      ...(body.cursor ? { cursor: body.cursor } : {}),
      limit: body.limit ?? REPLAY_PAGE_MAX,
    });
    return { queue: participantQueue(clientId), replayed: page.replayed.map(replayedJson), skipped: page.skipped, next_cursor: page.nextCursor };
  };
  const replaySchema = {
    tags: ['transactions'],
    body: ReplayBody,
    response: { 200: ReplayedPage, ...errorAnswers(['INVALID_ATTRIBUTE', 'NOT_FOUND', 'STORE_UNAVAILABLE']) },
  };
  app.post<{ Body: Static<typeof ReplayBody> }>(
    '/v1/replay',
    { config: WRITE, schema: { ...replaySchema, summary: "Send the status reports of a page of the client's transactions to its participant queue again" } },
    async (request) => replayPage(request.client.id, request.body),
  );
  app.post<{ Params: Static<typeof ClientParams>; Body: Static<typeof ReplayBody> }>(
    '/v1/admin/clients/:id/replay',
    { config: ADMIN, schema: { ...replaySchema, tags: ['admin'], params: ClientParams, summary: "Operators: send the status reports of a page of a client's transactions to its participant queue again" } },
    async (request) => {
      const client = await auth.getClient(request.params.id);
      return replayPage(client.id, request.body);
    },
  );

  app.post<{ Body: Static<typeof RecoveryBody> }>(
    '/v1/admin/recovery',
    {
      config: ADMIN,
      schema: {
        summary: 'Operators: redrive or cancel one page of the payments stranded in flight (ACTC, ACSP) after lost queues, a failover or a restore',
        tags: ['admin'],
        body: RecoveryBody,
        response: { 200: RecoveryPage, ...errorAnswers(['INVALID_ATTRIBUTE', 'STORE_UNAVAILABLE']) },
      },
    },
    async (request) => {
      const body = request.body;
      const result = await workflow.recover({
        action: body.action,
        quietMs: (body.quiet_s ?? 60) * 1000,
        after: body.cursor === undefined ? null : decodePosition(body.cursor),
        limit: body.limit ?? RECOVERY_PAGE_MAX,
        dryRun: body.dry_run === true,
      });
      return {
        action: result.action,
        dry_run: result.dryRun,
        examined: result.examined,
        redriven: result.redriven,
        cancelled: result.cancelled,
        skipped: result.skipped.map((s) => ({ transaction_id: s.transactionId, reason: s.reason })),
        next_cursor: result.next === null ? null : Buffer.from(JSON.stringify([result.next.deadlineAt, result.next.id])).toString('base64url'),
      };
    },
  );

  app.post(
    '/outbox',
    { config: READ, schema: { summary: 'The outgoing message (reference-sample compatible)', tags: ['compatibility'], headers: OutboxHeaders, response: outboxResponses } },
    (request, reply) => outbox(request, reply, header(request, 'x-transaction-id')),
  );
};

/** A recovery's cursor: the deadline and id of the last transaction of the page before. */
function decodePosition(cursor: string): StrandedPosition {
  try {
    const [deadlineAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof deadlineAt === 'number' && Number.isSafeInteger(deadlineAt) && typeof id === 'string') return { deadlineAt, id };
  } catch {
    // falls through to the coded error
  }
  throw new MxError('INVALID_ATTRIBUTE', 'cursor is not a next_cursor of this call');
}
