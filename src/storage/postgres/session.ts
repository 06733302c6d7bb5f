/**
 * One store transaction's connection, as the repositories use it.
 *
 * Calls run one after another even when `work` starts several without awaiting each (a repository method that
 * takes several statements is never interleaved with another's). PostgreSQL aborts a transaction at its first
 * failed statement (unlike SQLite, where only the statement fails), so the first failure is kept and the
 * transaction can never be committed after it, even when `work` caught the error and went on.
 *
 *   open ──statement fails──► failed (every later call and the commit reject with the first error)
 */
import type pg from 'pg';
import type { Statement } from './database.js';

export class Session {
  readonly #client: pg.PoolClient;
  #tail: Promise<unknown> = Promise.resolve();
  #failure: { error: unknown } | null = null;

  constructor(client: pg.PoolClient) {
    this.#client = client;
  }

  /** Runs `step` on the connection once every call made before it has finished. */
  run<T>(step: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const result = this.#tail.then(async () => {
      if (this.#failure) throw this.#failure.error;
      try {
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
