import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ERROR_CATALOG, MxError, isErrorCode } from '../../src/errors.js';
import { renderErrorsDoc } from '../../scripts/errors-doc.js';

test('docs/ERRORS.md lists every code of the catalog (regenerate with npm run docs:errors)', () => {
  const committed = readFileSync(resolve(import.meta.dirname, '..', '..', 'docs', 'ERRORS.md'), 'utf8');
  assert.equal(committed, renderErrorsDoc());
  for (const code of Object.keys(ERROR_CATALOG)) assert.ok(committed.includes(`\`${code}\``), code);
});

test('codes are upper snake case with an HTTP status of 4xx or 5xx', () => {
  for (const [code, entry] of Object.entries(ERROR_CATALOG)) {
    assert.match(code, /^[A-Z][A-Z0-9_]+$/);
    assert.ok(entry.status >= 400 && entry.status < 600, code);
    assert.ok(entry.summary.length > 10, code);
  }
});

test('MxError carries code, status, retryable flag and cause', () => {
  const cause = new Error('disk full');
  const error = new MxError('STORE_UNAVAILABLE', 'could not commit', { cause });
  assert.equal(error.code, 'STORE_UNAVAILABLE');
  assert.equal(error.status, 503);
  assert.equal(error.retryable, true);
  assert.equal(error.cause, cause);
  assert.equal(isErrorCode('QUEUE_NOT_FOUND'), true);
  assert.equal(isErrorCode('toString'), false);
});
