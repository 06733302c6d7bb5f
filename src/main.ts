/**
 * Wiring only: read the configuration, open the engine, connect the HTTP API to it, start, and stop cleanly.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/index.js';
import { createLogger, type Logger } from './log.js';
import { systemClock } from './ports/clock.js';
import { randomIds } from './ports/ids.js';
import { openEmbeddedEngine, type Engine } from './engines/embedded.js';
import { buildApp } from './http/app.js';
import { ensureBootstrapClient } from './auth/bootstrap.js';

export interface RunningHub {
  app: FastifyInstance;
  engine: Engine;
  logger: Logger;
  /** The address the server listens on, e.g. http://127.0.0.1:8080 */
  url: string;
  stop(): Promise<void>;
}

export async function startHub(config: Config, logger: Logger = createLogger({ level: config.logLevel })): Promise<RunningHub> {
  const engine = openEmbeddedEngine({ config, clock: systemClock, ids: randomIds, logger });
  const app = await buildApp({ config, logger, queues: engine.queues, auth: engine.auth });
  engine.start();
  try {
    await engine.auth.ensureSigningKey();
    await ensureBootstrapClient({ auth: engine.auth, dataDir: config.dataDir, logger });
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await engine.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, engine: engine.name, dataDir: config.dataDir }, 'mxgate listening');

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('mxgate stopping');
      // Long polls answer at once with what they have; then in-flight requests finish within the grace period.
      engine.beginShutdown();
      const grace = setTimeout(() => app.server.closeAllConnections(), config.shutdownGraceMs);
      await app.close();
      clearTimeout(grace);
      await engine.close();
      logger.info('mxgate stopped');
    })());
  return { app, engine, logger, url, stop };
}
