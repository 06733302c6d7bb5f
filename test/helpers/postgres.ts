/**
 * PostgreSQL for tests: where it is (TEST_POSTGRES_URL, default a local server with trust auth on database
 * `test`), whether it answers, and a fresh schema per test (`mx_test_<random>`) that is dropped afterwards.
 *
 * Tests that need PostgreSQL call `postgresOrSkip()` once at module level: when PostgreSQL is absent they register
 * one skipped test with a clear message, and under CI=true its absence is a failure, never a skip.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, test } from 'node:test';
import pg from 'pg';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { openPostgresStore, type OpenPostgresStoreOptions, type PostgresEngine } from '../../src/storage/postgres/index.js';

export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let availability: Promise<string | null> | null = null;

/** Resolves to null when PostgreSQL answers at POSTGRES_URL, else to the reason it does not. */
export function postgresUnavailableReason(): Promise<string | null> {
  availability ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return null;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return availability;
}

export async function postgresAvailable(): Promise<boolean> {
  return (await postgresUnavailableReason()) === null;
}

/**
 * Returns true when PostgreSQL is there. Otherwise registers a skipped test named after `what` (or, under CI=true,
 * a failing one) and returns false, so the caller registers nothing else.
 */
export async function postgresOrSkip(what: string): Promise<boolean> {
  const reason = await postgresUnavailableReason();
  if (reason === null) return true;
  const message = `PostgreSQL not reachable at ${POSTGRES_URL.replace(/\/\/[^@]*@/, '//')} (${reason}); set TEST_POSTGRES_URL`;
  if (process.env.CI === 'true') {
    test(what, () => {
      throw new Error(`${message}; CI requires it`);
    });
  } else {
    test(what, (t) => t.skip(message));
  }
  return false;
}

/** A schema name no other test uses. */
export function freshSchemaName(): string {
  return `mx_test_${randomBytes(6).toString('hex')}`;
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  if (!/^mx_test_[0-9a-f]+$/.test(schema)) throw new Error(`refusing to drop ${schema}: not a test schema`);
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * Opens PostgreSQL stores on fresh schemas with `defaults` (plus what each call adds), and closes them and drops
 * their schemas after each test. Call at module level or in a describe block.
 */
export function freshStores(defaults: Partial<OpenPostgresStoreOptions> = {}): (extra?: Partial<OpenPostgresStoreOptions>) => Promise<PostgresEngine> {
  const opened: Array<{ engine: PostgresEngine; schema: string }> = [];
  afterEach(async () => {
    for (const { engine, schema } of opened.splice(0)) {
      await engine.close();
      await dropSchema(schema);
    }
  });
  return async (extra = {}) => {
    const schema = freshSchemaName();
    const engine = await openPostgresStore({ url: POSTGRES_URL, schema, clock: new ManualClock(), ids: randomIds, logger: silentLogger(), ...defaults, ...extra });
    opened.push({ engine, schema });
    return engine;
  };
}

/** A statement the driver sent (see `statementsSentDuring`). */
export interface SentStatement {
  text: string;
  /** Statements of the same connection sent before this one and not yet answered when it went out. */
  unanswered: number;
}

/**
 * Runs `during` and returns every statement the driver sent meanwhile, in order, with what was still unanswered on
 * its connection (pipelining).
 */
export async function statementsSentDuring(during: () => Promise<unknown>): Promise<SentStatement[]> {
  const sent: SentStatement[] = [];
  const open = new WeakMap<pg.Client, number>();
  const original = pg.Client.prototype.query;
  const watching = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string };
    const unanswered = open.get(this) ?? 0;
    sent.push({ text: typeof config === 'string' ? config : config.text ?? '', unanswered });
    open.set(this, unanswered + 1);
    const answered = () => open.set(this, (open.get(this) ?? 1) - 1);
    const result = (original as (...a: unknown[]) => unknown).apply(this, args) as Promise<unknown>;
    result.then(answered, answered);
    return result;
  };
  pg.Client.prototype.query = watching as typeof original;
  try {
    await during();
  } finally {
    pg.Client.prototype.query = original;
  }
  return sent;
}
