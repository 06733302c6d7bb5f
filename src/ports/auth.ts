/**
 * The authentication store port: API clients and the signing keys of access tokens, kept durably.
 *
 * The auth service (src/auth/service.ts, the keys in src/auth/keys.ts) holds the rules (secret hashing, scopes,
 * token claims, key life cycle); an engine only stores rows. Several processes may share one store (the hub and
 * the `mxgate clients` and `mxgate keys` commands on the same database), so the service re-reads what it caches
 * within seconds.
 *
 * Signing key states:
 *
 *   (created) ──► current ──rotate──► previous ──retireAt passed──► retired (private key wiped, not published)
 *
 * Exactly one key is current. A previous key signs nothing but stays published (JWKS) and accepted until every
 * token it signed has expired: `retireAt` = rotation time + the longest token lifetime it signed with + skew.
 */

/** The scopes of the API: read anything of one's own, submit and consume, administer the hub. */
export const SCOPES = ['mx/read', 'mx/write', 'mx/admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Opaque per-client settings (limits and the like), stored as a JSON object; read them with `clientSetting`. */
export type ClientSettings = Readonly<Record<string, unknown>>;

export interface ClientRecord {
  id: string;
  name: string;
  /** Encoded slow hash of the secret (see src/auth/secrets.ts); never leaves the service. */
  secretHash: string;
  scopes: readonly Scope[];
  enabled: boolean;
  /** Scheme profile the workflow applies to this client's payments ('cbpr+', 'fednow'), or null. */
  profile: string | null;
  settings: ClientSettings;
  /** Epoch ms. */
  createdAt: number;
  updatedAt: number;
}

export type ClientUpdate = Partial<Pick<ClientRecord, 'name' | 'secretHash' | 'scopes' | 'enabled' | 'profile' | 'settings'>>;

export type SigningKeyState = 'current' | 'previous' | 'retired';

export interface SigningKeyRecord {
  kid: string;
  alg: 'ES256';
  state: SigningKeyState;
  /** Private key as a JWK JSON string; empty once retired. */
  privateJwk: string;
  /** Public key as a JWK JSON string (no private part). */
  publicJwk: string;
  /** Longest token lifetime (seconds) any process has signed with this key; bounds its retirement. */
  tokenTtlMaxS: number;
  createdAt: number;
  /** When it stopped being current; null while current. */
  rotatedAt: number | null;
  /** When it stops verifying; null while current. */
  retireAt: number | null;
}

export interface AuthStore {
  /** Inserts a client; false when the id exists. With `onlyIfNone`, inserts only into an empty client table. */
  insertClient(client: ClientRecord, options?: { onlyIfNone?: boolean }): Promise<boolean>;
  getClient(id: string): Promise<ClientRecord | null>;
  /** Every client, oldest first (bounded by `limit`). */
  listClients(limit: number): Promise<ClientRecord[]>;
  countClients(): Promise<number>;
  /** Applies the update and sets updatedAt; returns the updated record, or null when the id is unknown. */
  updateClient(id: string, update: ClientUpdate, now: number): Promise<ClientRecord | null>;

  /** Keys that are current or previous (not retired), newest first. */
  liveKeys(): Promise<SigningKeyRecord[]>;
  /** Inserts `key` as the current key unless one exists; returns the current key either way. */
  ensureCurrentKey(key: SigningKeyRecord): Promise<SigningKeyRecord>;
  /**
   * In one transaction: the current key becomes previous (retireAt = now + its tokenTtlMaxS + skewS),
   * `key` becomes current, and previous keys whose retireAt has passed are retired.
   */
  rotateKeys(key: SigningKeyRecord, now: number, skewS: number): Promise<void>;
  /** Raises the key's tokenTtlMaxS to at least `ttlS`. */
  raiseKeyTtl(kid: string, ttlS: number): Promise<void>;
  /** Retires the previous keys whose retireAt has passed; returns how many. */
  retireExpiredKeys(now: number): Promise<number>;
}
