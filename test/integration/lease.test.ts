/**
 * The scheduler lease on a real store: one holder at a time, release on stop, takeover after a holder dies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openEmbeddedEngine } from '../../src/engines/embedded.js';
import { silentLogger } from '../../src/log.js';
import { systemClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { Lease } from '../../src/pipeline/lease.js';

async function until(what: string, condition: () => boolean, timeoutMs = 5000): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

test('one holder at a time; stop releases at once; a dead holder is replaced after the ttl', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-lease-'));
  const engine = openEmbeddedEngine({ config: loadConfig({ overrides: { dataDir: dir } }), clock: systemClock, ids: randomIds, logger: silentLogger() });
  const events: string[] = [];
  const make = (holder: string) =>
    new Lease({
      store: engine.store,
      clock: systemClock,
      logger: silentLogger(),
      name: 'scheduler',
      holder,
      ttlMs: 600,
      renewMs: 100,
      onAcquire: () => void events.push(`${holder}+`),
      onLose: () => void events.push(`${holder}-`),
    });
  const a = make('a');
  const b = make('b');
  const c = make('c');
  try {
    a.start();
    await until('a holds', () => a.held);
    b.start();
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(b.held, false, 'b stands by while a renews');

    await a.stop();
    await until('b takes over after a release', () => b.held, 2000);
    assert.deepEqual(events, ['a+', 'a-', 'b+']);

    c.start();
    b.halt(); // b "crashes": no renewal, no release
    const waited = await until('c takes over after b died', () => c.held, 3000);
    assert.ok(waited >= 300, `c waited for the lease to expire (${waited} ms)`);
    assert.deepEqual(events, ['a+', 'a-', 'b+', 'c+']);
  } finally {
    await c.stop();
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
