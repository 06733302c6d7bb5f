/**
 * The workflow end to end in one process, on the embedded engine: intake -> processing -> releasing, with the
 * shared ISO 20022 samples. HTTP is covered by the API tests; this checks the stages, reports and duplicates.
 */
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openEmbeddedEngine, type Engine } from '../../src/engines/embedded.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { Workflow } from '../../src/pipeline/workflow.js';
import { EVENTS_QUEUE, participantQueue } from '../../src/pipeline/queues.js';
import { parseMessage, readStatusReport, SchemaValidator } from '../../src/iso20022/index.js';
import { directorySchemaSource } from '../../src/cli/schema-directory.js';
import { SHARED_ISO20022_DIR, sharedIso20022 } from '../helpers/shared.js';
import { workflowDeps } from '../helpers/workflow.js';

const sample = (name: string) => readFileSync(join(SHARED_ISO20022_DIR, 'samples', name), 'utf8');

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let dir: string;
let engine: Engine;
let workflow: Workflow;
let clock: ManualClock;
let schemas: SchemaValidator;
let config: ReturnType<typeof loadConfig>;

/** A workflow on the test's engine; `workflow` settings override the defaults. */
function workflowOf(settings: Partial<ReturnType<typeof loadConfig>['workflow']> = {}): Workflow {
  return new Workflow(
    workflowDeps(engine, config, { clock, schemas, config: { ...config.workflow, ...settings, maxMessageBytes: config.http.bodyLimitBytes } }),
    { workers: true, stageWaitMs: 200 },
  );
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mxgate-wf-'));
  clock = new ManualClock(Date.now());
  config = loadConfig({ overrides: { dataDir: dir } });
  engine = openEmbeddedEngine({ config, clock, ids: randomIds, logger: silentLogger() });
  schemas = new SchemaValidator({ source: directorySchemaSource(join(SHARED_ISO20022_DIR, 'xsd')) });
  workflow = workflowOf();
  await workflow.start();
});

afterEach(async () => {
  engine.beginShutdown();
  await workflow.stop();
  await engine.close();
  schemas.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const finalOf = (clientId: string, id: string) =>
  until(`final status of ${id}`, async () => {
    const view = await workflow.transaction(clientId, id);
    return ['ACSC', 'RJCT', 'PART', 'CANC'].includes(view.transaction.status) ? view : undefined;
  });

describe('workflow', () => {
  test('a valid pacs.008 goes ACTC -> ACSP -> ACSC with an XSD-valid pacs.002 carrying the original ids', async (t) => {
    if (!sharedIso20022(t)) return;
    const xml = sample('pacs.008.001.08-cbpr-single.xml');
    const submitted = await workflow.intake.submit({ clientId: 'bank-a', body: xml, messageType: 'pacs.008' });
    assert.equal(submitted.status, 'ACTC');
    const view = await finalOf('bank-a', submitted.transactionId);
    assert.equal(view.transaction.status, 'ACSC');
    assert.deepEqual(view.history.map((h) => h.status), ['ACTC', 'ACSP', 'ACSC']);
    const out = await workflow.outbox('bank-a', submitted.transactionId);
    assert.ok(out.ready);
    assert.equal(out.messageType.startsWith('pacs.002'), true);
    assert.deepEqual(schemas.validate(out.xml), []);
    const parsed = parseMessage(out.xml);
    const report = readStatusReport(parsed.document!, parsed.documentId!);
    assert.equal(report.original.originalMsgId, 'P008-20260413-5017');
    assert.equal(report.original.originalMsgNmId, 'pacs.008.001.08');
    assert.equal(report.groupStatus, 'ACSC');
    assert.equal(report.transactions.length, 1);
    assert.equal(report.transactions[0]!.originalEndToEndId, 'E2E-04138234');
    assert.equal(report.transactions[0]!.status, 'ACSC');
    assert.equal(report.transactions[0]!.originalUetr, view.payments[0]!.uetr ?? undefined);
    const again = await workflow.transaction('bank-a', submitted.transactionId);
    assert.deepEqual(again.history.map((h) => h.status), ['ACTC', 'ACSP', 'ACSC', 'RCVD']);
    const delivered = await engine.queues.receive(participantQueue('bank-a'), { max: 10 });
    assert.equal(delivered.length, 1);
    assert.equal(delivered[0]!.attributes.transaction_id, submitted.transactionId);
    const events = await engine.queues.receive(EVENTS_QUEUE, { max: 10 });
    assert.equal(events.length, 1, 'one lifecycle event');
    assert.deepEqual(events[0]!.attributes, { type: 'transaction.final', status: 'ACSC' });
    const event = JSON.parse(events[0]!.body) as Record<string, unknown>;
    assert.equal(event.transaction_id, submitted.transactionId);
    assert.equal(event.client_id, 'bank-a');
    assert.equal(event.status, 'ACSC');
    assert.match(String(event.report_type), /^pacs\.002/);
  });

  test('with workflow.lifecycleEvents off a final transaction sends no event; its report is delivered as before', async (t) => {
    if (!sharedIso20022(t)) return;
    await workflow.stop();
    workflow = workflowOf({ lifecycleEvents: false });
    await workflow.start();
    const submitted = await workflow.intake.submit({ clientId: 'bank-a', body: sample('pacs.008.001.08-cbpr-single.xml') });
    assert.equal((await finalOf('bank-a', submitted.transactionId)).transaction.status, 'ACSC');
    const delivered = await engine.queues.receive(participantQueue('bank-a'), { max: 10 });
    assert.equal(delivered.length, 1);
    assert.deepEqual(await engine.queues.receive(EVENTS_QUEUE, { max: 10 }), []);
  });

  test('a message breaking a built-in rule is rejected with its reason code and a report', async (t) => {
    if (!sharedIso20022(t)) return;
    const xml = readFileSync(join(SHARED_ISO20022_DIR, 'samples', 'invalid-builtin', 'pacs.008.001.08-cbpr-maxpopulated.xml'), 'utf8');
    const submitted = await workflow.intake.submit({ clientId: 'bank-a', body: xml });
    const view = await finalOf('bank-a', submitted.transactionId);
    assert.equal(view.transaction.status, 'RJCT');
    assert.match(view.transaction.reasonCode ?? '', /^[A-Z0-9]{4}$/);
    const out = await workflow.outbox('bank-a', submitted.transactionId);
    assert.ok(out.ready);
    assert.deepEqual(schemas.validate(out.xml), []);
    assert.ok(out.xml.includes('<TxSts>RJCT</TxSts>') || out.xml.includes(':TxSts>RJCT<'));
  });

  test('exact duplicates create nothing new; same keys with other content are rejected with AM05', async (t) => {
    if (!sharedIso20022(t)) return;
    const xml = sample('pacs.008.001.08-cbpr-single.xml');
    const first = await workflow.intake.submit({ clientId: 'bank-a', body: xml });
    const again = await workflow.intake.submit({ clientId: 'bank-a', body: xml.replace(/>\s+</g, '><') });
    assert.equal(again.duplicate, true);
    assert.equal(again.transactionId, first.transactionId);
    const changed = xml.replace(/(IntrBkSttlmAmt Ccy="EUR">)750000</, '$1750001<');
    assert.notEqual(changed, xml);
    const conflict = await workflow.intake.submit({ clientId: 'bank-a', body: changed });
    assert.notEqual(conflict.transactionId, first.transactionId);
    const view = await finalOf('bank-a', conflict.transactionId);
    assert.equal(view.transaction.status, 'RJCT');
    assert.equal(view.transaction.reasonCode, 'AM05');
    // Another client may use the same ids: keys are per sender.
    const other = await workflow.intake.submit({ clientId: 'bank-b', body: xml });
    assert.equal(other.duplicate, false);
  });

  test('concurrent submissions of one message yield one payment', async (t) => {
    if (!sharedIso20022(t)) return;
    const xml = sample('pacs.008.001.08-cbpr-single.xml');
    const results = await Promise.all(Array.from({ length: 8 }, () => workflow.intake.submit({ clientId: 'bank-c', body: xml })));
    assert.equal(new Set(results.map((r) => r.transactionId)).size, 1);
    assert.equal(results.filter((r) => !r.duplicate).length, 1);
  });

  test('a payment past its deadline is rejected with a timeout reason and a report', async (t) => {
    if (!sharedIso20022(t)) return;
    await workflow.stop(); // no stage consumers: the payment stays ACTC
    const submitted = await workflow.intake.submit({ clientId: 'bank-a', body: sample('pacs.008.001.08-cbpr-single.xml') });
    assert.equal(await workflow.timeouts.sweep(), 0);
    clock.advance(10_001);
    assert.equal(await workflow.timeouts.sweep(), 1);
    const view = await workflow.transaction('bank-a', submitted.transactionId);
    assert.equal(view.transaction.status, 'RJCT');
    assert.equal(view.transaction.reasonCode, 'AB06');
    const out = await workflow.outbox('bank-a', submitted.transactionId);
    assert.ok(out.ready);
    assert.deepEqual(schemas.validate(out.xml), []);
    assert.equal(await workflow.timeouts.sweep(), 0, 'a final payment is not swept again');
  });

  test('tenancy: another client cannot see a transaction', async (t) => {
    if (!sharedIso20022(t)) return;
    const submitted = await workflow.intake.submit({ clientId: 'bank-a', body: sample('pacs.008.001.08-cbpr-single.xml') });
    await assert.rejects(workflow.transaction('bank-z', submitted.transactionId), { code: 'NOT_FOUND' });
    await assert.rejects(workflow.outbox('bank-z', submitted.transactionId), { code: 'NOT_FOUND' });
  });
});
