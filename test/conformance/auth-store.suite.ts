/**
 * Conformance suite of the auth store port (src/ports/auth.ts): API clients and token signing keys as every engine
 * keeps them. Clients round-trip every field; the first client is made once even when processes race; exactly one
 * key is current, through races and rotations; previous keys retire when their time has passed.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthStore, ClientRecord, SigningKeyRecord } from '../../src/ports/auth.js';

export interface AuthStoreHarness {
  auth: AuthStore;
  /** Another store on the same data (a second process), when the engine can open one; else `auth` again. */
  other: AuthStore;
  close(): Promise<void>;
}

function client(id: string, overrides: Partial<ClientRecord> = {}): ClientRecord {
  return {
    id,
    name: `client ${id}`,
    secretHash: `scrypt$15$8$1$salt-${id}$hash`,
    scopes: ['mx/read', 'mx/write'],
    enabled: true,
    profile: null,
    settings: {},
    createdAt: 1_000,
    updatedAt: 1_000,
    ...overrides,
  };
}

function key(kid: string, createdAt: number, tokenTtlMaxS = 3600): SigningKeyRecord {
  return {
    kid,
    alg: 'ES256',
    state: 'current',
    privateJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', d: `private-${kid}` }),
    publicJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}` }),
    tokenTtlMaxS,
    createdAt,
    rotatedAt: null,
    retireAt: null,
  };
}

export function authStoreConformance(engine: string, open: () => Promise<AuthStoreHarness>): void {
  describe(`auth store conformance: ${engine}`, () => {
    let h: AuthStoreHarness;
    beforeEach(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.close();
    });

    test('a client round-trips every field; an id is inserted once', async () => {
      const c = client('c1', { scopes: ['mx/read', 'mx/admin'], profile: 'cbpr+', settings: { limits: { EUR: '1000.00' }, flag: true }, enabled: false });
      assert.equal(await h.auth.insertClient(c), true);
      assert.deepEqual(await h.other.getClient('c1'), c);
      assert.equal(await h.auth.insertClient(client('c1', { name: 'other' })), false, 'an existing id is not replaced');
      assert.equal((await h.auth.getClient('c1'))?.name, 'client c1');
      assert.equal(await h.auth.getClient('absent'), null);
      const amount = (await h.auth.getClient('c1'))?.settings.limits as { EUR: unknown };
      assert.equal(typeof amount.EUR, 'string', 'amounts in settings stay strings');
    });

    test('onlyIfNone inserts into an empty client table only, once under concurrency', async () => {
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? h.auth : h.other).insertClient(client(`boot-${i}`), { onlyIfNone: true })),
      );
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await h.auth.countClients(), 1);
      assert.equal(await h.auth.insertClient(client('later'), { onlyIfNone: true }), false);
      assert.equal(await h.auth.insertClient(client('later')), true);
      assert.equal(await h.auth.countClients(), 2);
    });

    test('clients are listed oldest first and bounded; counted', async () => {
      await h.auth.insertClient(client('b', { createdAt: 2_000 }));
      await h.auth.insertClient(client('c', { createdAt: 1_000 }));
      await h.auth.insertClient(client('a', { createdAt: 2_000 }));
      assert.deepEqual((await h.auth.listClients(10)).map((c) => c.id), ['c', 'a', 'b']);
      assert.deepEqual((await h.auth.listClients(2)).map((c) => c.id), ['c', 'a']);
      assert.equal(await h.auth.countClients(), 3);
    });

    test('an update changes the fields given and updatedAt, and answers with the record', async () => {
      await h.auth.insertClient(client('u1', { settings: { a: 1 } }));
      const updated = await h.auth.updateClient('u1', { enabled: false, scopes: ['mx/read'], profile: 'fednow' }, 5_000);
      assert.deepEqual(updated, { ...client('u1', { settings: { a: 1 } }), enabled: false, scopes: ['mx/read'], profile: 'fednow', updatedAt: 5_000 });
      assert.deepEqual(await h.other.getClient('u1'), updated);
      const cleared = await h.auth.updateClient('u1', { profile: null, settings: { b: 'x' }, secretHash: 'new-hash', name: 'renamed' }, 6_000);
      assert.equal(cleared?.profile, null);
      assert.deepEqual((await h.auth.getClient('u1'))?.settings, { b: 'x' });
      assert.equal((await h.auth.getClient('u1'))?.secretHash, 'new-hash');
      assert.equal((await h.auth.getClient('u1'))?.enabled, false, 'fields not given are kept');
      assert.equal(await h.auth.updateClient('absent', { name: 'x' }, 7_000), null);
    });

    test('ensureCurrentKey makes the first key current once, also when processes race', async () => {
      assert.deepEqual(await h.auth.liveKeys(), []);
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? h.auth : h.other).ensureCurrentKey(key(`k${i}`, 1_000))));
      const kids = new Set(results.map((k) => k.kid));
      assert.equal(kids.size, 1, 'every caller gets the same current key');
      const live = await h.auth.liveKeys();
      assert.equal(live.length, 1);
      assert.equal(live[0]?.state, 'current');
      assert.equal(live[0]?.kid, results[0]?.kid);
      assert.equal(live[0]?.rotatedAt, null);
      assert.equal(live[0]?.retireAt, null);
      assert.equal((await h.auth.ensureCurrentKey(key('late', 2_000))).kid, results[0]?.kid);
    });

    test('rotation: the current key becomes previous until its tokens expire, then it retires', async () => {
      await h.auth.ensureCurrentKey(key('k1', 1_000, 600));
      await h.auth.raiseKeyTtl('k1', 900);
      await h.auth.raiseKeyTtl('k1', 300); // never lowered
      await h.auth.rotateKeys(key('k2', 10_000), 10_000, 30);
      const live = await h.auth.liveKeys();
      assert.deepEqual(live.map((k) => [k.kid, k.state]), [['k2', 'current'], ['k1', 'previous']], 'newest first');
      const previous = live[1]!;
      assert.equal(previous.rotatedAt, 10_000);
      assert.equal(previous.retireAt, 10_000 + (900 + 30) * 1000);
      assert.equal(previous.privateJwk, key('k1', 1_000).privateJwk);
      assert.equal(await h.auth.retireExpiredKeys(previous.retireAt! - 1), 0);
      assert.equal(await h.other.retireExpiredKeys(previous.retireAt!), 1);
      assert.deepEqual((await h.auth.liveKeys()).map((k) => k.kid), ['k2']);
      assert.equal(await h.auth.retireExpiredKeys(previous.retireAt! + 1), 0);
    });

    test('a rotation retires previous keys whose time has passed', async () => {
      await h.auth.ensureCurrentKey(key('k1', 1_000, 60));
      await h.auth.rotateKeys(key('k2', 2_000), 2_000, 0); // k1 retires at 62 000
      await h.auth.rotateKeys(key('k3', 100_000), 100_000, 0);
      assert.deepEqual((await h.auth.liveKeys()).map((k) => [k.kid, k.state]), [['k3', 'current'], ['k2', 'previous']]);
    });

    test('concurrent rotations leave exactly one current key and lose none', async () => {
      await h.auth.ensureCurrentKey(key('k0', 1_000));
      await Promise.all(Array.from({ length: 4 }, (_, i) => (i % 2 === 0 ? h.auth : h.other).rotateKeys(key(`r${i}`, 2_000 + i), 2_000 + i, 0)));
      const live = await h.auth.liveKeys();
      assert.equal(live.length, 5);
      assert.equal(live.filter((k) => k.state === 'current').length, 1);
      assert.equal(live.filter((k) => k.state === 'previous').length, 4);
    });
  });
}
