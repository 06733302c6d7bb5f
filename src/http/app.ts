/**
 * The HTTP API factory. `buildApp(deps)` wires routes to the services it is given; it opens nothing itself,
 * so tests drive it through `inject()` or a real socket with any engine.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { QueueService } from '../ports/queues.js';
import type { AuthService } from '../auth/service.js';
import { MxError } from '../errors.js';
import { installAuth } from './auth.js';
import { sendError } from './errors.js';
import { installOpenApi } from './openapi.js';
import { adminRoutes } from './routes/admin.js';
import { oauthRoutes } from './routes/oauth.js';
import { queueRoutes } from './routes/queues.js';
import { transactionRoutes } from './routes/transactions.js';
import { metricsRoutes } from './routes/metrics.js';
import type { Workflow } from '../pipeline/workflow.js';
import type { OutboxStats, StoreStats } from '../engines/index.js';

export interface AppDeps {
  config: Pick<Config, 'http'>;
  logger: Logger;
  queues: QueueService;
  /** Access tokens and clients: every route but the public ones needs a bearer token (src/http/auth.ts). */
  auth: AuthService;
  /** The payment workflow behind the transaction API; without it only queues and auth are served. */
  workflow?: Workflow;
  /** A worker or scheduler process: only /health and /metrics. */
  opsOnly?: boolean;
  /** Whether this process holds the scheduler lease, for /metrics. */
  schedulerActive?: () => boolean;
  /** The store's group-commit counters, for /metrics. */
  storeStats?: () => StoreStats;
  /** The outbox rows waiting for the queues (distributed engine), for /metrics. */
  outbox?: () => Promise<OutboxStats | null>;
  /** Transactions in flight unchanged for a minute (bounded count), for /metrics. */
  stranded?: () => Promise<number>;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.http.bodyLimitBytes,
    keepAliveTimeout: deps.config.http.keepAliveTimeoutMs,
    requestTimeout: deps.config.http.requestTimeoutMs,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.setErrorHandler((error, request, reply) => sendError(reply, request, error));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, request, new MxError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  installAuth(app, deps.auth);
  await installOpenApi(app);
  app.get('/health', { config: { scope: 'public' }, schema: { summary: 'Liveness', tags: ['health'] } }, async () => ({ status: 'ok' }));
  await app.register(metricsRoutes, {
    queues: deps.queues,
    workflow: deps.workflow,
    ...(deps.schedulerActive ? { schedulerActive: deps.schedulerActive } : {}),
    ...(deps.storeStats ? { storeStats: deps.storeStats } : {}),
    ...(deps.outbox ? { outbox: deps.outbox } : {}),
    ...(deps.stranded ? { stranded: deps.stranded } : {}),
  });
  if (deps.opsOnly) return app;
  await app.register(oauthRoutes, { auth: deps.auth });
  await app.register(adminRoutes, { prefix: '/v1/admin', auth: deps.auth });
  await app.register(queueRoutes, { prefix: '/v1/queues', queues: deps.queues });
  if (deps.workflow) await app.register(transactionRoutes, { workflow: deps.workflow, auth: deps.auth });
  return app;
}
