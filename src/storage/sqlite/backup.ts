/**
 * Backups of the embedded engine's database, taken while the hub runs, and their restore into a stopped hub's
 * data directory. `mxgate backup` and `mxgate restore` are their command line.
 *
 * A backup is one consistent snapshot of the whole file: the store, the queues (stage messages and reports
 * waiting in participant queues), API clients and signing keys, all as of one commit. It is taken with
 * `VACUUM INTO` on a read-only connection of its own: a read transaction in WAL mode, so the hub's commits go on
 * while it runs (the WAL cannot start over meanwhile and grows; see checkpointer.ts).
 *
 *   VACUUM INTO <to>.partial (0600) ──► flush the hub's WAL ──► flush the copy ──► check the copy ──► rename to <to>
 *
 * The hub's commits reach the WAL before their flush (database.ts, pipelined mode), so a snapshot may hold
 * commits not yet on stable storage: the WAL is flushed once the snapshot is taken, and everything the copy
 * holds is then durable in the hub too. A copy that fails its check is removed and the backup refused.
 *
 * A restore replaces the database of a stopped hub: the backup is checked first (SQLite's quick_check, the tables
 * of an embedded hub, no migration newer than this build knows), the database in place is moved aside with its
 * WAL (`mxgate.db.replaced-<time>`), and the backup is copied in under a temporary name, flushed and renamed, so a
 * crash at any point leaves either the old database or the new one. The hub migrates it forward at its next start.
 *
 * What a restore means for payments: everything after the backup is unknown to the restored hub, its business
 * keys included, so a payment accepted after the backup and submitted again is processed as new. The report gives
 * the backup's last activity so that operators can reconcile from there with the systems downstream.
 */
import { closeSync, copyFileSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { MxError } from '../../errors.js';
import type { Clock } from '../../ports/clock.js';
import { LEASE_NAMESPACE } from '../../pipeline/lease.js';
import { QUEUE_MIGRATIONS } from '../../broker/embedded/migrations.js';
import { AUTH_MIGRATIONS } from './auth.js';
import type { Migration } from './database.js';
import { STORE_MIGRATIONS } from './store.js';
import { WORKFLOW_MIGRATIONS } from './transactions.js';

/** The components whose migrations an embedded hub applies at start, with the newest version this build has. */
const COMPONENTS: Readonly<Record<string, readonly Migration[]>> = {
  store: STORE_MIGRATIONS,
  workflow: WORKFLOW_MIGRATIONS,
  auth: AUTH_MIGRATIONS,
  queues: QUEUE_MIGRATIONS,
};

/** What a database file holds, read from a read-only connection. */
export interface DatabaseSummary {
  file: string;
  bytes: number;
  /** SQLite's quick_check: 'ok', or its first findings. */
  check: string;
  /** The newest migration applied, per component. */
  migrations: Record<string, number>;
  transactions: number;
  /** Transactions not final yet (ACTC, ACSP): the stages finish them when a hub starts on the database. */
  inFlight: number;
  /** Messages waiting in queues (stage messages and reports for participants). */
  queueMessages: number;
  clients: number;
  /** The last change to a transaction, as an ISO 8601 time; null when none. */
  lastActivityAt: string | null;
}

export interface BackupReport {
  source: string;
  backup: DatabaseSummary;
  /** Whether a hub was running on the database during the backup (a live scheduler lease). */
  hubRunning: boolean;
  elapsedMs: number;
  /** Where the time went: the snapshot's copy, the flushes to stable storage, the check of the copy. */
  phasesMs: { copy: number; flush: number; check: number };
}

export interface RestoreReport {
  restored: DatabaseSummary;
  /** The database file that was in place, and where it was moved; null when there was none. */
  replaced: { file: string; movedTo: string } | null;
  elapsedMs: number;
}

/**
 * Writes a consistent copy of the embedded database at `path` to `to`, which must not exist. Works whether a hub
 * runs on the database or not. Throws a coded error, leaving nothing at `to`, when it cannot.
 */
export function backupDatabase(options: { path: string; to: string; clock: Clock }): BackupReport {
  const started = performance.now();
  if (!existsSync(options.path)) throw new MxError('CONFIG_INVALID', `no embedded database at ${options.path}: give the hub's data directory`);
  if (existsSync(options.to)) throw new MxError('CONFIG_INVALID', `${options.to} exists already: a backup never overwrites a file; give a new name`);
  if (!existsSync(dirname(options.to))) throw new MxError('CONFIG_INVALID', `the directory of ${options.to} does not exist`);
  const partial = `${options.to}.partial`;
  rmSync(partial, { force: true });
  const source = openReadOnly(options.path);
  try {
    const hubRunning = liveLease(source, options.clock.now()) !== null;
    // The copy holds private signing keys and secret hashes: readable by the owner only, from its first byte.
    closeSync(openSync(partial, 'wx', 0o600));
    try {
      const lap = stopwatch();
      source.prepare('VACUUM INTO ?').run(partial);
      const copyMs = lap();
      flushFile(`${options.path}-wal`);
      flushFile(partial);
      const flushMs = lap();
      const summary = summarize(partial);
      if (summary.check !== 'ok') throw new MxError('STORE_UNAVAILABLE', `the copy failed its check (${summary.check}); nothing was kept`);
      renameSync(partial, options.to);
      flushDirectory(options.to);
      const checkMs = lap();
      return { source: options.path, backup: { ...summary, file: options.to }, hubRunning, elapsedMs: Math.round(performance.now() - started), phasesMs: { copy: copyMs, flush: flushMs, check: checkMs } };
    } catch (error) {
      rmSync(partial, { force: true });
      if (error instanceof MxError) throw error;
      throw new MxError('STORE_UNAVAILABLE', `the backup of ${options.path} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  } finally {
    source.close();
  }
}

/**
 * Puts the backup `from` in place of the embedded database at `path`, whose hub must be stopped. Throws a coded
 * error, having changed nothing, when the backup is not a sound database of an embedded hub this build can run or
 * when a hub runs on `path`. `force` skips the second check only (a hub that crashed and cannot start again).
 */
export function restoreDatabase(options: { from: string; path: string; clock: Clock; force?: boolean }): RestoreReport {
  const started = performance.now();
  if (!existsSync(options.from)) throw new MxError('CONFIG_INVALID', `no backup at ${options.from}`);
  if (resolve(options.from) === resolve(options.path)) throw new MxError('CONFIG_INVALID', `${options.from} is the hub's database itself, not a backup of it`);
  const summary = summarize(options.from);
  checkRestorable(summary);
  const now = options.clock.now();
  if (existsSync(options.path) && options.force !== true) {
    const signs = signsOfRunningHub(options.path, now);
    if (signs.length > 0) throw new MxError('STORE_UNAVAILABLE', `restore refused, nothing was changed: ${signs.join('; ')}`);
  }

  let replaced: RestoreReport['replaced'] = null;
  if (existsSync(options.path)) {
    const movedTo = `${options.path}.replaced-${fileTime(now)}`;
    // The WAL goes with its database: after a crash it holds commits the file alone lacks.
    for (const suffix of ['-wal', '-shm', '']) {
      if (existsSync(options.path + suffix)) renameSync(options.path + suffix, movedTo + suffix);
    }
    replaced = { file: options.path, movedTo };
  }
  const incoming = `${options.path}.restoring`;
  copyFileSync(options.from, incoming);
  flushFile(incoming);
  renameSync(incoming, options.path);
  flushDirectory(options.path);
  return { restored: { ...summary, file: options.path }, replaced, elapsedMs: Math.round(performance.now() - started) };
}

/** Reads what a database file holds, checking its pages with SQLite's quick_check. */
export function summarize(file: string): DatabaseSummary {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (cause) {
    throw new MxError('CONFIG_INVALID', `${file} cannot be opened as a SQLite database`, { cause });
  }
  try {
    let check: string;
    try {
      check = (db.pragma('quick_check(5)') as Array<{ quick_check: string }>).map((r) => r.quick_check).join('; ');
    } catch (cause) {
      throw new MxError('CONFIG_INVALID', `${file} is not a sound SQLite database: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    if (check !== 'ok') return { ...emptySummary(file), check };
    const migrations = Object.fromEntries(
      (tableExists(db, 'schema_migrations') ? (db.prepare('SELECT component, max(version) AS version FROM schema_migrations GROUP BY component').all() as Array<{ component: string; version: number }>) : []).map(
        (r) => [r.component, r.version],
      ),
    );
    const summary: DatabaseSummary = { ...emptySummary(file), check, migrations };
    if (tableExists(db, 'transactions')) {
      const row = db.prepare("SELECT count(*) AS n, sum(status IN ('ACTC', 'ACSP')) AS live, max(updated_at) AS last FROM transactions").get() as { n: number; live: number | null; last: number | null };
      summary.transactions = row.n;
      summary.inFlight = row.live ?? 0;
      summary.lastActivityAt = row.last === null ? null : new Date(row.last).toISOString();
    }
    if (tableExists(db, 'queue_messages')) summary.queueMessages = (db.prepare('SELECT count(*) FROM queue_messages').pluck().get() as number);
    if (tableExists(db, 'auth_clients')) summary.clients = (db.prepare('SELECT count(*) FROM auth_clients').pluck().get() as number);
    return summary;
  } finally {
    db.close();
  }
}

/**
 * Signs that a hub works on the embedded database at `path`: a WAL with frames in it (a hub that stops cleanly
 * checkpoints and removes it) or a scheduler lease not yet expired. Empty when there are none.
 */
export function signsOfRunningHub(path: string, now: number): string[] {
  const signs: string[] = [];
  const walBytes = existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0;
  if (walBytes > 0) {
    signs.push(`the embedded database's write-ahead log (${path}-wal) holds ${walBytes} bytes: a hub is running on it or did not stop cleanly; stop the hub (SIGTERM, or start and stop it once after a crash) and run again`);
  }
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch {
    signs.push(`${path} cannot be opened to look for a running hub`);
    return signs;
  }
  try {
    const lease = liveLease(db, now);
    if (lease !== null) {
      signs.push(`the ${lease.key} lease is held by ${lease.value} until ${new Date(lease.expires_at).toISOString()}: a hub is running on this database (or was killed less than a lease period ago); stop it and run again`);
    }
  } finally {
    db.close();
  }
  return signs;
}

function checkRestorable(summary: DatabaseSummary): void {
  if (summary.check !== 'ok') throw new MxError('CONFIG_INVALID', `${summary.file} fails SQLite's check (${summary.check}): not restored`);
  const missing = Object.keys(COMPONENTS).filter((c) => summary.migrations[c] === undefined);
  if (missing.length > 0) throw new MxError('CONFIG_INVALID', `${summary.file} is not the database of an embedded hub (no ${missing.join(', ')} tables): not restored`);
  for (const [component, migrations] of Object.entries(COMPONENTS)) {
    const known = Math.max(...migrations.map((m) => m.version));
    const version = summary.migrations[component]!;
    if (version > known) {
      throw new MxError('CONFIG_INVALID', `${summary.file} comes from a newer mxgate (${component} schema version ${version}, this build knows up to ${known}): restore it with that version or later`);
    }
  }
}

function liveLease(db: Database.Database, now: number): { key: string; value: string; expires_at: number } | null {
  if (!tableExists(db, 'kv')) return null;
  const row = db.prepare('SELECT key, value, expires_at FROM kv WHERE namespace = ? AND expires_at > ? ORDER BY key LIMIT 1').get(LEASE_NAMESPACE, now);
  return (row as { key: string; value: string; expires_at: number } | undefined) ?? null;
}

function openReadOnly(path: string): Database.Database {
  try {
    return new Database(path, { readonly: true, fileMustExist: true });
  } catch (cause) {
    throw new MxError('STORE_UNAVAILABLE', `cannot open the embedded database ${path} read-only`, { cause });
  }
}

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

function emptySummary(file: string): DatabaseSummary {
  return { file, bytes: statSync(file).size, check: 'ok', migrations: {}, transactions: 0, inFlight: 0, queueMessages: 0, clients: 0, lastActivityAt: null };
}

/** Flushes a file's data to stable storage; a file that does not exist (or no longer: a WAL) has nothing to flush. */
function flushFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a rename or a new file in `file`'s directory durable. */
function flushDirectory(file: string): void {
  const fd = openSync(dirname(file), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Milliseconds since the last call (or since it was made), rounded. */
function stopwatch(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const ms = Math.round(now - last);
    last = now;
    return ms;
  };
}

/** The file name a backup gets by default: `mxgate-<time>.db`, in the order of their times. */
export function backupName(now: number): string {
  return `mxgate-${fileTime(now)}.db`;
}

/** An ISO 8601 time usable in a file name. */
function fileTime(now: number): string {
  return new Date(now).toISOString().replace(/[:.]/g, '-');
}
