/**
 * One store transaction's connection, as the repositories use it.
 *
 * Calls run one after another even when `work` starts several without awaiting each (a repository method that
 * takes several statements is never interleaved with another's). PostgreSQL aborts a transaction at its first
 * failed statement (unlike SQLite, where only the statement fails), so the first failure is kept and the
 * transaction can never be committed after it, even when `work` caught the error and went on.
 *
 *   open ──statement fails──► failed (every later call and the commit reject with the first error)
 *
 * A stored message (transaction_messages) is a write whose result nobody waits for: `deferMessage` holds it, and
 * the store writes it at the end of the unit in the statement that writes the unit's outbox rows (one round trip
 * instead of two). Any other call of the unit writes the held messages first, so that it sees them.
 */
import type pg from 'pg';
import type { Statement } from './database.js';

/** A row of transaction_messages held until the end of its unit (see Session). */
export interface DeferredMessage {
  transactionId: string;
  kind: string;
  messageType: string;
  xml: string;
  createdAt: number;
}

export type MessageWriter = (client: pg.ClientBase, rows: DeferredMessage[]) => Promise<void>;

export class Session {
  readonly #client: pg.PoolClient;
  readonly #writeMessages: MessageWriter | null;
  /** Held messages by transaction id and kind: a later write of the same message replaces the earlier one. */
  readonly #messages = new Map<string, DeferredMessage>();
  #tail: Promise<unknown> = Promise.resolve();
  #failure: { error: unknown } | null = null;

  /** `writeMessages` writes held messages; a session without it (reads) cannot hold any. */
  constructor(client: pg.PoolClient, writeMessages: MessageWriter | null = null) {
    this.#client = client;
    this.#writeMessages = writeMessages;
  }

  /** Holds a message write until the unit's end or its next statement; false when this session cannot. */
  deferMessage(row: DeferredMessage): boolean {
    if (this.#writeMessages === null) return false;
    this.#messages.set(`${row.transactionId}\u0000${row.kind}`, row);
    return true;
  }

  /** The held messages, which the caller now writes (once every call has settled). */
  takeMessages(): DeferredMessage[] {
    const rows = [...this.#messages.values()];
    this.#messages.clear();
    return rows;
  }

  /** Runs `step` on the connection once every call made before it has finished. */
  run<T>(step: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const result = this.#tail.then(async () => {
      if (this.#failure) throw this.#failure.error;
      try {
        if (this.#messages.size > 0) await this.#writeMessages!(this.#client, this.takeMessages());
        return await step(this.#client);
      } catch (error) {
        this.#failure ??= { error };
        throw error;
      }
    });
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Waits for every call; throws the first failure, if any (the transaction must then roll back). */
  async settle(): Promise<void> {
    await this.#tail;
    if (this.#failure) throw this.#failure.error;
  }
}

/** Runs a statement with its values (named statements are parsed once per connection). */
export function query<R extends pg.QueryResultRow = pg.QueryResultRow>(client: pg.ClientBase, statement: Statement, values: unknown[]): Promise<pg.QueryResult<R>> {
  return client.query<R>({ ...statement, values });
}
