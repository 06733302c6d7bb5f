import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openEmbeddedEngine } from '../../src/engines/embedded.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { transactionsConformance } from './transactions.suite.js';

transactionsConformance('embedded (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-tx-'));
  const engine = openEmbeddedEngine({ config: loadConfig({ overrides: { dataDir: dir } }), clock: new ManualClock(), ids: randomIds, logger: silentLogger() });
  return {
    store: engine.store,
    close: async () => {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
