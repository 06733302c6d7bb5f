/**
 * /v1/queues: the public queue API (JSON, snake_case fields, units last in names). Its names and shapes are a
 * contract that clients rely on: extend it, never rename.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { QUEUE_LIMITS, RESERVED_ATTRIBUTE_PREFIX, type BatchOutcome, type QueueAttributes, type QueueInfo, type QueueService, type ReceivedMessage, type SendInput } from '../../ports/queues.js';
import { checkBatchIds } from '../../queues/rules.js';
import { MxError } from '../../errors.js';
import type { AuthenticatedClient } from '../../auth/service.js';
import { isHubQueue, participantQueue } from '../../pipeline/queues.js';

const NameParams = Type.Object({ name: Type.String({ maxLength: 200 }) });
const HandleParams = Type.Object({ name: Type.String({ maxLength: 200 }), receipt_handle: Type.String({ maxLength: 200 }) });
const Attributes = Type.Record(Type.String(), Type.String());

const CreateQueueBody = Type.Object(
  {
    name: Type.String(),
    fifo: Type.Optional(Type.Boolean()),
    content_based_dedup: Type.Optional(Type.Boolean()),
    visibility_timeout_s: Type.Optional(Type.Integer()),
    max_receive_count: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    dead_letter_queue: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    retention_s: Type.Optional(Type.Integer()),
    delay_s: Type.Optional(Type.Integer()),
    max_message_bytes: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

const MessageFields = {
  body: Type.String(),
  group_id: Type.Optional(Type.String()),
  dedup_id: Type.Optional(Type.String()),
  delay_s: Type.Optional(Type.Integer()),
  attributes: Type.Optional(Attributes),
};
const SendBody = Type.Union([
  Type.Object(MessageFields, { additionalProperties: false }),
  Type.Object(
    { entries: Type.Array(Type.Object({ id: Type.String({ minLength: 1, maxLength: QUEUE_LIMITS.batchEntryIdLengthMax }), ...MessageFields }, { additionalProperties: false })) },
    { additionalProperties: false },
  ),
]);

const ReceiveQuery = Type.Object(
  {
    max: Type.Optional(Type.Integer({ minimum: 1, maximum: QUEUE_LIMITS.receiveMax, default: 1 })),
    wait_s: Type.Optional(Type.Integer({ minimum: 0, maximum: QUEUE_LIMITS.waitSMax, default: 0 })),
    visibility_s: Type.Optional(Type.Integer({ minimum: 0, maximum: QUEUE_LIMITS.visibilityTimeoutSMax })),
  },
  { additionalProperties: false },
);
const DeleteBatchBody = Type.Object({ receipt_handles: Type.Array(Type.String({ maxLength: 200 })) }, { additionalProperties: false });
const VisibilityBody = Type.Object({ visibility_s: Type.Integer() }, { additionalProperties: false });

type MessageInput = { body: string; group_id?: string; dedup_id?: string; delay_s?: number; attributes?: Record<string, string> };

const iso = (ms: number) => new Date(ms).toISOString();

export function queueJson(q: QueueAttributes | QueueInfo) {
  return {
    name: q.name,
    fifo: q.fifo,
    content_based_dedup: q.contentBasedDedup,
    visibility_timeout_s: q.visibilityTimeoutS,
    max_receive_count: q.maxReceiveCount,
    dead_letter_queue: q.deadLetterQueue,
    retention_s: q.retentionS,
    delay_s: q.delayS,
    max_message_bytes: q.maxMessageBytes,
    created_at: iso(q.createdAt),
    ...('metrics' in q
      ? { metrics: { visible: q.metrics.visible, in_flight: q.metrics.inFlight, delayed: q.metrics.delayed, oldest_age_s: q.metrics.oldestAgeS } }
      : {}),
  };
}

function messageJson(m: ReceivedMessage) {
  return {
    message_id: m.messageId,
    receipt_handle: m.receiptHandle,
    body: m.body,
    group_id: m.groupId,
    attributes: m.attributes,
    receive_count: m.receiveCount,
    sequence_number: m.sequenceNumber,
    sent_at: iso(m.sentAt),
    first_received_at: iso(m.firstReceivedAt),
  };
}

function toSendInput(m: MessageInput): SendInput {
  for (const name of Object.keys(m.attributes ?? {})) {
    if (name.startsWith(RESERVED_ATTRIBUTE_PREFIX)) {
      throw new MxError('INVALID_ATTRIBUTE', `attribute names starting with ${RESERVED_ATTRIBUTE_PREFIX} are the hub's (${name})`);
    }
  }
  return { body: m.body, groupId: m.group_id, dedupId: m.dedup_id, delayS: m.delay_s, attributes: m.attributes };
}

function splitOutcomes<T, S>(keys: string[], outcomes: BatchOutcome<T>[], keyName: string, ok: (value: T, key: string) => S) {
  const successful: S[] = [];
  const failed: Array<Record<string, string>> = [];
  outcomes.forEach((outcome, i) => {
    const key = keys[i]!;
    if (outcome.ok) successful.push(ok(outcome.value, key));
    else failed.push({ [keyName]: key, code: outcome.error.code, message: outcome.error.message });
  });
  return { successful, failed };
}

/** Aborts when the client goes away before the answer, so a long poll stops waiting for nobody. */
function abortOnClose(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

// Scopes (src/http/auth.ts): reading is mx/read, sending and consuming mx/write, managing queues mx/admin.
const READ = { scope: 'mx/read' } as const;
const WRITE = { scope: 'mx/write' } as const;
const ADMIN = { scope: 'mx/admin' } as const;

/**
 * Who may send, receive and settle the messages of a queue. The hub's own queues (mx.*: stage messages, lifecycle
 * events, dead letters) drive the workflow, and a participant queue (participant.<client id>) holds one client's
 * status reports: a message sent to either by another client would be taken for the hub's own, and a receive
 * would take another client's reports. So their messages are for operators (mx/admin) and, for a participant
 * queue, for its client; another client's participant queue answers 404, as another client's transaction does.
 */
function checkMessageAccess(client: AuthenticatedClient, queue: string): void {
  if (client.scopes.includes('mx/admin')) return;
  if (isHubQueue(queue)) throw new MxError('FORBIDDEN', `queue ${queue} belongs to the hub's workflow: its messages need the scope mx/admin`);
  if (queue.startsWith('participant.') && queue !== participantQueue(client.id)) throw new MxError('QUEUE_NOT_FOUND', `queue ${queue} does not exist`);
}

export const queueRoutes: FastifyPluginAsync<{ queues: QueueService }> = async (app, { queues }) => {
  app.post<{ Body: Static<typeof CreateQueueBody> }>('/', { config: ADMIN, schema: { body: CreateQueueBody } }, async (request, reply) => {
    const b = request.body;
    const { queue, created } = await queues.createQueue({
      name: b.name,
      fifo: b.fifo,
      contentBasedDedup: b.content_based_dedup,
      visibilityTimeoutS: b.visibility_timeout_s,
      maxReceiveCount: b.max_receive_count,
      deadLetterQueue: b.dead_letter_queue,
      retentionS: b.retention_s,
      delayS: b.delay_s,
      maxMessageBytes: b.max_message_bytes,
    });
    return reply.code(created ? 201 : 200).send(queueJson(queue));
  });

  app.get('/', { config: READ }, async () => ({ queues: (await queues.listQueues()).map(queueJson) }));

  app.get<{ Params: Static<typeof NameParams> }>('/:name', { config: READ, schema: { params: NameParams } }, async (request) =>
    queueJson(await queues.getQueue(request.params.name)),
  );

  app.delete<{ Params: Static<typeof NameParams> }>('/:name', { config: ADMIN, schema: { params: NameParams } }, async (request, reply) => {
    await queues.deleteQueue(request.params.name);
    return reply.code(204).send();
  });

  app.post<{ Params: Static<typeof NameParams> }>('/:name/purge', { config: ADMIN, schema: { params: NameParams } }, async (request) =>
    queues.purgeQueue(request.params.name),
  );

  app.post<{ Params: Static<typeof NameParams>; Body: Static<typeof SendBody> }>(
    '/:name/messages',
    { config: WRITE, schema: { params: NameParams, body: SendBody } },
    async (request, reply) => {
      checkMessageAccess(request.client, request.params.name);
      const body = request.body;
      if ('entries' in body) {
        const ids = body.entries.map((e) => e.id);
        checkBatchIds(ids);
        const outcomes = await queues.sendBatch(request.params.name, body.entries.map(toSendInput));
        return reply.code(200).send(
          splitOutcomes(ids, outcomes, 'id', (r, id) => ({ id, message_id: r.messageId, sequence_number: r.sequenceNumber, duplicate: r.duplicate })),
        );
      }
      const result = await queues.send(request.params.name, toSendInput(body));
      return reply.code(201).send({ message_id: result.messageId, sequence_number: result.sequenceNumber, duplicate: result.duplicate });
    },
  );

  app.get<{ Params: Static<typeof NameParams>; Querystring: Static<typeof ReceiveQuery> }>(
    '/:name/messages',
    { config: WRITE, schema: { params: NameParams, querystring: ReceiveQuery } },
    async (request, reply) => {
      checkMessageAccess(request.client, request.params.name);
      const q = request.query;
      const messages = await queues.receive(request.params.name, {
        max: q.max ?? 1,
        waitMs: (q.wait_s ?? 0) * 1000,
        visibilityTimeoutS: q.visibility_s,
        signal: abortOnClose(reply),
      });
      return { messages: messages.map(messageJson) };
    },
  );

  app.delete<{ Params: Static<typeof HandleParams> }>('/:name/messages/:receipt_handle', { config: WRITE, schema: { params: HandleParams } }, async (request, reply) => {
    checkMessageAccess(request.client, request.params.name);
    await queues.delete(request.params.name, request.params.receipt_handle);
    return reply.code(204).send();
  });

  app.post<{ Params: Static<typeof NameParams>; Body: Static<typeof DeleteBatchBody> }>(
    '/:name/messages/delete',
    { config: WRITE, schema: { params: NameParams, body: DeleteBatchBody } },
    async (request) => {
      checkMessageAccess(request.client, request.params.name);
      const handles = request.body.receipt_handles;
      checkBatchIds(handles);
      const outcomes = await queues.deleteBatch(request.params.name, handles);
      return splitOutcomes(handles, outcomes, 'receipt_handle', (_v, handle) => ({ receipt_handle: handle }));
    },
  );

  app.patch<{ Params: Static<typeof HandleParams>; Body: Static<typeof VisibilityBody> }>(
    '/:name/messages/:receipt_handle',
    { config: WRITE, schema: { params: HandleParams, body: VisibilityBody } },
    async (request, reply) => {
      checkMessageAccess(request.client, request.params.name);
      await queues.changeVisibility(request.params.name, request.params.receipt_handle, request.body.visibility_s);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: Static<typeof NameParams> }>('/:name/redrive', { config: ADMIN, schema: { params: NameParams } }, async (request) =>
    queues.redrive(request.params.name),
  );
};
