/**
 * Wiring only: read the configuration, open the engine, connect the HTTP API to it, start, and stop cleanly.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { createLogger, type Logger } from './log.js';
import { systemClock, type Clock } from './ports/clock.js';
import { randomIds, type IdGenerator } from './ports/ids.js';
import { openEngine, type Engine } from './engines/index.js';
import { buildApp } from './http/app.js';
import { ensureBootstrapClient } from './auth/bootstrap.js';
import type { AuthService, ClientInfo } from './auth/service.js';
import { clientBridge, clientSlaMs, clientWebhook } from './auth/attributes.js';
import { AmqpBridge } from './bridges/amqp.js';
import { STRANDED_COUNT_MAX } from './http/routes/metrics.js';
import { isMxError } from './errors.js';
import { BUILTIN_CHECKS, buildChecks, loadCheckPlugins } from './pipeline/checks/index.js';
import type { PaymentCheck } from './pipeline/checks.js';
import { directorySchemaSource } from './cli/schema-directory.js';
import { SchemaValidator } from './iso20022/index.js';
import { Workflow } from './pipeline/workflow.js';
import { XmlPool } from './pipeline/xml-pool.js';
import { LoopLoad } from './pipeline/loop-load.js';
import { Scheduler } from './pipeline/scheduler.js';

export interface RunningHub {
  app: FastifyInstance;
  engine: Engine;
  workflow: Workflow;
  logger: Logger;
  /** The address the server listens on, e.g. http://127.0.0.1:8080 */
  url: string;
  stop(): Promise<void>;
}

/** What a process does: the HTTP API, the stage workers, the scheduler (under a lease), or all of them. */
export const ROLES = ['all', 'api', 'worker', 'scheduler'] as const;
export type Role = (typeof ROLES)[number];

export interface HubOptions {
  role?: Role;
  logger?: Logger;
}

export async function startHub(config: Config, options: HubOptions | Logger = {}): Promise<RunningHub> {
  const opts: HubOptions = 'info' in options && typeof options.info === 'function' ? { logger: options as Logger } : (options as HubOptions);
  const role = opts.role ?? 'all';
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const serves = { api: role === 'all' || role === 'api', workers: role === 'all' || role === 'worker', scheduler: role === 'all' || role === 'scheduler' };
  const engine = await openEngine({ config, clock: systemClock, ids: randomIds, logger });
  // The operator's checks are loaded before anything runs, in every role (one configuration, one verdict): a
  // plug-in that cannot load stops the start.
  const plugins = await loadCheckPlugins(config.checks.plugins, logger, BUILTIN_CHECKS);
  const { workflow, release } = assembleWorkflow({ config, engine, logger, clock: systemClock, ids: randomIds, workers: serves.workers, plugins });
  const scheduler = serves.scheduler
    ? new Scheduler({ store: engine.store, clock: systemClock, ids: randomIds, logger, duties: [...engine.schedulerDuties(), ...workflow.schedulerDuties()] })
    : null;
  const app = await buildApp({
    config,
    logger,
    queues: engine.queues,
    auth: engine.auth,
    workflow,
    opsOnly: !serves.api,
    ...(scheduler ? { schedulerActive: () => scheduler.lease.held } : {}),
    storeStats: () => engine.storeStats(),
    outbox: () => engine.outbox(),
    stranded: () => workflow.strandedCount(60_000, STRANDED_COUNT_MAX),
  });
  try {
    await engine.auth.ensureSigningKey();
    if (serves.api) await ensureBootstrapClient({ auth: engine.auth, dataDir: config.dataDir, logger });
    await workflow.start();
    scheduler?.start();
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await scheduler?.stop();
    await workflow.stop();
    await engine.close();
    release();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, role, engine: engine.name, dataDir: config.dataDir }, 'mxgate listening');

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('mxgate stopping');
      // Long polls answer at once with what they have; then in-flight requests finish within the grace period.
      engine.beginShutdown();
      const grace = setTimeout(() => app.server.closeAllConnections(), config.shutdownGraceMs);
      await app.close();
      clearTimeout(grace);
      await scheduler?.stop();
      await workflow.stop();
      await engine.close();
      release();
      logger.info('mxgate stopped');
    })());
  return { app, engine, workflow, logger, url, stop };
}

/**
 * The payment workflow on an engine, with the schema validator, the checks and the client lookups it uses.
 * `release` frees what it holds (compiled schemas, the sanctions list watcher) once the workflow has stopped.
 */
export function assembleWorkflow(options: {
  config: Config;
  engine: Engine;
  logger: Logger;
  clock: Clock;
  ids: IdGenerator;
  workers: boolean;
  /** The operator's checks (`loadCheckPlugins`); none when absent. */
  plugins?: readonly PaymentCheck[];
}): {
  workflow: Workflow;
  release: () => void;
} {
  const { config, engine, logger } = options;
  const schemas = config.workflow.schemaDir === null ? undefined : new SchemaValidator({ source: directorySchemaSource(config.workflow.schemaDir) });
  const client = clientLookup(engine.auth);
  const checks = buildChecks(config.checks, { clientSettings: async (id) => (await client(id))?.settings ?? null, logger, plugins: options.plugins ?? [] });
  const xml = config.workflow.xmlWorkers > 0 ? new XmlPool({ size: config.workflow.xmlWorkers, logger }) : undefined;
  const amqp = config.bridges.amqp.url === null ? undefined : new AmqpBridge({ url: config.bridges.amqp.url, exchange: config.bridges.amqp.exchange, timeoutMs: config.bridges.amqp.timeoutMs, logger });
  const onAboveMs = config.workflow.xmlOffloadDelayUs / 1000;
  const load = xml ? new LoopLoad({ onAboveMs, offBelowMs: onAboveMs / 3 }) : undefined;
  const workflow = new Workflow(
    {
      store: engine.store,
      queues: engine.queues,
      clock: options.clock,
      ids: options.ids,
      logger,
      config: { ...config.workflow, maxMessageBytes: config.http.bodyLimitBytes },
      schemas,
      checks: checks.checks,
      downstream: config.downstream,
      clientProfile: async (id) => (await client(id))?.profile ?? null,
      clientSlaMs: async (id) => clientSlaMs((await client(id))?.settings),
      clientWebhook: async (id) => clientWebhook((await client(id))?.settings),
      webhooks: config.webhooks,
      clientBridge: async (id) => clientBridge((await client(id))?.settings),
      ...(amqp ? { bridges: { amqp } } : {}),
      engineBacklog: () => engine.backlog(config.workflow.backlogMax),
      // One process parses and runs every stage on the embedded engine (the parsed-message cache serves them);
      // on the distributed engine the stages run in other processes.
      carryMessageMaxBytes: engine.name === 'embedded' ? 0 : config.workflow.carryMessageMaxBytes,
      ...(xml && load ? { xml, xmlOffload: () => load.saturated } : {}),
    },
    { workers: options.workers },
  );
  return {
    workflow,
    release: () => {
      checks.close();
      schemas?.dispose();
      load?.close();
      void xml?.close();
      void amqp?.close();
    },
  };
}

/** Clients as the workflow needs them (profile, settings), cached briefly: clients change rarely. */
function clientLookup(auth: AuthService): (clientId: string) => Promise<ClientInfo | null> {
  const cache = new Map<string, { client: ClientInfo | null; at: number }>();
  return async (clientId) => {
    const hit = cache.get(clientId);
    if (hit && Date.now() - hit.at < 5000) return hit.client;
    // An unknown client has no profile or settings; any other failure (the store) propagates and is retried.
    const client = await auth.getClient(clientId).catch((error: unknown) => {
      if (isMxError(error) && error.code === 'NOT_FOUND') return null;
      throw error;
    });
    if (cache.size > 10_000) cache.clear();
    cache.set(clientId, { client, at: Date.now() });
    return client;
  };
}
