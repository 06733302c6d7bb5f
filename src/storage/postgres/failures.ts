/**
 * How the PostgreSQL engine reads a driver failure: whether the same work may succeed when run again (deadlocks,
 * 40P01, and serialization failures, 40001: see the isolation paragraph of database.ts), whether the database is
 * out of reach or refused the work for now, and how the failure maps onto the error catalog. database.ts (single
 * statements, reads, `transaction`) and the group commit (group-commit.ts) all decide with it.
 *
 * Work that meets a retryable conflict is attempted at most TRANSACTION_ATTEMPTS_MAX times in all, each attempt
 * after the first following a jittered backoff that doubles from RETRY_BASE_MS up to RETRY_MAX_MS; an outage, or a
 * conflict out of attempts, becomes STORE_UNAVAILABLE (retryable for the caller); any other error passes unchanged.
 */
import pg from 'pg';
import { MxError, isMxError } from '../../errors.js';

/** Attempts of one transaction when PostgreSQL reports a deadlock or serialization failure. */
export const TRANSACTION_ATTEMPTS_MAX = 5;
const RETRY_BASE_MS = 5;
const RETRY_MAX_MS = 200;

/** SQLSTATEs after which the same transaction may succeed when run again. */
const RETRY_CODES = new Set(['40001', '40P01']);
/** SQLSTATE classes and codes that mean the server or connection is gone or refused the work for now. */
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58'];
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether PostgreSQL itself answered the statement with an error: the statement failed on the server, so its
 * transaction can no longer commit (a COMMIT sent behind it ends it as a ROLLBACK). Not so for a failure of the
 * driver or the connection, after which the server may have run everything it had received.
 */
export function isServerError(error: unknown): boolean {
  return error instanceof pg.DatabaseError;
}

export function isRetryableConflict(error: unknown): boolean {
  const code = sqlState(error);
  return code !== undefined && RETRY_CODES.has(code);
}

/** Whether the error says the database could not be reached or could not do the work now (not a bad request). */
export function isUnavailable(error: unknown): boolean {
  if (isMxError(error)) return error.code === 'STORE_UNAVAILABLE';
  const code = sqlState(error);
  if (code !== undefined) {
    if (UNAVAILABLE_NODE_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return UNAVAILABLE_CLASSES.some((c) => code.startsWith(c));
  }
  const message = error instanceof Error ? error.message : '';
  // The driver's own connection failures carry no SQLSTATE.
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED/.test(message);
}

/**
 * Maps a driver error onto the catalog: outages and timeouts become STORE_UNAVAILABLE (retryable); errors of
 * the work itself (MxError, constraint violations) pass unchanged, as the SQLite engine lets them pass.
 */
export function mapError(error: unknown, what: string): unknown {
  if (isMxError(error)) return error;
  if (isUnavailable(error) || isRetryableConflict(error)) {
    return new MxError('STORE_UNAVAILABLE', `PostgreSQL could not ${what}`, { cause: error });
  }
  return error;
}

export function backoffMs(attempt: number): number {
  const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempt - 1));
  return delay / 2 + Math.random() * (delay / 2);
}

/** For a promise whose failure is awaited elsewhere (pipelined statements are awaited after the next is sent). */
export const ignore = (): void => undefined;

/**
 * A transaction's last statement failed with COMMIT already sent behind it (`TransactionContext.last`): releases
 * the connection and answers the error to throw. A failure on the server aborted the transaction, and the COMMIT
 * only ended it (as a ROLLBACK): that error, for the caller to handle as any failed statement (a deadlock may run
 * again). Any other failure (the connection) leaves the outcome unknown: STORE_UNAVAILABLE, never run again.
 */
export async function lastFailed(client: pg.PoolClient, commit: Promise<unknown>, error: unknown): Promise<unknown> {
  if (!isServerError(error)) {
    client.release(error instanceof Error ? error : true);
    return new MxError('STORE_UNAVAILABLE', 'PostgreSQL did not confirm the commit; its outcome is unknown', { cause: error });
  }
  await commit.then(
    () => client.release(),
    (cause: unknown) => client.release(cause instanceof Error ? cause : true),
  );
  return error;
}
