/**
 * The distributed engine: PostgreSQL for state (store, clients, signing keys, an outbox table) and NATS JetStream
 * for queues. A state change and the messages it produces are written in one PostgreSQL transaction (the outbox)
 * and relayed to JetStream by the outbox relay (a duty of the scheduler lease's holder; several at once are safe
 * and keep each queue's order); consumers are idempotent, so a relay retry or a redelivery changes nothing.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Clock } from '../ports/clock.js';
import type { IdGenerator } from '../ports/ids.js';
import { AuthService } from '../auth/service.js';
import { NatsQueues } from '../broker/nats/queues.js';
import { openPostgresStore } from '../storage/postgres/index.js';
import { periodic, type Duty } from '../pipeline/duty.js';
import type { Engine } from './embedded.js';

export interface DistributedEngineOptions {
  config: Pick<Config, 'store' | 'queues' | 'postgres' | 'broker' | 'auth'>;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
}

export async function openDistributedEngine(options: DistributedEngineOptions): Promise<Engine> {
  const { config, clock, ids, logger } = options;
  if (config.store === null || config.queues === null) throw new Error('assertion failed: the distributed engine needs store and queues URLs');
  const pg = await openPostgresStore({
    url: config.store,
    schema: config.postgres.schema,
    poolMax: config.postgres.poolMax,
    connectTimeoutMs: config.postgres.connectTimeoutMs,
    statementTimeoutMs: config.postgres.statementTimeoutMs,
    idleInTransactionTimeoutMs: config.postgres.idleInTransactionTimeoutMs,
    preparedStatements: config.postgres.preparedStatements,
    commitUnitsMax: config.postgres.commitUnitsMax,
    commitBatchMs: config.postgres.commitBatchMs,
    commitBatchesMax: config.postgres.commitBatchesMax,
    clock,
    ids,
    logger,
    relay: { batchMax: config.postgres.relayBatchMax, pollIntervalMs: config.postgres.relayPollIntervalMs, coalesceMs: config.postgres.relayCoalesceMs },
  });
  let connection: NatsConnection;
  try {
    connection = await connect({
      servers: config.queues.split(',').map((s) => s.trim()),
      name: 'mxgate',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // nats.js otherwise builds an Error (a stack capture) for every request in case it fails: several percent
      // of a worker's CPU. Failures still carry their own stack, only not the caller's.
      noAsyncTraces: true,
    });
  } catch (error) {
    await pg.close();
    throw error;
  }
  const queues = await NatsQueues.open({
    connection,
    clock,
    ids,
    logger,
    defaults: config.broker.defaults,
    maxQueues: config.broker.maxQueues,
    dedupWindowS: config.broker.dedupWindowS,
    sweepBatchMax: config.broker.sweepBatchMax,
    prefix: config.broker.namespace,
    replicas: config.broker.replicas,
  });
  const auth = new AuthService({ store: pg.auth, clock, ids, logger, config: config.auth });
  // The active relay is a duty of the scheduler lease's holder: one process relays, woken by NOTIFY on each
  // commit, so that each pass moves the rows of many commits. (A relay woken in every process made each commit
  // wake them all, each pass moving a few rows for five round trips.) Every process also runs a standby relay that
  // polls and moves only rows older than relayStandbyAfterMs: payments keep moving while the lease changes hands
  // or its holder is stuck. Relays at once are safe: each queue is relayed by one at a time, in order.
  const relay = pg.relay(queues);
  const relaying: Duty = { name: 'outbox-relay', start: () => relay.start(), stop: () => relay.stop() };
  const standby = pg.relay(queues, { listen: false, standbyAfterMs: config.postgres.relayStandbyAfterMs, coalesceMs: 0 });
  standby.start();
  const retention = periodic(
    'distributed-retention',
    config.broker.sweepIntervalMs,
    async () => {
      await queues.sweep();
      await pg.store.sweep(config.broker.sweepBatchMax);
    },
    (err) => logger.error({ err }, 'sweep of expired messages and keys failed'),
  );
  let closed = false;
  return {
    name: 'distributed',
    store: pg.store,
    queues,
    auth,
    schedulerDuties: () => [relaying, retention],
    backlog: (limit) => relay.pending(limit),
    outbox: () => relay.metrics(),
    storeStats: () => {
      const { commits, units } = pg.database.stats;
      return { commits, units };
    },
    beginShutdown: () => void queues.close(),
    close: async () => {
      if (closed) return;
      closed = true;
      await retention.stop();
      await Promise.all([relay.stop(), standby.stop()]);
      await queues.close();
      await connection.drain().catch(() => connection.close());
      await pg.close();
    },
  };
}
