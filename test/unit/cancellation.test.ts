/**
 * The codes of a cancellation's answer: the camt.029 that the workflow builds for a camt.056 carries TxCxlSts from
 * its XSD enumeration (ACCR, RJCR, PDCR), Sts/Conf from the investigation confirmation list (CNCL, RJCR, PDCR,
 * PECR) and reasons from the cancellation rejection list, and validates against its official schema; the builder
 * refuses codes from the wrong list. Also the pure parts of the cancellation module: references, the payment
 * picked among several, the outcomes of the request and of a stopped payment.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isMxError } from '../../src/errors.js';
import { buildCamt029, parseMessage, readModel, toXml, type CancellationRequest, type InvestigationResolution, type SplitMessage } from '../../src/iso20022/index.js';
import { isWholeMessage, pick, plan, refsOf, requestOutcome, stoppedOutcome, type TxDecision } from '../../src/pipeline/cancellation.js';
import { buildReport, type Outcome, type PaymentOutcome } from '../../src/pipeline/report.js';
import type { CancellablePayment, CancellationRefs, PaymentRecord, TransactionRecord } from '../../src/ports/transactions.js';
import { sharedIso20022, sharedIso20022Available, SHARED_ISO20022_DIR } from '../helpers/shared.js';
import { sharedSchemaValidator } from '../iso20022/core/xsd-helper.js';

const skip = !sharedIso20022Available() && process.env.CI !== 'true' ? 'ISO 20022 reference material not found at ../shared/iso20022' : false;
const validator = sharedSchemaValidator();
after(() => validator.dispose());

const SAMPLE = 'camt.056.001.08-fednow-dupl.xml';
const sample = () => readFileSync(join(SHARED_ISO20022_DIR, 'samples', SAMPLE), 'utf8');

/** The sample with its one TxInf three times (each with its own UETR), for per-transaction answers. */
function threeTransactions(): SplitMessage {
  const xml = sample();
  const tx = /<TxInf>[\s\S]*<\/TxInf>/.exec(xml)![0];
  const copies = [1, 2, 3].map((i) => tx.replace(/<OrgnlUETR>[^<]+</, `<OrgnlUETR>8a562c67-ca16-48ba-b074-65581be6f00${i}<`));
  return parseMessage(xml.replace(tx, copies.join('\n')));
}

const payment = (index: number, status: PaymentOutcome['status'], more: Partial<PaymentOutcome> = {}): PaymentOutcome => ({
  index, status, reasonCode: null, reasonText: null, ...more,
});

/** Builds the report of `outcome`, checks it against the XSD and reads it back. */
function report(original: SplitMessage, outcome: Outcome): InvestigationResolution {
  const built = buildReport(original, outcome, { msgId: 'MXGRES1', now: Date.UTC(2026, 6, 3, 12) });
  assert.equal(built.messageType, 'camt.029.001.09');
  assert.deepEqual(validator.validate(built.xml), [], built.xml);
  const parsed = parseMessage(built.xml);
  return readModel(parsed) as InvestigationResolution;
}

/** The sample as a request for a whole message: OrgnlGrpInfAndCxl (GrpCxl `grpCxl`) instead of its TxInf. */
function wholeMessage(grpCxl = 'true'): SplitMessage {
  const group = `<OrgnlGrpInfAndCxl><GrpCxlId>GRP-1</GrpCxlId><OrgnlMsgId>MSG-1</OrgnlMsgId><OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId><GrpCxl>${grpCxl}</GrpCxl></OrgnlGrpInfAndCxl>`;
  return parseMessage(sample().replace(/<TxInf>[\s\S]*<\/TxInf>/, group));
}

describe('the camt.029 of a camt.056', { skip }, () => {
  test('an accepted cancellation is ACCR per transaction and CNCL for the case, valid against camt.029.001.09', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const res = report(parseMessage(sample()), { status: 'ACSC', reasonCode: null, reasonText: null, payments: [payment(0, 'ACSC', { cancellation: 'ACCR' })] });
    assert.equal(res.confirmation, 'CNCL');
    assert.equal(res.transactions[0]!.status, 'ACCR');
    assert.deepEqual(res.transactions[0]!.reasons, []);
    // The original's ids are quoted.
    assert.equal(res.transactions[0]!.originalMsgId, '20260702021040078FIXTURE001');
    assert.equal(res.transactions[0]!.originalEndToEndId, 'E2E-20260702-0001');
    assert.equal(res.transactions[0]!.originalUetr, '8a562c67-ca16-48ba-b074-65581be6f001');
    assert.equal(res.resolvedCaseId, 'CASE-20260703-0001');
  });

  test('a rejection keeps a code of the cancellation rejection list (NOOR, ARDT, AGNT)', (t) => {
    if (sharedIso20022(t) === undefined) return;
    for (const code of ['NOOR', 'ARDT', 'AGNT']) {
      const res = report(parseMessage(sample()), {
        status: 'RJCT', reasonCode: code, reasonText: 'why', payments: [payment(0, 'RJCT', { reasonCode: code, reasonText: 'why', cancellation: 'RJCR' })],
      });
      assert.equal(res.confirmation, 'RJCR');
      assert.equal(res.transactions[0]!.status, 'RJCR');
      assert.equal(res.transactions[0]!.reasons[0]!.code, code);
      assert.deepEqual(res.transactions[0]!.reasons[0]!.additionalInfo, ['why']);
    }
  });

  test('a workflow rejection of the request itself (schema, timeout, duplicate) becomes NARR with its code in the text', (t) => {
    if (sharedIso20022(t) === undefined) return;
    for (const [code, text] of [['FF01', 'xsd: element X not expected'], ['AB06', 'no final status in time'], ['AM05', 'duplicate']] as const) {
      // Rejected by processing, the timeout or intake: no cancellation status was decided.
      const res = report(parseMessage(sample()), { status: 'RJCT', reasonCode: code, reasonText: text, payments: [payment(0, 'RJCT', { reasonCode: code, reasonText: text })] });
      assert.equal(res.confirmation, 'RJCR');
      assert.equal(res.transactions[0]!.status, 'RJCR');
      assert.equal(res.transactions[0]!.reasons[0]!.code, 'NARR');
      assert.deepEqual(res.transactions[0]!.reasons[0]!.additionalInfo, [`${code} ${text}`]);
    }
  });

  test('a pending cancellation is PDCR; a mix sums up as PDCR while one is pending, else PECR', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const pending = report(parseMessage(sample()), { status: 'ACSC', reasonCode: null, reasonText: null, payments: [payment(0, 'ACSC', { cancellation: 'PDCR' })] });
    assert.equal(pending.confirmation, 'PDCR');
    assert.equal(pending.transactions[0]!.status, 'PDCR');
    const three = threeTransactions();
    const rejected = payment(2, 'RJCT', { reasonCode: 'NOOR', reasonText: 'not found', cancellation: 'RJCR' });
    const mixed = report(three, { status: 'PART', reasonCode: null, reasonText: null, payments: [payment(0, 'ACSC', { cancellation: 'ACCR' }), payment(1, 'ACSC', { cancellation: 'PDCR' }), rejected] });
    assert.equal(mixed.confirmation, 'PDCR');
    assert.deepEqual(mixed.transactions.map((x) => x.status), ['ACCR', 'PDCR', 'RJCR']);
    assert.equal(mixed.transactions[2]!.reasons[0]!.code, 'NOOR');
    const partly = report(three, { status: 'PART', reasonCode: null, reasonText: null, payments: [payment(0, 'ACSC', { cancellation: 'ACCR' }), payment(1, 'ACSC', { cancellation: 'ACCR' }), rejected] });
    assert.equal(partly.confirmation, 'PECR');
  });

  test('without a decision the report claims no cancellation: PDCR, never CNCL', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const res = report(parseMessage(sample()), { status: 'ACSC', reasonCode: null, reasonText: null, payments: [payment(0, 'ACSC')] });
    assert.equal(res.confirmation, 'PDCR');
    assert.equal(res.transactions[0]!.status, 'PDCR');
  });

  test('the builder refuses CNCL as a transaction status and a pacs.002 reason in CxlStsRsnInf, in every version', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const original = parseMessage(sample());
    const options = { assignmentId: 'RES-1', creDtTm: '2026-07-03T12:00:00Z' };
    const bad = (e: unknown) => isMxError(e) && e.code === 'BAD_REQUEST';
    for (const version of ['001.09', '001.11', '001.13']) {
      // The default status of a confirmation is the one it stands for: CNCL means ACCR in TxCxlSts.
      const xml = toXml(buildCamt029(original, { ...options, version, confirmation: 'CNCL' }));
      assert.deepEqual(validator.validate(xml), [], xml);
      const res = readModel(parseMessage(xml)) as InvestigationResolution;
      assert.equal(res.transactions[0]!.status, 'ACCR');
      assert.throws(() => buildCamt029(original, { ...options, version, confirmation: 'CNCL', transactions: [{ index: 0, status: 'CNCL' }] }), bad);
      assert.throws(() => buildCamt029(original, { ...options, version, confirmation: 'RJCR', reasons: [{ code: 'AB06' }] }), bad);
      assert.throws(() => buildCamt029(original, { ...options, version, confirmation: 'ACCR' }), bad, 'ACCR is no confirmation code');
    }
  });
});

describe('the cancellation module, pure parts', { skip }, () => {
  test('refsOf reads the references of each TxInf (OrgnlGrpInf first), NOTPROVIDED names nothing, OrgnlMsgNmId picks the family', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const model = readModel(parseMessage(sample())) as CancellationRequest;
    assert.deepEqual(refsOf(model, 0), {
      families: ['pacs.008'],
      msgId: '20260702021040078FIXTURE001',
      endToEndId: 'E2E-20260702-0001',
      instrId: 'INSTR-0001',
      uetr: '8a562c67-ca16-48ba-b074-65581be6f001',
    });
    const other = readModel(parseMessage(sample().replace('E2E-20260702-0001', 'NOTPROVIDED').replace('pacs.008.001.08', 'pacs.004.001.09'))) as CancellationRequest;
    const refs = refsOf(other, 0);
    assert.equal(refs.endToEndId, undefined);
    assert.deepEqual(refs.families, [], 'a pacs.004 is no payment a camt.056 cancels');
  });

  test('pick prefers a payment in flight, then a settled one, then the newest', () => {
    const m = (transactionId: string, transactionStatus: CancellablePayment['transactionStatus'], paymentStatus: CancellablePayment['paymentStatus']): CancellablePayment => ({
      transactionId, index: 0, transactionStatus, paymentStatus,
    });
    assert.equal(pick([m('rejected-resend', 'RJCT', 'RJCT'), m('original', 'ACSP', 'ACSP')])?.transactionId, 'original');
    assert.equal(pick([m('rejected-resend', 'RJCT', 'RJCT'), m('settled', 'ACSC', 'ACSC')])?.transactionId, 'settled');
    assert.equal(pick([m('newer', 'RJCT', 'RJCT'), m('older', 'RJCT', 'RJCT')])?.transactionId, 'newer');
    assert.equal(pick([]), undefined);
  });

  test('the request is ACSC unless a transaction is rejected; its reason is the first rejection', () => {
    const d = (index: number, cancellation: TxDecision['cancellation'], reasonCode: string | null = null): TxDecision => ({ index, cancellation, reasonCode, reasonText: null });
    assert.equal(requestOutcome([d(0, 'ACCR'), d(1, 'PDCR')]).status, 'ACSC');
    const rejected = requestOutcome([d(0, 'RJCR', 'NOOR'), d(1, 'RJCR', 'ARDT')]);
    assert.deepEqual([rejected.status, rejected.reasonCode], ['RJCT', 'NOOR']);
    const part = requestOutcome([d(0, 'ACCR'), d(1, 'RJCR', 'AGNT')]);
    assert.equal(part.status, 'PART');
    assert.deepEqual(part.payments.map((p) => [p.status, p.cancellation, p.reasonCode]), [['ACSC', 'ACCR', null], ['RJCT', 'RJCR', 'AGNT']]);
    assert.equal(requestOutcome([]).status, 'RJCT');
  });

  test('a stopped payment is RJCT with CUST; its payments rejected earlier keep their reasons', () => {
    const p = (index: number, status: PaymentRecord['status'], reasonCode: string | null = null): PaymentRecord => ({
      index, endToEndId: null, txId: null, uetr: null, instrId: null, amount: '1.00', currency: 'EUR', status, reasonCode, reasonText: null,
    });
    const outcome = stoppedOutcome([p(0, 'ACSP'), p(1, 'RJCT', 'RR04')], 'cancelled');
    assert.deepEqual([outcome.status, outcome.reasonCode], ['RJCT', 'CUST']);
    assert.deepEqual(outcome.payments.map((x) => [x.status, x.reasonCode]), [['RJCT', 'CUST'], ['RJCT', 'RR04']]);
  });
});

describe('a camt.056 for a whole message', { skip }, () => {
  test('is one with no TxInf that names a message and does not say GrpCxl false', (t) => {
    if (sharedIso20022(t) === undefined) return;
    assert.equal(isWholeMessage(readModel(wholeMessage()) as CancellationRequest), true);
    assert.equal(isWholeMessage(readModel(wholeMessage('false')) as CancellationRequest), false);
    assert.equal(isWholeMessage(readModel(parseMessage(sample())) as CancellationRequest), false, 'a request with TxInf names its transactions');
  });

  test('is answered for the message: GrpCxlSts and its reason, the case confirmed or rejected, no transaction', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const group = (cancellation: TxDecision['cancellation'], reasonCode: string | null = null) =>
      requestOutcome([], { cancellation, reasonCode, reasonText: reasonCode === null ? null : 'why' });
    const cases = [
      [group('ACCR'), 'CNCL', 'ACCR', undefined],
      [group('PDCR'), 'PDCR', 'PDCR', undefined],
      [group('RJCR', 'NOOR'), 'RJCR', 'RJCR', 'NOOR'],
      // Rejected by the workflow (a timeout): no decision, the message rejected with NARR and the code in the text.
      [{ status: 'RJCT', reasonCode: 'AB06', reasonText: 'no final status in time', payments: [] }, 'RJCR', 'RJCR', 'NARR'],
    ] as const;
    for (const [outcome, confirmation, status, reason] of cases) {
      const res = report(wholeMessage(), outcome as Outcome);
      assert.equal(res.confirmation, confirmation);
      assert.deepEqual(res.transactions, []);
      assert.equal(res.original.originalMsgId, 'MSG-1');
      assert.equal(res.original.groupCancellationId, 'GRP-1');
      assert.equal(res.original.groupCancellationStatus, status);
      assert.equal(res.original.groupReasons?.[0]?.code, reason);
    }
    assert.equal(group('RJCR', 'AGNT').status, 'RJCT');
    assert.equal(group('ACCR').status, 'ACSC');
  });
});

/** A transactions port holding one pacs.008 transaction `t1` of client `c1` with message id MSG-1 (a fake, for plan). */
function holding(status: TransactionRecord['status'], payments: Array<PaymentRecord['status']>, seen: CancellationRefs[] = []) {
  const transaction: TransactionRecord = {
    id: 't1', clientId: 'c1', status, reasonCode: null, reasonText: null, messageType: 'pacs.008.001.08', msgId: 'MSG-1', contentHash: null,
    duplicateOf: null, deadlineAt: null, groupKey: null, awaitingDownstream: false, createdAt: 0, updatedAt: 0, receivedAt: null, forwardedAt: null, version: 1,
  };
  const records = payments.map((p, index): PaymentRecord => ({
    index, endToEndId: `E2E-${index}`, txId: null, uetr: null, instrId: null, amount: '1.00', currency: 'EUR', status: p, reasonCode: null, reasonText: null,
  }));
  return {
    async findCancellable(refs: CancellationRefs): Promise<CancellablePayment[]> {
      seen.push(refs);
      const named = refs.clientId === 'c1' && refs.msgId === 'MSG-1' && refs.families.includes('pacs.008');
      return named ? records.map((r) => ({ transactionId: 't1', index: r.index, transactionStatus: status, paymentStatus: r.status })) : [];
    },
    async load() {
      return { transaction, payments: records, message: { kind: 'in' as const, messageType: 'pacs.008.001.08', xml: '<Document/>', createdAt: 0 } };
    },
  };
}

describe('the decision on a whole message', { skip }, () => {
  const model = () => readModel(wholeMessage()) as CancellationRequest;
  const decide = (transactions: ReturnType<typeof holding>, downstream = false, clientId = 'c1') =>
    plan({ transactions } as unknown as Parameters<typeof plan>[0], { clientId, model: model(), outcomes: [], downstream });

  test('looks the message up by the client, OrgnlMsgId and OrgnlMsgNmId', async (t) => {
    if (sharedIso20022(t) === undefined) return;
    const seen: CancellationRefs[] = [];
    await decide(holding('ACTC', ['ACTC'], seen));
    assert.deepEqual(seen, [{ clientId: 'c1', msgId: 'MSG-1', families: ['pacs.008'] }]);
    const other = await decide(holding('ACTC', ['ACTC']), false, 'c2');
    assert.deepEqual(other.group, { cancellation: 'RJCR', reasonCode: 'NOOR', reasonText: 'no message of this client matches the original references' });
  });

  test('stops a message in the hub whole: ACCR, and every payment it has in flight', async (t) => {
    if (sharedIso20022(t) === undefined) return;
    const decided = await decide(holding('ACTC', ['RJCT', 'ACTC', 'ACTC']));
    assert.equal(decided.group?.cancellation, 'ACCR');
    assert.deepEqual(decided.stops.map((s) => [s.transaction.id, s.payments.length]), [['t1', 3]]);
    assert.deepEqual(decided.decisions, []);
  });

  test('leaves a message with a downstream system pending (PDCR), and a final one as it is (NARR, AGNT)', async (t) => {
    if (sharedIso20022(t) === undefined) return;
    const pending = await decide(holding('ACSP', ['ACSP']), true);
    assert.equal(pending.group?.cancellation, 'PDCR');
    // With the FIFO group the forwarded request goes in (a transaction without one is a group of its own).
    assert.deepEqual(pending.pending, [{ id: 't1', groupKey: 't1' }]);
    assert.deepEqual(pending.stops, []);
    for (const [status, payments, reason] of [['RJCT', ['RJCT'], 'NARR'], ['ACSC', ['ACSC'], 'AGNT'], ['PART', ['ACSC', 'RJCT'], 'AGNT']] as const) {
      const final = await decide(holding(status, [...payments]));
      assert.equal(final.group?.cancellation, 'RJCR', status);
      assert.equal(final.group?.reasonCode, reason, status);
      assert.deepEqual(final.stops, []);
    }
  });
});
