/**
 * Whether this thread's event loop is saturated: the mean delay of its timers over each interval (how long work
 * queued behind other work waited), with hysteresis. The workflow hands XML work to worker threads only then:
 * below saturation the event loop does it itself at a lower cost in all (no copies of the message, no hand-offs
 * between threads, no waking another thread for each message), and the hand-off only pays once the event loop is
 * the bottleneck.
 *
 *   calm ──mean delay ≥ onAboveMs──► saturated ──mean delay < offBelowMs──► calm
 *
 * The delay tells the two apart where the loop's utilization does not: a loop that keeps up with its load is
 * busy most of the time too, but what arrives waits only for the callback in progress (a delay near 0), while a
 * saturated one queues it behind many (milliseconds). Moving work away lowers the delay it is measured by, so the
 * way back needs a clearly lower one, or the state would flip at every interval.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface LoopLoadOptions {
  /** Mean delay (ms) at which the loop counts as saturated. 0: always saturated. */
  onAboveMs: number;
  /** Mean delay (ms) below which it counts as calm again; at most `onAboveMs`. */
  offBelowMs: number;
  /** Length of a measured interval. */
  intervalMs?: number;
}

/** Resolution of the delay histogram: it samples with a timer of this period. */
const SAMPLE_MS = 10;

export class LoopLoad {
  readonly #on: number;
  readonly #off: number;
  #saturated: boolean;
  #delayMs = 0;
  readonly #histogram: IntervalHistogram | null = null;
  readonly #timer: NodeJS.Timeout | null = null;

  constructor(options: LoopLoadOptions) {
    this.#on = options.onAboveMs;
    this.#off = Math.min(options.offBelowMs, options.onAboveMs);
    this.#saturated = this.#on === 0;
    if (this.#saturated) return;
    this.#histogram = monitorEventLoopDelay({ resolution: SAMPLE_MS });
    this.#histogram.enable();
    this.#timer = setInterval(() => this.#measure(), options.intervalMs ?? 200);
    this.#timer.unref();
  }

  /** Whether the event loop is saturated, as of the last interval. */
  get saturated(): boolean {
    return this.#saturated;
  }

  /** Mean delay over the last interval (ms), beyond the sampling period. */
  get delayMs(): number {
    return this.#delayMs;
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#histogram?.disable();
  }

  #measure(): void {
    const h = this.#histogram!;
    // An interval without a sample tells nothing: the sampling timer did not get to run in it (it came due behind
    // this one, after a long callback). The last figure and state stand; an idle loop samples every SAMPLE_MS.
    if (h.count === 0) return;
    // Each sample is the sampling timer's period plus its delay.
    this.#delayMs = Math.max(0, h.mean / 1e6 - SAMPLE_MS);
    h.reset();
    if (!this.#saturated && this.#delayMs >= this.#on) this.#saturated = true;
    else if (this.#saturated && this.#delayMs < this.#off) this.#saturated = false;
  }
}
