/**
 * A real RabbitMQ for the AMQP bridge's tests: RABBITMQ_URL (default amqp://guest:guest@127.0.0.1:5672). Outside CI
 * the tests skip with a message when no broker answers; under CI=true a missing broker fails them.
 */
import { connect, type ChannelModel } from 'amqplib';

export const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export async function connectRabbit(): Promise<ChannelModel> {
  return connect(RABBITMQ_URL, { timeout: 2000 });
}

/** Null when the broker is there; otherwise the reason to skip. Under CI=true it throws instead. */
export async function rabbitSkipReason(): Promise<string | null> {
  try {
    const connection = await connectRabbit();
    await connection.close();
    return null;
  } catch {
    const reason = `no RabbitMQ at ${RABBITMQ_URL.replace(/\/\/[^@]*@/, '//')} (rabbitmq-server -detached, or set RABBITMQ_URL)`;
    if (process.env.CI === 'true') throw new Error(`${reason}; CI must run the AMQP bridge tests`);
    return reason;
  }
}
