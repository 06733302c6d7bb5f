import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openEmbeddedEngine } from '../../src/engines/embedded.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { storeConformance, type StoreHarness } from './store.suite.js';

function openAt(dir: string, clock: ManualClock): StoreHarness {
  const engine = openEmbeddedEngine({ config: loadConfig({ overrides: { dataDir: dir } }), clock, ids: randomIds, logger: silentLogger() });
  return {
    store: engine.store,
    queues: engine.queues,
    clock,
    reopen: async () => {
      await engine.close();
      return openAt(dir, clock);
    },
    close: async () => {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

storeConformance('embedded (SQLite)', async () => openAt(mkdtempSync(join(tmpdir(), 'mxgate-store-')), new ManualClock()));
