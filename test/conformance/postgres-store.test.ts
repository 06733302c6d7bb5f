/**
 * The store conformance suite against PostgreSQL: a fresh schema per test; the queue side is the embedded queue
 * engine on a temporary SQLite file, fed from the PostgreSQL outbox by an OutboxRelay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openEmbeddedEngine } from '../../src/engines/embedded.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { openPostgresStore } from '../../src/storage/postgres/index.js';
import { dropSchema, freshSchemaName, POSTGRES_URL, postgresOrSkip } from '../helpers/postgres.js';
import { storeConformance, type StoreHarness } from './store.suite.js';

async function openAt(schema: string, dir: string, clock: ManualClock): Promise<StoreHarness> {
  const queues = openEmbeddedEngine({ config: loadConfig({ overrides: { dataDir: dir } }), clock, ids: randomIds, logger: silentLogger() });
  const postgres = await openPostgresStore({ url: POSTGRES_URL, schema, poolMax: 4, clock, ids: randomIds, logger: silentLogger() });
  const relay = postgres.relay(queues.queues, { pollIntervalMs: 200 });
  relay.start();
  const close = async () => {
    await postgres.close();
    await queues.close();
  };
  return {
    store: postgres.store,
    queues: queues.queues,
    clock,
    reopen: async () => {
      await close();
      return openAt(schema, dir, clock);
    },
    close: async () => {
      await close();
      await dropSchema(schema);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (await postgresOrSkip('store conformance: PostgreSQL')) {
  storeConformance('PostgreSQL (outbox relayed to the embedded queues)', () =>
    openAt(freshSchemaName(), mkdtempSync(join(tmpdir(), 'mxgate-pg-store-')), new ManualClock()),
  );
}
