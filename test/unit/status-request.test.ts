/**
 * The answer to a status request (pacs.028): the pacs.002 the workflow builds names, per TxInf, the payment asked
 * after (its message in OrgnlGrpInf, its ids) with its status now, or RJCT AG09 when the hub has none; a request the
 * workflow rejected is itself rejected (OrgnlGrpInfAndSts quoting the pacs.028); a request for a whole message is
 * answered in OrgnlGrpInfAndSts. Every answer validates against the official pacs.002 schema. Also the lookup
 * (planAnswers) against a fake transactions port.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { buildPacs028, parseMessage, readModel, toXml, type SplitMessage, type StatusReport, type StatusRequest } from '../../src/iso20022/index.js';
import { buildReport, type Outcome } from '../../src/pipeline/report.js';
import { planAnswers, UNKNOWN_ORIGINAL } from '../../src/pipeline/status-request.js';
import type { CancellablePayment, CancellationRefs, PaymentRecord, TransactionRecord } from '../../src/ports/transactions.js';
import { sharedIso20022, sharedIso20022Available, SHARED_ISO20022_DIR } from '../helpers/shared.js';
import { sharedSchemaValidator } from '../iso20022/core/xsd-helper.js';

const skip = !sharedIso20022Available() && process.env.CI !== 'true' ? 'ISO 20022 reference material not found at ../shared/iso20022' : false;
const validator = sharedSchemaValidator();
after(() => validator.dispose());

const sample = () => readFileSync(join(SHARED_ISO20022_DIR, 'samples', 'pacs.028.001.03-fednow.xml'), 'utf8');
/** The sample's request asks after OrgnlMsgId 20260702021040078FIXTURE001, UETR ...f001. */
const ASKED_MSG_ID = '20260702021040078FIXTURE001';
const ASKED_UETR = '8a562c67-ca16-48ba-b074-65581be6f001';

/** The sample with its one TxInf twice, the second asking after another UETR. */
function twoTransactions(): string {
  const xml = sample();
  const tx = /<TxInf>[\s\S]*<\/TxInf>/.exec(xml)![0];
  return xml.replace(tx, `${tx}\n${tx.replace(ASKED_UETR, '8a562c67-ca16-48ba-b074-65581be6f002')}`);
}

/** The sample as a request for a whole message: its OrgnlGrpInf at the top, no TxInf. */
function wholeMessage(): string {
  return sample().replace(/<TxInf>[\s\S]*<\/TxInf>/, '<OrgnlGrpInf><OrgnlMsgId>MSG-1</OrgnlMsgId><OrgnlMsgNmId>pacs.008.001.08</OrgnlMsgNmId></OrgnlGrpInf>');
}

/** Builds the report of `outcome`, checks it against the XSD and reads it back. */
function report(request: SplitMessage, outcome: Outcome, messageType = 'pacs.002.001.10'): StatusReport {
  const built = buildReport(request, outcome, { msgId: 'MXGSTS1', now: Date.UTC(2026, 6, 3, 12) });
  assert.equal(built.messageType, messageType);
  assert.deepEqual(validator.validate(built.xml), [], built.xml);
  return readModel(parseMessage(built.xml)) as StatusReport;
}

const held = {
  originalMsgId: 'MSG-1', originalMsgNmId: 'pacs.008.001.08', originalInstrId: 'I-1', originalEndToEndId: 'E2E-1', originalTxId: 'TX-1', originalUetr: ASKED_UETR,
};

describe('the pacs.002 answering a pacs.028', { skip }, () => {
  test('names each payment asked after as the hub holds it, with its status and reason', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const res = report(parseMessage(twoTransactions()), {
      status: 'PART', reasonCode: null, reasonText: null,
      payments: [
        { index: 0, status: 'ACSC', reasonCode: null, reasonText: null, answer: { status: 'RJCT', reasonCode: 'AM04', reasonText: 'insufficient funds', original: held } },
        { index: 1, status: 'RJCT', reasonCode: UNKNOWN_ORIGINAL, reasonText: 'none', answer: { status: 'RJCT', reasonCode: UNKNOWN_ORIGINAL, reasonText: 'none' } },
      ],
    });
    assert.equal(res.groupStatus, undefined, 'no group status: the request is not what is answered');
    assert.equal(res.transactions.length, 2);
    const [found, unknown] = res.transactions;
    assert.deepEqual(
      [found!.originalMsgId, found!.originalMsgNmId, found!.originalInstrId, found!.originalEndToEndId, found!.originalTxId, found!.originalUetr],
      ['MSG-1', 'pacs.008.001.08', 'I-1', 'E2E-1', 'TX-1', ASKED_UETR],
    );
    assert.equal(found!.status, 'RJCT');
    assert.equal(found!.reasons[0]!.code, 'AM04');
    // Unknown: RJCT AG09, quoting what the request gave (its own OrgnlGrpInf and ids).
    assert.equal(unknown!.status, 'RJCT');
    assert.equal(unknown!.reasons[0]!.code, 'AG09');
    assert.equal(unknown!.originalMsgId, ASKED_MSG_ID);
    assert.equal(unknown!.originalEndToEndId, 'E2E-20260702-0001');
    assert.equal(unknown!.originalUetr, '8a562c67-ca16-48ba-b074-65581be6f002');
    // The report's agents are the request's, swapped.
    assert.equal(res.instructingAgent?.memberId, '091000019');
    assert.equal(res.instructedAgent?.memberId, '021040078');
  });

  test('gives in-flight statuses as they are (ACTC, ACSP)', (t) => {
    if (sharedIso20022(t) === undefined) return;
    for (const status of ['ACTC', 'ACSP', 'ACSC']) {
      const res = report(parseMessage(sample()), {
        status: 'ACSC', reasonCode: null, reasonText: null,
        payments: [{ index: 0, status: 'ACSC', reasonCode: null, reasonText: null, answer: { status, reasonCode: null, reasonText: null, original: held } }],
      });
      assert.equal(res.transactions[0]!.status, status);
      assert.deepEqual(res.transactions[0]!.reasons, []);
    }
  });

  test('a request the workflow rejected is rejected itself: OrgnlGrpInfAndSts quotes the pacs.028, no TxInfAndSts', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const res = report(parseMessage(sample()), {
      status: 'RJCT', reasonCode: 'AB06', reasonText: 'timed out', payments: [{ index: 0, status: 'RJCT', reasonCode: 'AB06', reasonText: 'timed out' }],
    });
    assert.equal(res.original.originalMsgId, '20260702021040078STATUSREQ01');
    assert.equal(res.original.originalMsgNmId, 'pacs.028.001.03');
    assert.equal(res.groupStatus, 'RJCT');
    assert.equal(res.groupReasons[0]!.code, 'AB06');
    assert.deepEqual(res.transactions, []);
  });

  test('a TxInf a rule rejected while another was answered is RJCT with that rule, said to be the request\'s', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const res = report(parseMessage(twoTransactions()), {
      status: 'PART', reasonCode: null, reasonText: null,
      payments: [
        { index: 0, status: 'ACSC', reasonCode: null, reasonText: null, answer: { status: 'ACSC', reasonCode: null, reasonText: null, original: held } },
        { index: 1, status: 'RJCT', reasonCode: 'RC01', reasonText: 'bad agent' },
      ],
    });
    assert.equal(res.transactions[1]!.status, 'RJCT');
    assert.equal(res.transactions[1]!.reasons[0]!.code, 'RC01');
    assert.deepEqual(res.transactions[1]!.reasons[0]!.additionalInfo, ['status request rejected: bad agent']);
  });

  test('answers every version of pacs.028 in the pacs.002 of its release', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const original = parseMessage(readFileSync(join(SHARED_ISO20022_DIR, 'samples', 'pacs.008.001.08-cbpr-single.xml'), 'utf8'));
    const answers = { '001.03': 'pacs.002.001.10', '001.05': 'pacs.002.001.12', '001.06': 'pacs.002.001.14' };
    for (const [version, answer] of Object.entries(answers)) {
      const request = parseMessage(toXml(buildPacs028(original, { msgId: 'SR-1', creDtTm: '2026-07-03T12:00:00Z', version })));
      const answered = report(request, {
        status: 'ACSC', reasonCode: null, reasonText: null,
        payments: [{ index: 0, status: 'ACSC', reasonCode: null, reasonText: null, answer: { status: 'ACSC', reasonCode: null, reasonText: null, original: held } }],
      }, answer);
      assert.equal(answered.transactions[0]!.originalMsgId, 'MSG-1', version);
      const unknown = report(request, {
        status: 'RJCT', reasonCode: 'AG09', reasonText: null,
        payments: [{ index: 0, status: 'RJCT', reasonCode: 'AG09', reasonText: null, answer: { status: 'RJCT', reasonCode: 'AG09', reasonText: null } }],
      }, answer);
      // Quoted from the request, which quotes the sample.
      assert.equal(unknown.transactions[0]!.originalMsgNmId, 'pacs.008.001.08', version);
      const rejected = report(request, { status: 'RJCT', reasonCode: 'FF01', reasonText: 'schema', payments: [], originalInvalid: true }, answer);
      assert.equal(rejected.original.originalMsgNmId, `pacs.028.${version}`);
    }
  });

  test('a request for a whole message is answered in OrgnlGrpInfAndSts with the message\'s status', (t) => {
    if (sharedIso20022(t) === undefined) return;
    const res = report(parseMessage(wholeMessage()), {
      status: 'ACSC', reasonCode: null, reasonText: null, payments: [],
      groupAnswer: { status: 'PART', reasonCode: null, reasonText: null, original: { originalMsgId: 'MSG-1', originalMsgNmId: 'pacs.008.001.08' } },
    });
    assert.equal(res.original.originalMsgId, 'MSG-1');
    assert.equal(res.original.originalMsgNmId, 'pacs.008.001.08');
    assert.equal(res.groupStatus, 'PART');
    assert.deepEqual(res.transactions, []);
  });
});

/** A transactions port holding one pacs.008 transaction `t1` of client `c1`, MsgId MSG-1, one payment with UETR ...f001. */
function holding(payment: Pick<PaymentRecord, 'status' | 'reasonCode'>, seen: CancellationRefs[] = []) {
  const transaction: TransactionRecord = {
    id: 't1', clientId: 'c1', status: payment.status, reasonCode: payment.reasonCode, reasonText: null, messageType: 'pacs.008.001.08', msgId: 'MSG-1',
    contentHash: null, duplicateOf: null, deadlineAt: null, groupKey: null, awaitingDownstream: false, createdAt: 0, updatedAt: 0, receivedAt: null, forwardedAt: null, version: 1,
  };
  const record: PaymentRecord = {
    index: 0, endToEndId: 'E2E-1', txId: 'TX-1', uetr: ASKED_UETR, instrId: 'I-1', amount: '1.00', currency: 'USD', reasonText: null, ...payment,
  };
  return {
    async findCancellable(refs: CancellationRefs): Promise<CancellablePayment[]> {
      seen.push(refs);
      const named = refs.clientId === 'c1' && refs.families.includes('pacs.008') && (refs.uetr === undefined || refs.uetr === ASKED_UETR) && (refs.msgId === undefined || refs.msgId === 'MSG-1');
      return named ? [{ transactionId: 't1', index: 0, transactionStatus: transaction.status, paymentStatus: record.status }] : [];
    },
    async get(id: string) {
      return id === 't1' ? transaction : null;
    },
    async payments(id: string) {
      return id === 't1' ? [record] : [];
    },
  };
}

describe('the lookup of a status request', { skip }, () => {
  const plan = (transactions: ReturnType<typeof holding>, xml: string, clientId = 'c1', outcomes?: Parameters<typeof planAnswers>[1]['outcomes']) => {
    const model = readModel(parseMessage(xml)) as StatusRequest;
    const rows = outcomes ?? model.transactions.map((_, index) => ({ index, status: 'ACSP' as const, reasonCode: null, reasonText: null }));
    return planAnswers({ transactions } as unknown as Parameters<typeof planAnswers>[0], { clientId, model, outcomes: rows });
  };

  test('looks each TxInf up among the client\'s own pacs.008 and pacs.009 by every reference it gives', async (t) => {
    if (sharedIso20022(t) === undefined) return;
    const seen: CancellationRefs[] = [];
    const outcome = await plan(holding({ status: 'ACSP', reasonCode: null }, seen), sample().replace(ASKED_MSG_ID, 'MSG-1'));
    assert.deepEqual(seen, [{
      clientId: 'c1', families: ['pacs.008'], msgId: 'MSG-1', endToEndId: 'E2E-20260702-0001', instrId: 'INSTR-0001', uetr: ASKED_UETR,
    }]);
    assert.equal(outcome.status, 'ACSC');
    assert.deepEqual(outcome.payments[0]!.answer, { status: 'ACSP', reasonCode: null, reasonText: null, original: held });
  });

  test('asks after returns (pacs.004) only when OrgnlMsgNmId names one; without a name, after transfers', async (t) => {
    if (sharedIso20022(t) === undefined) return;
    const families = async (xml: string) => {
      const seen: CancellationRefs[] = [];
      await plan(holding({ status: 'ACSC', reasonCode: null }, seen), xml);
      return seen[0]?.families;
    };
    assert.deepEqual(await families(sample()), ['pacs.008']);
    assert.deepEqual(await families(sample().replace('<OrgnlMsgNmId>pacs.008.001.08<', '<OrgnlMsgNmId>pacs.004.001.09<')), ['pacs.004']);
    assert.deepEqual(await families(sample().replace(/<OrgnlGrpInf>[\s\S]*?<\/OrgnlGrpInf>/, '')), ['pacs.008', 'pacs.009']);
  });

  test('a payment of another client, or none, is RJCT AG09; the request ends RJCT, or PART beside an answered one', async (t) => {
    if (sharedIso20022(t) === undefined) return;
    const xml = twoTransactions().replace(ASKED_MSG_ID, 'MSG-1').replace(ASKED_MSG_ID, 'MSG-1');
    const foreign = await plan(holding({ status: 'ACSC', reasonCode: null }), xml, 'c2');
    assert.equal(foreign.status, 'RJCT');
    assert.equal(foreign.reasonCode, 'AG09');
    assert.deepEqual(foreign.payments.map((p) => [p.status, p.answer?.status, p.answer?.reasonCode, p.answer?.original]), [
      ['RJCT', 'RJCT', 'AG09', undefined],
      ['RJCT', 'RJCT', 'AG09', undefined],
    ]);
    const part = await plan(holding({ status: 'RJCT', reasonCode: 'AM04' }), xml);
    assert.equal(part.status, 'PART');
    assert.deepEqual(part.payments.map((p) => [p.status, p.answer?.status, p.answer?.reasonCode]), [
      ['ACSC', 'RJCT', 'AM04'],
      ['RJCT', 'RJCT', 'AG09'],
    ]);
  });

  test('a TxInf the processing stage rejected stays rejected and is not looked up', async (t) => {
    if (sharedIso20022(t) === undefined) return;
    const seen: CancellationRefs[] = [];
    const outcome = await plan(holding({ status: 'ACSC', reasonCode: null }, seen), sample(), 'c1', [{ index: 0, status: 'RJCT', reasonCode: 'RC01', reasonText: 'bad' }]);
    assert.deepEqual(seen, []);
    assert.deepEqual(outcome.payments, [{ index: 0, status: 'RJCT', reasonCode: 'RC01', reasonText: 'bad' }]);
    assert.equal(outcome.status, 'RJCT');
  });

  test('a request for a whole message gives the message\'s status, or RJCT AG09 quoting what was asked', async (t) => {
    if (sharedIso20022(t) === undefined) return;
    const found = await plan(holding({ status: 'ACSC', reasonCode: null }), wholeMessage());
    assert.equal(found.status, 'ACSC');
    assert.deepEqual(found.groupAnswer, { status: 'ACSC', reasonCode: null, reasonText: null, original: { originalMsgId: 'MSG-1', originalMsgNmId: 'pacs.008.001.08' } });
    const none = await plan(holding({ status: 'ACSC', reasonCode: null }), wholeMessage(), 'c2');
    assert.equal(none.status, 'RJCT');
    assert.equal(none.groupAnswer?.reasonCode, 'AG09');
    assert.deepEqual(none.groupAnswer?.original, { originalMsgId: 'MSG-1', originalMsgNmId: 'pacs.008.001.08' });
    const nothing = await plan(holding({ status: 'ACSC', reasonCode: null }), sample().replace(/<TxInf>[\s\S]*<\/TxInf>/, ''));
    assert.equal(nothing.status, 'RJCT');
    assert.equal(nothing.reasonCode, 'NARR');
  });
});
