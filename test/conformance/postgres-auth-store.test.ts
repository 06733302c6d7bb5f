/** The auth store conformance suite against PostgreSQL: a fresh schema per test, two pools as two processes. */
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { openPostgresStore } from '../../src/storage/postgres/index.js';
import { dropSchema, freshSchemaName, POSTGRES_URL, postgresOrSkip } from '../helpers/postgres.js';
import { authStoreConformance } from './auth-store.suite.js';

if (await postgresOrSkip('auth store conformance: PostgreSQL')) {
  authStoreConformance('PostgreSQL', async () => {
    const schema = freshSchemaName();
    const open = () => openPostgresStore({ url: POSTGRES_URL, schema, poolMax: 4, clock: new ManualClock(), ids: randomIds, logger: silentLogger() });
    const first = await open();
    const second = await open();
    return {
      auth: first.auth,
      other: second.auth,
      close: async () => {
        await first.close();
        await second.close();
        await dropSchema(schema);
      },
    };
  });
}
