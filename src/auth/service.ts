/**
 * Authentication and tenancy: OAuth 2.0 client credentials, signed access tokens, signing key rotation and the
 * API clients themselves. Engine-neutral: rows live behind the AuthStore port. AuthService (this file) is what the
 * rest of the hub calls; it delegates to the modules beside it, and re-exports what callers need of them:
 *
 * | file          | holds                                                                                  |
 * | ------------- | -------------------------------------------------------------------------------------- |
 * | service.ts    | AuthService: token issuing and verification, client management, the client cache      |
 * | keys.ts       | signing keys: generation, rotation, JWKS, the key cache                                |
 * | attempts.ts   | the limit on failed token requests per client id                                       |
 * | attributes.ts | checks of a client's name, profile and settings; `clientSetting` (re-exported here)    |
 * | scopes.ts     | the scopes and their parsing                                                           |
 * | secrets.ts    | client secrets and their slow hash                                                     |
 * | bootstrap.ts  | the first client, created on first start                                               |
 *
 * Access tokens are JWTs (RFC 9068 profile): ES256, header `kid` and `typ: at+jwt`, claims iss, sub (= client
 * id), aud, iat, exp, jti, scope, client_id. A request is authenticated by verifying the token (signature with
 * a published key, alg, typ, iss, aud, exp and iat with a small skew) and then checking that its client still
 * exists and is enabled; the effective scopes are those of the token that the client still holds.
 *
 * What is cached in memory, and for how long (another process may change the database at any time):
 *
 * | what                  | in          | refreshed                                                                 | bound     |
 * | --------------------- | ----------- | ------------------------------------------------------------------------- | --------- |
 * | signing keys          | keys.ts     | every keyCacheMs, and at once for an unknown kid (at most once a second)  | live keys |
 * | client state          | service.ts  | every clientCacheMs; at once after a change made through this service     | clients   |
 * | verified tokens       | service.ts  | until the token expires (only the signature check is skipped)             | 4096      |
 * | failed token requests | attempts.ts | per client id, for failedAttemptsWindowS                                  | 10000     |
 */
import { SignJWT, errors as joseErrors, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { Config } from '../config/index.js';
import { MxError, assert, isMxError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuthStore, ClientRecord, ClientSettings } from '../ports/auth.js';
import type { Clock } from '../ports/clock.js';
import type { IdGenerator } from '../ports/ids.js';
import { FailedAttempts } from './attempts.js';
import { checkName, checkProfile, checkSettings } from './attributes.js';
import { SigningKeys, type KeyInfo } from './keys.js';
import { SCOPES, isScope, normalizeScopes, parseClientScopes, scopeWords, type Scope } from './scopes.js';
import { SECRET_LENGTH_MAX, dummySecretHash, generateSecret, hashSecret, verifySecret } from './secrets.js';

export { clientSetting } from './attributes.js';
export type { KeyInfo } from './keys.js';

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
const CLIENT_LIST_MAX = 10_000;
const VERIFIED_CACHE_MAX = 4096;

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

export class AuthService {
  readonly #store: AuthStore;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #logger: Logger;
  readonly #config: AuthConfig;
  readonly #keys: SigningKeys;
  readonly #clients = new Map<string, CachedClient>();
  readonly #clientsLoading = new Map<string, Promise<ClientRecord | null>>();
  readonly #verified = new Map<string, VerifiedToken>();
  readonly #attempts: FailedAttempts;

  constructor(options: AuthServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#ids = options.ids;
    this.#logger = options.logger;
    this.#config = options.config;
    this.#keys = new SigningKeys({ store: options.store, clock: options.clock, logger: options.logger, config: options.config });
    this.#attempts = new FailedAttempts({ clock: options.clock, config: options.config });
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
    const retryAfterS = this.#attempts.retryAfterS(clientId);
    if (retryAfterS !== null) {
      throw new OAuthError('invalid_client', `too many failed attempts for this client id; retry after ${retryAfterS} s`, 429, retryAfterS);
    }

    const client = await this.#store.getClient(clientId);
    // An unknown id costs as much as a wrong secret, so timing does not tell which ids exist.
    const matches = await verifySecret(clientSecret, client?.secretHash ?? (await dummySecretHash()));
    if (!client || !matches) {
      this.#attempts.recordFailure(clientId);
      this.#logger.info({ clientId }, 'token request with wrong client credentials');
      throw new OAuthError('invalid_client', 'client authentication failed');
    }
    this.#attempts.clear(clientId);
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

    const key = await this.#keys.signingKey();
    const nowS = Math.floor(this.#clock.now() / 1000);
    const ttlS = this.#config.tokenTtlS;
    const scope = scopes.join(' ');
    const accessToken = await new SignJWT({ scope, client_id: client.id })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: TOKEN_TYPE })
      .setIssuer(this.#config.issuer)
      .setSubject(client.id)
      .setAudience(this.#config.audience)
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + ttlS)
      .setJti(this.#ids.uuid())
      .sign(key.privateKey);
    this.#logger.info({ clientId: client.id, scope, kid: key.kid }, 'access token issued');
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
    return this.#keys.jwks();
  }

  /** Creates the first signing key when there is none (tokens can be issued at once after start). */
  async ensureSigningKey(): Promise<void> {
    await this.#keys.ensure();
  }

  /** Makes a new current key; the old one verifies until every token it signed has expired, then retires. */
  async rotateKeys(): Promise<{ kid: string; previous: string[] }> {
    return this.#keys.rotate();
  }

  async listKeys(): Promise<KeyInfo[]> {
    return this.#keys.list();
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
      ({ payload } = await jwtVerify(token, (header) => this.#keys.verificationKey(header.kid), {
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
}
