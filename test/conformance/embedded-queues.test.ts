import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openEmbeddedEngine } from '../../src/engines/embedded.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { EmbeddedQueues } from '../../src/broker/embedded/queues.js';
import { queueConformance } from './queues.suite.js';

// A fresh SQLite file per test, with durability on as in production.
queueConformance('embedded (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-queues-'));
  const clock = new ManualClock();
  const engine = openEmbeddedEngine({ config: loadConfig({ overrides: { dataDir: dir } }), clock, ids: randomIds, logger: silentLogger() });
  return {
    queues: engine.queues,
    clock,
    sweep: async () => {
      await (engine.queues as EmbeddedQueues).sweep();
    },
    close: async () => {
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
