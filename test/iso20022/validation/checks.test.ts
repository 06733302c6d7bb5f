import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { amountProblem, sameDecimal, significantDecimals, sumDecimals } from '../../../src/iso20022/validation/checks/amounts.js';
import { isIsoDate, isIsoDateTime } from '../../../src/iso20022/validation/checks/dates.js';
import { bicProblem, ibanProblems, isValidIban, leiProblem } from '../../../src/iso20022/validation/checks/identifiers.js';

describe('IBAN (ISO 13616)', () => {
  it('accepts IBANs with correct check digits and length', () => {
    for (const iban of ['DE89370400440532013000', 'GB29NWBK60161331926819', 'FR1420041010050500013M02606', 'CH9300762011623852957',
      'NL91ABNA0417164300', 'NO9386011117947', 'BE68539007547034', 'MT84MALT011000012345MTLCAST001S', 'CH2909000000250094239']) {
      assert.deepEqual(ibanProblems(iban), [], iban);
      assert.equal(isValidIban(iban), true);
    }
  });
  it('names what is wrong', () => {
    assert.deepEqual(ibanProblems('DE89370400440532013001'), ['checksum']);
    assert.deepEqual(ibanProblems('GB28NWBK60161331926819'), ['checksum']);
    assert.deepEqual(ibanProblems('DE1234567890123456'), ['length', 'checksum']);
    assert.deepEqual(ibanProblems('ZZ89370400440532013000'), ['country', 'checksum']);
    assert.deepEqual(ibanProblems('de89370400440532013000'), ['format']);
    assert.deepEqual(ibanProblems('DE89 3704 0044 0532 0130 00'), ['format']);
    assert.deepEqual(ibanProblems(''), ['format']);
  });
});

describe('BIC (ISO 9362)', () => {
  it('accepts 8 and 11 character BICs with a real country', () => {
    for (const bic of ['DEUTDEFF', 'DEUTDEFF500', 'CHASUS33XXX', 'NWBKGB2L', 'BOFAUS6H']) assert.equal(bicProblem(bic), undefined, bic);
  });
  it('refuses bad shapes and unknown countries', () => {
    assert.equal(bicProblem('DEUTDEF'), 'format');
    assert.equal(bicProblem('DEUTDEFF5'), 'format');
    assert.equal(bicProblem('deutdeff'), 'format');
    assert.equal(bicProblem('DEUT12FF'), 'format');
    assert.equal(bicProblem('DEUTQQFF'), 'country');
  });
});

describe('LEI (ISO 17442)', () => {
  it('accepts LEIs whose mod 97 is 1', () => {
    for (const lei of ['5493001KJTIIGC8Y1R12', '529900T8BM49AURSDO55', '7LTWFZYICNSX8D621K86']) assert.equal(leiProblem(lei), undefined, lei);
  });
  it('refuses wrong check digits and shapes', () => {
    assert.equal(leiProblem('5493001KJTIIGC8Y1R13'), 'checksum');
    assert.equal(leiProblem('ASDFGHJKLPOIUYTREW22'), 'checksum');
    assert.equal(leiProblem('5493001KJTIIGC8Y1R1'), 'format');
    assert.equal(leiProblem('5493001KJTIIGC8Y1RAB'), 'format');
  });
});

describe('amounts and currency precision (ISO 4217)', () => {
  it('counts significant decimals', () => {
    assert.equal(significantDecimals('100'), 0);
    assert.equal(significantDecimals('100.50'), 1);
    assert.equal(significantDecimals('79255.00'), 0);
    assert.equal(significantDecimals('0.001'), 3);
    assert.equal(significantDecimals('-1'), undefined);
    assert.equal(significantDecimals('1e3'), undefined);
  });
  it('refuses more decimals than the currency has', () => {
    assert.equal(amountProblem('10.05', 2), undefined);
    assert.equal(amountProblem('10.055', 2), 'precision');
    assert.equal(amountProblem('1000.5', 0), 'precision');
    assert.equal(amountProblem('1000.000', 0), undefined);
    assert.equal(amountProblem('1.125', 3), undefined);
    assert.equal(amountProblem('1.12345', null), undefined);
    assert.equal(amountProblem('12,50', 2), 'format');
    assert.equal(amountProblem('', 2), 'format');
  });
  it('adds and compares decimals exactly', () => {
    assert.equal(sumDecimals(['0.1', '0.2']), '0.3');
    assert.equal(sumDecimals(['999999999999999999.99', '0.01']), '1000000000000000000.00');
    assert.equal(sumDecimals([]), '0');
    assert.equal(sumDecimals(['1', 'x']), undefined);
    assert.equal(sameDecimal('10.5', '10.50'), true);
    assert.equal(sameDecimal('10.5', '10.05'), false);
  });
});

describe('dates and times (ISO 8601)', () => {
  it('accepts real dates and date-times', () => {
    for (const d of ['2024-02-29', '2023-12-31', '2020-01-01Z', '2020-01-01+02:00']) assert.equal(isIsoDate(d), true, d);
    for (const d of ['2024-02-29T23:59:59', '2019-05-20T23:47:20.22+02:00', '2020-01-01T00:00:00Z', '2020-01-01T24:00:00']) {
      assert.equal(isIsoDateTime(d), true, d);
    }
  });
  it('refuses impossible or malformed ones', () => {
    for (const d of ['2023-02-29', '2024-13-01', '2024-04-31', 'YYYY-MM-DD', '2024-1-01', '20240101']) assert.equal(isIsoDate(d), false, d);
    for (const d of ['2024-02-30T10:00:00', '2024-01-01T25:00:00', '2024-01-01T10:60:00', '2024-01-01', '2024-01-01T24:00:01']) {
      assert.equal(isIsoDateTime(d), false, d);
    }
  });
});
