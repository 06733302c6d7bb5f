import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { generateSecret, hashSecret, verifySecret } from '../../src/auth/secrets.js';
import { normalizeScopes, parseClientScopes, scopeWords } from '../../src/auth/scopes.js';
import { clientSetting } from '../../src/auth/service.js';
import { bearerToken } from '../../src/http/auth.js';
import { MxError } from '../../src/errors.js';

test('secrets are random and prefixed; hashes are salted scrypt with their parameters', async () => {
  const secret = generateSecret();
  assert.match(secret, /^mxs_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(generateSecret(), secret);
  const [a, b] = await Promise.all([hashSecret(secret), hashSecret(secret)]);
  assert.match(a, /^scrypt\$15\$8\$1\$[\w-]+\$[\w-]+$/);
  assert.notEqual(a, b, 'a fresh salt per hash');
  assert.ok(!a.includes(secret));
  assert.equal(await verifySecret(secret, a), true);
  assert.equal(await verifySecret(secret, b), true);
  assert.equal(await verifySecret(`${secret}x`, a), false);
  assert.equal(await verifySecret('', a), false);
});

test('a malformed or out-of-bounds hash never verifies', async () => {
  const hash = await hashSecret('s');
  for (const bad of ['', 'plain', hash.replace('scrypt', 'bcrypt'), hash.replace('$15$', '$30$'), hash.slice(0, -10)]) {
    assert.equal(await verifySecret('s', bad), false, bad);
  }
});

test('scopes: client scopes are checked and put in canonical order; request words are split on spaces', () => {
  assert.deepEqual(parseClientScopes('mx/write mx/read'), ['mx/read', 'mx/write']);
  assert.deepEqual(parseClientScopes('mx/admin,mx/read'), ['mx/read', 'mx/admin']);
  assert.deepEqual(parseClientScopes(['mx/admin', 'mx/admin']), ['mx/admin']);
  for (const bad of ['', 'mx/root', 'mx/read mx/Read']) {
    assert.throws(() => parseClientScopes(bad), (e: unknown) => e instanceof MxError && e.code === 'INVALID_ATTRIBUTE', bad);
  }
  assert.deepEqual(scopeWords('  mx/read  mx/read mx/write '), ['mx/read', 'mx/write']);
  assert.deepEqual(normalizeScopes(['mx/admin', 'mx/read']), ['mx/read', 'mx/admin']);
});

test('bearer tokens are read from the Authorization header only in the Bearer scheme', () => {
  assert.equal(bearerToken('Bearer abc.def-ghi_jkl'), 'abc.def-ghi_jkl');
  assert.equal(bearerToken('bearer abc'), 'abc');
  for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b', 'Bearer a,b']) {
    assert.equal(bearerToken(header), undefined, String(header));
  }
});

test('client settings are read through a schema; a value of another shape is an error, an absent one undefined', () => {
  const client = { settings: { limits: { maxAmount: '1000.00', currencies: ['EUR'] }, flag: 3 } };
  const Limits = Type.Object({ maxAmount: Type.String(), currencies: Type.Array(Type.String()) });
  assert.deepEqual(clientSetting(client, 'limits', Limits), { maxAmount: '1000.00', currencies: ['EUR'] });
  assert.equal(clientSetting(client, 'absent', Limits), undefined);
  assert.throws(() => clientSetting(client, 'flag', Type.Boolean()), (e: unknown) => e instanceof MxError && e.code === 'INVALID_ATTRIBUTE');
});
