import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isMxError } from '../../../src/errors.js';
import {
  compareDecimals,
  currencyExponent,
  fromMinorUnits,
  sumDecimals,
  toMinorUnits,
} from '../../../src/iso20022/index.js';

test('amounts become integer minor units with the currency exponent', () => {
  assert.equal(toMinorUnits('1250.5', 'USD'), 125050n);
  assert.equal(toMinorUnits('1250', 'JPY'), 1250n);
  assert.equal(toMinorUnits('1.234', 'KWD'), 1234n);
  assert.equal(toMinorUnits('0001.10', 'EUR'), 110n);
  assert.equal(toMinorUnits('10.500', 'EUR'), 1050n);
  assert.equal(toMinorUnits('99999999999999999.99', 'USD'), 9999999999999999999n);
  assert.equal(currencyExponent('CLF'), 4);
  assert.equal(currencyExponent('XAU'), undefined);
});

test('bad amounts and currencies are refused with a code', () => {
  for (const [value, ccy] of [['10.505', 'EUR'], ['1.5', 'JPY'], ['1e3', 'USD'], ['', 'USD'], ['1.00', 'XAU'], ['1', 'ZZZ']] as const) {
    assert.throws(() => toMinorUnits(value, ccy), (e: unknown) => isMxError(e) && e.code === 'MESSAGE_INVALID', `${value} ${ccy}`);
  }
});

test('minor units go back to decimal strings and round trip', () => {
  assert.equal(fromMinorUnits(5n, 'USD'), '0.05');
  assert.equal(fromMinorUnits(125050n, 'USD'), '1250.50');
  assert.equal(fromMinorUnits(7n, 'JPY'), '7');
  assert.equal(fromMinorUnits(1n, 'BHD'), '0.001');
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.constantFrom('USD', 'JPY', 'KWD', 'CLF'), (n, ccy) => {
      assert.equal(toMinorUnits(fromMinorUnits(n, ccy), ccy), n);
    }),
  );
});

test('decimal sums and comparisons are exact', () => {
  assert.equal(sumDecimals(['0.1', '0.2']), '0.3');
  assert.equal(sumDecimals(['100', '0.005', '1.10']), '101.105');
  assert.equal(compareDecimals('1.10', '1.1'), 0);
  assert.equal(compareDecimals('2', '10.00'), -1);
  assert.equal(compareDecimals('99999999999999999.99', '99999999999999999.98'), 1);
});
