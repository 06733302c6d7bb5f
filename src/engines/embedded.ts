/**
 * The embedded engine: one SQLite file holds the store and the queues (so a state change and the messages it
 * produces commit in one transaction). Nothing else to install.
 */
import { join } from 'node:path';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Clock } from '../ports/clock.js';
import type { IdGenerator } from '../ports/ids.js';
import type { QueueService } from '../ports/queues.js';
import type { Store } from '../ports/store.js';
import { AuthService } from '../auth/service.js';
import { EmbeddedQueues } from '../broker/embedded/queues.js';
import { SqliteAuthStore } from '../storage/sqlite/auth.js';
import { SqliteDatabase } from '../storage/sqlite/database.js';
import { SqliteStore } from '../storage/sqlite/store.js';
import { periodic, type Duty } from '../pipeline/duty.js';
import { scheduledBackups, type BackupStats } from '../storage/sqlite/backup-schedule.js';

export interface Engine {
  readonly name: 'embedded' | 'distributed';
  readonly store: Store;
  readonly queues: QueueService;
  /** API clients, access tokens and signing keys. */
  readonly auth: AuthService;
  /** Background jobs that must run in one process at a time (under the scheduler lease). */
  schedulerDuties(): Duty[];
  /**
   * Work accepted but not yet on the queues (outbox rows of the distributed engine), counted up to `limit`; 0 on
   * the embedded engine.
   */
  backlog(limit: number): Promise<number>;
  /** The outbox rows waiting for the queues (distributed engine), for /metrics; null on the embedded engine. */
  outbox(): Promise<OutboxStats | null>;
  /** Counters of the store's group commit in this process, for /metrics. */
  storeStats(): StoreStats;
  /** Ends long polls at once (they answer with what they have) so that shutdown need not wait for them. */
  beginShutdown(): void;
  close(): Promise<void>;
}

/** The outbox of the distributed engine: rows waiting (counted up to 10 000), rows being retried, the oldest's age. */
export interface OutboxStats {
  pending: number;
  retrying: number;
  oldestAgeS: number;
}

/**
 * Group commit in this process since it started: database transactions, the units of work they carried (their
 * ratio is the batching), and on the embedded engine the WAL flushes, the WAL start-overs and their pauses.
 */
export interface StoreStats {
  commits: number;
  units: number;
  walFlushes?: number;
  walResets?: number;
  /** Milliseconds commits waited for the WAL start-overs, summed. */
  walResetPauseMs?: number;
  /** WAL start-overs that failed: a reader held an older snapshot. */
  walResetMisses?: number;
  /** The hub's own backups (`backup.intervalS`), when it takes them. */
  backups?: BackupStats;
}

export interface EmbeddedEngineOptions {
  config: Pick<Config, 'dataDir' | 'sqlite' | 'broker' | 'auth' | 'backup'>;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  /** Overrides the database file (default: <dataDir>/mxgate.db); ':memory:' for tests that need no file. */
  path?: string;
}

export const DATABASE_FILE = 'mxgate.db';

export function openEmbeddedEngine(options: EmbeddedEngineOptions): Engine {
  const { config, clock, ids, logger } = options;
  const database = new SqliteDatabase({
    path: options.path ?? join(config.dataDir, DATABASE_FILE),
    commitBatchMax: config.sqlite.commitBatchMax,
    busyTimeoutMs: config.sqlite.busyTimeoutMs,
    durability: config.sqlite.durability,
    walResetBytes: config.sqlite.walResetMb * 1024 * 1024,
    logger,
  });
  const queues = new EmbeddedQueues({
    database,
    clock,
    ids,
    logger,
    defaults: config.broker.defaults,
    maxQueues: config.broker.maxQueues,
    dedupWindowS: config.broker.dedupWindowS,
    sweepBatchMax: config.broker.sweepBatchMax,
  });
  const auth = new AuthService({ store: new SqliteAuthStore(database), clock, ids, logger, config: config.auth });
  const store = new SqliteStore({ database, clock, queueWriter: (ctx) => queues.writerFor(ctx) });
  const sweeper = periodic(
    'embedded-retention',
    config.broker.sweepIntervalMs,
    async () => {
      await queues.sweep();
      await store.sweep(config.broker.sweepBatchMax);
    },
    (err) => logger.error({ err }, 'sweep of expired messages and keys failed'),
  );
  const backups =
    config.backup.intervalS > 0 && options.path !== ':memory:'
      ? scheduledBackups({
          path: options.path ?? join(config.dataDir, DATABASE_FILE),
          dir: config.backup.dir ?? join(config.dataDir, 'backups'),
          intervalS: config.backup.intervalS,
          keep: config.backup.keep,
          clock,
          logger,
        })
      : null;
  return {
    name: 'embedded',
    store,
    queues,
    auth,
    schedulerDuties: () => (backups ? [sweeper, backups.duty] : [sweeper]),
    backlog: async () => 0,
    outbox: async () => null,
    storeStats: () => {
      const { batches, units, flushes, walResets, walResetPauseMs, walResetMisses } = database.stats;
      return { commits: batches, units, walFlushes: flushes, walResets, walResetPauseMs, walResetMisses, ...(backups ? { backups: { ...backups.stats } } : {}) };
    },
    beginShutdown: () => queues.close(),
    close: async () => {
      await sweeper.stop();
      await backups?.duty.stop();
      queues.close();
      await store.close();
    },
  };
}
