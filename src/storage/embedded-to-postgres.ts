/**
 * Moves the data of an embedded hub (its SQLite file) into the PostgreSQL store of a distributed hub, so that
 * clients keep their credentials, issued tokens stay valid, duplicate protection goes on and history moves along.
 * `mxgate migrate-store` is its command line.
 *
 *   inspect source ──blocked?──► refused (coded error, nothing written)       dry run: the report, nothing written
 *        │                                                                       ▲
 *   inspect target ──holds data?──► refused ──────────────────────────────────────┘
 *        │
 *   migrate target (the store's own migrations) ──► one PostgreSQL transaction: lock, check empty, copy, COMMIT
 *
 * The source is opened read-only and read in one SQLite read transaction, so the copy is one consistent
 * snapshot. The hub must be stopped: a database a hub works on has a write-ahead log with frames in it (a hub
 * that stops cleanly checkpoints and removes it) or a live scheduler lease, and both refuse the move; a commit of
 * any other connection during the copy (PRAGMA data_version moves) rolls the PostgreSQL transaction back.
 *
 * What blocks the move (the embedded hub must finish or hand out its work first, since the distributed hub's
 * queues start empty): transactions in ACTC or ACSP, and live messages in any queue but the events queue
 * (stage queues and their dead-letter queues, queues of the queue API, and participant queues unless the operator
 * chooses to leave their messages behind: they are copies of status reports that move with their transactions). Reserved ids (ACCP)
 * are carried: they hold no message and the distributed hub accepts their submission or expires them.
 *
 * What is carried: API clients (with their secret hashes), signing keys, every transaction with its payments,
 * history, audit rows and stored messages, business keys not yet expired, and the key-value records not yet
 * expired (idempotency keys) except leases, which name processes of the old hub. What stays behind: messages of
 * the events queue, and queue definitions (the distributed hub creates its own queues; queues made through the
 * queue API are named in the report, to be created again).
 *
 * Every table is copied column by column from explicit lists, checked against both databases' columns before
 * anything is written, so that a column added by a later migration stops the move instead of being lost. Rows go
 * in statements of at most ROWS_PER_STATEMENT rows (or STATEMENT_BYTES_MAX bytes of text) through `unnest` of
 * arrays, read from SQLite with an iterator: memory stays bounded whatever the size of the hub.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { MxError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock } from '../ports/clock.js';
import { LEASE_NAMESPACE } from '../pipeline/lease.js';
import { EVENTS_QUEUE, isHubQueue } from '../pipeline/queues.js';
import { signsOfRunningHub } from './sqlite/backup.js';
import { DEFAULT_POOL_OPTIONS, PostgresDatabase } from './postgres/database.js';
import { migrate } from './postgres/migrations.js';

/** PostgreSQL type of a copied column: the array type `unnest` reads, and how a SQLite value becomes it. */
type ColumnType = 'text' | 'int' | 'bigint' | 'boolean' | 'jsonb';

interface TableSpec {
  table: string;
  columns: ReadonlyArray<readonly [name: string, type: ColumnType]>;
  /** SQLite condition of the rows copied (`@now` is the clock's time); every row when absent. */
  where?: string;
  /** Primary key order: the target's indexes fill in order. */
  orderBy: string;
  /** The target's id column is GENERATED ALWAYS: the source's ids are kept, and its sequence is moved past them. */
  identity?: string;
}

/** The scheduler lease's namespace in the key-value table (pipeline/lease.ts). */

/** In the order copied: parents before the rows that name them. */
export const TABLES: readonly TableSpec[] = [
  {
    table: 'auth_clients',
    columns: [['id', 'text'], ['name', 'text'], ['secret_hash', 'text'], ['scopes', 'text'], ['enabled', 'boolean'], ['profile', 'text'],
      ['settings', 'jsonb'], ['created_at', 'bigint'], ['updated_at', 'bigint']],
    orderBy: 'id',
  },
  {
    table: 'auth_signing_keys',
    columns: [['kid', 'text'], ['alg', 'text'], ['state', 'text'], ['private_jwk', 'text'], ['public_jwk', 'text'], ['token_ttl_max_s', 'int'],
      ['created_at', 'bigint'], ['rotated_at', 'bigint'], ['retire_at', 'bigint']],
    orderBy: 'kid',
  },
  {
    table: 'kv',
    columns: [['namespace', 'text'], ['key', 'text'], ['value', 'text'], ['version', 'int'], ['expires_at', 'bigint']],
    where: `namespace != '${LEASE_NAMESPACE}' AND (expires_at IS NULL OR expires_at > @now)`,
    orderBy: 'namespace, key',
  },
  {
    table: 'transactions',
    columns: [['id', 'text'], ['client_id', 'text'], ['status', 'text'], ['reason_code', 'text'], ['reason_text', 'text'], ['message_type', 'text'],
      ['msg_id', 'text'], ['content_hash', 'text'], ['duplicate_of', 'text'], ['deadline_at', 'bigint'], ['group_key', 'text'],
      ['awaiting_downstream', 'boolean'], ['created_at', 'bigint'], ['updated_at', 'bigint'], ['received_at', 'bigint'], ['version', 'int'], ['forwarded_at', 'bigint']],
    orderBy: 'id',
  },
  {
    table: 'payments',
    columns: [['transaction_id', 'text'], ['idx', 'int'], ['end_to_end_id', 'text'], ['tx_id', 'text'], ['uetr', 'text'], ['instr_id', 'text'],
      ['amount', 'text'], ['currency', 'text'], ['status', 'text'], ['reason_code', 'text'], ['reason_text', 'text']],
    orderBy: 'transaction_id, idx',
  },
  {
    table: 'history',
    columns: [['transaction_id', 'text'], ['seq', 'int'], ['status', 'text'], ['reason_code', 'text'], ['at', 'bigint']],
    orderBy: 'transaction_id, seq',
  },
  {
    table: 'audit',
    columns: [['id', 'bigint'], ['transaction_id', 'text'], ['kind', 'text'], ['detail', 'jsonb'], ['at', 'bigint']],
    orderBy: 'id',
    identity: 'id',
  },
  {
    table: 'transaction_messages',
    columns: [['transaction_id', 'text'], ['kind', 'text'], ['message_type', 'text'], ['xml', 'text'], ['created_at', 'bigint']],
    orderBy: 'transaction_id, kind',
  },
  {
    table: 'business_keys',
    columns: [['client_id', 'text'], ['kind', 'text'], ['value', 'text'], ['transaction_id', 'text'], ['content_hash', 'text'], ['expires_at', 'bigint']],
    where: 'expires_at > @now',
    orderBy: 'client_id, kind, value',
  },
];

/** Tables of the target that must be empty: the copied ones, and the outbox (rows there mean a hub ran on it). */
const TARGET_TABLES = [...TABLES.map((t) => t.table), 'outbox'];

/** Components of the embedded database's migrations (storage/sqlite, broker/embedded) a hub's file holds. */
const SOURCE_COMPONENTS = ['store', 'workflow', 'auth', 'queues'];

/** Statuses of work in flight: the embedded hub must finish these before the move. */
const IN_FLIGHT = ['ACTC', 'ACSP'] as const;
/** Ids of blocking transactions named in the refusal, at most. */
const EXAMPLES_MAX = 5;

export const ROWS_PER_STATEMENT = 5000;
/** Text carried by one insert statement, at most (stored messages are kilobytes each). */
export const STATEMENT_BYTES_MAX = 16 * 1024 * 1024;
/** Server-side limit on one statement of the copy (the pool's default is sized for the hub's small statements). */
const STATEMENT_TIMEOUT_MS = 10 * 60_000;

export interface Blocker {
  code: ErrorCode;
  message: string;
}

export interface TableCount {
  table: string;
  /** Rows copied (or, in a dry run, to copy). */
  rows: number;
  /** Rows of the source left out: expired business keys and key-value records, leases. */
  skipped: number;
}

export interface MoveReport {
  dryRun: boolean;
  source: string;
  schema: string;
  /** Whether the target schema existed before (a dry run does not create it). */
  targetExisted: boolean;
  tables: TableCount[];
  blockers: Blocker[];
  /** What stays behind, for the operator to act on. */
  notes: string[];
  elapsedMs: number;
}

export interface MoveOptions {
  /** The embedded database file (<dataDir>/mxgate.db). */
  path: string;
  /** postgres://... of the distributed store. */
  url: string;
  schema: string;
  dryRun: boolean;
  /**
   * Leave the messages of participant queues behind instead of refusing: for clients that fetch their reports at
   * GET /v1/outbox/{id}, where the reports stay (they move with their transactions). Default false.
   */
  leaveParticipantMessages?: boolean;
  clock: Clock;
  logger: Logger;
  /** Called when a table is copied, for progress output. */
  onTable?: (count: TableCount) => void;
  /** Rows per insert statement (default ROWS_PER_STATEMENT); tests lower it to cross statement boundaries. */
  rowsPerStatement?: number;
}

/**
 * Inspects the embedded database and the target and, unless this is a dry run, copies the one into the other.
 * Throws a coded error, having written nothing, when something blocks the move; a dry run reports the blockers.
 */
export async function moveEmbeddedToPostgres(options: MoveOptions): Promise<MoveReport> {
  const started = performance.now();
  if (!existsSync(options.path)) throw new MxError('CONFIG_INVALID', `no embedded database at ${options.path}: give the hub's data directory`);
  // Before opening: a read-only connection leaves an empty log behind, which tells nothing.
  const running = signsOfRunningHub(options.path, options.clock.now());
  const source = openSource(options.path);
  let target: PostgresDatabase | null = null;
  try {
    const now = options.clock.now();
    source.prepare('BEGIN').run();
    checkSourceColumns(source);
    const blockers: Blocker[] = running.map((message) => ({ code: 'STORE_UNAVAILABLE', message }));
    const leave = options.leaveParticipantMessages === true;
    blockers.push(...inspectSource(source, now, leave));
    const notes = sourceNotes(source, now, leave);
    const tables = TABLES.map((spec) => countRows(source, spec, now));

    target = new PostgresDatabase({
      ...DEFAULT_POOL_OPTIONS,
      poolMax: 2,
      statementTimeoutMs: STATEMENT_TIMEOUT_MS,
      url: options.url,
      schema: options.schema,
      logger: options.logger,
    });
    const before = await inspectTarget(target);
    if (before.occupied.length > 0) blockers.push(occupiedBlocker(options.schema, before.occupied));
    const report = (copied: TableCount[]): MoveReport => ({
      dryRun: options.dryRun,
      source: options.path,
      schema: options.schema,
      targetExisted: before.exists,
      tables: copied,
      blockers,
      notes,
      elapsedMs: Math.round(performance.now() - started),
    });
    if (options.dryRun) return report(tables);
    if (blockers.length > 0) throw refusal(blockers);

    await migrate(target, options.logger);
    await checkTargetColumns(target);
    const copied = await copyAll({ source, target, now, options });
    return report(copied);
  } finally {
    if (source.inTransaction) source.prepare('ROLLBACK').run();
    source.close();
    await target?.close();
  }
}

function openSource(path: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (cause) {
    throw new MxError('STORE_UNAVAILABLE', `cannot open the embedded database ${path} read-only`, { cause });
  }
  try {
    const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined;
    const components = hasTable ? (db.prepare('SELECT DISTINCT component FROM schema_migrations').pluck().all() as string[]) : [];
    const missing = SOURCE_COMPONENTS.filter((c) => !components.includes(c));
    if (missing.length > 0) {
      throw new MxError('CONFIG_INVALID', `${path} is not the database of an embedded hub that has started (no ${missing.join(', ')} tables)`);
    }
  } catch (error) {
    db.close();
    if (error instanceof MxError) throw error;
    throw new MxError('STORE_UNAVAILABLE', `cannot read the embedded database ${path}`, { cause: error });
  }
  return db;
}

/** Refuses when a table's columns differ from the list copied: a column of another version would be lost. */
function checkColumns(side: string, table: string, actual: readonly string[], spec: TableSpec): void {
  const expected = spec.columns.map(([name]) => name);
  const unknown = actual.filter((c) => !expected.includes(c));
  const absent = expected.filter((c) => !actual.includes(c));
  if (unknown.length === 0 && absent.length === 0) return;
  const parts = [unknown.length > 0 ? `columns ${unknown.join(', ')} unknown to this version` : '', absent.length > 0 ? `columns ${absent.join(', ')} missing` : '']
    .filter(Boolean)
    .join(', ');
  throw new MxError('CONFIG_INVALID', `the ${side} table ${table} has ${parts}: run migrate-store of the same mxgate version as the hub that wrote the data`);
}

function checkSourceColumns(source: Database.Database): void {
  for (const spec of TABLES) {
    const columns = (source.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(spec.table) as string[]);
    checkColumns('embedded', spec.table, columns, spec);
  }
}

async function checkTargetColumns(target: PostgresDatabase): Promise<void> {
  const result = await target.query<{ table_name: string; column_name: string }>(
    'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1',
    [target.schema],
  );
  for (const spec of TABLES) {
    checkColumns('PostgreSQL', spec.table, result.rows.filter((r) => r.table_name === spec.table).map((r) => r.column_name), spec);
  }
}

/** What keeps the embedded hub's work from moving: a live lease, payments in flight, messages waiting. */
function inspectSource(source: Database.Database, now: number, leaveParticipantMessages: boolean): Blocker[] {
  const blockers: Blocker[] = [];
  const marks = IN_FLIGHT.map(() => '?').join(', ');
  const byStatus = source.prepare(`SELECT status, count(*) AS n FROM transactions WHERE status IN (${marks}) GROUP BY status ORDER BY status`).all(...IN_FLIGHT) as Array<{
    status: string;
    n: number;
  }>;
  if (byStatus.length > 0) {
    const examples = source.prepare(`SELECT id FROM transactions WHERE status IN (${marks}) ORDER BY created_at, id LIMIT ${EXAMPLES_MAX}`).pluck().all(...IN_FLIGHT) as string[];
    const count = byStatus.reduce((sum, r) => sum + r.n, 0);
    blockers.push({
      code: 'TRANSACTION_STATE',
      message: `${count} transaction(s) are not final (${byStatus.map((r) => `${r.status} ${r.n}`).join(', ')}; for example ${examples.join(', ')}): start the hub without intake and let the stages finish them`,
    });
  }

  const waiting = queuedMessages(source, now);
  const others = waiting.filter((r) => !isParticipantQueue(r.name));
  if (others.length > 0) {
    blockers.push({
      code: 'TRANSACTION_STATE',
      message: `${total(others)} message(s) wait in queues (${listed(others)}): let the stages drain, redrive or purge dead letters, consume the queues of the queue API (mxgate queues list / receive / redrive / purge)`,
    });
  }
  const reports = waiting.filter((r) => isParticipantQueue(r.name));
  if (reports.length > 0 && !leaveParticipantMessages) {
    blockers.push({
      code: 'TRANSACTION_STATE',
      message: `${total(reports)} report(s) wait in participant queues (${listed(reports)}): have the clients consume them, or purge those queues or give --leave-participant-messages when clients fetch reports at GET /v1/outbox/{id} (the reports move with their transactions)`,
    });
  }
  return blockers;
}

interface QueueCount {
  name: string;
  n: number;
}

const isParticipantQueue = (name: string) => name.startsWith('participant.');
const total = (counts: readonly QueueCount[]) => counts.reduce((sum, r) => sum + r.n, 0);
const listed = (counts: readonly QueueCount[]) => counts.map((r) => `${r.name} ${r.n}`).join(', ');

/** Live messages (visible, in flight or delayed) per queue, but the events queue's. */
function queuedMessages(source: Database.Database, now: number): QueueCount[] {
  return source
    .prepare(`SELECT q.name AS name, count(*) AS n FROM queue_messages m JOIN queues q ON q.id = m.queue_id
      WHERE m.expires_at > ? AND q.name != ? GROUP BY q.name ORDER BY q.name`)
    .all(now, EVENTS_QUEUE) as QueueCount[];
}

/** What the move leaves behind without blocking it. */
function sourceNotes(source: Database.Database, now: number, leaveParticipantMessages: boolean): string[] {
  const notes: string[] = [];
  const reports = queuedMessages(source, now).filter((r) => isParticipantQueue(r.name));
  if (leaveParticipantMessages && reports.length > 0) {
    notes.push(`${total(reports)} report(s) of participant queues stay behind (${listed(reports)}); the reports moved with their transactions (GET /v1/outbox/{id})`);
  }
  const events = source
    .prepare('SELECT count(*) FROM queue_messages m JOIN queues q ON q.id = m.queue_id WHERE q.name = ? AND m.expires_at > ?')
    .pluck()
    .get(EVENTS_QUEUE, now) as number;
  if (events > 0) notes.push(`${events} message(s) of ${EVENTS_QUEUE} stay behind (lifecycle events; the transactions themselves move)`);
  const own = (source.prepare('SELECT name FROM queues ORDER BY name').pluck().all() as string[]).filter(
    (name) => !isHubQueue(name) && !isParticipantQueue(name),
  );
  if (own.length > 0) notes.push(`queues made through the queue API are not carried (empty): create them again on the distributed hub: ${own.join(', ')}`);
  return notes;
}

function countRows(source: Database.Database, spec: TableSpec, now: number): TableCount {
  const all = source.prepare(`SELECT count(*) FROM ${spec.table}`).pluck().get() as number;
  const rows = spec.where === undefined ? all : (source.prepare(`SELECT count(*) FROM ${spec.table} WHERE ${spec.where}`).pluck().get({ now }) as number);
  return { table: spec.table, rows, skipped: all - rows };
}

/** Whether the target schema exists, and which of its tables hold rows. Reads only. */
async function inspectTarget(target: PostgresDatabase): Promise<{ exists: boolean; occupied: string[] }> {
  return target.reads(async (client) => {
    const exists = (await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [target.schema])).rowCount !== 0;
    return { exists, occupied: exists ? await occupiedTables(client, target) : [] };
  });
}

async function occupiedTables(client: pg.PoolClient, target: PostgresDatabase): Promise<string[]> {
  const present = await client.query<{ name: string }>(
    'SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY($2::text[])',
    [target.schema, TARGET_TABLES],
  );
  const names = present.rows.map((r) => r.name).filter((n) => TARGET_TABLES.includes(n));
  if (names.length === 0) return [];
  const probes = names.map((n) => `SELECT '${n}' AS name WHERE EXISTS (SELECT 1 FROM ${target.name(n)})`).join(' UNION ALL ');
  return (await client.query<{ name: string }>(probes)).rows.map((r) => r.name).sort();
}

function occupiedBlocker(schema: string, tables: string[]): Blocker {
  return {
    code: 'CONFIG_INVALID',
    message: `the target schema "${schema}" already holds data (${tables.join(', ')}): the move copies into an empty store only, never merges; give a new --schema or an empty database`,
  };
}

function refusal(blockers: Blocker[]): MxError {
  const message = blockers.length === 1 ? blockers[0]!.message : blockers.map((b, i) => `(${i + 1}) ${b.message}`).join('; ');
  return new MxError(blockers[0]!.code, `migrate-store refused, nothing was written: ${message}`, { details: { blockers } });
}

interface CopyContext {
  source: Database.Database;
  target: PostgresDatabase;
  now: number;
  options: MoveOptions;
}

/** The copy, in one PostgreSQL transaction that commits only if the source did not change meanwhile. */
async function copyAll({ source, target, now, options }: CopyContext): Promise<TableCount[]> {
  const client = await target.connect();
  const dataVersion = () => source.pragma('data_version', { simple: true }) as number;
  let dropConnection = false;
  try {
    await client.query('BEGIN');
    // Writers wait (a distributed hub started on the target too early), readers do not.
    await client.query(`LOCK TABLE ${TARGET_TABLES.map((t) => target.name(t)).join(', ')} IN SHARE ROW EXCLUSIVE MODE`);
    const occupied = await occupiedTables(client, target);
    if (occupied.length > 0) throw refusal([occupiedBlocker(target.schema, occupied)]);
    const versionBefore = dataVersion();
    const counts: TableCount[] = [];
    for (const spec of TABLES) {
      const count = await copyTable({ source, target, client, spec, now, rowsPerStatement: options.rowsPerStatement ?? ROWS_PER_STATEMENT });
      counts.push(count);
      options.onTable?.(count);
    }
    for (const spec of TABLES.filter((t) => t.identity !== undefined)) {
      await client.query(`SELECT setval(pg_get_serial_sequence($1, $2), max(${spec.identity})) FROM ${target.name(spec.table)} HAVING count(*) > 0`, [
        target.name(spec.table),
        spec.identity,
      ]);
    }
    // The snapshot ends here; a commit of another connection since the start shows as a new data_version.
    source.prepare('COMMIT').run();
    if (dataVersion() !== versionBefore) {
      throw new MxError('STORE_UNAVAILABLE', 'migrate-store refused, nothing was written: the embedded database changed during the copy, so a hub is running on it; stop it and run again');
    }
    await client.query('COMMIT');
    return counts;
  } catch (error) {
    // A connection that cannot roll back is closed rather than given back to the pool.
    await client.query('ROLLBACK').catch(() => (dropConnection = true));
    throw error;
  } finally {
    client.release(dropConnection);
  }
}

interface TableCopy {
  source: Database.Database;
  target: PostgresDatabase;
  client: pg.PoolClient;
  spec: TableSpec;
  now: number;
  rowsPerStatement: number;
}

/** Copies one table in statements of bounded size; the next batch is read while the previous one is inserted. */
async function copyTable({ source, target, client, spec, now, rowsPerStatement }: TableCopy): Promise<TableCount> {
  const names = spec.columns.map(([name]) => name);
  const select = `SELECT ${names.join(', ')} FROM ${spec.table}${spec.where === undefined ? '' : ` WHERE ${spec.where}`} ORDER BY ${spec.orderBy}`;
  const statement = source.prepare(select).raw(true);
  const insert = insertSql(target, spec);
  const all = source.prepare(`SELECT count(*) FROM ${spec.table}`).pluck().get() as number;
  let columns = spec.columns.map((): unknown[] => []);
  let bytes = 0;
  let rows = 0;
  let inFlight: Promise<unknown> | null = null;
  const send = async () => {
    if (columns[0]!.length === 0) return;
    const values = columns;
    columns = spec.columns.map((): unknown[] => []);
    bytes = 0;
    if (inFlight !== null) await inFlight;
    inFlight = client.query(insert, values);
    // Awaited before the next send or at the end; a failure meanwhile must not count as unhandled.
    inFlight.catch(() => undefined);
  };
  for (const row of statement.iterate(...(spec.where === undefined ? [] : [{ now }])) as IterableIterator<unknown[]>) {
    spec.columns.forEach(([, type], i) => {
      const value = toTarget(row[i], type, spec.table, names[i]!);
      if (typeof value === 'string') bytes += value.length;
      columns[i]!.push(value);
    });
    rows += 1;
    if (columns[0]!.length >= rowsPerStatement || bytes >= STATEMENT_BYTES_MAX) await send();
  }
  await send();
  if (inFlight !== null) await inFlight;
  return { table: spec.table, rows, skipped: all - rows };
}

/** `INSERT ... SELECT ... FROM unnest($1::type[], ...)`: one statement for a batch of rows, typed per column. */
function insertSql(target: PostgresDatabase, spec: TableSpec): string {
  const quoted = spec.columns.map(([name]) => `"${name}"`);
  const arrays = spec.columns.map(([, type], i) => `$${i + 1}::${type === 'jsonb' ? 'text' : type}[]`);
  const selected = spec.columns.map(([name, type]) => (type === 'jsonb' ? `r."${name}"::jsonb` : `r."${name}"`));
  return `INSERT INTO ${target.name(spec.table)} (${quoted.join(', ')})${spec.identity === undefined ? '' : ' OVERRIDING SYSTEM VALUE'}
    SELECT ${selected.join(', ')} FROM unnest(${arrays.join(', ')}) AS r(${quoted.join(', ')})`;
}

/** A SQLite value as the PostgreSQL column takes it: 0/1 to booleans; integers only when exact; text as it is. */
function toTarget(value: unknown, type: ColumnType, table: string, column: string): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'boolean':
      if (value === 0 || value === 1) return value === 1;
      break;
    case 'int':
    case 'bigint':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      break;
    case 'text':
    case 'jsonb':
      if (typeof value === 'string') return value;
      break;
  }
  throw new MxError('CONFIG_INVALID', `the embedded table ${table} holds ${JSON.stringify(value)} in column ${column}, which is not a ${type}: the move stops rather than change it`);
}
