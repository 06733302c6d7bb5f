/**
 * A background job that runs in exactly one process at a time (under the scheduler lease): started when the
 * lease is acquired, stopped when it is lost or the process stops.
 */
export interface Duty {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
}

/** A duty that runs `tick` every `intervalMs`, never two ticks at once, logging failures. */
export function periodic(name: string, intervalMs: number, tick: () => Promise<unknown>, onError: (error: unknown) => void): Duty {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  return {
    name,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        if (running) return;
        running = tick()
          .then(() => undefined, onError)
          .finally(() => (running = null));
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}
