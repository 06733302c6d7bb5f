/**
 * The AuthStore port on PostgreSQL (the semantics of src/storage/sqlite/auth.ts): API clients and token signing
 * keys, shared by every process of a distributed hub.
 *
 * Each call is one transaction. Where SQLite relies on its single writer, this engine serializes explicitly:
 * creating the first client and changing which key is current take a transaction-level advisory lock, so two
 * processes starting at once make one bootstrap client and one current key; an update reads its row FOR UPDATE.
 * The partial unique index on the current key backs this up: two current keys can never be committed.
 */
import { SCOPES, type AuthStore, type ClientRecord, type ClientUpdate, type Scope, type SigningKeyRecord, type SigningKeyState } from '../../ports/auth.js';
import type { PostgresDatabase } from './database.js';

interface ClientRow {
  id: string;
  name: string;
  secret_hash: string;
  scopes: string;
  enabled: boolean;
  profile: string | null;
  settings: unknown;
  created_at: number;
  updated_at: number;
}

interface KeyRow {
  kid: string;
  alg: string;
  state: string;
  private_jwk: string;
  public_jwk: string;
  token_ttl_max_s: number;
  created_at: number;
  rotated_at: number | null;
  retire_at: number | null;
}

const CLIENT_COLUMNS = 'id, name, secret_hash, scopes, enabled, profile, settings, created_at, updated_at';
const KEY_COLUMNS = 'kid, alg, state, private_jwk, public_jwk, token_ttl_max_s, created_at, rotated_at, retire_at';

/** Advisory lock class of auth changes that must not run side by side (second key: the schema's hash). */
export const AUTH_LOCK_CLASS = 0x6d78_6703;

function toClient(row: ClientRow): ClientRecord {
  const settings = row.settings;
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    // Unknown words (a scope of a newer version read by an older one) are dropped, never granted.
    scopes: row.scopes.split(' ').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
    enabled: row.enabled,
    profile: row.profile,
    settings: typeof settings === 'object' && settings !== null && !Array.isArray(settings) ? (settings as Record<string, unknown>) : {},
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toKey(row: KeyRow): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: 'ES256',
    state: row.state as SigningKeyState,
    privateJwk: row.private_jwk,
    publicJwk: row.public_jwk,
    tokenTtlMaxS: row.token_ttl_max_s,
    createdAt: row.created_at,
    rotatedAt: row.rotated_at,
    retireAt: row.retire_at,
  };
}

function clientValues(c: ClientRecord): unknown[] {
  return [c.id, c.name, c.secretHash, c.scopes.join(' '), c.enabled, c.profile, JSON.stringify(c.settings), c.createdAt, c.updatedAt];
}

export class PostgresAuthStore implements AuthStore {
  readonly #db: PostgresDatabase;
  readonly #s;

  constructor(database: PostgresDatabase) {
    this.#db = database;
    const clients = database.name('auth_clients');
    const keys = database.name('auth_signing_keys');
    this.#s = {
      lock: 'SELECT pg_advisory_xact_lock($1::int, hashtext($2))',
      insertClient: `INSERT INTO ${clients} (${CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
      insertFirstClient: `INSERT INTO ${clients} (${CLIENT_COLUMNS}) SELECT $1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9
        WHERE NOT EXISTS (SELECT 1 FROM ${clients})`,
      getClient: `SELECT ${CLIENT_COLUMNS} FROM ${clients} WHERE id = $1`,
      lockClient: `SELECT ${CLIENT_COLUMNS} FROM ${clients} WHERE id = $1 FOR UPDATE`,
      listClients: `SELECT ${CLIENT_COLUMNS} FROM ${clients} ORDER BY created_at, id LIMIT $1`,
      countClients: `SELECT count(*) AS n FROM ${clients}`,
      updateClient: `UPDATE ${clients} SET name = $2, secret_hash = $3, scopes = $4, enabled = $5, profile = $6, settings = $7, updated_at = $8
        WHERE id = $1`,
      liveKeys: `SELECT ${KEY_COLUMNS} FROM ${keys} WHERE state <> 'retired' ORDER BY created_at DESC, kid`,
      currentKey: `SELECT ${KEY_COLUMNS} FROM ${keys} WHERE state = 'current'`,
      insertKey: `INSERT INTO ${keys} (${KEY_COLUMNS}) VALUES ($1, $2, 'current', $3, $4, $5, $6, NULL, NULL)`,
      demoteCurrent: `UPDATE ${keys} SET state = 'previous', rotated_at = $1, retire_at = $1 + (token_ttl_max_s + $2::bigint) * 1000
        WHERE state = 'current'`,
      raiseTtl: `UPDATE ${keys} SET token_ttl_max_s = GREATEST(token_ttl_max_s, $2) WHERE kid = $1`,
      retire: `UPDATE ${keys} SET state = 'retired', private_jwk = '' WHERE state = 'previous' AND retire_at <= $1`,
    };
  }

  insertClient(client: ClientRecord, options?: { onlyIfNone?: boolean }): Promise<boolean> {
    return this.#db.transaction(async ({ client: c }) => {
      if (!options?.onlyIfNone) return (await c.query(this.#s.insertClient, clientValues(client))).rowCount === 1;
      await c.query(this.#s.lock, [AUTH_LOCK_CLASS, `${this.#db.schema}.clients`]);
      return (await c.query(this.#s.insertFirstClient, clientValues(client))).rowCount === 1;
    });
  }

  async getClient(id: string): Promise<ClientRecord | null> {
    const row = (await this.#db.query<ClientRow>(this.#s.getClient, [id])).rows[0];
    return row ? toClient(row) : null;
  }

  async listClients(limit: number): Promise<ClientRecord[]> {
    return (await this.#db.query<ClientRow>(this.#s.listClients, [limit])).rows.map(toClient);
  }

  async countClients(): Promise<number> {
    return (await this.#db.query<{ n: number }>(this.#s.countClients)).rows[0]?.n ?? 0;
  }

  updateClient(id: string, update: ClientUpdate, now: number): Promise<ClientRecord | null> {
    return this.#db.transaction(async ({ client: c }) => {
      const row = (await c.query<ClientRow>(this.#s.lockClient, [id])).rows[0];
      if (!row) return null;
      const next: ClientRecord = { ...toClient(row), ...update, updatedAt: now };
      await c.query(this.#s.updateClient, [id, next.name, next.secretHash, next.scopes.join(' '), next.enabled, next.profile, JSON.stringify(next.settings), now]);
      return next;
    });
  }

  async liveKeys(): Promise<SigningKeyRecord[]> {
    return (await this.#db.query<KeyRow>(this.#s.liveKeys)).rows.map(toKey);
  }

  ensureCurrentKey(key: SigningKeyRecord): Promise<SigningKeyRecord> {
    return this.#db.transaction(async ({ client: c }) => {
      await c.query(this.#s.lock, [AUTH_LOCK_CLASS, `${this.#db.schema}.keys`]);
      const current = (await c.query<KeyRow>(this.#s.currentKey)).rows[0];
      if (current) return toKey(current);
      await c.query(this.#s.insertKey, [key.kid, key.alg, key.privateJwk, key.publicJwk, key.tokenTtlMaxS, key.createdAt]);
      return { ...key, state: 'current', rotatedAt: null, retireAt: null };
    });
  }

  async rotateKeys(key: SigningKeyRecord, now: number, skewS: number): Promise<void> {
    await this.#db.transaction(async ({ client: c }) => {
      await c.query(this.#s.lock, [AUTH_LOCK_CLASS, `${this.#db.schema}.keys`]);
      await c.query(this.#s.demoteCurrent, [now, skewS]);
      await c.query(this.#s.insertKey, [key.kid, key.alg, key.privateJwk, key.publicJwk, key.tokenTtlMaxS, key.createdAt]);
      await c.query(this.#s.retire, [now]);
    });
  }

  async raiseKeyTtl(kid: string, ttlS: number): Promise<void> {
    await this.#db.query(this.#s.raiseTtl, [kid, ttlS]);
  }

  async retireExpiredKeys(now: number): Promise<number> {
    return (await this.#db.query(this.#s.retire, [now])).rowCount ?? 0;
  }
}
