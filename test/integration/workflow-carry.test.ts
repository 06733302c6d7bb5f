/**
 * Stage messages that carry the payment message (workflow.carryMessageMaxBytes, on by default on the distributed
 * engine): intake in one workflow (an API process) and the stages in another (a worker), each with its own cache of
 * parsed messages, on one real SQLite engine. With carrying, the worker's stages read nothing back from the store;
 * without it, they read each transaction back (processing and releasing each, or processing alone when it releases in
 * its own transaction). Either way the payment ends ACSC with its report.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openEmbeddedEngine, type Engine } from '../../src/engines/embedded.js';
import { silentLogger } from '../../src/log.js';
import { systemClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import type { Store } from '../../src/ports/store.js';
import type { WorkflowDeps } from '../../src/pipeline/context.js';
import { Workflow } from '../../src/pipeline/workflow.js';
import { SHARED_ISO20022_DIR, sharedIso20022 } from '../helpers/shared.js';
import { workflowDeps } from '../helpers/workflow.js';

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

/** Runs one payment through an API workflow and a worker workflow; returns the worker's store reads. */
async function runApart(carryMessageMaxBytes: number, releaseInline = false): Promise<{ status: string; reads: number; report: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-carry-'));
  const config = loadConfig({ overrides: { dataDir: dir, workflow: { releaseInline } } });
  const engine: Engine = openEmbeddedEngine({ config, clock: systemClock, ids: randomIds, logger: silentLogger() });
  let reads = 0;
  // The worker's view of the store port, counting reads outside transactions (how a stage loads a transaction).
  const counted: Store = new Proxy(engine.store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (property === 'read') return (...args: Parameters<Store['read']>) => ((reads += 1), target.read(...args));
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const deps = (store: Store): WorkflowDeps => workflowDeps(engine, config, { store, carryMessageMaxBytes });
  const api = new Workflow(deps(engine.store), { workers: false });
  const worker = new Workflow(deps(counted), { workers: true, stageWaitMs: 200 });
  await api.start();
  await worker.start();
  cleanup.push(async () => {
    engine.beginShutdown();
    await worker.stop();
    await api.stop();
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const xml = readFileSync(join(SHARED_ISO20022_DIR, 'samples', 'pacs.008.001.08-cbpr-single.xml'), 'utf8');
  const { transactionId } = await api.intake.submit({ clientId: 'bank-a', body: xml, messageType: 'pacs.008' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const view = await api.transaction('bank-a', transactionId);
    if (['ACSC', 'RJCT', 'PART'].includes(view.transaction.status)) {
      const out = await api.outbox('bank-a', transactionId);
      return { status: view.transaction.status, reads, report: out.ready && out.xml.includes('E2E-04138234') };
    }
    if (Date.now() > deadline) throw new Error(`payment still ${view.transaction.status}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('stages in another process use the carried message and read nothing back; without it they read', async (t) => {
  if (!sharedIso20022(t)) return;
  const carried = await runApart(32_768);
  assert.deepEqual(carried, { status: 'ACSC', reads: 0, report: true });
  const loaded = await runApart(0);
  assert.equal(loaded.status, 'ACSC');
  assert.equal(loaded.report, true);
  assert.ok(loaded.reads >= 2, `processing and releasing each read their transaction (${loaded.reads} reads)`);
  // Releasing in the processing transaction: one stage reads, once.
  const inline = await runApart(0, true);
  assert.deepEqual(inline, { status: 'ACSC', reads: 1, report: true });
});

test('a message larger than carryMessageMaxBytes is not carried: the stages read it from the store', async (t) => {
  if (!sharedIso20022(t)) return;
  const small = await runApart(100);
  assert.equal(small.status, 'ACSC');
  assert.ok(small.reads >= 2, `${small.reads} reads`);
});
