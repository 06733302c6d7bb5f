/**
 * Builders of pacs.008 and pacs.009 from typed inputs, pacs.028 status requests and camt.056 cancellation requests
 * from originals: every output passes the official XSD of every version the hub builds and the built-in rules, and
 * reads back (build -> serialize -> parse -> typed view) to the values it was built from.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { after, test } from 'node:test';
import { isMxError } from '../../../src/errors.js';
import {
  buildCamt056,
  buildCustomerCreditTransfer,
  buildInstitutionCreditTransfer,
  buildPacs002,
  buildPacs028,
  errorsOf,
  parseMessage,
  readModel,
  SUPPORTED_MESSAGES,
  toXml,
  validateBuiltin,
  type BuiltMessage,
  type CancellationRequest,
  type CreditTransfer,
  type CustomerCreditTransferInput,
  type InstitutionCreditTransferInput,
  type PaymentReturn,
  type SplitMessage,
  type StatusRequest,
} from '../../../src/iso20022/index.js';
import { sampleFiles, sharedIso20022 } from '../../helpers/shared.js';
import { sharedSchemaValidator } from './xsd-helper.js';

const validator = sharedSchemaValidator();
after(() => validator.dispose());

const NOW = '2026-07-02T10:30:00Z';

/**
 * Serializes, checks the official XSD accepts it, and reads it back. Unless the message quotes an original that
 * breaks a built-in rule itself (the invalid-builtin samples, whose bad codes a quote carries along), the built-in
 * rules must accept it too.
 */
function valid(label: string, built: BuiltMessage, quotesBrokenOriginal = false): SplitMessage {
  const xml = toXml(built, { indent: '  ' });
  assert.deepEqual(validator.validate(xml), [], `${label} -> ${built.id.id}\n${xml}`);
  const parsed = parseMessage(xml);
  if (!quotesBrokenOriginal) assert.deepEqual(errorsOf(validateBuiltin(parsed)), [], `${label} -> ${built.id.id} built-in rules\n${xml}`);
  return parsed;
}

/** Samples as [name, message, whether the sample itself breaks a built-in rule]. */
function originals(pattern: RegExp): Array<[string, SplitMessage, boolean]> {
  return [...sampleFiles(''), ...sampleFiles('invalid-builtin'), ...sampleFiles('invalid-rules')]
    .filter((f) => pattern.test(basename(f)))
    .map((f) => [basename(f), parseMessage(readFileSync(f)), f.includes('invalid-builtin')]);
}

const versions = (family: keyof typeof SUPPORTED_MESSAGES): readonly string[] => SUPPORTED_MESSAGES[family].versions;

const customerTransfer = (version: string): CustomerCreditTransferInput => ({
  version,
  groupHeader: {
    msgId: 'MX-PCS8-0001',
    creDtTm: NOW,
    ctrlSum: '1500.25',
    totalInterbankSettlementAmount: { value: '1500.25', currency: 'EUR' },
    interbankSettlementDate: '2026-07-03',
    settlementMethod: 'CLRG',
    clearingSystem: 'TGT',
    instructingAgent: { bicfi: 'DEUTDEFFXXX' },
    instructedAgent: { bicfi: 'BNPAFRPPXXX' },
  },
  transactions: [
    {
      instrId: 'INSTR-1',
      endToEndId: 'E2E-1',
      txId: 'TX-1',
      uetr: '8a562c67-ca16-48ba-b074-65581be6f011',
      serviceLevel: 'SEPA',
      localInstrument: 'INST',
      categoryPurpose: 'SUPP',
      amount: { value: '1000.00', currency: 'EUR' },
      instructedAmount: { value: '1000.00', currency: 'EUR' },
      chargeBearer: 'SLEV',
      intermediaryAgents: [{ bicfi: 'COBADEFFXXX', name: 'Commerzbank' }],
      ultimateDebtor: { name: 'Ultimate Debtor GmbH', country: 'DE' },
      debtor: { name: 'Muster GmbH', country: 'DE', lei: '529900T8BM49AURSDO55' },
      debtorAccount: { iban: 'DE89370400440532013000', currency: 'EUR' },
      debtorAgent: { bicfi: 'DEUTDEFFXXX', lei: '7LTWFZYICNSX8D621K86' },
      creditorAgent: { bicfi: 'BNPAFRPPXXX' },
      creditor: { name: 'Exemple SA', country: 'FR', anyBic: 'EXMPFRPPXXX', otherId: 'FR-SIREN-123' },
      creditorAccount: { iban: 'FR1420041010050500013M02606', name: 'Compte courant' },
      ultimateCreditor: { name: 'Ultimate Creditor', otherId: 'UC-77' },
      purpose: 'GDDS',
      remittance: { unstructured: ['Invoice 2026-041'], references: [] },
    },
    {
      endToEndId: 'E2E-2',
      uetr: 'e9c4f6a2-3b1d-4c8e-9f0a-1b2c3d4e5f60',
      amount: { value: '500.25', currency: 'EUR' },
      settlementDate: '2026-07-03',
      chargeBearer: 'SHAR',
      instructingAgent: { bicfi: 'DEUTDEFFXXX' },
      instructedAgent: { bicfi: 'BNPAFRPPXXX' },
      debtor: { name: 'Second Debtor' },
      debtorAccount: { other: '0001234567' },
      debtorAgent: { clearingSystem: 'DEBLZ', memberId: '37040044', name: 'Commerzbank Koeln' },
      creditorAgent: { bicfi: 'BNPAFRPP' },
      creditor: { name: 'Second Creditor' },
      remittance: { unstructured: [], references: ['RF18539007547034'] },
    },
  ],
});

test('pacs.008 from a typed input is valid in every version and reads back to its input', (t) => {
  if (sharedIso20022(t) === undefined) return;
  assert.equal(versions('pacs.008').length, 4);
  for (const version of versions('pacs.008')) {
    const input = customerTransfer(version);
    const built = buildCustomerCreditTransfer(input);
    assert.equal(built.id.id, `pacs.008.${version}`);
    const view = readModel(valid('pacs.008 input', built)) as CreditTransfer;
    assert.equal(view.family, 'pacs.008');
    assert.deepEqual(view.groupHeader, { ...input.groupHeader, nbOfTxs: '2' });
    assert.deepEqual(
      view.transactions,
      input.transactions.map((tx) => ({ ...tx, intermediaryAgents: tx.intermediaryAgents ?? [] })),
    );
  }
});

const institutionTransfer = (version: string): InstitutionCreditTransferInput => ({
  version,
  groupHeader: {
    msgId: 'MX-PCS9-0001',
    creDtTm: NOW,
    interbankSettlementDate: '2026-07-03',
    settlementMethod: 'INDA',
    instructingAgent: { bicfi: 'CHASUS33XXX' },
    instructedAgent: { bicfi: 'DEUTDEFFXXX' },
  },
  transactions: [
    {
      instrId: 'FI-INSTR-1',
      endToEndId: 'FI-E2E-1',
      txId: 'FI-TX-1',
      uetr: '3d1e2f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5',
      amount: { value: '2500000.00', currency: 'USD' },
      debtor: { bicfi: 'CHASUS33XXX', name: 'JPMorgan Chase' },
      debtorAccount: { other: '400-123456' },
      creditor: { bicfi: 'DEUTDEFFXXX', lei: '7LTWFZYICNSX8D621K86' },
      creditorAgent: { bicfi: 'DEUTUS33XXX' },
      remittance: { unstructured: ['/BNF/Treasury funding'] },
    },
    {
      endToEndId: 'FI-E2E-2',
      uetr: '7f8e9d0c-1b2a-4394-a5b6-c7d8e9f0a1b2',
      serviceLevel: 'G001',
      amount: { value: '1250.50', currency: 'USD' },
      settlementDate: '2026-07-03',
      debtor: { bicfi: 'CHASUS33XXX' },
      debtorAgent: { bicfi: 'CHASUS33XXX' },
      creditorAgent: { bicfi: 'DEUTDEFFXXX' },
      creditor: { clearingSystem: 'USABA', memberId: '021000021', name: 'Cover Bank' },
      underlying: {
        debtor: { name: 'Acme Corp', country: 'US' },
        debtorAgent: { bicfi: 'CHASUS33XXX' },
        creditorAgent: { bicfi: 'DEUTDEFFXXX' },
        creditor: { name: 'Beispiel AG', country: 'DE' },
        instructedAmount: { value: '1250.50', currency: 'USD' },
      },
    },
  ],
});

test('pacs.009 (with a COV transaction) from a typed input is valid in every version and reads back to its input', (t) => {
  if (sharedIso20022(t) === undefined) return;
  assert.equal(versions('pacs.009').length, 3);
  for (const version of versions('pacs.009')) {
    const input = institutionTransfer(version);
    const view = readModel(valid('pacs.009 input', buildInstitutionCreditTransfer(input))) as CreditTransfer;
    assert.equal(view.id.id, `pacs.009.${version}`);
    assert.deepEqual(view.groupHeader, { ...input.groupHeader, nbOfTxs: '2' });
    input.transactions.forEach((tx, i) => {
      const got = view.transactions[i]!;
      const { debtor, creditor, remittance, underlying, ...rest } = tx;
      for (const [key, value] of Object.entries(rest)) assert.deepEqual(got[key as keyof typeof got], value, `${version} tx ${i} ${key}`);
      assert.deepEqual(got.debtorInstitution, debtor);
      assert.deepEqual(got.creditorInstitution, creditor);
      assert.deepEqual(got.remittance?.unstructured, remittance?.unstructured);
      assert.deepEqual(got.underlying, underlying);
    });
  }
});

test('typed-input builders refuse what no version can hold', () => {
  const input = customerTransfer('001.08');
  const code = (e: unknown) => isMxError(e) && e.code === 'BAD_REQUEST';
  assert.throws(() => buildCustomerCreditTransfer({ ...input, transactions: [] }), code);
  const four = Array.from({ length: 4 }, () => ({ bicfi: 'COBADEFFXXX' }));
  assert.throws(() => buildCustomerCreditTransfer({ ...input, transactions: [{ ...input.transactions[0]!, intermediaryAgents: four }] }), code);
  assert.throws(() => buildCustomerCreditTransfer({ ...input, version: '001.09' }), (e: unknown) => isMxError(e) && e.code === 'MESSAGE_UNSUPPORTED');
  assert.equal(buildCustomerCreditTransfer({ ...input, version: undefined }).id.id, 'pacs.008.001.13');
});

/** The ids each kind of original gives a transaction (a return is named by its RtrId). */
function originalIds(original: SplitMessage): Array<{ endToEndId?: string; txId?: string; uetr?: string; instrId?: string }> {
  const model = readModel(original);
  if (model.family === 'pacs.004') {
    return (model as PaymentReturn).transactions.map((tx) => ({ endToEndId: tx.originalEndToEndId, txId: tx.returnId, uetr: tx.originalUetr }));
  }
  return (model as CreditTransfer).transactions.map((tx) => ({ endToEndId: tx.endToEndId, txId: tx.txId, uetr: tx.uetr, instrId: tx.instrId }));
}

test('pacs.028 about a pacs.008, pacs.009 or pacs.004 is valid in every version and quotes the original ids', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const sources = originals(/^pacs\.00[489]/);
  assert.ok(sources.length >= 10);
  for (const [name, original, broken] of sources) {
    const ids = originalIds(original);
    for (const version of [undefined, ...versions('pacs.028')]) {
      const built = buildPacs028(original, { msgId: 'STSREQ-1', creDtTm: NOW, version, statusRequestIds: ['SR-1'] });
      const req = readModel(valid(name, built, broken)) as StatusRequest;
      assert.equal(req.family, 'pacs.028');
      assert.equal(req.msgId, 'STSREQ-1');
      assert.equal(req.original.originalMsgNmId, original.documentId!.id);
      assert.equal(req.original.originalMsgId, readModel(original).family === 'pacs.004' ? (readModel(original) as PaymentReturn).groupHeader.msgId : (readModel(original) as CreditTransfer).groupHeader.msgId);
      assert.equal(req.transactions.length, ids.length, name);
      req.transactions.forEach((tx, i) => {
        assert.equal(tx.originalEndToEndId, ids[i]!.endToEndId, name);
        assert.equal(tx.originalTxId, ids[i]!.txId, name);
        assert.equal(tx.originalUetr, ids[i]!.uetr, name);
        assert.equal(tx.originalInstrId, ids[i]!.instrId, name);
        assert.ok(tx.originalAmount !== undefined && tx.originalAmount.value !== '', name);
      });
      assert.equal(req.transactions[0]!.statusRequestId, 'SR-1');
    }
  }
});

test('pacs.028 about the whole message has no TxInf, and about one transaction quotes that one', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const [name, original] = originals(/^pacs\.008\.001\.08-cbpr-single/)[0]!;
  const group = readModel(valid(name, buildPacs028(original, { msgId: 'R', creDtTm: NOW, transactions: [] }))) as StatusRequest;
  assert.equal(group.transactions.length, 0);
  const src = readModel(original) as CreditTransfer;
  assert.deepEqual(group.instructingAgent, src.groupHeader.instructingAgent ?? src.transactions[0]!.instructingAgent);
  const one = readModel(valid(name, buildPacs028(original, { msgId: 'R', creDtTm: NOW, transactions: [0] }))) as StatusRequest;
  assert.deepEqual(one.transactions[0]!.originalAmount, src.transactions[0]!.amount);
});

test('camt.056 for a pacs.008 or pacs.009 is valid in every version with each common cancellation reason', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const sources = originals(/^pacs\.00[89]/);
  assert.ok(sources.length >= 8);
  const reasons = ['DUPL', 'CUST', 'FRAD', 'TECH'];
  let k = 0;
  for (const [name, original, broken] of sources) {
    const ids = originalIds(original);
    const src = readModel(original) as CreditTransfer;
    for (const version of [undefined, ...versions('camt.056')]) {
      const code = reasons[k++ % reasons.length]!;
      const built = buildCamt056(original, {
        assignmentId: 'CXL-1',
        creDtTm: NOW,
        version,
        caseId: 'CASE-1',
        reason: { code, additionalInfo: ['Requested by the debtor agent'] },
        cancellationIds: ['CXLID-1'],
      });
      const req = readModel(valid(name, built, broken)) as CancellationRequest;
      assert.equal(req.family, 'camt.056');
      assert.equal(req.assignment.id, 'CXL-1');
      assert.equal(req.caseId, 'CASE-1');
      assert.equal(req.original.originalMsgId, src.groupHeader.msgId);
      assert.equal(req.original.originalMsgNmId, original.documentId!.id);
      assert.equal(req.transactions.length, ids.length);
      req.transactions.forEach((tx, i) => {
        assert.equal(tx.originalEndToEndId, ids[i]!.endToEndId);
        assert.equal(tx.originalUetr, ids[i]!.uetr);
        assert.equal(tx.originalTxId, ids[i]!.txId);
        assert.deepEqual(tx.originalAmount, src.transactions[i]!.amount);
        assert.equal(tx.reasons[0]!.code, code);
        assert.deepEqual(tx.reasons[0]!.additionalInfo, ['Requested by the debtor agent']);
      });
      assert.equal(req.transactions[0]!.cancellationId, 'CXLID-1');
    }
  }
});

test('camt.056 refuses a reason outside the code set and an original it cannot cancel', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const [, pacs008] = originals(/^pacs\.008\.001\.08-cbpr-single/)[0]!;
  const options = { assignmentId: 'A', creDtTm: NOW };
  assert.throws(() => buildCamt056(pacs008, { ...options, reason: { code: 'AC04' } }), (e: unknown) => isMxError(e) && e.code === 'BAD_REQUEST');
  assert.throws(() => buildCamt056(pacs008, { ...options, reason: {} }), (e: unknown) => isMxError(e) && e.code === 'BAD_REQUEST');
  const [, pacs004] = originals(/^pacs\.004/)[0]!;
  assert.throws(() => buildCamt056(pacs004, { ...options, reason: { code: 'DUPL' } }), (e: unknown) => isMxError(e) && e.code === 'MESSAGE_UNSUPPORTED');
});

test('built messages feed the other builders: pacs.002 and camt.056 answer a typed pacs.009', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const pacs009 = valid('pacs.009', buildInstitutionCreditTransfer(institutionTransfer('001.10')));
  const sts = buildPacs002(pacs009, { msgId: 'S', creDtTm: NOW, transactionStatus: 'ACSC' });
  assert.equal(sts.id.id, 'pacs.002.001.12');
  valid('pacs.002 of a built pacs.009', sts);
  const cxl = buildCamt056(pacs009, { assignmentId: 'A', creDtTm: NOW, reason: { code: 'DUPL' } });
  assert.equal(cxl.id.id, 'camt.056.001.10');
  const req = readModel(valid('camt.056 of a built pacs.009', cxl)) as CancellationRequest;
  assert.deepEqual(req.assignment.assigner?.agent, { bicfi: 'CHASUS33XXX' });
  assert.deepEqual(req.assignment.assignee?.agent, { bicfi: 'DEUTDEFFXXX' });
});
