/**
 * The bridge to an AMQP 0-9-1 broker (RabbitMQ): status reports published to the configured exchange with each
 * client's routing key, for systems that take their messages from a broker rather than from the hub's API.
 *
 * A report counts as delivered only once the broker has confirmed it (publisher confirms) and routed it to at least
 * one queue: it is published persistent and `mandatory`, so a routing key with nothing bound to it comes back
 * (basic.return, before the confirm) and is retried like an unreachable broker, instead of being dropped.
 *
 * One connection and one confirm channel per process, opened at the first publish. A connection or channel that
 * fails is dropped, and the next publish opens a new one; a publish with no confirm within `timeoutMs` drops it
 * too, since its outcome is unknown (the stage retries it: delivery is at least once, and every publish of one
 * report carries the same message id, `<transaction id>:<report type>`, for consumers to drop repeats).
 */
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { MxError } from '../errors.js';
import type { Logger } from '../log.js';

export interface BridgeMessage {
  /** The routing key (AMQP). */
  address: string;
  body: string;
  /** The same for every publish of one report. */
  messageId: string;
  headers: Record<string, string>;
  /** When the report was made final, in ms. */
  timestamp: number;
}

export interface ReportBridge {
  readonly kind: 'amqp';
  /** Resolves once the broker has taken the message; throws BRIDGE_UNAVAILABLE or BRIDGE_REFUSED otherwise. */
  publish(message: BridgeMessage): Promise<void>;
  close(): Promise<void>;
}

export interface AmqpBridgeOptions {
  url: string;
  exchange: string;
  timeoutMs: number;
  logger: Logger;
}

interface Link {
  connection: ChannelModel;
  channel: ConfirmChannel;
  /** Message ids the broker returned as unroutable, taken by their publish's confirm. */
  returned: Set<string>;
}

export class AmqpBridge implements ReportBridge {
  readonly kind = 'amqp' as const;
  readonly #o: AmqpBridgeOptions;
  #link: Promise<Link> | null = null;
  /** The link #link resolved to, once it has. */
  #current: Link | null = null;
  #closed = false;

  constructor(options: AmqpBridgeOptions) {
    this.#o = options;
  }

  async publish(message: BridgeMessage): Promise<void> {
    if (this.#closed) throw new MxError('SHUTTING_DOWN', 'the AMQP bridge is closed');
    const pending = (this.#link ??= this.#open());
    let link: Link;
    try {
      link = await pending;
    } catch (error) {
      if (this.#link === pending) this.#link = null;
      throw error instanceof MxError ? error : unavailable('cannot connect to the AMQP broker', error);
    }
    const confirmed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new MxError('BRIDGE_UNAVAILABLE', `the AMQP broker did not confirm the publish within ${this.#o.timeoutMs} ms`)), this.#o.timeoutMs);
      try {
        link.channel.publish(
          this.#o.exchange,
          message.address,
          Buffer.from(message.body, 'utf8'),
          { persistent: true, mandatory: true, messageId: message.messageId, contentType: 'application/xml', contentEncoding: 'utf-8', headers: message.headers, timestamp: Math.floor(message.timestamp / 1000) },
          (error: unknown) => {
            clearTimeout(timer);
            if (error) reject(error);
            else resolve();
          },
        );
      } catch (error) {
        clearTimeout(timer);
        reject(error);
      }
    });
    try {
      await confirmed;
    } catch (error) {
      this.#drop(link);
      throw error instanceof MxError ? error : unavailable('the AMQP broker did not take the report', error);
    }
    if (link.returned.delete(message.messageId)) {
      const where = this.#o.exchange === '' ? 'the default exchange' : `exchange "${this.#o.exchange}"`;
      throw new MxError('BRIDGE_UNAVAILABLE', `the AMQP broker routed the report to no queue: nothing is bound to routing key "${message.address}" on ${where}`);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const link = await this.#link?.catch(() => null);
    this.#link = null;
    this.#current = null;
    await link?.connection.close().catch(() => undefined);
  }

  async #open(): Promise<Link> {
    const connection = await connect(this.#o.url, { timeout: this.#o.timeoutMs });
    const returned = new Set<string>();
    let link: Link | null = null;
    connection.on('error', (err: Error) => this.#o.logger.warn({ err }, 'AMQP bridge connection failed'));
    connection.on('close', () => link && this.#forget(link));
    try {
      const channel = await connection.createConfirmChannel();
      channel.on('error', (err: Error) => this.#o.logger.warn({ err }, 'AMQP bridge channel failed'));
      channel.on('close', () => link && this.#drop(link));
      channel.on('return', (m: { properties: { messageId?: string } }) => {
        if (m.properties.messageId !== undefined) returned.add(m.properties.messageId);
      });
      if (this.#o.exchange !== '') await channel.checkExchange(this.#o.exchange);
      link = { connection, channel, returned };
      this.#current = link;
      return link;
    } catch (error) {
      await connection.close().catch(() => undefined);
      const code = (error as { code?: unknown }).code;
      if (code === 404) throw new MxError('BRIDGE_UNAVAILABLE', `the AMQP broker has no exchange "${this.#o.exchange}" (bridges.amqp.exchange): declare it`, { cause: error });
      throw error;
    }
  }

  /** Forgets a link that failed and closes it: the next publish opens another. */
  #drop(link: Link): void {
    this.#forget(link);
    void link.connection.close().catch(() => undefined);
  }

  #forget(link: Link): void {
    if (this.#current !== link) return;
    this.#current = null;
    this.#link = null;
  }
}

function unavailable(what: string, cause: unknown): MxError {
  return new MxError('BRIDGE_UNAVAILABLE', `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}
