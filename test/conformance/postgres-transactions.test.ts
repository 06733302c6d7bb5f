/** The transactions repository conformance suite against PostgreSQL, a fresh schema per test. */
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { openPostgresStore } from '../../src/storage/postgres/index.js';
import { dropSchema, freshSchemaName, POSTGRES_URL, postgresOrSkip } from '../helpers/postgres.js';
import { transactionsConformance } from './transactions.suite.js';

if (await postgresOrSkip('transactions repository conformance: PostgreSQL')) {
  transactionsConformance('PostgreSQL', async () => {
    const schema = freshSchemaName();
    const postgres = await openPostgresStore({ url: POSTGRES_URL, schema, poolMax: 4, clock: new ManualClock(), ids: randomIds, logger: silentLogger() });
    return {
      store: postgres.store,
      close: async () => {
        await postgres.close();
        await dropSchema(schema);
      },
    };
  });
}
