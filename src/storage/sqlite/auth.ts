/**
 * The AuthStore port on the hub's SQLite file (component 'auth'): API clients and token signing keys.
 * Every call is one unit of the group commit, so a change is durable when the promise settles, and another
 * process on the same WAL database (the `mxgate clients` / `mxgate keys` commands) sees it at its next read.
 */
import { SCOPES, type AuthStore, type ClientRecord, type ClientUpdate, type Scope, type SigningKeyRecord, type SigningKeyState } from '../../ports/auth.js';
import type { Migration, SqliteDatabase } from './database.js';

export const AUTH_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'API clients and access token signing keys',
    sql: `
      CREATE TABLE auth_clients (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        profile TEXT,
        settings TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE auth_signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('current', 'previous', 'retired')),
        private_jwk TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        token_ttl_max_s INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        rotated_at INTEGER,
        retire_at INTEGER
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX auth_one_current_key ON auth_signing_keys (state) WHERE state = 'current';
    `,
  },
];

interface ClientRow {
  id: string;
  name: string;
  secret_hash: string;
  scopes: string;
  enabled: number;
  profile: string | null;
  settings: string;
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

function toClient(row: ClientRow): ClientRecord {
  const settings = JSON.parse(row.settings) as unknown;
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    // Unknown words (a scope of a newer version read by an older one) are dropped, never granted.
    scopes: row.scopes.split(' ').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
    enabled: row.enabled === 1,
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

export class SqliteAuthStore implements AuthStore {
  readonly #db: SqliteDatabase;
  readonly #s;

  constructor(database: SqliteDatabase) {
    this.#db = database;
    this.#db.migrate('auth', AUTH_MIGRATIONS);
    const p = (sql: string) => this.#db.prepare(sql);
    this.#s = {
      insertClient: p(`INSERT INTO auth_clients (${CLIENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
      insertFirstClient: p(`INSERT INTO auth_clients (${CLIENT_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?
        WHERE NOT EXISTS (SELECT 1 FROM auth_clients)`),
      getClient: p(`SELECT ${CLIENT_COLUMNS} FROM auth_clients WHERE id = ?`),
      listClients: p(`SELECT ${CLIENT_COLUMNS} FROM auth_clients ORDER BY created_at, id LIMIT ?`),
      countClients: p('SELECT count(*) FROM auth_clients').pluck(),
      updateClient: p(`UPDATE auth_clients SET name = ?, secret_hash = ?, scopes = ?, enabled = ?, profile = ?, settings = ?, updated_at = ?
        WHERE id = ?`),
      liveKeys: p(`SELECT ${KEY_COLUMNS} FROM auth_signing_keys WHERE state != 'retired' ORDER BY created_at DESC, kid`),
      currentKey: p(`SELECT ${KEY_COLUMNS} FROM auth_signing_keys WHERE state = 'current'`),
      insertKey: p(`INSERT INTO auth_signing_keys (${KEY_COLUMNS}) VALUES (?, ?, 'current', ?, ?, ?, ?, NULL, NULL)`),
      demoteCurrent: p(`UPDATE auth_signing_keys SET state = 'previous', rotated_at = ?, retire_at = ? + (token_ttl_max_s + ?) * 1000
        WHERE state = 'current'`),
      raiseTtl: p('UPDATE auth_signing_keys SET token_ttl_max_s = max(token_ttl_max_s, ?) WHERE kid = ?'),
      retire: p(`UPDATE auth_signing_keys SET state = 'retired', private_jwk = '' WHERE state = 'previous' AND retire_at <= ?`),
    };
  }

  insertClient(client: ClientRecord, options?: { onlyIfNone?: boolean }): Promise<boolean> {
    const statement = options?.onlyIfNone ? this.#s.insertFirstClient : this.#s.insertClient;
    return this.#db.run(
      () =>
        statement.run(
          client.id,
          client.name,
          client.secretHash,
          client.scopes.join(' '),
          client.enabled ? 1 : 0,
          client.profile,
          JSON.stringify(client.settings),
          client.createdAt,
          client.updatedAt,
        ).changes === 1,
    );
  }

  getClient(id: string): Promise<ClientRecord | null> {
    return this.#db.run(() => {
      const row = this.#s.getClient.get(id) as ClientRow | undefined;
      return row ? toClient(row) : null;
    });
  }

  listClients(limit: number): Promise<ClientRecord[]> {
    return this.#db.run(() => (this.#s.listClients.all(limit) as ClientRow[]).map(toClient));
  }

  countClients(): Promise<number> {
    return this.#db.run(() => this.#s.countClients.get() as number);
  }

  updateClient(id: string, update: ClientUpdate, now: number): Promise<ClientRecord | null> {
    return this.#db.run(() => {
      const row = this.#s.getClient.get(id) as ClientRow | undefined;
      if (!row) return null;
      const next: ClientRecord = { ...toClient(row), ...update, updatedAt: now };
      this.#s.updateClient.run(
        next.name,
        next.secretHash,
        next.scopes.join(' '),
        next.enabled ? 1 : 0,
        next.profile,
        JSON.stringify(next.settings),
        now,
        id,
      );
      return next;
    });
  }

  liveKeys(): Promise<SigningKeyRecord[]> {
    return this.#db.run(() => (this.#s.liveKeys.all() as KeyRow[]).map(toKey));
  }

  ensureCurrentKey(key: SigningKeyRecord): Promise<SigningKeyRecord> {
    return this.#db.run(() => {
      const current = this.#s.currentKey.get() as KeyRow | undefined;
      if (current) return toKey(current);
      this.#insertKey(key);
      return { ...key, state: 'current', rotatedAt: null, retireAt: null };
    });
  }

  rotateKeys(key: SigningKeyRecord, now: number, skewS: number): Promise<void> {
    return this.#db.run(() => {
      this.#s.demoteCurrent.run(now, now, skewS);
      this.#insertKey(key);
      this.#s.retire.run(now);
    });
  }

  raiseKeyTtl(kid: string, ttlS: number): Promise<void> {
    return this.#db.run(() => {
      this.#s.raiseTtl.run(ttlS, kid);
    });
  }

  retireExpiredKeys(now: number): Promise<number> {
    return this.#db.run(() => this.#s.retire.run(now).changes);
  }

  #insertKey(key: SigningKeyRecord): void {
    this.#s.insertKey.run(key.kid, key.alg, key.privateJwk, key.publicJwk, key.tokenTtlMaxS, key.createdAt);
  }
}
