/**
 * A real nats-server with JetStream for tests: NATS_URL (default 127.0.0.1:4222). Outside CI the NATS tests skip
 * with a message when no server answers; under CI=true a missing server fails them, so CI cannot pass by skipping.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';

export const NATS_URL = process.env.NATS_URL ?? '127.0.0.1:4222';

export async function connectNats(): Promise<NatsConnection> {
  return connect({ servers: NATS_URL, timeout: 2000, maxReconnectAttempts: 0 });
}

/** True when a NATS server with JetStream answers at NATS_URL. */
export async function natsAvailable(): Promise<boolean> {
  try {
    const nc = await connectNats();
    try {
      await nc.request('$JS.API.INFO', '', { timeout: 2000 });
      return true;
    } finally {
      await nc.close();
    }
  } catch {
    return false;
  }
}

/**
 * Null when the server is there; otherwise the reason to skip. Under CI=true it throws instead: the NATS engine
 * must be tested there.
 */
export async function natsSkipReason(): Promise<string | null> {
  if (await natsAvailable()) return null;
  const reason = `no NATS JetStream server at ${NATS_URL} (start nats-server -js, or set NATS_URL)`;
  if (process.env.CI === 'true') throw new Error(`${reason}; CI must run the NATS tests`);
  return reason;
}

/** What a connection sent: requests (a reply awaited) and plain publishes, by subject. */
export interface SentCounts {
  requests: number;
  publishes: number;
  subjects: string[];
}

/**
 * The connection, with every request and publish made through it counted: the number of messages an operation
 * sends to the server is its cost on this engine, and tests hold it down.
 */
export function countingConnection(nc: NatsConnection): { connection: NatsConnection; sent: SentCounts } {
  const sent: SentCounts = { requests: 0, publishes: 0, subjects: [] };
  const connection = new Proxy(nc, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (property === 'request' || property === 'publish') {
        return (subject: string, ...rest: unknown[]) => {
          if (property === 'request') sent.requests += 1;
          else sent.publishes += 1;
          sent.subjects.push(subject);
          return method.call(target, subject, ...rest);
        };
      }
      return method.bind(target);
    },
  });
  return { connection, sent };
}
