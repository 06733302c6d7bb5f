import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CODE_FIELDS, CODE_SETS, isCodeSetId } from '../../../src/iso20022/validation/index.js';

describe('external code sets (data)', () => {
  it('load every set with a name, a version and sorted unique codes', () => {
    for (const [id, set] of Object.entries(CODE_SETS)) {
      assert.match(set.name, /^External[A-Za-z]+[0-9]Code$/, id);
      assert.match(set.version, /^\d{4}-\d{2}$/, id);
      assert.ok(set.codes.size > 0, id);
      for (const code of set.codes) assert.match(code, /^[A-Za-z0-9]{1,35}$/, `${id}: ${code}`);
    }
  });

  it('hold the status and reason codes the workflow answers with', () => {
    for (const s of ['RCVD', 'ACTC', 'ACCP', 'ACSP', 'ACSC', 'ACCC', 'ACWC', 'ACWP', 'PDNG', 'RJCT', 'BLCK', 'CANC']) {
      assert.ok(CODE_SETS['payment-transaction-status'].codes.has(s), s);
    }
    assert.ok(CODE_SETS['payment-group-status'].codes.has('PART'));
    assert.ok(!CODE_SETS['payment-transaction-status'].codes.has('PART'), 'PART is group level only');
    for (const r of ['AC01', 'AC04', 'AM03', 'AM04', 'AM05', 'CH20', 'CH21', 'DU01', 'DUPL', 'FF01', 'FF07', 'RC01', 'RC08', 'NARR', 'AB05', 'G000']) {
      assert.ok(CODE_SETS['status-reason'].codes.has(r), r);
    }
    assert.ok(!CODE_SETS['status-reason'].codes.has('EXCd'));
    assert.ok(CODE_SETS['cancellation-reason'].codes.has('DUPL'));
    assert.ok(CODE_SETS['payment-cancellation-rejection'].codes.has('LEGL'));
    assert.ok(CODE_SETS['return-reason'].codes.has('FOCR'));
    assert.ok(CODE_SETS['clearing-system-identification'].codes.has('USABA'));
    assert.ok(CODE_SETS['cash-clearing-system'].codes.has('FDN'));
  });

  it('bind every coded field to an existing set, with an ISO reason code', () => {
    for (const field of CODE_FIELDS) {
      assert.ok(isCodeSetId(field.set), field.set);
      assert.ok(CODE_SETS['status-reason'].codes.has(field.code), `${field.rule}: ${field.code} is an official status reason`);
    }
  });
});
