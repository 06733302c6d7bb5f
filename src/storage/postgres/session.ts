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
 * Two writes answer nothing their caller waits for: a new transaction (its row, payments and first history row)
 * and a stored message (transaction_messages). `deferCreate` and `deferMessage` hold them, and the store writes
 * them at the end of the unit in the statement that writes the unit's outbox rows (an intake's new transaction,
 * its inbound message and its processing message: one round trip instead of three). Any other call of the unit
 * writes what is held first, new transactions before messages, so that it sees them; a held write that fails
 * fails the unit there, as it would have where it was made.
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

/** Writes held by a unit: the values of each new transaction's insert (see PostgresTransactions), and messages. */
export interface Held {
  creates: unknown[][];
  messages: DeferredMessage[];
}

export type HeldWriter = (client: pg.ClientBase, held: Held) => Promise<void>;

export const isEmpty = (held: Held): boolean => held.creates.length === 0 && held.messages.length === 0;

export class Session {
  readonly #client: pg.PoolClient;
  readonly #writeHeld: HeldWriter | null;
  /** Held new transactions, in the order they were created. */
  #creates: unknown[][] = [];
  /** Held messages by transaction id and kind: a later write of the same message replaces the earlier one. */
  readonly #messages = new Map<string, DeferredMessage>();
  #tail: Promise<unknown> = Promise.resolve();
  #failure: { error: unknown } | null = null;

  /** `writeHeld` writes held writes; a session without it (reads) cannot hold any. */
  constructor(client: pg.PoolClient, writeHeld: HeldWriter | null = null) {
    this.#client = client;
    this.#writeHeld = writeHeld;
  }

  /** Holds a new transaction's insert until the unit's end or its next statement; false when this session cannot. */
  deferCreate(values: unknown[]): boolean {
    if (this.#writeHeld === null) return false;
    this.#creates.push(values);
    return true;
  }

  /** Holds a message write until the unit's end or its next statement; false when this session cannot. */
  deferMessage(row: DeferredMessage): boolean {
    if (this.#writeHeld === null) return false;
    this.#messages.set(`${row.transactionId}\u0000${row.kind}`, row);
    return true;
  }

  /** The held writes, which the caller now makes (once every call has settled). */
  takeHeld(): Held {
    const held = { creates: this.#creates, messages: [...this.#messages.values()] };
    this.#creates = [];
    this.#messages.clear();
    return held;
  }

  /** Runs `step` on the connection once every call made before it has finished. */
  run<T>(step: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const result = this.#tail.then(async () => {
      if (this.#failure) throw this.#failure.error;
      try {
        if (this.#creates.length > 0 || this.#messages.size > 0) await this.#writeHeld!(this.#client, this.takeHeld());
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
