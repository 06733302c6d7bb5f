/**
 * The transaction API: reserve an id, submit a message (inbox), read a transaction, list them, fetch the
 * outgoing message (outbox). The unversioned `/uuid`, `/inbox` and `/outbox` calls keep the clients of the
 * reference workflow sample working.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { MxError } from '../../errors.js';
import { TRANSACTION_STATUSES, type TransactionStatus } from '../../domain/status.js';
import type { TransactionView, Workflow } from '../../pipeline/workflow.js';
import { checkTransactionId } from '../../pipeline/intake.js';

const READ = { scope: 'mx/read' } as const;
const WRITE = { scope: 'mx/write' } as const;
const XML_TYPES = /^(application|text)\/([\w.-]+\+)?xml$/;

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(TRANSACTION_STATUSES.map((s) => Type.Literal(s)))),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    msg_id: Type.Optional(Type.String({ maxLength: 35 })),
    end_to_end_id: Type.Optional(Type.String({ maxLength: 35 })),
    uetr: Type.Optional(Type.String({ maxLength: 36 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  },
  { additionalProperties: false },
);
/** XML bodies are not validated by JSON schema (the message layer does it); `consumes` documents them. */
const XML_CONSUMES = ['application/xml', 'text/xml'];

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

export const transactionRoutes: FastifyPluginAsync<{ workflow: Workflow }> = async (app, { workflow }) => {
  // XML bodies arrive as bytes: the message layer checks the encoding and parses them safely.
  app.addContentTypeParser(XML_TYPES, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const reserve = async (request: FastifyRequest) => {
    const { transactionId, status } = await workflow.intake.reserve(request.client.id);
    return { transaction_id: transactionId, status };
  };
  app.post('/v1/transactions', { config: WRITE, schema: { summary: 'Reserve a transaction id (ACCP)', tags: ['transactions'] } }, async (request, reply) =>
    reply.code(201).send(await reserve(request)),
  );
  app.get('/uuid', { config: WRITE, schema: { summary: 'Reserve a transaction id (reference-sample compatible)', tags: ['compatibility'] } }, async (request) =>
    reserve(request),
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
      // A downstream answer: 202 when it decides the payment (released shortly), 200 when it changes nothing.
      return reply.code(result.answer.applied ? 202 : 200).send({ transaction_id: result.transactionId, status: result.status, applied: result.answer.applied });
    }
    reply.header('location', `/v1/transactions/${result.transactionId}`);
    return reply.code(result.duplicate ? 200 : 202).send({ transaction_id: result.transactionId, status: result.status, duplicate: result.duplicate });
  };
  const inboxSchema = { summary: 'Submit an ISO 20022 message for a (reserved or new) transaction', tags: ['transactions'], consumes: XML_CONSUMES };
  app.post('/v1/inbox', { config: WRITE, schema: inboxSchema }, (request, reply) => submit(request, reply, { assign: false }));
  app.post('/inbox', { config: WRITE, schema: { ...inboxSchema, tags: ['compatibility'] } }, (request, reply) => submit(request, reply, { assign: false }));
  app.post(
    '/v1/messages',
    { config: WRITE, schema: { summary: 'Submit a message; the hub assigns the transaction id (Idempotency-Key honoured)', tags: ['transactions'], consumes: XML_CONSUMES } },
    (request, reply) => submit(request, reply, { assign: true }),
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/v1/transactions/:id',
    { config: READ, schema: { summary: 'A transaction with its payments and history', tags: ['transactions'], params: IdParams } },
    async (request) => viewJson(await workflow.transaction(request.client.id, checkTransactionId(request.params.id))),
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/v1/transactions',
    { config: READ, schema: { summary: 'List transactions, newest first, with cursor pagination', tags: ['transactions'], querystring: ListQuery } },
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
  app.get<{ Params: Static<typeof IdParams> }>(
    '/v1/outbox/:id',
    { config: READ, schema: { summary: 'The outgoing message (status report) once released; 202 while in flight', tags: ['transactions'], params: IdParams } },
    (request, reply) => outbox(request, reply, request.params.id),
  );
  app.post('/outbox', { config: READ, schema: { summary: 'The outgoing message (reference-sample compatible)', tags: ['compatibility'] } }, (request, reply) =>
    outbox(request, reply, header(request, 'x-transaction-id')),
  );
};
