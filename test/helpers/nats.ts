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
