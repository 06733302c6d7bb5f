/**
 * Signing keys of access tokens: generation (ES256 on P-256, kid = the JWK thumbprint), rotation, the published
 * JWKS and the in-memory key cache that signing and verification read. The key life cycle (current, previous,
 * retired) is described in src/ports/auth.ts; the store applies it, this module decides when.
 *
 * The cache holds the live keys (current and previous) and is re-read every keyCacheMs, and at once for an
 * unknown kid (at most once a second), so a rotation by another process (`mxgate keys rotate`) is seen within
 * keyCacheMs. Loading creates the first key when there is none and retires previous keys whose retireAt has passed.
 */
import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, errors as joseErrors, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Config } from '../config/index.js';
import { assert } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuthStore, SigningKeyRecord } from '../ports/auth.js';
import type { Clock } from '../ports/clock.js';

export interface KeyInfo {
  kid: string;
  alg: 'ES256';
  state: 'current' | 'previous';
  createdAt: number;
  retireAt: number | null;
}

export interface SigningKeysOptions {
  store: Pick<AuthStore, 'liveKeys' | 'ensureCurrentKey' | 'rotateKeys' | 'raiseKeyTtl' | 'retireExpiredKeys'>;
  clock: Clock;
  logger: Logger;
  config: Pick<Config['auth'], 'tokenTtlS' | 'clockSkewS' | 'keyCacheMs'>;
}

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

export class SigningKeys {
  readonly #store: SigningKeysOptions['store'];
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #config: SigningKeysOptions['config'];
  #keys: KeySet | null = null;
  #keysLoading: Promise<KeySet> | null = null;
  #lastForcedKeyRefresh = 0;

  constructor(options: SigningKeysOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#config = options.config;
  }

  /** The key new tokens are signed with. */
  async signingKey(): Promise<{ kid: string; privateKey: CryptoKey }> {
    const key = (await this.#keySet()).current;
    assert(key.privateKey, 'the current key has its private part');
    return { kid: key.record.kid, privateKey: key.privateKey };
  }

  /** The public key of a live key, for jwtVerify; throws jose's JWKSNoMatchingKey for an unknown or retired kid. */
  async verificationKey(kid: string | undefined): Promise<CryptoKey> {
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

  /** The published verification keys (current and previous ones not yet retired), for /.well-known/jwks.json. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const set = await this.#keySet();
    return {
      keys: [...set.byKid.values()].map((k) => ({ ...(JSON.parse(k.record.publicJwk) as JWK), kid: k.record.kid, alg: 'ES256', use: 'sig' })),
    };
  }

  /** Creates the first signing key when there is none (tokens can be issued at once after start). */
  async ensure(): Promise<void> {
    await this.#keySet(true);
  }

  /** Makes a new current key; the old one verifies until every token it signed has expired, then retires. */
  async rotate(): Promise<{ kid: string; previous: string[] }> {
    const now = this.#clock.now();
    const key = await this.#newKey(now);
    await this.#store.rotateKeys(key, now, this.#config.clockSkewS + KEY_CACHE_GRACE_S);
    const set = await this.#keySet(true);
    const previous = [...set.byKid.values()].filter((k) => k.record.state === 'previous').map((k) => k.record.kid);
    this.#logger.info({ kid: key.kid, previous }, 'signing key rotated');
    return { kid: set.current.record.kid, previous };
  }

  async list(): Promise<KeyInfo[]> {
    const set = await this.#keySet(true);
    return [...set.byKid.values()].map((k) => ({
      kid: k.record.kid,
      alg: 'ES256',
      state: k.record.state === 'current' ? 'current' : 'previous',
      createdAt: k.record.createdAt,
      retireAt: k.record.retireAt,
    }));
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
}
