/**
 * Worker threads for the XML work of the workflow (`workflow.xmlWorkers`): reading a submitted message (parse,
 * typed view, content hash, built-in and profile rules) and building its status report. The event loop of an
 * embedded hub is its bottleneck, and this work needs nothing but the message, so it runs beside it on another
 * core. Each request carries the message (a few kilobytes, copied) and gets back plain data. A submission read
 * here has no tree on the event loop (`withLazyTree`): the processing stage uses the findings that came with it,
 * and its report is built on a worker from the XML, parsed again. Workers keep no tree between requests: trees
 * kept from the read to the report (a few to tens of milliseconds) outlived the worker's young-generation
 * collections, which then copied them, and took 10 to 50 ms each (BENCHMARKS.md, "No trees kept on the XML
 * workers").
 *
 * A request goes to the worker with the fewest requests in hand. A worker that dies fails the requests it held
 * (the caller's error path: an HTTP 500 or a stage retry) and is replaced. Idle workers do not keep the process
 * alive.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { MxError, isErrorCode } from '../errors.js';
import type { Outcome } from './report.js';
import { inputText, withLazyTree, type Submission, type SubmissionData } from './submission.js';
import type { ReportIds } from './xml-work.js';
import { startWorker, workerEntry } from '../workers.js';

export type XmlRequest =
  | { id: number; op: 'read'; input: string | Uint8Array; clientProfile: string | null }
  | { id: number; op: 'report'; xml: string; outcome: Outcome; ids: ReportIds };

export type XmlReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code?: string; message: string; details?: Record<string, unknown> } };

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>;
}

/** The worker's entry beside this module: xml-worker.js from the build, xml-worker.ts from the sources. */
const WORKER_URL = workerEntry(import.meta.url, 'xml-worker');

export class XmlPool {
  readonly #slots: Slot[] = [];
  readonly #logger: Logger;
  #nextId = 1;
  #closed = false;

  constructor(options: { size: number; logger: Logger }) {
    this.#logger = options.logger;
    for (let i = 0; i < options.size; i++) this.#slots.push(this.#spawn());
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Reads a submission, with the findings of `clientProfile` (see readSubmissionData); throws what parsing throws. */
  async read(input: string | Uint8Array, clientProfile: string | null): Promise<Submission> {
    const slot = this.#leastBusy();
    const id = this.#nextId++;
    // Bytes go over as a copy of their own range (a request body may be a view into a larger shared buffer), moved
    // to the worker rather than copied again.
    const sent = typeof input === 'string' ? input : new Uint8Array(input);
    const transfer = typeof sent === 'string' ? [] : [sent.buffer];
    const data = (await this.#request(slot, { id, op: 'read', input: sent, clientProfile }, transfer)) as SubmissionData;
    return withLazyTree(data, inputText(input));
  }

  /** The status report of `outcome` for `original`, built on a worker from the original's XML. */
  async report(original: Submission, outcome: Outcome, ids: ReportIds): Promise<{ messageType: string; xml: string }> {
    const request: XmlRequest = { id: this.#nextId++, op: 'report', xml: original.xml, outcome, ids };
    return (await this.#request(this.#leastBusy(), request)) as { messageType: string; xml: string };
  }

  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #leastBusy(): Slot {
    let slot = this.#slots[0];
    for (const candidate of this.#slots) if (slot && candidate.pending.size < slot.pending.size) slot = candidate;
    if (!slot) throw new MxError('SHUTTING_DOWN', 'the XML workers are stopped');
    return slot;
  }

  #request(slot: Slot, request: XmlRequest, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.#closed) return Promise.reject(new MxError('SHUTTING_DOWN', 'the XML workers are stopped'));
    return new Promise((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(request.id, { resolve, reject });
      slot.worker.postMessage(request, transfer);
    });
  }

  #spawn(): Slot {
    const worker = startWorker(WORKER_URL, null);
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (reply: XmlReply) => {
      const waiting = slot.pending.get(reply.id);
      if (!waiting) return;
      slot.pending.delete(reply.id);
      if (slot.pending.size === 0) {
        worker.unref();
        slot.pending = new Map(); // young again (see WorkflowContext.forget)
      }
      if (reply.ok) waiting.resolve(reply.result);
      else waiting.reject(raised(reply.error));
    });
    const fail = (error: unknown) => {
      const stopped = this.#closed;
      for (const waiting of slot.pending.values()) {
        waiting.reject(stopped ? new MxError('SHUTTING_DOWN', 'the XML workers are stopped') : new Error('an XML worker thread failed', { cause: error }));
      }
      slot.pending.clear();
      const index = this.#slots.indexOf(slot);
      if (index < 0 || stopped) return;
      this.#logger.error({ err: error }, 'an XML worker thread failed; starting another');
      this.#slots[index] = this.#spawn();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    // After the 'message' listener, which refs the worker again.
    worker.unref();
    return slot;
  }
}

/** The worker's error as the event loop would have thrown it: an MxError with its code, else an Error. */
function raised(error: { code?: string; message: string; details?: Record<string, unknown> }): Error {
  if (error.code !== undefined && isErrorCode(error.code)) return new MxError(error.code, error.message, error.details ? { details: error.details } : undefined);
  return new Error(error.message);
}
