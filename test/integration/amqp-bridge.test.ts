/**
 * The AMQP bridge against a real RabbitMQ: a publish the broker confirms and routes resolves; an unreachable broker,
 * a missing exchange and an unroutable routing key fail with BRIDGE_UNAVAILABLE; a channel the broker closes (its
 * exchange deleted under it) is replaced at the next publish.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel } from 'amqplib';
import { AmqpBridge, type BridgeMessage } from '../../src/bridges/amqp.js';
import { silentLogger } from '../../src/log.js';
import { isMxError } from '../../src/errors.js';
import { connectRabbit, RABBITMQ_URL, rabbitSkipReason } from '../helpers/rabbitmq.js';

const skip = (await rabbitSkipReason()) ?? false;

const message = (address: string, n: number): BridgeMessage => ({ address, body: `<Document n="${n}"/>`, messageId: `m${n}`, headers: { 'x-n': String(n) }, timestamp: Date.now() });

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isMxError(error), `a coded error, not ${String(error)}`);
    return { code: error.code, message: error.message };
  }
  throw new Error('the publish succeeded');
}

describe('AMQP bridge', { skip }, () => {
  const exchange = `mxgate.bridge.${randomUUID()}`;
  let broker: ChannelModel;
  let channel: Channel;
  let queue: string;
  const bridges: AmqpBridge[] = [];
  const open = (options: Partial<{ url: string; exchange: string }> = {}) => {
    const bridge = new AmqpBridge({ url: RABBITMQ_URL, exchange, timeoutMs: 3000, logger: silentLogger(), ...options });
    bridges.push(bridge);
    return bridge;
  };

  before(async () => {
    broker = await connectRabbit();
    channel = await broker.createChannel();
    await channel.assertExchange(exchange, 'direct', { durable: false });
    queue = (await channel.assertQueue('', { exclusive: true })).queue;
    await channel.bindQueue(queue, exchange, 'k');
  });
  after(async () => {
    for (const bridge of bridges) await bridge.close();
    await channel.deleteExchange(exchange).catch(() => undefined);
    await broker.close();
  });

  it('resolves once the broker has confirmed and routed the message', async () => {
    const bridge = open();
    await bridge.publish(message('k', 1));
    const got = await channel.get(queue, { noAck: true });
    assert.ok(got !== false, 'the message is in the bound queue');
    assert.equal(got.content.toString(), '<Document n="1"/>');
    assert.equal(got.properties.messageId, 'm1');
    assert.equal(got.properties.headers?.['x-n'], '1');
  });

  it('fails with BRIDGE_UNAVAILABLE for an unreachable broker, a missing exchange, an unroutable key', async () => {
    const away = await failure(open({ url: 'amqp://guest:guest@127.0.0.1:1' }).publish(message('k', 2)));
    assert.equal(away.code, 'BRIDGE_UNAVAILABLE');
    assert.match(away.message, /cannot connect to the AMQP broker/);
    const missing = await failure(open({ exchange: `${exchange}.missing` }).publish(message('k', 3)));
    assert.equal(missing.code, 'BRIDGE_UNAVAILABLE');
    assert.match(missing.message, /has no exchange .*declare it/);
    const unroutable = await failure(open().publish(message('nobody', 4)));
    assert.equal(unroutable.code, 'BRIDGE_UNAVAILABLE');
    assert.match(unroutable.message, /nothing is bound to routing key "nobody"/);
  });

  it('opens a new channel after the broker closed the one it had', async () => {
    const bridge = open();
    await bridge.publish(message('k', 5));
    await channel.deleteExchange(exchange);
    // Publishing to an exchange that is gone makes the broker close the channel (404).
    const gone = await failure(bridge.publish(message('k', 6)));
    assert.equal(gone.code, 'BRIDGE_UNAVAILABLE');
    await channel.assertExchange(exchange, 'direct', { durable: false });
    await channel.bindQueue(queue, exchange, 'k');
    await bridge.publish(message('k', 7));
    const ns: string[] = [];
    for (let got = await channel.get(queue, { noAck: true }); got !== false; got = await channel.get(queue, { noAck: true })) ns.push(String(got.properties.headers?.['x-n']));
    assert.deepEqual(ns, ['5', '7']);
  });
});
