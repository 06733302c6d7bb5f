/**
 * Long polls waiting for something to happen on a queue in this process (a message arrived, a group was freed,
 * a deadline passed), for both queue engines. A receive subscribes before it looks, so that anything happening
 * after its look wakes it.
 *
 * A notification wakes as many waiters as it has news for (one per message sent, by default all), the longest
 * waiting first: waking every consumer of a queue for each message made all of them look while one could take
 * it. A waiter's states:
 *
 *   subscribed ──notify──► fired ──wait()──► consumed: its receive looks again
 *        │                   │
 *        │                   └──cancel() before waiting (its receive ended with what an earlier look found)
 *        │                        ──► the notification passes to the next waiter, so that it is never lost
 *        └──cancel()──► gone
 */
export interface Wake {
  /** Waits until notified, `ms` passed, `signal` aborted or `also` settled; at once when already notified. */
  wait(ms: number, signal?: AbortSignal, also?: Promise<void>): Promise<void>;
  cancel(): void;
}

interface Waiter {
  fire(): void;
}

export class Waiters {
  /** Waiters per key in subscription order (a Set iterates in insertion order). */
  readonly #byKey = new Map<string, Set<Waiter>>();

  /** Wakes up to `count` waiters of `key` (every one by default), the longest waiting first. */
  notify(key: string, count = Number.POSITIVE_INFINITY): void {
    const waiters = this.#byKey.get(key);
    if (!waiters) return;
    let woken = 0;
    for (const waiter of waiters) {
      if (woken >= count) break;
      waiters.delete(waiter);
      woken += 1;
      waiter.fire();
    }
    if (waiters.size === 0 && this.#byKey.get(key) === waiters) this.#byKey.delete(key);
  }

  notifyAll(): void {
    for (const key of [...this.#byKey.keys()]) this.notify(key);
  }

  subscribe(key: string): Wake {
    let fired = false;
    let consumed = false;
    let release: (() => void) | null = null;
    const waiter: Waiter = {
      fire: () => {
        fired = true;
        if (release) {
          consumed = true;
          release();
        }
      },
    };
    let set = this.#byKey.get(key);
    if (!set) this.#byKey.set(key, (set = new Set()));
    set.add(waiter);
    return {
      wait: (ms, signal, also) => {
        if (fired) {
          consumed = true;
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            release = null;
            resolve();
          };
          const timer = setTimeout(done, ms);
          signal?.addEventListener('abort', done, { once: true });
          void also?.then(done);
          release = done;
        });
      },
      cancel: () => {
        release = null;
        const current = this.#byKey.get(key);
        current?.delete(waiter);
        if (current?.size === 0) this.#byKey.delete(key);
        // Woken, but its receive will not look again: the next waiter must.
        if (fired && !consumed) {
          consumed = true;
          this.notify(key, 1);
        }
      },
    };
  }
}
