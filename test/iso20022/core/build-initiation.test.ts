/**
 * pain.001 from a typed input: valid against the official XSD and the built-in rules in every version the hub
 * builds, read back (build -> serialize -> parse -> readInitiation) to the input with counts and control sums
 * computed, answerable with a pain.002, and bad input refused with a coded error.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { isMxError } from '../../../src/errors.js';
import {
  buildCustomerCreditTransferInitiation,
  buildPain002,
  errorsOf,
  parseMessage,
  readInitiation,
  readModel,
  SUPPORTED_MESSAGES,
  toXml,
  validateBuiltin,
  type BuiltMessage,
  type CustomerCreditTransferInitiationInput,
  type InitiationTxInput,
  type SplitMessage,
  type StatusReport,
} from '../../../src/iso20022/index.js';
import { sharedIso20022 } from '../../helpers/shared.js';
import { sharedSchemaValidator } from './xsd-helper.js';

const validator = sharedSchemaValidator();
after(() => validator.dispose());

const NOW = '2026-07-02T10:30:00Z';

function valid(label: string, built: BuiltMessage): SplitMessage {
  const xml = toXml(built, { indent: '  ' });
  assert.deepEqual(validator.validate(xml), [], `${label} -> ${built.id.id}\n${xml}`);
  const parsed = parseMessage(xml);
  assert.deepEqual(errorsOf(validateBuiltin(parsed)), [], `${label} -> ${built.id.id} built-in rules\n${xml}`);
  return parsed;
}

const versions = SUPPORTED_MESSAGES['pain.001'].versions;

/** Version .03 predates UETRs and LEIs in these places, so its input leaves them out. */
const initiation = (version: string): CustomerCreditTransferInitiationInput => {
  const modern = version !== '001.03';
  return {
    version,
    msgId: 'MX-PAIN1-0001',
    creDtTm: NOW,
    initiatingParty: { name: 'Muster GmbH', otherId: 'CUST-4711' },
    paymentInfos: [
      {
        pmtInfId: 'PMT-1',
        batchBooking: false,
        serviceLevel: 'SEPA',
        categoryPurpose: 'SUPP',
        requestedExecutionDate: '2026-07-03',
        debtor: { name: 'Muster GmbH', country: 'DE', ...(modern ? { lei: '529900T8BM49AURSDO55' } : {}) },
        debtorAccount: { iban: 'DE89370400440532013000', currency: 'EUR' },
        debtorAgent: { bicfi: 'DEUTDEFFXXX' },
        chargeBearer: 'SLEV',
        transactions: [
          {
            instrId: 'INSTR-1',
            endToEndId: 'E2E-1',
            ...(modern ? { uetr: '8a562c67-ca16-48ba-b074-65581be6f011' } : {}),
            amount: { value: '1000.10', currency: 'EUR' },
            creditorAgent: { bicfi: 'BNPAFRPPXXX' },
            creditor: { name: 'Exemple SA', country: 'FR', anyBic: 'EXMPFRPPXXX' },
            creditorAccount: { iban: 'FR1420041010050500013M02606', name: 'Compte courant' },
            ultimateCreditor: { name: 'Ultimate Creditor', otherId: 'UC-77' },
            purpose: 'GDDS',
            remittance: { unstructured: ['Invoice 2026-041', 'Second line'], references: [] },
          },
          {
            endToEndId: 'E2E-2',
            amount: { value: '0.15', currency: 'EUR' },
            creditor: { name: 'Second Creditor' },
            creditorAccount: { iban: 'NL91ABNA0417164300' },
            remittance: { unstructured: [], references: ['RF18539007547034'] },
          },
        ],
      },
      {
        pmtInfId: 'PMT-2',
        batchBooking: true,
        requestedExecutionDate: modern ? '2026-07-03T09:00:00Z' : '2026-07-04',
        debtor: { name: 'Muster GmbH' },
        debtorAccount: { other: '0001234567', currency: 'JPY' },
        debtorAgent: { clearingSystem: 'JPZGN', memberId: '0005', name: 'MUFG Bank' },
        transactions: [
          {
            endToEndId: 'E2E-3',
            amount: { value: '250000', currency: 'JPY' },
            chargeBearer: 'SHAR',
            creditorAgent: { bicfi: 'BOTKJPJT' },
            creditor: { name: 'Tokyo KK', country: 'JP' },
            creditorAccount: { other: '1234567' },
          },
        ],
      },
    ],
  };
};

test('pain.001 from a typed input is valid in every version and reads back to its input', (t) => {
  if (sharedIso20022(t) === undefined) return;
  assert.equal(versions.length, 4);
  for (const version of versions) {
    const input = initiation(version);
    const built = buildCustomerCreditTransferInitiation(input);
    assert.equal(built.id.id, `pain.001.${version}`);
    const parsed = valid('pain.001 input', built);
    const view = readInitiation(parsed.document!, parsed.documentId!);
    assert.deepEqual(readModel(parsed), view);
    assert.equal(view.msgId, input.msgId);
    assert.equal(view.creDtTm, input.creDtTm);
    assert.equal(view.nbOfTxs, '3');
    assert.equal(view.ctrlSum, '251000.25');
    assert.deepEqual(view.initiatingParty, input.initiatingParty);
    assert.deepEqual(
      view.paymentInfos,
      input.paymentInfos.map(({ batchBooking, transactions, ...p }, b) => ({
        ...p,
        pmtMtd: 'TRF',
        batchBooking: String(batchBooking),
        nbOfTxs: String(transactions.length),
        ctrlSum: ['1000.25', '250000'][b],
        transactions,
      })),
      version,
    );
  }
});

test('the date shape of ReqdExctnDt follows the version', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const xml = (version: string) => toXml(buildCustomerCreditTransferInitiation(initiation(version)));
  assert.match(xml('001.03'), /<ReqdExctnDt>2026-07-03<\/ReqdExctnDt>/);
  for (const version of ['001.09', '001.11', '001.12']) {
    assert.match(xml(version), /<ReqdExctnDt><Dt>2026-07-03<\/Dt><\/ReqdExctnDt>/);
    assert.match(xml(version), /<ReqdExctnDt><DtTm>2026-07-03T09:00:00Z<\/DtTm><\/ReqdExctnDt>/);
  }
  assert.match(xml('001.03'), /<FinInstnId><BIC>DEUTDEFFXXX<\/BIC><\/FinInstnId>/);
  assert.match(xml('001.03'), /<BICOrBEI>EXMPFRPPXXX<\/BICOrBEI>/);
});

test('a pain.002 answers a built pain.001 in the version of its release and validates', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const expected: Record<string, string> = { '001.03': '001.03', '001.09': '001.10', '001.11': '001.12', '001.12': '001.14' };
  for (const version of versions) {
    const pain001 = valid('pain.001 input', buildCustomerCreditTransferInitiation(initiation(version)));
    const built = buildPain002(pain001, {
      msgId: 'STS-1',
      creDtTm: NOW,
      groupStatus: 'PART',
      paymentInfos: [{ index: 1, status: 'RJCT', reasons: [{ code: 'AC04' }] }],
      transactions: [{ index: 0, status: 'ACCP' }, { index: 2, status: 'RJCT', reasons: [{ code: 'AC04' }] }],
    });
    assert.equal(built.id.id, `pain.002.${expected[version]}`);
    const report = readModel(valid('pain.002 of a built pain.001', built)) as StatusReport;
    assert.equal(report.original.originalMsgId, 'MX-PAIN1-0001');
    assert.equal(report.original.originalMsgNmId, `pain.001.${version}`);
    assert.equal(report.original.originalNbOfTxs, '3');
    assert.equal(report.original.originalCtrlSum, '251000.25');
    assert.equal(report.groupStatus, 'PART');
    assert.deepEqual(
      report.paymentInfos.map((p) => [p.originalPmtInfId, p.status, p.transactions.map((tx) => [tx.originalEndToEndId, tx.status])]),
      [['PMT-1', undefined, [['E2E-1', 'ACCP']]], ['PMT-2', 'RJCT', [['E2E-3', 'RJCT']]]],
    );
    const uetr = report.paymentInfos[0]!.transactions[0]!.originalUetr;
    assert.equal(uetr, version === '001.03' ? undefined : '8a562c67-ca16-48ba-b074-65581be6f011');
  }
});

test('pain.001 builder refuses what it cannot build', () => {
  const input = initiation('001.12');
  const [first, second] = input.paymentInfos;
  const refused = (code: string) => (e: unknown) => isMxError(e) && e.code === code;
  const withTx = (tx: Partial<InitiationTxInput>): CustomerCreditTransferInitiationInput => ({
    ...input,
    paymentInfos: [{ ...first!, transactions: [{ ...first!.transactions[0]!, ...tx }] }],
  });
  assert.throws(() => buildCustomerCreditTransferInitiation({ ...input, paymentInfos: [] }), refused('BAD_REQUEST'));
  assert.throws(() => buildCustomerCreditTransferInitiation({ ...input, paymentInfos: [first!, { ...second!, transactions: [] }] }), refused('BAD_REQUEST'));
  // More decimals than the currency has: EUR has 2, JPY none.
  assert.throws(() => buildCustomerCreditTransferInitiation(withTx({ amount: { value: '10.005', currency: 'EUR' } })), refused('BAD_REQUEST'));
  assert.throws(() => buildCustomerCreditTransferInitiation(withTx({ amount: { value: '100.5', currency: 'JPY' } })), refused('BAD_REQUEST'));
  assert.throws(() => buildCustomerCreditTransferInitiation(withTx({ amount: { value: '0.00', currency: 'EUR' } })), refused('BAD_REQUEST'));
  assert.throws(() => buildCustomerCreditTransferInitiation(withTx({ amount: { value: '1e3', currency: 'EUR' } })), refused('BAD_REQUEST'));
  assert.throws(() => buildCustomerCreditTransferInitiation(withTx({ amount: { value: '10.00', currency: 'XAU' } })), refused('BAD_REQUEST'));
  // Values version .03 has no place for are refused rather than dropped.
  const v03 = initiation('001.03');
  assert.throws(() => buildCustomerCreditTransferInitiation({ ...withTx({ uetr: '8a562c67-ca16-48ba-b074-65581be6f011' }), version: '001.03' }), refused('BAD_REQUEST'));
  assert.throws(
    () => buildCustomerCreditTransferInitiation({ ...v03, paymentInfos: [{ ...v03.paymentInfos[0]!, debtorAgent: { lei: '7LTWFZYICNSX8D621K86' } }] }),
    refused('BAD_REQUEST'),
  );
  assert.throws(
    () => buildCustomerCreditTransferInitiation({ ...v03, paymentInfos: [{ ...v03.paymentInfos[0]!, requestedExecutionDate: '2026-07-03T09:00:00Z' }] }),
    refused('BAD_REQUEST'),
  );
  assert.throws(() => buildCustomerCreditTransferInitiation({ ...input, version: '001.10' }), refused('MESSAGE_UNSUPPORTED'));
  assert.equal(buildCustomerCreditTransferInitiation({ ...input, version: undefined }).id.id, 'pain.001.001.12');
});

test('control sums add decimal strings exactly, never through floating point', (t) => {
  if (sharedIso20022(t) === undefined) return;
  const input = initiation('001.12');
  const p = input.paymentInfos[0]!;
  const tx = p.transactions[1]!;
  const amounts = ['0.10', '0.20', '999999999999999.99'];
  const built = buildCustomerCreditTransferInitiation({
    ...input,
    paymentInfos: [{ ...p, transactions: amounts.map((value, i) => ({ ...tx, endToEndId: `E2E-${i}`, amount: { value, currency: 'EUR' } })) }],
  });
  const parsed = valid('pain.001 sums', built);
  const view = readInitiation(parsed.document!, parsed.documentId!);
  assert.equal(view.ctrlSum, '1000000000000000.29');
  assert.equal(view.paymentInfos[0]!.ctrlSum, '1000000000000000.29');
  assert.equal(view.nbOfTxs, '3');
});
