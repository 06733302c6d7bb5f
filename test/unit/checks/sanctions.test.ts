import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { nameTokens, normalizeName, parseSanctionsList, sanctionsCheck, SanctionsListError, type SanctionsList } from '../../../src/pipeline/checks/sanctions.js';
import { context, pacs008, pain001 } from './messages.js';

const LIST = [
  '# test list',
  '',
  'Ivan Petrov',
  'NAME:Acme Trading',
  'name_contains: Volga Shipping',
  'BIC:BADBRUMM',
  'BIC:GOODDEFF123',
  'IBAN:GB33 BUKB 2020 1555 5555 55',
  'ACCOUNT:998877',
  'LEI:529900T8BM49AURSDO55',
  'ID:TAX-42',
  'COUNTRY:KP',
].join('\n');

const list = () => parseSanctionsList(LIST, { entriesMax: 100 });
const run = async (l: SanctionsList, xml: string) => sanctionsCheck(() => l).run(context(xml));

describe('sanctions list parsing', () => {
  test('parses every kind, skips comments and blank lines, counts entries', () => {
    const l = list();
    assert.equal(l.size, 10);
    assert.equal(l.names.get('ivan petrov')?.line, 3);
    assert.ok(l.bicInstitutions.has('BADBRUMM'));
    assert.ok(l.bicBranches.has('GOODDEFF123'));
    assert.ok(l.accounts.has('GB33BUKB20201555555555'));
    assert.ok(l.countries.has('KP'));
  });

  test('refuses the whole list for one bad line, naming the line', () => {
    const bad = ['Ivan Petrov', 'BIC:NOTABIC', 'BICC:BADBRUMM', 'COUNTRY:KPX', 'LEI:123', 'NAME: ...'].join('\n');
    assert.throws(
      () => parseSanctionsList(bad, { entriesMax: 100 }),
      (error: unknown) =>
        error instanceof SanctionsListError &&
        error.problems.map((p) => p.line).join(',') === '2,3,4,5,6' &&
        /unknown prefix "BICC:"/.test(error.message),
    );
  });

  test('refuses a list above entriesMax', () => {
    assert.throws(() => parseSanctionsList('a\nb\nc', { entriesMax: 2 }), SanctionsListError);
    assert.equal(parseSanctionsList('a\nb', { entriesMax: 2 }).size, 2);
  });

  test('a BOM and CRLF line ends are accepted', () => {
    const l = parseSanctionsList('\uFEFFAcme\r\nCOUNTRY:IR\r\n', { entriesMax: 10 });
    assert.ok(l.names.has('acme'));
    assert.ok(l.countries.has('IR'));
  });
});

describe('name normalisation', () => {
  test('case, accents, folded letters, punctuation and whitespace', () => {
    assert.equal(normalizeName('  JOSÉ   Müller-Lüdenscheidt '), 'jose muller ludenscheidt');
    assert.equal(normalizeName('Straße Øresund Łódź'), 'strasse oresund lodz');
    assert.equal(normalizeName("O'Brien & Co., J.P."), 'obrien co jp');
    assert.equal(normalizeName('ＡＣＭＥ'), 'acme'); // full-width letters (NFKD)
    assert.deepEqual(nameTokens('Petrov Ivan petrov'), ['ivan', 'petrov']);
  });
});

describe('sanctions check', () => {
  test('accepts a message with no hit', async () => {
    assert.deepEqual(await run(list(), pacs008([{}, {}])), []);
  });

  test('a name hit rejects only that payment with RR04; the list entry is for operators only, never the party data', async () => {
    const xml = pacs008([{}, { creditor: { name: 'PETROV, Ivan', country: 'DE' } }]);
    const out = await run(list(), xml);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.index, 1);
    assert.equal(out[0]!.code, 'RR04');
    assert.equal(out[0]!.check, 'sanctions');
    assert.equal(out[0]!.text, 'rejected for regulatory reasons', 'the sender learns nothing of the list');
    assert.equal(out[0]!.detail, 'sanctions list line 3 "Ivan Petrov" matches the creditor name');
  });

  test('accents and case do not hide a name; token-set match ignores order but not extra words', async () => {
    const l = parseSanctionsList('Jose Müller', { entriesMax: 10 });
    assert.equal((await run(l, pacs08Debtor('MÜLLER josé'))).length, 1);
    assert.equal((await run(l, pacs08Debtor('Jose Mueller'))).length, 0, 'no fuzzy spelling match');
    assert.equal((await run(l, pacs08Debtor('Jose Muller Foundation'))).length, 0, 'NAME needs the same token set');
  });

  test('NAME_CONTAINS matches names holding every token of the entry', async () => {
    const out = await run(list(), pacs008([{ ultimateCreditor: { name: 'The Volga Shipping Company Ltd' } }]));
    assert.equal(out.length, 1);
    assert.match(out[0]!.detail ?? '', /line 5 .* matches the ultimate creditor name/);
    assert.equal((await run(list(), pacs008([{ ultimateCreditor: { name: 'Volga Trading' } }]))).length, 0);
  });

  test('BICs: an 8-character entry covers every branch, an 11-character one only its branch', async () => {
    assert.equal((await run(list(), pacs008([{ creditorAgentBic: 'BADBRUMM' }])))[0]?.code, 'RR04');
    assert.equal((await run(list(), pacs008([{ creditorAgentBic: 'BADBRUMM001' }])))[0]?.code, 'RR04');
    assert.equal((await run(list(), pacs008([{ creditorAgentBic: 'GOODDEFF123' }])))[0]?.code, 'RR04');
    assert.deepEqual(await run(list(), pacs008([{ creditorAgentBic: 'GOODDEFF' }])), []);
    assert.deepEqual(await run(list(), pacs008([{ creditorAgentBic: 'GOODDEFF124' }])), []);
  });

  test('accounts, LEIs, other ids and countries (party, BIC and IBAN country)', async () => {
    const cases: Array<[string, string]> = [
      [pacs008([{ debtorIban: 'GB33BUKB20201555555555' }]), 'debtor account account'],
      [pacs008([{ creditorAccount: '99 88 77' }]), 'creditor account account'],
      [pacs008([{ debtor: { name: 'X', lei: '529900T8BM49AURSDO55' } }]), 'debtor LEI'],
      [pacs008([{ creditor: { name: 'Y', otherId: 'tax-42' } }]), 'creditor id'],
      [pacs008([{ creditor: { name: 'Y', country: 'KP' } }]), 'creditor country'],
      [pacs008([{ creditorAgentBic: 'KOREKPPY' }]), 'creditor agent BIC country'],
      [pacs008([{ debtorIban: 'KP12345678901234' }]), 'debtor account IBAN country'],
    ];
    for (const [xml, what] of cases) {
      const out = await run(list(), xml);
      assert.equal(out.length, 1, what);
      assert.ok((out[0]!.detail ?? "").endsWith(`matches the ${what}`), `${what}: ${out[0]!.detail}`);
    }
  });

  test('several hits on one payment give one rejection that counts the others', async () => {
    const out = await run(list(), pacs008([{ creditor: { name: 'Acme Trading', country: 'KP' }, creditorAgentBic: 'BADBRUMM' }]));
    assert.equal(out.length, 1);
    assert.match(out[0]!.detail ?? '', /\(and 2 more hits\)$/);
  });

  test('a hit on a group header agent rejects the whole message (index null)', async () => {
    const out = await run(list(), pacs008([{}, {}], { instructingAgentBic: 'BADBRUMMXXX' }));
    assert.deepEqual(
      out.map((r) => r.index),
      [null],
    );
  });

  test('pain.001: the debtor of a payment information block hits each of its payments, by message index', async () => {
    const xml = pain001([{ txs: [{}] }, { debtorName: 'acme  trading', txs: [{}, {}] }]);
    const out = await run(list(), xml);
    assert.deepEqual(
      out.map((r) => r.index),
      [1, 2],
    );
  });

  test('a reloaded list applies to the next message', async () => {
    let current = list();
    const check = sanctionsCheck(() => current);
    const xml = pacs08Debtor('New Name');
    assert.deepEqual(await check.run(context(xml)), []);
    current = parseSanctionsList('New Name', { entriesMax: 10 });
    assert.equal((await check.run(context(xml))).length, 1);
  });
});

function pacs08Debtor(name: string): string {
  return pacs008([{ debtor: { name } }]);
}
