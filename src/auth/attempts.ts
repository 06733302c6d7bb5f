/**
 * The limit on failed token requests: after failedAttemptsMax wrong credentials for one client id within
 * failedAttemptsWindowS, further requests for that id are refused (429 with Retry-After) until the window ends,
 * so a secret cannot be guessed at the speed of the token endpoint. Kept in memory per process, for at most
 * 10000 client ids (those whose window has ended go first, then the oldest).
 *
 * States of one client id (the window starts at the first failure):
 *
 *   (untracked) ──failure──► counting ──failedAttemptsMax-th failure──► refused
 *        ▲                      │                                          │
 *        ├──success, window end─┘                                          │
 *        └─────────────────────────────── window end ──────────────────────┘
 */
import type { Config } from '../config/index.js';
import type { Clock } from '../ports/clock.js';

export interface FailedAttemptsOptions {
  clock: Clock;
  config: Pick<Config['auth'], 'failedAttemptsMax' | 'failedAttemptsWindowS'>;
}

const FAILED_ATTEMPTS_TRACKED_MAX = 10_000;

export class FailedAttempts {
  readonly #clock: Clock;
  readonly #config: FailedAttemptsOptions['config'];
  readonly #failures = new Map<string, { count: number; windowStartMs: number }>();

  constructor(options: FailedAttemptsOptions) {
    this.#clock = options.clock;
    this.#config = options.config;
  }

  /** Seconds until requests for this client id are accepted again, or null when they are accepted now. */
  retryAfterS(clientId: string): number | null {
    const entry = this.#failures.get(clientId);
    if (!entry) return null;
    const windowMs = this.#config.failedAttemptsWindowS * 1000;
    const elapsed = this.#clock.now() - entry.windowStartMs;
    if (elapsed >= windowMs) {
      this.#failures.delete(clientId);
      return null;
    }
    if (entry.count >= this.#config.failedAttemptsMax) return Math.max(1, Math.ceil((windowMs - elapsed) / 1000));
    return null;
  }

  recordFailure(clientId: string): void {
    const now = this.#clock.now();
    const windowMs = this.#config.failedAttemptsWindowS * 1000;
    const entry = this.#failures.get(clientId);
    if (entry && now - entry.windowStartMs < windowMs) {
      entry.count += 1;
      return;
    }
    if (this.#failures.size >= FAILED_ATTEMPTS_TRACKED_MAX) {
      for (const [id, e] of this.#failures) if (now - e.windowStartMs >= windowMs) this.#failures.delete(id);
      if (this.#failures.size >= FAILED_ATTEMPTS_TRACKED_MAX) this.#failures.delete(this.#failures.keys().next().value as string);
    }
    this.#failures.set(clientId, { count: 1, windowStartMs: now });
  }

  /** Forgets the failures of a client id (after a successful authentication). */
  clear(clientId: string): void {
    this.#failures.delete(clientId);
  }
}
