/**
 * What the workflow's parts share: ports, configuration, the validator, the checks, and a small cache of parsed
 * submissions so that a message parsed at intake is not parsed again by the processing stage of the same process.
 */
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Clock } from '../ports/clock.js';
import type { IdGenerator } from '../ports/ids.js';
import type { QueueService } from '../ports/queues.js';
import type { Store } from '../ports/store.js';
import type { SchemaValidator } from '../iso20022/index.js';
import type { PaymentCheck } from './checks.js';
import type { Bridge, Webhook } from '../auth/attributes.js';
import type { ReportBridge } from '../bridges/amqp.js';
import type { DownstreamConfig } from './downstream.js';
import { Admission } from './admission.js';
import { ParticipantQueues, STAGE_BODY_MAX_BYTES, stageQueue, type StageMessage } from './queues.js';
import { readSubmission, hasTree, type Submission } from './submission.js';
import type { XmlPool } from './xml-pool.js';
import { reportFromXml, type ReportIds } from './xml-work.js';
import { buildReport, type Outcome } from './report.js';

export interface WorkflowDeps {
  store: Store;
  queues: QueueService;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  config: Config['workflow'] & { maxMessageBytes: number };
  /** XSD validation; undefined when no schema directory is configured. */
  schemas: SchemaValidator | undefined;
  checks: readonly PaymentCheck[];
  downstream: DownstreamConfig;
  /** The scheme profile a client's messages are checked against (null: the one the message declares, if any). */
  clientProfile(clientId: string): Promise<string | null>;
  /** A client's own SLA in ms (its `slaMs` setting), or null: `config.slaMs`. Absent: every client has the global one. */
  clientSlaMs?(clientId: string): Promise<number | null>;
  /** A client's webhook (its `webhook` setting), or null: its reports are not pushed. Absent: no client has one. */
  clientWebhook?(clientId: string): Promise<Webhook | null>;
  /** A client's bridge (its `bridge` setting), or null: its reports are not published to a broker. Absent: none has one. */
  clientBridge?(clientId: string): Promise<Bridge | null>;
  /** The brokers the hub is bridged to (`bridges.*`), each opened at its first publish; absent: none. */
  bridges?: { amqp?: ReportBridge };
  /** How reports are pushed to webhooks (`webhooks.*`); absent: the defaults of the configuration. */
  webhooks?: Config['webhooks'];
  /** Work the engine holds before the queues (the distributed engine's outbox rows); none when absent. */
  engineBacklog?(): Promise<number>;
  /** Largest payment message a stage message carries (StageMessage.xml); 0 or absent: none. */
  carryMessageMaxBytes?: number;
  /** Worker threads for reading submissions and building reports; absent: that work runs on the event loop. */
  xml?: XmlPool;
  /**
   * Whether submissions go to the XML workers now (absent: always, when there are workers). Only while the event
   * loop is saturated (LoopLoad): below that, the hand-off costs more than it saves.
   */
  xmlOffload?(): boolean;
}

export class WorkflowContext {
  readonly participants: ParticipantQueues;
  readonly admission: Admission;
  #cache = new Map<string, { submission: Submission; xml: string }>();

  constructor(readonly deps: WorkflowDeps) {
    this.participants = new ParticipantQueues(deps.queues, deps.config.maxMessageBytes);
    this.admission = new Admission({
      limit: deps.config.backlogMax,
      queueDepth: () => deps.queues.depth(stageQueue('processing')),
      engineBacklog: async () => (deps.engineBacklog ? deps.engineBacklog() : 0),
      logger: deps.logger,
    });
  }

  /**
   * Keeps a submission parsed at intake for the stages of this process, with its raw XML (the schema layer reads
   * it). Entries leave when the transaction is final, or oldest first beyond `parsedCacheMax`.
   */
  remember(transactionId: string, submission: Submission, xml: string): void {
    const max = this.deps.config.parsedCacheMax;
    if (max === 0) return;
    this.#cache.set(transactionId, { submission, xml });
    if (this.#cache.size > max) this.#cache.delete(this.#cache.keys().next().value!);
  }

  /**
   * The parsed submission and XML of a transaction when this process has them: parsed at intake (the cache), or
   * carried by the stage message (parsed here, once).
   */
  cached(transactionId: string, carried?: string): { submission: Submission; xml: string } | undefined {
    const hit = this.#cache.get(transactionId);
    if (hit || carried === undefined) return hit;
    const entry = { submission: readSubmission(carried), xml: carried };
    this.remember(transactionId, entry.submission, carried);
    return entry;
  }

  /**
   * The stage message's JSON body, with the payment message in it when it fits within carryMessageMaxBytes (and
   * the body within the stage dead-letter queue's message size): a stage in another process then needs neither to
   * read it back nor to parse what it reads.
   */
  stageBody(message: StageMessage, xml: string | undefined): string {
    const max = this.deps.carryMessageMaxBytes ?? 0;
    if (xml === undefined || max === 0 || xml.length > max) return JSON.stringify(message);
    const body = JSON.stringify({ ...message, xml });
    return Buffer.byteLength(body) <= STAGE_BODY_MAX_BYTES ? body : JSON.stringify(message);
  }

  /**
   * Reads a submitted message: on an XML worker thread when there is a pool and the event loop is saturated (with
   * the built-in and profile findings for the client's profile), else here. Its report is built where it was read.
   */
  async read(clientId: string, input: string | Uint8Array): Promise<Submission> {
    const pool = this.deps.xml;
    if (!pool || this.deps.xmlOffload?.() === false) return readSubmission(input);
    return pool.read(input, await this.deps.clientProfile(clientId));
  }

  /** The status report of `outcome` for `original`: from its tree when it is at hand, else on an XML worker. */
  async report(original: Submission, outcome: Outcome, ids: ReportIds): Promise<{ messageType: string; xml: string }> {
    if (hasTree(original)) return buildReport(original.message, outcome, ids);
    return this.deps.xml ? this.deps.xml.report(original, outcome, ids) : reportFromXml(original.xml, outcome, ids);
  }

  forget(transactionId: string): void {
    this.#cache.delete(transactionId);
    // A fresh Map whenever it empties. Measured on Node 20 (V8 11): once a long-lived Map that every payment
    // passes through had been promoted to the old generation, what passed through it was promoted too (part of
    // about 10 KB per payment at 1,000/s, counted with --trace-gc-nvp), and each full collection that followed
    // stalled the event loop for milliseconds. A new Map is young and lets them die young. The same for the other
    // collections that hold work in flight (XmlPool's requests, SqliteDatabase's batches awaiting their flush).
    if (this.#cache.size === 0) this.#cache = new Map();
  }

  /** The parsed submission of a transaction: from the cache, or parsed again from its stored XML. */
  submissionOf(transactionId: string, xml: string): Submission {
    return this.#cache.get(transactionId)?.submission ?? readSubmission(xml);
  }

  /** An id for a message the hub builds (MsgId of a report): at most 35 characters, as ISO 20022 allows. */
  messageId(): string {
    return `MXG${this.deps.ids.uuid().replaceAll('-', '').slice(0, 30).toUpperCase()}`;
  }
}
