/**
 * A cancellation request racing the payment it names, on the embedded engine: the payment (ACSP) is released by
 * its own releasing path between the cancellation's decision and its transaction. The compare-and-set lets one
 * of them win: the payment stays ACSC with its one report, and the camt.029 says the cancellation was rejected,
 * because the decision is made again from what is there. Without the race the same request stops the payment.
 */
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { openEmbeddedEngine, type Engine } from '../../src/engines/embedded.js';
import { parseMessage, readModel, readStatusReport, type CreditTransfer, type InvestigationResolution } from '../../src/iso20022/index.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import type { Store } from '../../src/ports/store.js';
import { resolveCancellation } from '../../src/pipeline/cancellation.js';
import { WorkflowContext } from '../../src/pipeline/context.js';
import { finalize } from '../../src/pipeline/finalize.js';
import { ensureWorkflowQueues, participantQueue } from '../../src/pipeline/queues.js';
import { readSubmission, type Submission } from '../../src/pipeline/submission.js';
import { fresh, sample } from '../helpers/e2e.js';
import { sharedIso20022Available } from '../helpers/shared.js';
import { workflowDeps } from '../helpers/workflow.js';

const skip = !sharedIso20022Available() && process.env.CI !== 'true' ? 'ISO 20022 reference material not found at ../shared/iso20022' : false;
const CLIENT = 'client-a';

let dir: string;
let engine: Engine;
let config: ReturnType<typeof loadConfig>;
const clock = new ManualClock(Date.UTC(2026, 6, 3, 12));

function contextOn(store: Store): WorkflowContext {
  return new WorkflowContext(workflowDeps(engine, config, { store, clock }));
}

/** Stores a submitted message as the intake would, in ACTC, and moves it on to `status`. */
async function stored(xml: string, status: 'ACTC' | 'ACSP'): Promise<{ id: string; submission: Submission }> {
  const submission = readSubmission(xml);
  const id = randomIds.uuid();
  await engine.store.transaction(async (tx) => {
    await tx.transactions.create({
      id, clientId: CLIENT, status: 'ACTC', messageType: submission.messageType, msgId: submission.msgId, contentHash: submission.contentHash,
      deadlineAt: clock.now() + 60_000, groupKey: `${CLIENT}:${id}`, payments: submission.payments, at: clock.now(),
    });
    await tx.transactions.putMessage(id, { kind: 'in', messageType: submission.messageType, xml, createdAt: clock.now() });
    if (status === 'ACSP') await tx.transactions.move(id, { from: 'ACTC', to: 'ACSP', at: clock.now() });
  });
  return { id, submission };
}

/** The camt.056 sample pointed at the first payment of `pacs008`. */
function cancellationFor(pacs008: string): string {
  const m = readModel(parseMessage(pacs008)) as CreditTransfer;
  const tx = m.transactions[0]!;
  return sample('camt.056.001.08-fednow-dupl.xml')
    .replace(/<OrgnlMsgId>[^<]*</, `<OrgnlMsgId>${m.groupHeader.msgId}<`)
    .replace(/\s*<OrgnlInstrId>[^<]*<\/OrgnlInstrId>/, tx.instrId ? `<OrgnlInstrId>${tx.instrId}</OrgnlInstrId>` : '')
    .replace(/<OrgnlEndToEndId>[^<]*</, `<OrgnlEndToEndId>${tx.endToEndId}<`)
    .replace(/<OrgnlUETR>[^<]*</, `<OrgnlUETR>${tx.uetr}<`);
}

async function cancel(ctx: WorkflowContext, pacs008: string): Promise<{ id: string; resolution: InvestigationResolution }> {
  const request = await stored(cancellationFor(pacs008), 'ACTC');
  const made = await resolveCancellation(ctx, {
    transaction: { id: request.id, clientId: CLIENT, messageType: request.submission.messageType },
    submission: request.submission,
    outcomes: [{ index: 0, status: 'ACSP', reasonCode: null, reasonText: null }],
    within: async () => {},
  });
  assert.equal(made, true);
  const out = await engine.store.read((tx) => tx.transactions.getMessage(request.id, 'out'));
  return { id: request.id, resolution: readModel(parseMessage(out!.xml)) as InvestigationResolution };
}

/** The reports the client's participant queue holds for `id`. */
async function reportsFor(id: string): Promise<string[]> {
  const messages = await engine.queues.receive(participantQueue(CLIENT), { max: 10, waitMs: 0 });
  return messages.filter((m) => m.attributes?.transaction_id === id).map((m) => m.body);
}

describe('a cancellation racing its payment', { skip }, () => {
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mxgate-cxl-'));
    config = loadConfig({ overrides: { dataDir: dir } });
    engine = openEmbeddedEngine({ config, clock, ids: randomIds, logger: silentLogger() });
    await ensureWorkflowQueues(engine.queues, { attemptsMax: 5, visibilityTimeoutS: 30 });
  });
  afterEach(async () => {
    engine.beginShutdown();
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('without a race the payment in flight is stopped: ACCR, RJCT with CUST', async () => {
    const pacs008 = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'norace');
    const original = await stored(pacs008, 'ACSP');
    const { resolution } = await cancel(contextOn(engine.store), pacs008);
    assert.equal(resolution.transactions[0]!.status, 'ACCR');
    const t = await engine.store.read((tx) => tx.transactions.get(original.id));
    assert.deepEqual([t?.status, t?.reasonCode], ['RJCT', 'CUST']);
    assert.equal((await reportsFor(original.id)).length, 1);
  });

  test('released between the decision and its transaction: the release wins, and the camt.029 says RJCR', async () => {
    const pacs008 = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'race');
    const original = await stored(pacs008, 'ACSP');
    const plain = contextOn(engine.store);
    let raced = 0;
    // The store as the cancellation sees it: after its first read, the payment's own releasing commits.
    const racing: Store = {
      transaction: (work, options) => engine.store.transaction(work, options),
      read: async (work) => {
        const result = await engine.store.read(work);
        if (raced++ === 0) {
          const released = await finalize(plain, {
            transaction: { id: original.id, clientId: CLIENT, messageType: original.submission.messageType },
            from: 'ACSP',
            original: original.submission,
            outcome: { status: 'ACSC', reasonCode: null, reasonText: null, payments: [{ index: 0, status: 'ACSC', reasonCode: null, reasonText: null }] },
          });
          assert.equal(released, true);
        }
        return result;
      },
      close: () => engine.store.close(),
    };
    const { id, resolution } = await cancel(contextOn(racing), pacs008);
    assert.equal(raced, 2, 'decided twice');
    assert.equal(resolution.confirmation, 'RJCR');
    assert.equal(resolution.transactions[0]!.status, 'RJCR');
    assert.equal(resolution.transactions[0]!.reasons[0]!.code, 'AGNT');
    const t = await engine.store.read((tx) => tx.transactions.get(original.id));
    assert.equal(t?.status, 'ACSC');
    const history = await engine.store.read((tx) => tx.transactions.history(original.id));
    assert.deepEqual(history.map((h) => h.status), ['ACTC', 'ACSP', 'ACSC']);
    const reports = await reportsFor(original.id);
    assert.equal(reports.length, 1, 'one report: the release');
    const report = parseMessage(reports[0]!);
    assert.equal(readStatusReport(report.document!, report.documentId!).transactions[0]!.status, 'ACSC');
    assert.equal((await engine.store.read((tx) => tx.transactions.get(id)))?.status, 'RJCT');
  });
});
