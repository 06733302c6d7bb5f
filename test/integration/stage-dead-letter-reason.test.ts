/**
 * A stage message that keeps failing with a temporary error is moved to the stage's dead-letter queue by the queue
 * (max_receive_count), not by the runner: it still carries the reason, with the failure of the last attempt, as a
 * message the runner dead-letters itself does. On the embedded engine, with real time.
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
import { ensureWorkflowQueues, stageDeadLetterQueue, stageQueue } from '../../src/pipeline/queues.js';
import { StageRunner, type Outcome } from '../../src/pipeline/runner.js';

const QUEUE = stageQueue('processing');
const DEAD_LETTERS = stageDeadLetterQueue('processing');

let dir: string;
let engine: Engine;
let runner: StageRunner | null;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mxgate-dlq-reason-'));
  engine = openEmbeddedEngine({ config: loadConfig({ overrides: { dataDir: dir } }), clock: systemClock, ids: randomIds, logger: silentLogger() });
  // The workflow's own stage queues: the queue dead-letters after 3 receives.
  await ensureWorkflowQueues(engine.queues, { attemptsMax: 3, visibilityTimeoutS: 30 });
  runner = null;
});

afterEach(async () => {
  await runner?.stop();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(handler: (attempt: number) => Outcome): void {
  runner = new StageRunner({
    name: 'processing',
    queues: engine.queues,
    queue: QUEUE,
    deadLetterQueue: DEAD_LETTERS,
    concurrency: 1,
    handler: async (message) => handler(message.receiveCount),
    logger: silentLogger(),
    retryBaseMs: 10,
    retryMaxMs: 10,
    waitMs: 200,
  });
  runner.start();
}

async function deadLettered(timeoutMs = 15_000): Promise<Record<string, string>> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const [message] = await engine.queues.receive(DEAD_LETTERS, { max: 1, waitMs: 200 });
    if (message) return message.attributes;
  }
  throw new Error('timed out waiting for the dead-lettered message');
}

test('retried until max_receive_count: the dead-letter reason names the receives and the last attempt’s failure', async () => {
  await engine.queues.send(QUEUE, { body: 'payment', groupId: 'account-1', dedupId: 'd1', attributes: { transaction_id: 't1' } });
  start((attempt) => {
    throw new MxError('DOWNSTREAM_UNAVAILABLE', `downstream answered 502 (attempt ${attempt})`);
  });
  const attributes = await deadLettered();
  assert.deepEqual(attributes, {
    transaction_id: 't1',
    'mx-dead-letter-reason': 'max_receive_count exceeded: received 3 times; last failure: DOWNSTREAM_UNAVAILABLE: downstream answered 502 (attempt 3)',
  });
  assert.equal(runner!.stats.retried, 3);
  assert.equal(runner!.stats.deadLettered, 0, 'the queue moved it, not the runner');
});

test('a permanent failure is dead-lettered by the runner with the same attribute', async () => {
  await engine.queues.send(QUEUE, { body: 'payment', groupId: 'account-1', dedupId: 'd1' });
  start(() => ({ kind: 'dead-letter', reason: 'MESSAGE_INVALID: no debtor' }));
  const attributes = await deadLettered();
  assert.equal(attributes['mx-dead-letter-reason'], 'MESSAGE_INVALID: no debtor');
  assert.equal(attributes.stage, 'processing');
});
