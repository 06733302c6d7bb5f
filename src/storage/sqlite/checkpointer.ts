/**
 * The checkpoints of a database in pipelined mode (database.ts), and the start-over of its WAL.
 *
 * Checkpoints (copying the WAL back into the database file, with two flushes) run on a worker thread's own
 * connection every `CHECKPOINT_INTERVAL_MS`, instead of inside a COMMIT on the event loop. They are PASSIVE, so they
 * never block the writer; with synchronous=NORMAL SQLite flushes the WAL before a checkpoint and the database file
 * after it.
 *
 * The WAL starts over. While the writer keeps writing, a checkpoint rarely finds every frame copied, and SQLite
 * writes from the start of the WAL again only when a write transaction begins with every frame copied. Under steady
 * load the WAL would grow without end (a gigabyte in seconds), and with it the WAL index every page lookup searches
 * and the cost of each commit. So once the worker reports a WAL longer than the limit, it is asked for a checkpoint
 * at once (priming, while commits go on); when that one is done, the writer begins no new batch until the worker has
 * run one more (`startOver`), which copies the little written meanwhile: the next batch starts the WAL over. The
 * pause is that copy and a flush of the database file. What the pause copies was written while the last priming
 * ran, so a priming that took longer than `primedWithinMs` (2 ms) is followed by another, at most `primingsMax` (4)
 * in all. Each copies what came during the one before, so they get shorter, and the pause copies a few milliseconds
 * of commits instead of the tens a long priming lets through.
 *
 * A reader that holds an older snapshot (a backup: backup.ts) keeps any checkpoint from copying what came after
 * it, so a start over fails while it reads; the next try then waits until the WAL has doubled, and the limit
 * applies again after the next start over that succeeds.
 *
 *                                        'primed' after a long priming: one more
 *                                                ┌──────┐
 *                                                ▼      │
 *   growing ──report: WAL past the limit──► priming ────┴──'primed'──► primed ──next batch: pause──► catching up
 *      ▲                                                                                                  │
 *      └──────────────────────────────────── 'caught-up' (or its timeout): batches resume ◄───────────────┘
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { Logger } from '../../log.js';

const require = createRequire(import.meta.url);

/** How often the checkpoint worker copies the WAL into the database file. */
const CHECKPOINT_INTERVAL_MS = 100;

/** A priming checkpoint that took longer than this is followed by another before the pause. */
const PRIMED_WITHIN_MS = 2;

/** Most priming checkpoints before one pause: under a write rate the worker cannot outrun, the pause comes anyway. */
const PRIMINGS_MAX = 4;

/** Longest wait for the worker's catch-up checkpoint; past it commits go on and the WAL grows until the next. */
const CATCH_UP_TIMEOUT_MS = 5000;

/** Each WAL frame is a page and this header. */
const WAL_FRAME_HEADER_BYTES = 24;

export interface CheckpointerOptions {
  path: string;
  busyTimeoutMs: number;
  logger: Logger;
  pageSize: number;
  /** WAL length past which the WAL starts over. */
  walResetBytes: number;
  /** Priming checkpoints before the pause: the time past which one more runs, and the most. */
  primedWithinMs?: number | undefined;
  primingsMax?: number | undefined;
}

/** What the checkpoint worker reports: PRAGMA wal_checkpoint's row. */
interface CheckpointReport {
  kind: 'checkpointed' | 'primed' | 'caught-up';
  /** The worker's count of checkpoints, this one included. */
  n: number;
  /** The checkpoint could not take its lock (another checkpoint ran). */
  busy: number;
  /** Frames in the WAL, and how many of them are copied into the database file. */
  log: number;
  checkpointed: number;
}

export class Checkpointer {
  /** WAL start-overs and their priming checkpoints, and the time commits waited for the start-overs. */
  readonly stats = { walResets: 0, walPrimings: 0, walResetPauseMs: 0, walResetMisses: 0 };
  readonly #logger: Logger;
  readonly #worker: Worker;
  #stopped = false;
  #exited = false;
  /** WAL frames the worker last reported, and the length in frames that asks for a start over. */
  #walFrames = 0;
  readonly #walResetFrames: number;
  /** The WAL length that asks for the next start over: the limit, or twice the length at a start over that failed. */
  #startOverFrames: number;
  #state: 'growing' | 'priming' | 'primed' = 'growing';
  /** When the running priming checkpoint was asked for, and how many primings this start over has had. */
  #primingSince = 0;
  #primings = 0;
  readonly #primedWithinMs: number;
  readonly #primingsMax: number;
  /** Reports of checkpoints up to the last catch-up are older than the WAL's start over: ignored. */
  #caughtUpN = 0;
  #caughtUp: ((report: CheckpointReport) => void) | null = null;

  constructor(options: CheckpointerOptions) {
    this.#logger = options.logger;
    this.#walResetFrames = Math.max(1, Math.floor(options.walResetBytes / (options.pageSize + WAL_FRAME_HEADER_BYTES)));
    this.#startOverFrames = this.#walResetFrames;
    this.#primedWithinMs = options.primedWithinMs ?? PRIMED_WITHIN_MS;
    this.#primingsMax = options.primingsMax ?? PRIMINGS_MAX;
    this.#worker = new Worker(CHECKPOINT_WORKER, {
      eval: true,
      workerData: { driver: require.resolve('better-sqlite3'), path: options.path, intervalMs: CHECKPOINT_INTERVAL_MS, busyTimeoutMs: options.busyTimeoutMs },
    });
    this.#worker.once('exit', () => {
      this.#exited = true;
      this.#caughtUp?.({ kind: 'caught-up', n: 0, busy: 1, log: 0, checkpointed: 0 });
    });
    this.#worker.on('message', (message: CheckpointReport | { kind: 'error'; message: string } | { kind: 'stopped' }) => {
      if (message.kind === 'error') this.#logger.error({ err: message.message }, 'WAL checkpoint failed; will retry');
      else if (message.kind === 'caught-up') this.#caughtUp?.(message);
      else if (message.kind !== 'stopped' && message.n > this.#caughtUpN) this.#checkpointed(message);
    });
    this.#worker.on('error', (err) => this.#logger.error({ err }, 'checkpoint worker failed'));
    this.#worker.unref();
  }

  /** Whether the next batch must first let the WAL start over (`startOver`). */
  get due(): boolean {
    return this.#state === 'primed';
  }

  /**
   * Called between batches, with no transaction open on the writer's connection: the worker's checkpoint then
   * copies every frame, and the next batch starts the WAL over.
   */
  async startOver(): Promise<void> {
    const frames = this.#walFrames;
    this.#walFrames = 0;
    this.#state = 'growing';
    if (this.#stopped || this.#exited) return;
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const report = await new Promise<CheckpointReport | null>((resolve) => {
      this.#caughtUp = resolve;
      timer = setTimeout(() => resolve(null), CATCH_UP_TIMEOUT_MS);
      this.#worker.postMessage({ kind: 'catch-up' });
    });
    clearTimeout(timer);
    this.#caughtUp = null;
    const pauseMs = Date.now() - started;
    this.stats.walResetPauseMs += pauseMs;
    if (report !== null) this.#caughtUpN = report.n;
    if (report !== null && report.busy === 0 && report.checkpointed === report.log) {
      this.stats.walResets += 1;
      this.#startOverFrames = this.#walResetFrames;
      this.#logger.debug({ frames, pauseMs }, 'WAL checkpointed in full; it starts over');
    } else {
      // A reader holds an older snapshot (a backup, a long query of another process): no checkpoint can copy
      // what came after it until it ends. Trying again at every report would pause the commits ten times a
      // second for nothing; the next try waits until the WAL has doubled.
      this.stats.walResetMisses += 1;
      this.#startOverFrames = Math.max(this.#walResetFrames, 2 * Math.max(frames, report?.log ?? 0));
      this.#logger.warn({ frames, report, pauseMs, nextTryFrames: this.#startOverFrames }, 'the WAL could not be checkpointed in full (a reader holds an older snapshot?); it grows until the next try');
    }
  }

  /** Runs a last checkpoint and ends the worker. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#exited) return;
    const worker = this.#worker;
    const stopped = new Promise<void>((resolve) => {
      worker.on('message', (m: { kind: string }) => m.kind === 'stopped' && resolve());
      worker.once('exit', () => resolve());
    });
    worker.ref(); // keep the process alive until the worker has finished its last checkpoint
    worker.postMessage({ kind: 'stop' });
    await stopped;
    await worker.terminate();
  }

  /** A report of the worker's periodic or priming checkpoint (see the module comment). */
  #checkpointed(report: CheckpointReport): void {
    this.#walFrames = report.log;
    if (report.kind === 'primed' && this.#state === 'priming') {
      if (performance.now() - this.#primingSince > this.#primedWithinMs && this.#primings < this.#primingsMax) this.#prime();
      else this.#state = 'primed';
    } else if (this.#state === 'growing' && report.log >= this.#startOverFrames) {
      this.#primings = 0;
      this.#prime();
    }
  }

  #prime(): void {
    if (this.#stopped) return;
    this.#state = 'priming';
    this.#primingSince = performance.now();
    this.#primings += 1;
    this.stats.walPrimings += 1;
    this.#worker.postMessage({ kind: 'prime' });
  }
}

/**
 * The checkpoint worker (a script, so that it runs the same from sources and from the build): on its own
 * connection it copies the WAL back into the database file with PASSIVE checkpoints. It reports every checkpoint
 * ('checkpointed'), and runs one at once when asked to prime ('primed') or to catch up ('caught-up').
 */
const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
db.pragma('synchronous = NORMAL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
let n = 0;
const run = (kind) => {
  n += 1;
  try {
    const row = checkpoint.get();
    if (kind !== null) parentPort.postMessage({ kind, n, busy: row.busy, log: row.log, checkpointed: row.checkpointed });
  } catch (error) {
    parentPort.postMessage({ kind: 'error', message: String(error && error.message || error) });
    if (kind === 'caught-up') parentPort.postMessage({ kind, n, busy: 1, log: 0, checkpointed: 0 });
  }
};
let timer = setInterval(() => run('checkpointed'), workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message.kind === 'prime' || message.kind === 'catch-up') {
    run(message.kind === 'prime' ? 'primed' : 'caught-up');
    return;
  }
  if (message.kind !== 'stop') return;
  clearInterval(timer);
  run(null);
  db.close();
  parentPort.postMessage({ kind: 'stopped' });
});
`;
