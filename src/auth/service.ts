/**
 * Authentication and tenancy: OAuth 2.0 client credentials, signed access tokens, signing key rotation and the
 * API clients themselves. Engine-neutral: rows live behind the AuthStore port.
 *
 * Access tokens are JWTs (RFC 9068 profile): ES256, header `kid` and `typ: at+jwt`, claims iss, sub (= client
 * id), aud, iat, exp, jti, scope, client_id. A request is authenticated by verifying the token (signature with
 * a published key, alg, typ, iss, aud, exp and iat with a small skew) and then checking that its client still
 * exists and is enabled; the effective scopes are those of the token that the client still holds.
 *
 * What is cached in memory, and for how long (another process may change the database at any time):
 *
 * | what                    | refreshed                                      | bound                   |
 * | ----------------------- | ---------------------------------------------- | ----------------------- |
 * | signing keys            | every keyCacheMs, and at once for an unknown kid (at most once a second) | live keys |
 * | client state            | every clientCacheMs; at once after a change made through this service     | clients  |
 * | verified tokens         | until the token expires (only the signature check is skipped)              | 4096     |
 * | failed token requests   | per client id, for failedAttemptsWindowS                                   | 10000    |
 */
import { generateKeyPairSync } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import type { Static, TSchema } from '@sinclair/typebox';
import { SignJWT, calculateJwkThumbprint, errors as joseErrors, importJWK, jwtVerify, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { Config } from '../config/index.js';
import { MxError, assert, isMxError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuthStore, ClientRecord, ClientSettings, SigningKeyRecord } from '../ports/auth.js';
import type { Clock } from '../ports/clock.js';
import type { IdGenerator } from '../ports/ids.js';
import { PROFILES } from '../iso20022/profiles/index.js';
import { SCOPES, isScope, normalizeScopes, parseClientScopes, scopeWords, type Scope } from './scopes.js';
import { SECRET_LENGTH_MAX, dummySecretHash, generateSecret, hashSecret, verifySecret } from './secrets.js';

export type AuthConfig = Config['auth'];

/** What a handler knows about the caller (`request.client`). */
export interface AuthenticatedClient {
  readonly id: string;
  /** Scopes of the token that the client still holds. */
  readonly scopes: readonly Scope[];
  /** Scheme profile of the client ('cbpr+', 'fednow') or null. */
  readonly profile: string | null;
  /** Opaque per-client settings; read them with `clientSetting`. */
  readonly settings: ClientSettings;
}

/** A client as shown to operators: everything but the secret hash. */
export type ClientInfo = Omit<ClientRecord, 'secretHash'>;

export interface NewClient {
  name: string;
  scopes?: string | readonly string[];
  profile?: string | null;
  settings?: Record<string, unknown>;
}

export interface TokenRequest {
  grantType: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  scope: string | undefined;
}

export interface TokenGrant {
  accessToken: string;
  tokenType: 'Bearer';
  expiresInS: number;
  scope: string;
}

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope';

/** A token endpoint error in the shape of RFC 6749 section 5.2 (the only errors outside the hub's catalog). */
export class OAuthError extends Error {
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status: 400 | 401 | 429 = error === 'invalid_client' ? 401 : 400,
    readonly retryAfterS?: number,
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}

export interface KeyInfo {
  kid: string;
  alg: 'ES256';
  state: 'current' | 'previous';
  createdAt: number;
  retireAt: number | null;
}

export interface AuthServiceOptions {
  store: AuthStore;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  config: AuthConfig;
}

const TOKEN_TYPE = 'at+jwt';
const TOKEN_LENGTH_MAX = 4096;
const CLIENT_ID_MAX = 128;
const CLIENT_NAME_MAX = 200;
const SETTINGS_BYTES_MAX = 16 * 1024;
const CLIENT_LIST_MAX = 10_000;
const VERIFIED_CACHE_MAX = 4096;
const FAILED_ATTEMPTS_TRACKED_MAX = 10_000;
const KEY_REFRESH_MIN_MS = 1000;
/**
 * Added to a rotated key's lifetime: a process may sign with it until its key cache refreshes, which is at most
 * the largest keyCacheMs allowed by the configuration schema.
 */
const KEY_CACHE_GRACE_S = 60;

interface LiveKey {
  record: SigningKeyRecord;
  publicKey: CryptoKey;
  privateKey: CryptoKey | null;
}

interface KeySet {
  loadedAt: number;
  current: LiveKey;
  byKid: Map<string, LiveKey>;
}

interface CachedClient {
  loadedAt: number;
  record: ClientRecord | null;
}

interface VerifiedToken {
  clientId: string;
  scopes: readonly Scope[];
  expMs: number;
}

export function toClientInfo(record: ClientRecord): ClientInfo {
  const { secretHash: _secretHash, ...info } = record;
  return info;
}

/** Reads one per-client setting through a schema; throws INVALID_ATTRIBUTE when it is stored in another shape. */
export function clientSetting<S extends TSchema>(client: { settings: ClientSettings }, key: string, schema: S): Static<S> | undefined {
  const value = client.settings[key];
  if (value === undefined) return undefined;
  if (!Value.Check(schema, value)) {
    const first = [...Value.Errors(schema, value)][0];
    throw new MxError('INVALID_ATTRIBUTE', `client setting ${key} is invalid${first ? `: ${first.path || '/'} ${first.message}` : ''}`);
  }
  return value;
}

export class AuthService {
  readonly #store: AuthStore;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #logger: Logger;
  readonly #config: AuthConfig;
  #keys: KeySet | null = null;
  #keysLoading: Promise<KeySet> | null = null;
  #lastForcedKeyRefresh = 0;
  readonly #clients = new Map<string, CachedClient>();
  readonly #clientsLoading = new Map<string, Promise<ClientRecord | null>>();
  readonly #verified = new Map<string, VerifiedToken>();
  readonly #failures = new Map<string, { count: number; windowStartMs: number }>();

  constructor(options: AuthServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#ids = options.ids;
    this.#logger = options.logger;
    this.#config = options.config;
  }

  // ---- Tokens ----------------------------------------------------------------------------------------------

  /** The client credentials grant (RFC 6749 section 4.4). Throws OAuthError. */
  async issueToken(request: TokenRequest): Promise<TokenGrant> {
    if (request.grantType === undefined || request.grantType === '') throw new OAuthError('invalid_request', 'grant_type is required');
    if (request.grantType !== 'client_credentials') {
      throw new OAuthError('unsupported_grant_type', 'only the client_credentials grant is supported');
    }
    const { clientId, clientSecret } = request;
    if (!clientId || !clientSecret) throw new OAuthError('invalid_client', 'client authentication is required (HTTP Basic or client_id and client_secret)');
    if (clientId.length > CLIENT_ID_MAX || clientSecret.length > SECRET_LENGTH_MAX) throw new OAuthError('invalid_client', 'client authentication failed');
    this.#checkAttempts(clientId);

    const client = await this.#store.getClient(clientId);
    // An unknown id costs as much as a wrong secret, so timing does not tell which ids exist.
    const matches = await verifySecret(clientSecret, client?.secretHash ?? (await dummySecretHash()));
    if (!client || !matches) {
      this.#recordFailure(clientId);
      this.#logger.info({ clientId }, 'token request with wrong client credentials');
      throw new OAuthError('invalid_client', 'client authentication failed');
    }
    this.#failures.delete(clientId);
    if (!client.enabled) throw new OAuthError('invalid_client', 'the client is disabled');

    let scopes: Scope[] = [...client.scopes];
    const requested = request.scope === undefined ? [] : scopeWords(request.scope);
    if (requested.length > 0) {
      const refused = requested.filter((w) => !isScope(w) || !client.scopes.includes(w));
      if (refused.length > 0) {
        throw new OAuthError('invalid_scope', `scope ${refused.join(' ')} is unknown or not allowed for this client (allowed: ${client.scopes.join(' ')})`);
      }
      scopes = normalizeScopes(requested as Scope[]);
    }

    const key = (await this.#keySet()).current;
    assert(key.privateKey, 'the current key has its private part');
    const nowS = Math.floor(this.#clock.now() / 1000);
    const ttlS = this.#config.tokenTtlS;
    const scope = scopes.join(' ');
    const accessToken = await new SignJWT({ scope, client_id: client.id })
      .setProtectedHeader({ alg: 'ES256', kid: key.record.kid, typ: TOKEN_TYPE })
      .setIssuer(this.#config.issuer)
      .setSubject(client.id)
      .setAudience(this.#config.audience)
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + ttlS)
      .setJti(this.#ids.uuid())
      .sign(key.privateKey);
    this.#logger.info({ clientId: client.id, scope, kid: key.record.kid }, 'access token issued');
    return { accessToken, tokenType: 'Bearer', expiresInS: ttlS, scope };
  }

  /**
   * Authenticates a bearer token: the caller's client with the token's scopes that it still holds.
   * Throws UNAUTHENTICATED (never says more than needed about why a token is refused).
   */
  async authenticate(token: string): Promise<AuthenticatedClient> {
    const verified = await this.#verifyToken(token);
    const client = await this.#client(verified.clientId);
    if (!client) throw new MxError('UNAUTHENTICATED', 'the client of this access token no longer exists');
    if (!client.enabled) throw new MxError('UNAUTHENTICATED', 'the client of this access token is disabled');
    return {
      id: client.id,
      scopes: verified.scopes.filter((s) => client.scopes.includes(s)),
      profile: client.profile,
      settings: client.settings,
    };
  }

  /** The published verification keys (current and previous ones not yet retired), for /.well-known/jwks.json. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const set = await this.#keySet();
    return {
      keys: [...set.byKid.values()].map((k) => ({ ...(JSON.parse(k.record.publicJwk) as JWK), kid: k.record.kid, alg: 'ES256', use: 'sig' })),
    };
  }

  /** Creates the first signing key when there is none (tokens can be issued at once after start). */
  async ensureSigningKey(): Promise<void> {
    await this.#keySet(true);
  }

  /** Makes a new current key; the old one verifies until every token it signed has expired, then retires. */
  async rotateKeys(): Promise<{ kid: string; previous: string[] }> {
    const now = this.#clock.now();
    const key = await this.#newKey(now);
    await this.#store.rotateKeys(key, now, this.#config.clockSkewS + KEY_CACHE_GRACE_S);
    const set = await this.#keySet(true);
    const previous = [...set.byKid.values()].filter((k) => k.record.state === 'previous').map((k) => k.record.kid);
    this.#logger.info({ kid: key.kid, previous }, 'signing key rotated');
    return { kid: set.current.record.kid, previous };
  }

  async listKeys(): Promise<KeyInfo[]> {
    const set = await this.#keySet(true);
    return [...set.byKid.values()].map((k) => ({
      kid: k.record.kid,
      alg: 'ES256',
      state: k.record.state === 'current' ? 'current' : 'previous',
      createdAt: k.record.createdAt,
      retireAt: k.record.retireAt,
    }));
  }

  // ---- Clients ---------------------------------------------------------------------------------------------

  /** Creates a client; the secret is returned once and stored only as a slow hash. */
  async createClient(input: NewClient, options?: { onlyIfNone?: boolean }): Promise<{ client: ClientInfo; secret: string } | null> {
    const name = checkName(input.name);
    const scopes = input.scopes === undefined ? [...SCOPES] : parseClientScopes(input.scopes);
    const profile = checkProfile(input.profile ?? null);
    const settings = checkSettings(input.settings ?? {});
    const secret = generateSecret();
    const now = this.#clock.now();
    const record: ClientRecord = {
      id: `mxc_${this.#ids.token(12)}`,
      name,
      secretHash: await hashSecret(secret),
      scopes,
      enabled: true,
      profile,
      settings,
      createdAt: now,
      updatedAt: now,
    };
    const inserted = await this.#store.insertClient(record, options);
    if (!inserted) {
      assert(options?.onlyIfNone, 'a new random client id is unique');
      return null;
    }
    this.#logger.info({ clientId: record.id, name, scopes, profile }, 'client created');
    return { client: toClientInfo(record), secret };
  }

  async getClient(id: string): Promise<ClientInfo> {
    const record = id.length > CLIENT_ID_MAX ? null : await this.#store.getClient(id);
    if (!record) throw new MxError('NOT_FOUND', `no client ${id}`);
    return toClientInfo(record);
  }

  async listClients(): Promise<ClientInfo[]> {
    return (await this.#store.listClients(CLIENT_LIST_MAX)).map(toClientInfo);
  }

  async countClients(): Promise<number> {
    return this.#store.countClients();
  }

  /** Replaces the secret; the old one stops working at once (tokens already issued stay valid until expiry). */
  async rotateSecret(id: string): Promise<{ client: ClientInfo; secret: string }> {
    const secret = generateSecret();
    const client = await this.#update(id, { secretHash: await hashSecret(secret) });
    this.#logger.info({ clientId: id }, 'client secret rotated');
    return { client, secret };
  }

  /** Disables or enables a client; a disabled client gets no token and its tokens stop working within clientCacheMs. */
  async setEnabled(id: string, enabled: boolean): Promise<ClientInfo> {
    const client = await this.#update(id, { enabled });
    this.#logger.info({ clientId: id, enabled }, enabled ? 'client enabled' : 'client disabled');
    return client;
  }

  /**
   * Changes the name, scopes, profile or settings of a client (settings are replaced whole). Fewer scopes take
   * effect on its tokens within clientCacheMs: a token keeps only the scopes its client still holds.
   */
  async updateClient(id: string, change: Partial<Omit<NewClient, 'scopes'>> & { scopes?: string | readonly string[] }): Promise<ClientInfo> {
    const update: Parameters<AuthStore['updateClient']>[1] = {};
    if (change.name !== undefined) update.name = checkName(change.name);
    if (change.scopes !== undefined) update.scopes = parseClientScopes(change.scopes);
    if (change.profile !== undefined) update.profile = checkProfile(change.profile);
    if (change.settings !== undefined) update.settings = checkSettings(change.settings);
    if (Object.keys(update).length === 0) throw new MxError('INVALID_ATTRIBUTE', 'nothing to change: give a name, scopes, profile or settings');
    const client = await this.#update(id, update);
    this.#logger.info({ clientId: id, changed: Object.keys(update) }, 'client updated');
    return client;
  }

  async #update(id: string, update: Parameters<AuthStore['updateClient']>[1]): Promise<ClientInfo> {
    const record = id.length > CLIENT_ID_MAX ? null : await this.#store.updateClient(id, update, this.#clock.now());
    this.#clients.delete(id);
    if (!record) throw new MxError('NOT_FOUND', `no client ${id}`);
    return toClientInfo(record);
  }

  // ---- Internals -------------------------------------------------------------------------------------------

  async #verifyToken(token: string): Promise<VerifiedToken> {
    const now = this.#clock.now();
    const skewMs = this.#config.clockSkewS * 1000;
    const cached = this.#verified.get(token);
    if (cached) {
      if (cached.expMs + skewMs > now) return cached;
      this.#verified.delete(token);
      throw new MxError('UNAUTHENTICATED', 'the access token has expired');
    }
    if (token.length > TOKEN_LENGTH_MAX) throw new MxError('UNAUTHENTICATED', 'the access token is not valid');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header) => this.#verificationKey(header.kid), {
        algorithms: ['ES256'],
        typ: TOKEN_TYPE,
        issuer: this.#config.issuer,
        audience: this.#config.audience,
        clockTolerance: this.#config.clockSkewS,
        currentDate: new Date(now),
        requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'scope'],
      }));
    } catch (cause) {
      if (cause instanceof joseErrors.JWTExpired) throw new MxError('UNAUTHENTICATED', 'the access token has expired', { cause });
      // A store failure while loading keys stays what it is; anything else about the token refuses it.
      if (isMxError(cause)) throw cause;
      throw new MxError('UNAUTHENTICATED', 'the access token is not valid', { cause });
    }
    if (typeof payload.iat !== 'number' || payload.iat * 1000 > now + skewMs || typeof payload.sub !== 'string' || typeof payload.scope !== 'string') {
      throw new MxError('UNAUTHENTICATED', 'the access token is not valid');
    }
    const verified: VerifiedToken = {
      clientId: payload.sub,
      scopes: normalizeScopes(scopeWords(payload.scope).filter(isScope)),
      expMs: (payload.exp as number) * 1000,
    };
    if (this.#verified.size >= VERIFIED_CACHE_MAX) this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(token, verified);
    return verified;
  }

  async #verificationKey(kid: string | undefined): Promise<CryptoKey> {
    if (kid === undefined) throw new joseErrors.JWKSNoMatchingKey('the token has no kid');
    let set = await this.#keySet();
    let key = set.byKid.get(kid);
    if (!key && this.#clock.now() - this.#lastForcedKeyRefresh >= KEY_REFRESH_MIN_MS) {
      // A key made by another process (mxgate keys rotate) since the last refresh.
      this.#lastForcedKeyRefresh = this.#clock.now();
      set = await this.#keySet(true);
      key = set.byKid.get(kid);
    }
    if (!key || (key.record.retireAt !== null && key.record.retireAt <= this.#clock.now())) {
      throw new joseErrors.JWKSNoMatchingKey('no live signing key has this kid');
    }
    return key.publicKey;
  }

  /** The live keys, re-read every keyCacheMs (or now with `force`); creates the first key when none exists. */
  async #keySet(force = false): Promise<KeySet> {
    const now = this.#clock.now();
    if (!force && this.#keys && now - this.#keys.loadedAt < this.#config.keyCacheMs) return this.#keys;
    if (!force && this.#keysLoading) return this.#keysLoading;
    const loading = this.#loadKeys().finally(() => {
      if (this.#keysLoading === loading) this.#keysLoading = null;
    });
    this.#keysLoading = loading;
    this.#keys = await loading;
    return this.#keys;
  }

  async #loadKeys(): Promise<KeySet> {
    const now = this.#clock.now();
    let records = await this.#store.liveKeys();
    if (!records.some((k) => k.state === 'current')) {
      await this.#store.ensureCurrentKey(await this.#newKey(now));
      records = await this.#store.liveKeys();
    }
    if (records.some((k) => k.state === 'previous' && k.retireAt !== null && k.retireAt <= now)) {
      const retired = await this.#store.retireExpiredKeys(now);
      if (retired > 0) this.#logger.info({ retired }, 'signing keys retired');
      records = await this.#store.liveKeys();
    }
    let current = records.find((k) => k.state === 'current');
    assert(current, 'a current signing key exists');
    if (current.tokenTtlMaxS < this.#config.tokenTtlS) {
      // Record the lifetime this process signs with before signing, so a rotation keeps the key long enough.
      await this.#store.raiseKeyTtl(current.kid, this.#config.tokenTtlS);
      current = { ...current, tokenTtlMaxS: this.#config.tokenTtlS };
    }
    const byKid = new Map<string, LiveKey>();
    for (const record of records) {
      const live: LiveKey = {
        record: record.kid === current.kid ? current : record,
        publicKey: (await importJWK(JSON.parse(record.publicJwk) as JWK, 'ES256')) as CryptoKey,
        privateKey: record.state === 'current' ? ((await importJWK(JSON.parse(record.privateJwk) as JWK, 'ES256')) as CryptoKey) : null,
      };
      byKid.set(record.kid, live);
    }
    const currentKey = byKid.get(current.kid);
    assert(currentKey, 'the current key is live');
    return { loadedAt: now, current: currentKey, byKid };
  }

  async #newKey(now: number): Promise<SigningKeyRecord> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicJwk = publicKey.export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
    return {
      kid,
      alg: 'ES256',
      state: 'current',
      privateJwk: JSON.stringify(privateKey.export({ format: 'jwk' })),
      publicJwk: JSON.stringify(publicJwk),
      tokenTtlMaxS: this.#config.tokenTtlS,
      createdAt: now,
      rotatedAt: null,
      retireAt: null,
    };
  }

  async #client(id: string): Promise<ClientRecord | null> {
    const now = this.#clock.now();
    const cached = this.#clients.get(id);
    if (cached && now - cached.loadedAt < this.#config.clientCacheMs) return cached.record;
    let loading = this.#clientsLoading.get(id);
    if (!loading) {
      loading = this.#store.getClient(id).finally(() => this.#clientsLoading.delete(id));
      this.#clientsLoading.set(id, loading);
    }
    const record = await loading;
    this.#clients.set(id, { loadedAt: now, record });
    return record;
  }

  #checkAttempts(clientId: string): void {
    const entry = this.#failures.get(clientId);
    if (!entry) return;
    const windowMs = this.#config.failedAttemptsWindowS * 1000;
    const elapsed = this.#clock.now() - entry.windowStartMs;
    if (elapsed >= windowMs) {
      this.#failures.delete(clientId);
      return;
    }
    if (entry.count >= this.#config.failedAttemptsMax) {
      const retryAfterS = Math.max(1, Math.ceil((windowMs - elapsed) / 1000));
      throw new OAuthError('invalid_client', `too many failed attempts for this client id; retry after ${retryAfterS} s`, 429, retryAfterS);
    }
  }

  #recordFailure(clientId: string): void {
    const now = this.#clock.now();
    const windowMs = this.#config.failedAttemptsWindowS * 1000;
    const entry = this.#failures.get(clientId);
    if (entry && now - entry.windowStartMs < windowMs) {
      entry.count += 1;
      return;
    }
    if (this.#failures.size >= FAILED_ATTEMPTS_TRACKED_MAX) {
      for (const [id, e] of this.#failures) if (now - e.windowStartMs >= windowMs) this.#failures.delete(id);
      if (this.#failures.size >= FAILED_ATTEMPTS_TRACKED_MAX) this.#failures.delete(this.#failures.keys().next().value as string);
    }
    this.#failures.set(clientId, { count: 1, windowStartMs: now });
  }
}

function checkName(value: string): string {
  const name = value.trim();
  if (name.length === 0 || name.length > CLIENT_NAME_MAX) throw new MxError('INVALID_ATTRIBUTE', `a client name is 1-${CLIENT_NAME_MAX} characters`);
  return name;
}

function checkProfile(profile: string | null): string | null {
  if (profile === null || profile === '') return null;
  if (!PROFILES.has(profile)) throw new MxError('INVALID_ATTRIBUTE', `unknown profile ${profile} (known: ${[...PROFILES.keys()].join(', ')})`);
  return profile;
}

function checkSettings(settings: Record<string, unknown>): Record<string, unknown> {
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw new MxError('INVALID_ATTRIBUTE', 'client settings are a JSON object');
  }
  if (JSON.stringify(settings).length > SETTINGS_BYTES_MAX) throw new MxError('INVALID_ATTRIBUTE', `client settings are at most ${SETTINGS_BYTES_MAX} bytes of JSON`);
  return settings;
}
