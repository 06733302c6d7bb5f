/**
 * The PostgreSQL engine's public surface: `openPostgresStore` connects, migrates the schema, and gives the store,
 * the auth store and a relay factory that share one bounded pool.
 */
import type { Logger } from '../../log.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/ids.js';
import type { QueueService } from '../../ports/queues.js';
import { PostgresAuthStore } from './auth.js';
import { DEFAULT_POOL_OPTIONS, PostgresDatabase, type PostgresPoolOptions } from './database.js';
import { migrate } from './migrations.js';
import { OutboxRelay, type OutboxRelayOptions } from './relay.js';
import { PostgresStore } from './store.js';

export { PostgresAuthStore } from './auth.js';
export { PostgresDatabase, checkSchemaName, DEFAULT_POOL_OPTIONS, TRANSACTION_ATTEMPTS_MAX, type PostgresPoolOptions } from './database.js';
export { migrate, POSTGRES_MIGRATIONS, type PostgresMigration } from './migrations.js';
export { OutboxRelay, type OutboxRelayOptions, type RelayMetrics, type RelayPass } from './relay.js';
export { PostgresStore, OUTBOX_CHANNEL } from './store.js';

export type RelaySettings = Omit<OutboxRelayOptions, 'database' | 'queues' | 'logger'>;

export interface OpenPostgresStoreOptions extends Partial<Omit<PostgresPoolOptions, 'url'>> {
  url: string;
  /** Schema holding every table of the store (created when missing). Default 'mxgate'. */
  schema?: string;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  /** Defaults for relays made with `relay()`. */
  relay?: RelaySettings;
}

export interface PostgresEngine {
  readonly store: PostgresStore;
  readonly auth: PostgresAuthStore;
  readonly database: PostgresDatabase;
  /** A relay from this store's outbox to `queues` (not started: call `start()`; `stop()` it before `close()`). */
  relay(queues: QueueService, settings?: RelaySettings): OutboxRelay;
  /** Stops the relays made here, waits for running transactions and closes the pool. */
  close(): Promise<void>;
}

export const DEFAULT_SCHEMA = 'mxgate';

/** Connects to PostgreSQL, applies pending migrations and returns the engine's parts. */
export async function openPostgresStore(options: OpenPostgresStoreOptions): Promise<PostgresEngine> {
  const { url, clock, ids, logger } = options;
  const database = new PostgresDatabase({
    ...DEFAULT_POOL_OPTIONS,
    ...Object.fromEntries(Object.entries(options).filter(([key, value]) => key in DEFAULT_POOL_OPTIONS && value !== undefined)),
    url,
    schema: options.schema ?? DEFAULT_SCHEMA,
    logger,
  });
  try {
    await migrate(database, logger);
  } catch (error) {
    await database.close();
    throw error;
  }
  const store = new PostgresStore({ database, clock, ids, logger });
  const auth = new PostgresAuthStore(database);
  const relays = new Set<OutboxRelay>();
  return {
    store,
    auth,
    database,
    relay: (queues, settings) => {
      const relay = new OutboxRelay({ ...options.relay, ...settings, database, queues, logger });
      relays.add(relay);
      return relay;
    },
    close: async () => {
      await Promise.all([...relays].map((r) => r.stop()));
      await database.close();
    },
  };
}
