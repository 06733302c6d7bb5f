/**
 * The stage runner on the embedded queue engine, with the queue service wrapped to fail the way an outage of the
 * store or the queues makes it fail (STORE_UNAVAILABLE): an outage spends no attempt, neither while the handler
 * runs nor while its message is settled, so a FIFO group is not held back until a visibility timeout.
 */
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openEmbeddedEngine, type Engine } from '../../src/engines/embedded.js';
import { MxError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { systemClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import type { QueueService } from '../../src/ports/queues.js';
import { ack, StageRunner } from '../../src/pipeline/runner.js';

let dir: string;
let engine: Engine;
let runner: StageRunner | null;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mxgate-runner-'));
  engine = openEmbeddedEngine({ config: loadConfig({ overrides: { dataDir: dir } }), clock: systemClock, ids: randomIds, logger: silentLogger() });
  await engine.queues.createQueue({ name: 'stage.dlq.fifo', fifo: true });
  await engine.queues.createQueue({ name: 'stage.fifo', fifo: true, visibilityTimeoutS: 30, maxReceiveCount: 3, deadLetterQueue: 'stage.dlq.fifo' });
  runner = null;
});

afterEach(async () => {
  await runner?.stop();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The queue service with `method` failing with STORE_UNAVAILABLE for its first `times` calls. */
function failing(inner: QueueService, method: keyof QueueService, times: number): { queues: QueueService; calls: () => number } {
  let calls = 0;
  const queues = new Proxy(inner, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      if (property !== method) return bound;
      return (...args: unknown[]) => {
        calls += 1;
        if (calls <= times) return Promise.reject(new MxError('STORE_UNAVAILABLE', 'the queues cannot be reached'));
        return bound(...args);
      };
    },
  });
  return { queues, calls: () => calls };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function start(queues: QueueService, handler: (body: string) => Promise<void>): StageRunner {
  runner = new StageRunner({
    name: 'stage',
    queues,
    queue: 'stage.fifo',
    deadLetterQueue: 'stage.dlq.fifo',
    concurrency: 1,
    handler: async (message) => {
      await handler(message.body);
      return ack;
    },
    logger: silentLogger(),
    retryBaseMs: 20,
    retryMaxMs: 200,
    waitMs: 200,
    outageHoldMs: 15_000,
  });
  runner.start();
  return runner;
}

test('a delete that fails through an outage is run again in place: the group goes on at once, nothing is handled twice', async () => {
  for (let i = 0; i < 3; i++) await engine.queues.send('stage.fifo', { body: `m${i}`, groupId: 'account-1', dedupId: `d${i}` });
  const { queues, calls } = failing(engine.queues, 'deleteBatch', 3);
  const handled: string[] = [];
  start(queues, async (body) => void handled.push(body));
  await until('every message handled and deleted', async () => (await engine.queues.getQueue('stage.fifo')).metrics.inFlight === 0 && handled.length === 3);
  assert.deepEqual(handled, ['m0', 'm1', 'm2'], 'in order, each once: no message waited for its visibility timeout');
  assert.ok(calls() > 3, 'the delete was tried again after the failures');
  const metrics = (await engine.queues.getQueue('stage.fifo')).metrics;
  assert.equal(metrics.visible + metrics.inFlight + metrics.delayed, 0);
  assert.equal((await engine.queues.getQueue('stage.dlq.fifo')).metrics.visible, 0);
});

test('a handler that fails through an outage runs again in place without spending an attempt', async () => {
  await engine.queues.send('stage.fifo', { body: 'only', groupId: 'account-1', dedupId: 'd' });
  let failures = 5;
  const attempts: number[] = [];
  const inner = engine.queues;
  start(inner, async () => {
    attempts.push(Date.now());
    if (failures-- > 0) throw new MxError('STORE_UNAVAILABLE', 'the store cannot be reached');
  });
  await until('the message handled', async () => attempts.length === 6 && (await inner.getQueue('stage.fifo')).metrics.inFlight === 0);
  const received = await inner.receive('stage.dlq.fifo', { max: 10 });
  assert.equal(received.length, 0, 'nothing reached the dead-letter queue although the queue allows 3 receives');
  assert.equal(runner!.stats.retried, 0);
  assert.equal(runner!.stats.handled, 1);
});
