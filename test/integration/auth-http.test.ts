/**
 * Authentication over HTTP: the token endpoint (RFC 6749 client credentials), the access tokens it issues
 * (claims, JWKS verification, expiry on a controllable clock), scopes on routes, disabled clients, secret and
 * key rotation, the failed-attempt limit and the admin endpoints. A real engine on a fresh SQLite file per
 * test; requests through a real socket.
 */
import { test, beforeEach, afterEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT, generateKeyPair } from 'jose';
import { loadConfig, type Config } from '../../src/config/index.js';
import { openEmbeddedEngine, type Engine } from '../../src/engines/embedded.js';
import { buildApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { bearer, createTestClient, fetchToken, type TestClient } from '../helpers/auth.js';

let dir: string;
let config: Config;
let clock: ManualClock;
let engine: Engine;
let app: FastifyInstance;
let base: string;
let client: TestClient;

interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON answers of many shapes
  headers: Headers;
}

async function call(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(options.token ? bearer(options.token) : {}), ...options.headers };
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(base + path, {
    method,
    headers,
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (the docs page)
  }
  return { status: response.status, body, headers: response.headers };
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

/** POST /oauth2/token with a form body. */
function tokenRequest(form: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  return call('POST', '/oauth2/token', {
    body: new URLSearchParams(form).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

async function start(auth: Partial<Config['auth']> = {}): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), 'mxgate-auth-'));
  clock = new ManualClock();
  config = loadConfig({ overrides: { dataDir: dir, auth } });
  engine = openEmbeddedEngine({ config, clock, ids: randomIds, logger: silentLogger() });
  app = await buildApp({ config, logger: silentLogger(), queues: engine.queues, auth: engine.auth });
  // A probe route that shows what handlers see, and one that forgot to declare a scope.
  app.get('/v1/probe', { config: { scope: 'mx/read' } }, async (request) => request.client);
  app.get('/v1/undeclared', async () => ({ leaked: true }));
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  client = await createTestClient(engine.auth, { name: 'erp', profile: 'cbpr+' });
}

async function stop(): Promise<void> {
  engine.beginShutdown();
  await app.close();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}

describe('token endpoint', () => {
  beforeEach(() => start());
  afterEach(stop);

  test('issues a token for HTTP Basic credentials with a form body', async () => {
    const res = await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(client.id, client.secret) });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(res.body.expires_in, 3600);
    assert.equal(res.body.scope, 'mx/read mx/write mx/admin');
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  test('issues a token for credentials in form fields and in JSON, with a requested subset of scopes', async () => {
    const form = await tokenRequest({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret, scope: 'mx/write mx/read' });
    assert.equal(form.status, 200);
    assert.equal(form.body.scope, 'mx/read mx/write');
    const json = await call('POST', '/oauth2/token', { body: { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret, scope: 'mx/admin' } });
    assert.equal(json.status, 200);
    assert.equal(json.body.scope, 'mx/admin');
  });

  test('a wrong secret or an unknown client is 401 invalid_client', async () => {
    const wrong = await tokenRequest({ grant_type: 'client_credentials' }, { authorization: basic(client.id, `${client.secret}x`) });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'invalid_client');
    assert.equal(typeof wrong.body.error_description, 'string');
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /);
    const unknown = await tokenRequest({ grant_type: 'client_credentials', client_id: 'mxc_nobody', client_secret: client.secret });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error, 'invalid_client');
    const none = await tokenRequest({ grant_type: 'client_credentials' });
    assert.equal(none.status, 401);
    assert.equal(none.body.error, 'invalid_client');
  });

  test('an unknown scope, or one the client lacks, is 400 invalid_scope', async () => {
    const unknown = await tokenRequest({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret, scope: 'mx/read mx/everything' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error, 'invalid_scope');
    const reader = await createTestClient(engine.auth, { scopes: ['mx/read'] });
    const beyond = await tokenRequest({ grant_type: 'client_credentials', client_id: reader.id, client_secret: reader.secret, scope: 'mx/write' });
    assert.equal(beyond.status, 400);
    assert.equal(beyond.body.error, 'invalid_scope');
  });

  test('other grants are unsupported_grant_type; malformed requests are invalid_request', async () => {
    const cases: Array<[Answer, number, string]> = [
      [await tokenRequest({ grant_type: 'password', client_id: client.id, client_secret: client.secret }), 400, 'unsupported_grant_type'],
      [await tokenRequest({ grant_type: 'authorization_code', client_id: client.id, client_secret: client.secret }), 400, 'unsupported_grant_type'],
      [await tokenRequest({ client_id: client.id, client_secret: client.secret }), 400, 'invalid_request'],
      // Credentials twice (Basic and body), a repeated parameter, a body type the endpoint does not take, bad JSON.
      [await tokenRequest({ grant_type: 'client_credentials', client_id: client.id }, { authorization: basic(client.id, client.secret) }), 400, 'invalid_request'],
      [
        await call('POST', '/oauth2/token', {
          body: `grant_type=client_credentials&grant_type=client_credentials&client_id=${client.id}&client_secret=${client.secret}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
        400,
        'invalid_request',
      ],
      [await call('POST', '/oauth2/token', { body: 'grant_type=client_credentials', headers: { 'content-type': 'text/plain' } }), 400, 'invalid_request'],
      [await call('POST', '/oauth2/token', { body: '{"grant_type":', headers: { 'content-type': 'application/json' } }), 400, 'invalid_request'],
      [await tokenRequest({ grant_type: 'client_credentials' }, { authorization: 'Basic !!!' }), 401, 'invalid_client'],
    ];
    for (const [res, status, error] of cases) {
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body.error, error, JSON.stringify(res.body));
      assert.equal(typeof res.body.error_description, 'string');
      assert.equal(res.body.code, undefined, 'the token endpoint answers in the OAuth shape');
    }
  });

  test('the access token is an ES256 JWT with the documented claims, verifiable with the published JWKS', async () => {
    const token = await fetchToken(base, client, 'mx/read mx/write');
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'at+jwt');
    assert.equal(typeof header.kid, 'string');
    const claims = decodeJwt(token);
    assert.equal(claims.iss, 'mxgate');
    assert.equal(claims.aud, 'mxgate');
    assert.equal(claims.sub, client.id);
    assert.equal(claims.scope, 'mx/read mx/write');
    assert.equal(claims.iat, Math.floor(clock.now() / 1000));
    assert.equal(claims.exp, claims.iat! + 3600);
    assert.match(String(claims.jti), /^[0-9a-f-]{36}$/);

    const jwks = await call('GET', '/.well-known/jwks.json');
    assert.equal(jwks.status, 200);
    assert.equal(jwks.body.keys.length, 1);
    assert.equal(jwks.body.keys[0].kid, header.kid);
    assert.equal(jwks.body.keys[0].d, undefined, 'no private part is published');
    const verified = await jwtVerify(token, createLocalJWKSet(jwks.body), {
      algorithms: ['ES256'],
      issuer: 'mxgate',
      audience: 'mxgate',
      currentDate: new Date(clock.now()),
    });
    assert.equal(verified.payload.sub, client.id);
  });

  test('repeated failures for one client id are refused with 429 until the window ends', async () => {
    await stop();
    await start({ failedAttemptsMax: 3, failedAttemptsWindowS: 60 });
    for (let i = 0; i < 3; i++) {
      assert.equal((await tokenRequest({ grant_type: 'client_credentials', client_id: client.id, client_secret: 'guess' })).status, 401);
    }
    const locked = await tokenRequest({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret });
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error, 'invalid_client');
    assert.equal(locked.headers.get('retry-after'), '60');
    // Another client id is not affected.
    const other = await createTestClient(engine.auth);
    assert.equal((await tokenRequest({ grant_type: 'client_credentials', client_id: other.id, client_secret: other.secret })).status, 200);
    clock.advance(60_000);
    assert.equal((await tokenRequest({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret })).status, 200);
  });
});

describe('protected routes', () => {
  beforeEach(() => start());
  afterEach(stop);

  test('no token, a malformed token or a tampered token is 401 UNAUTHENTICATED with a Bearer challenge', async () => {
    const token = await fetchToken(base, client);
    const [h, p, s] = token.split('.');
    const otherPayload = Buffer.from(JSON.stringify({ ...decodeJwt(token), sub: 'mxc_someone_else' })).toString('base64url');
    for (const bad of [undefined, 'not-a-jwt', `${h}.${otherPayload}.${s}`, `${h}.${p}.${s!.slice(0, -4)}AAAA`]) {
      const res = await call('GET', '/v1/queues', { token: bad });
      assert.equal(res.status, 401, String(bad));
      assert.equal(res.body.error.code, 'UNAUTHENTICATED');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="mxgate"/);
    }
    assert.equal((await call('GET', '/v1/queues', { headers: { authorization: `Basic ${token}` } })).status, 401);
    assert.equal((await call('GET', '/v1/queues', { token })).status, 200);
  });

  test('tokens signed by another key, with another algorithm, or for another audience are refused', async () => {
    const now = Math.floor(clock.now() / 1000);
    const claims = { scope: 'mx/read', client_id: client.id };
    const forge = (alg: string, key: Parameters<SignJWT['sign']>[0], kid: string, audience = 'mxgate') =>
      new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'at+jwt' }).setIssuer('mxgate').setSubject(client.id).setAudience(audience)
        .setIssuedAt(now).setExpirationTime(now + 600).setJti('x').sign(key);
    const realKid = decodeProtectedHeader(await fetchToken(base, client)).kid!;
    const foreign = await generateKeyPair('ES256');
    const forged = [
      await forge('ES256', foreign.privateKey, realKid),
      await forge('HS256', new TextEncoder().encode('a shared secret that nobody has'), realKid),
    ];
    for (const token of forged) assert.equal((await call('GET', '/v1/queues', { token })).status, 401);
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: realKid })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ ...claims, iss: 'mxgate', aud: 'mxgate', sub: client.id, iat: now, exp: now + 600, jti: 'y' }),
    ).toString('base64url')}.`;
    assert.equal((await call('GET', '/v1/queues', { token: unsigned })).status, 401);
    // Signed with the hub's own key, by a process configured for another audience or issuer.
    for (const auth of [{ audience: 'another-hub' }, { issuer: 'another-issuer' }]) {
      const foreignConfig = loadConfig({ overrides: { dataDir: dir, auth } });
      const other = openEmbeddedEngine({ config: foreignConfig, clock, ids: randomIds, logger: silentLogger() });
      try {
        const grant = await other.auth.issueToken({ grantType: 'client_credentials', clientId: client.id, clientSecret: client.secret, scope: undefined });
        assert.equal(decodeProtectedHeader(grant.accessToken).kid, realKid);
        assert.equal((await call('GET', '/v1/queues', { token: grant.accessToken })).status, 401, JSON.stringify(auth));
      } finally {
        await other.close();
      }
    }
  });

  test('a token expires after its lifetime (with the configured skew)', async () => {
    const token = await fetchToken(base, client);
    clock.advance((3600 + 30) * 1000 - 1000);
    assert.equal((await call('GET', '/v1/queues', { token })).status, 200);
    clock.advance(2000);
    const expired = await call('GET', '/v1/queues', { token });
    assert.equal(expired.status, 401);
    assert.match(expired.body.error.message, /expired/);
    assert.match(expired.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  test('a token without the route scope is 403 FORBIDDEN; read, write and admin are separate', async () => {
    const reader = await fetchToken(base, client, 'mx/read');
    const writer = await fetchToken(base, client, 'mx/write');
    const admin = await fetchToken(base, client, 'mx/admin');
    assert.equal((await call('POST', '/v1/queues', { token: admin, body: { name: 'q' } })).status, 201);
    const denied = await call('POST', '/v1/queues', { token: reader, body: { name: 'q2' } });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'FORBIDDEN');
    assert.match(denied.headers.get('www-authenticate') ?? '', /error="insufficient_scope", scope="mx\/admin"/);
    assert.equal((await call('GET', '/v1/queues/q', { token: reader })).status, 200);
    assert.equal((await call('GET', '/v1/queues/q', { token: writer })).status, 403);
    assert.equal((await call('POST', '/v1/queues/q/messages', { token: writer, body: { body: 'x' } })).status, 201);
    assert.equal((await call('POST', '/v1/queues/q/messages', { token: reader, body: { body: 'x' } })).status, 403);
    assert.equal((await call('GET', '/v1/queues/q/messages', { token: writer })).status, 200);
    assert.equal((await call('POST', '/v1/queues/q/purge', { token: writer })).status, 403);
    assert.equal((await call('DELETE', '/v1/queues/q', { token: admin })).status, 204);
  });

  test('handlers see the caller as request.client: id, scopes and profile', async () => {
    const token = await fetchToken(base, client, 'mx/read');
    const res = await call('GET', '/v1/probe', { token });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { id: client.id, scopes: ['mx/read'], profile: 'cbpr+', settings: {} });
  });

  test('a route that declares no scope is refused to every client (fail closed)', async () => {
    const token = await fetchToken(base, client);
    const res = await call('GET', '/v1/undeclared', { token });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'FORBIDDEN');
    assert.equal((await call('GET', '/v1/undeclared')).status, 401);
  });

  test('public routes need no token; unknown routes are 401 anonymously and 404 with a token', async () => {
    for (const path of ['/health', '/.well-known/jwks.json', '/openapi.json', '/docs']) {
      assert.equal((await call('GET', path)).status, 200, path);
    }
    assert.equal((await call('GET', '/v1/nothing')).status, 401);
    const token = await fetchToken(base, client);
    const missing = await call('GET', '/v1/nothing', { token });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'NOT_FOUND');
  });

  test("a disabled client gets no token and its tokens stop working; enabling restores them", async () => {
    const token = await fetchToken(base, client);
    await engine.auth.setEnabled(client.id, false);
    const refused = await call('GET', '/v1/queues', { token });
    assert.equal(refused.status, 401);
    assert.match(refused.body.error.message, /disabled/);
    const noToken = await tokenRequest({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret });
    assert.equal(noToken.status, 401);
    assert.equal(noToken.body.error, 'invalid_client');
    await engine.auth.setEnabled(client.id, true);
    assert.equal((await call('GET', '/v1/queues', { token })).status, 200);
  });

  test('a client disabled by another process (the CLI) loses access once the client cache expires', async () => {
    const token = await fetchToken(base, client);
    assert.equal((await call('GET', '/v1/queues', { token })).status, 200);
    // A second connection to the same database file, like `mxgate clients disable`.
    const other = openEmbeddedEngine({ config, clock, ids: randomIds, logger: silentLogger() });
    try {
      await other.auth.setEnabled(client.id, false);
    } finally {
      await other.close();
    }
    clock.advance(config.auth.clientCacheMs);
    assert.equal((await call('GET', '/v1/queues', { token })).status, 401);
  });

  test('after a secret rotation the old secret is refused and the new one works; issued tokens stay valid', async () => {
    const token = await fetchToken(base, client);
    const { secret } = await engine.auth.rotateSecret(client.id);
    const old = await tokenRequest({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret });
    assert.equal(old.status, 401);
    assert.equal(old.body.error, 'invalid_client');
    await fetchToken(base, { id: client.id, secret });
    assert.equal((await call('GET', '/v1/queues', { token })).status, 200);
  });
});

describe('signing key rotation', () => {
  beforeEach(() => start());
  afterEach(stop);

  test('old tokens verify until they expire; the JWKS lists both keys, then drops the retired one', async () => {
    const before = await fetchToken(base, client);
    const oldKid = decodeProtectedHeader(before).kid;
    const admin = await fetchToken(base, client, 'mx/admin');
    const rotated = await call('POST', '/v1/admin/keys/rotate', { token: admin });
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.kid, oldKid);
    assert.deepEqual(rotated.body.previous, [oldKid]);

    const after = await fetchToken(base, client);
    assert.equal(decodeProtectedHeader(after).kid, rotated.body.kid);
    const jwks = await call('GET', '/.well-known/jwks.json');
    assert.deepEqual(jwks.body.keys.map((k: { kid: string }) => k.kid).sort(), [oldKid, rotated.body.kid].sort());
    assert.equal((await call('GET', '/v1/queues', { token: before })).status, 200);
    const keys = await call('GET', '/v1/admin/keys', { token: admin });
    assert.deepEqual(keys.body.keys.map((k: { state: string }) => k.state).sort(), ['current', 'previous']);

    // Past the lifetime of every token the old key signed (plus skew and grace), it is retired.
    clock.advance((3600 + 30 + 60) * 1000 + 1);
    const later = await call('GET', '/.well-known/jwks.json');
    assert.deepEqual(later.body.keys.map((k: { kid: string }) => k.kid), [rotated.body.kid]);
    assert.equal((await call('GET', '/v1/queues', { token: before })).status, 401);
  });

  test('a rotation by another process is picked up: its tokens verify at once, and this hub signs with the new key', async () => {
    const other = openEmbeddedEngine({ config, clock, ids: randomIds, logger: silentLogger() });
    try {
      await fetchToken(base, client); // this hub has loaded the first key
      const { kid } = await other.auth.rotateKeys();
      const grant = await other.auth.issueToken({ grantType: 'client_credentials', clientId: client.id, clientSecret: client.secret, scope: undefined });
      assert.equal(decodeProtectedHeader(grant.accessToken).kid, kid);
      assert.equal((await call('GET', '/v1/queues', { token: grant.accessToken })).status, 200, 'an unknown kid makes the hub re-read the keys');
      clock.advance(config.auth.keyCacheMs);
      assert.equal(decodeProtectedHeader(await fetchToken(base, client)).kid, kid);
    } finally {
      await other.close();
    }
  });
});

describe('admin endpoints', () => {
  beforeEach(() => start());
  afterEach(stop);

  test('create, list, show, rotate the secret of, disable and enable clients with mx/admin', async () => {
    const admin = await fetchToken(base, client, 'mx/admin');
    const created = await call('POST', '/v1/admin/clients', { token: admin, body: { name: 'bank-b', scopes: ['mx/read', 'mx/write'], profile: 'fednow', settings: { maxAmount: '1000.00' } } });
    assert.equal(created.status, 201);
    assert.match(created.body.client_id, /^mxc_/);
    assert.match(created.body.client_secret, /^mxs_/);
    assert.deepEqual(created.body.scopes, ['mx/read', 'mx/write']);
    assert.equal(created.body.profile, 'fednow');
    assert.deepEqual(created.body.settings, { maxAmount: '1000.00' });
    const id = created.body.client_id as string;
    await fetchToken(base, { id, secret: created.body.client_secret });

    const list = await call('GET', '/v1/admin/clients', { token: admin });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.clients.map((c: { client_id: string }) => c.client_id).sort(), [client.id, id].sort());
    assert.ok(!JSON.stringify(list.body).includes('secret'), 'no secret or hash in listings');
    const shown = await call('GET', `/v1/admin/clients/${id}`, { token: admin });
    assert.equal(shown.body.name, 'bank-b');
    assert.equal(shown.body.client_secret, undefined);

    const rotated = await call('POST', `/v1/admin/clients/${id}/rotate-secret`, { token: admin });
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.client_secret, created.body.client_secret);
    assert.equal((await tokenRequest({ grant_type: 'client_credentials', client_id: id, client_secret: created.body.client_secret })).status, 401);
    const bankToken = await fetchToken(base, { id, secret: rotated.body.client_secret });

    // Fewer scopes apply to tokens already issued; the profile and settings reach request.client.
    const updated = await call('PATCH', `/v1/admin/clients/${id}`, { token: admin, body: { scopes: ['mx/read'], profile: 'cbpr+', settings: { maxAmount: '5.00' } } });
    assert.equal(updated.status, 200);
    assert.deepEqual([updated.body.scopes, updated.body.profile, updated.body.settings], [['mx/read'], 'cbpr+', { maxAmount: '5.00' }]);
    assert.deepEqual((await call('GET', '/v1/probe', { token: bankToken })).body, { id, scopes: ['mx/read'], profile: 'cbpr+', settings: { maxAmount: '5.00' } });
    assert.equal((await call('POST', '/v1/queues/none/messages', { token: bankToken, body: { body: 'x' } })).status, 403);
    assert.equal((await call('PATCH', `/v1/admin/clients/${id}`, { token: admin, body: {} })).status, 400);
    assert.equal((await call('PATCH', `/v1/admin/clients/${id}`, { token: admin, body: { profile: null } })).body.profile, null);

    const disabled = await call('POST', `/v1/admin/clients/${id}/disable`, { token: admin });
    assert.equal(disabled.body.enabled, false);
    assert.equal((await call('GET', '/v1/queues', { token: bankToken })).status, 401);
    assert.equal((await call('POST', `/v1/admin/clients/${id}/enable`, { token: admin })).body.enabled, true);
    assert.equal((await call('GET', '/v1/queues', { token: bankToken })).status, 200);
  });

  test('bad input and unknown clients get coded errors; without mx/admin it is 403', async () => {
    const admin = await fetchToken(base, client, 'mx/admin');
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/v1/admin/clients', { name: 'x', scopes: ['mx/root'] }, 400, 'INVALID_ATTRIBUTE'],
      ['POST', '/v1/admin/clients', { name: 'x', profile: 'swift-gpi' }, 400, 'INVALID_ATTRIBUTE'],
      ['POST', '/v1/admin/clients', { name: '' }, 400, 'INVALID_ATTRIBUTE'],
      ['GET', '/v1/admin/clients/mxc_nobody', undefined, 404, 'NOT_FOUND'],
      ['POST', '/v1/admin/clients/mxc_nobody/disable', undefined, 404, 'NOT_FOUND'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const res = await call(method, path, { token: admin, body });
      assert.equal(res.status, status, `${method} ${path}`);
      assert.equal(res.body.error.code, code, `${method} ${path}`);
    }
    const reader = await fetchToken(base, client, 'mx/read mx/write');
    for (const [method, path] of [['GET', '/v1/admin/clients'], ['POST', '/v1/admin/keys/rotate'], ['POST', `/v1/admin/clients/${client.id}/disable`]] as const) {
      assert.equal((await call(method, path, { token: reader })).status, 403, path);
    }
  });
});
