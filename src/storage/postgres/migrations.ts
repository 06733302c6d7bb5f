/**
 * Versioned migrations of the PostgreSQL store, owned by this engine (the SQLite engine has its own).
 *
 * Every object lives in the configured schema. `schema_migrations` records what is applied, per component
 * and version. Each migration runs in its own transaction that first takes a transaction-level advisory lock
 * on the schema, then checks whether the version is applied: several processes starting at once queue on the
 * lock, and exactly one of them applies each migration (the others find it recorded). A failed migration rolls
 * back whole and stops the start.
 *
 * Identifiers that listing orders by (ids, keys) use the "C" collation, so PostgreSQL sorts them byte by byte
 * as SQLite does, whatever the database's default collation; time columns are epoch milliseconds (bigint) as
 * given by the Clock port, except the outbox's own bookkeeping, which uses the database's clock. Amounts are
 * TEXT, never numeric types.
 */
import type { Logger } from '../../log.js';
import type { PostgresDatabase } from './database.js';

export interface PostgresMigration {
  component: 'store' | 'workflow' | 'auth';
  version: number;
  description: string;
  /** Runs with search_path set to the store's schema (SET LOCAL), so names are unqualified. */
  sql: string;
}

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    component: 'store',
    version: 1,
    description: 'key-value records with versions and expiry; the outbox of queue messages',
    sql: `
      CREATE TABLE kv (
        namespace TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        value TEXT NOT NULL,
        version INTEGER NOT NULL,
        expires_at BIGINT,
        PRIMARY KEY (namespace, key)
      );
      CREATE INDEX kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;

      CREATE TABLE outbox (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        queue TEXT COLLATE "C" NOT NULL,
        message_id TEXT NOT NULL,
        body TEXT NOT NULL,
        group_id TEXT,
        dedup_id TEXT,
        delay_s INTEGER,
        attributes JSONB,
        created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
        last_error TEXT
      );
      CREATE INDEX outbox_queue ON outbox (queue, id);
    `,
  },
  {
    component: 'workflow',
    version: 1,
    description: 'transactions, payments, history, audit, messages and business keys',
    sql: `
      CREATE TABLE transactions (
        id TEXT COLLATE "C" PRIMARY KEY,
        client_id TEXT COLLATE "C" NOT NULL,
        status TEXT NOT NULL,
        reason_code TEXT,
        reason_text TEXT,
        message_type TEXT,
        msg_id TEXT,
        content_hash TEXT,
        duplicate_of TEXT,
        deadline_at BIGINT,
        group_key TEXT,
        awaiting_downstream BOOLEAN NOT NULL DEFAULT FALSE,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        received_at BIGINT,
        version INTEGER NOT NULL
      );
      CREATE INDEX transactions_client ON transactions (client_id, created_at, id);
      CREATE INDEX transactions_deadline ON transactions (deadline_at) WHERE deadline_at IS NOT NULL;
      CREATE INDEX transactions_msg ON transactions (msg_id) WHERE msg_id IS NOT NULL;

      CREATE TABLE payments (
        transaction_id TEXT COLLATE "C" NOT NULL,
        idx INTEGER NOT NULL,
        end_to_end_id TEXT,
        tx_id TEXT,
        uetr TEXT,
        instr_id TEXT,
        amount TEXT,
        currency TEXT,
        status TEXT NOT NULL,
        reason_code TEXT,
        reason_text TEXT,
        PRIMARY KEY (transaction_id, idx)
      );
      CREATE INDEX payments_e2e ON payments (end_to_end_id) WHERE end_to_end_id IS NOT NULL;
      CREATE INDEX payments_uetr ON payments (uetr) WHERE uetr IS NOT NULL;

      CREATE TABLE history (
        transaction_id TEXT COLLATE "C" NOT NULL,
        seq INTEGER NOT NULL,
        status TEXT NOT NULL,
        reason_code TEXT,
        at BIGINT NOT NULL,
        PRIMARY KEY (transaction_id, seq)
      );

      CREATE TABLE audit (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id TEXT COLLATE "C" NOT NULL,
        kind TEXT NOT NULL,
        detail JSONB NOT NULL,
        at BIGINT NOT NULL
      );
      CREATE INDEX audit_transaction ON audit (transaction_id, id);

      CREATE TABLE transaction_messages (
        transaction_id TEXT COLLATE "C" NOT NULL,
        kind TEXT NOT NULL,
        message_type TEXT NOT NULL,
        xml TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (transaction_id, kind)
      );

      CREATE TABLE business_keys (
        client_id TEXT COLLATE "C" NOT NULL,
        kind TEXT COLLATE "C" NOT NULL,
        value TEXT COLLATE "C" NOT NULL,
        transaction_id TEXT NOT NULL,
        content_hash TEXT,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (client_id, kind, value)
      );
      CREATE INDEX business_keys_expiry ON business_keys (expires_at);
    `,
  },
  {
    component: 'auth',
    version: 1,
    description: 'API clients and access token signing keys',
    sql: `
      CREATE TABLE auth_clients (
        id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        scopes TEXT NOT NULL,
        enabled BOOLEAN NOT NULL,
        profile TEXT,
        settings JSONB NOT NULL DEFAULT '{}',
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE TABLE auth_signing_keys (
        kid TEXT COLLATE "C" PRIMARY KEY,
        alg TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('current', 'previous', 'retired')),
        private_jwk TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        token_ttl_max_s INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        rotated_at BIGINT,
        retire_at BIGINT
      );
      CREATE UNIQUE INDEX auth_one_current_key ON auth_signing_keys (state) WHERE state = 'current';
    `,
  },
  {
    component: 'workflow',
    version: 2,
    description: 'an index of reserved ids (ACCP) by age, for their expiry',
    sql: `CREATE INDEX transactions_reserved ON transactions (created_at) WHERE status = 'ACCP' AND duplicate_of IS NULL;`,
  },
  {
    component: 'workflow',
    version: 3,
    description: 'when the forwarding of a payment downstream started, committed before its request',
    sql: `ALTER TABLE transactions ADD COLUMN forwarded_at BIGINT;`,
  },
];

/** Advisory lock class of migrations (the second key is the hash of the schema name). */
export const MIGRATION_LOCK_CLASS = 0x6d78_6701;

/**
 * Creates the schema when missing and applies the migrations not applied yet, in order, each in its own
 * transaction under the schema's advisory lock. Returns the migrations this call applied.
 */
export async function migrate(database: PostgresDatabase, logger: Logger, migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS): Promise<PostgresMigration[]> {
  const schema = database.schema;
  const lock = (client: { query: (text: string, values: unknown[]) => Promise<unknown> }) =>
    client.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [MIGRATION_LOCK_CLASS, schema]);
  await database.transaction(async ({ client }) => {
    await lock(client);
    // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists, which a
    // role of a managed database given one existing schema may lack.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${database.name('schema_migrations')} (
      component TEXT NOT NULL, version INTEGER NOT NULL, description TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (component, version))`);
  });
  const applied: PostgresMigration[] = [];
  const ordered = [...migrations].sort((a, b) => a.component.localeCompare(b.component) || a.version - b.version);
  for (const migration of ordered) {
    const done = await database.transaction(async ({ client }) => {
      await lock(client);
      const seen = await client.query(`SELECT 1 FROM ${database.name('schema_migrations')} WHERE component = $1 AND version = $2`, [migration.component, migration.version]);
      if (seen.rowCount !== 0) return false;
      await client.query(`SET LOCAL search_path TO "${schema}"`);
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${database.name('schema_migrations')} (component, version, description) VALUES ($1, $2, $3)`, [
        migration.component,
        migration.version,
        migration.description,
      ]);
      return true;
    });
    if (done) {
      applied.push(migration);
      logger.info({ schema, component: migration.component, version: migration.version, description: migration.description }, 'database migration applied');
    }
  }
  return applied;
}
