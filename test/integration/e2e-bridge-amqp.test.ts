/**
 * Status reports published to a RabbitMQ the hub is bridged to, on each engine: a client with a `bridge` setting
 * gets each report published to `bridges.amqp.exchange` with its routing key, persistent, with the transaction's
 * ids as message id and headers, and the broker's confirm adds RCVD. A routing key with nothing bound is retried
 * until a queue is bound, and dead-lettered with the reason when none ever is. The setting is checked when stored.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, GetMessage } from 'amqplib';
import { api, awaitReport, deadLettered, describeOnEngines, e2eEngines, fresh, sample, startE2eHub, type E2eHub, type E2eVariant } from '../helpers/e2e.js';
import { connectRabbit, RABBITMQ_URL, rabbitSkipReason } from '../helpers/rabbitmq.js';

const rabbit = await rabbitSkipReason();
const engines: E2eVariant[] = (await e2eEngines()).map((v) => ({ ...v, skip: v.skip || (rabbit ?? false) }));

const ATTEMPTS = 4;

describeOnEngines(engines, 'AMQP bridge', (engine) => {
  const exchange = `mxgate.test.${randomUUID()}`;
  let e: E2eHub;
  let broker: ChannelModel;
  let channel: Channel;
  before(async () => {
    broker = await connectRabbit();
    channel = await broker.createChannel();
    await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
    e = await startE2eHub(
      { workflow: { retryBaseMs: 100, retryMaxMs: 400 }, webhooks: { retryMaxMs: 400, attemptsMax: ATTEMPTS }, bridges: { amqp: { url: RABBITMQ_URL, exchange } } },
      { engine },
    );
  });
  after(async () => {
    await e?.close();
    await channel?.deleteExchange(exchange).catch(() => undefined);
    await broker?.close();
  });

  /** A queue bound to `key` on the test's exchange, deleted at the end of the file. */
  async function bound(key: string): Promise<string> {
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, exchange, key);
    return queue;
  }

  /** The next message of `queue`, waiting up to 15 s. */
  async function next(queue: string): Promise<GetMessage> {
    for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((r) => setTimeout(r, 25))) {
      const message = await channel.get(queue, { noAck: true });
      if (message !== false) return message;
    }
    throw new Error(`nothing reached ${queue}`);
  }

  async function bridged(key: string): Promise<string> {
    const client = await e.createClient({ name: `bridged ${key}`, scopes: ['mx/read', 'mx/write'], settings: { bridge: { amqp: key } } });
    return e.tokenOf(client);
  }

  async function submit(token: string, tag: string): Promise<string> {
    const answer = await api(e.url, token, 'POST', '/v1/messages', { xml: fresh(sample('pacs.008.001.08-cbpr-single.xml'), tag) });
    assert.equal(answer.status, 202, answer.text);
    return answer.json().transaction_id as string;
  }

  async function receivedAt(token: string, id: string): Promise<unknown> {
    for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 25))) {
      const view = (await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json();
      if (view.received_at !== null) return view.received_at;
    }
    return null;
  }

  test('publishes the report with its ids, persistent, and records RCVD', async () => {
    const queue = await bound('reports.a');
    const token = await bridged('reports.a');
    const id = await submit(token, 'am1');
    const message = await next(queue);
    const report = await awaitReport(e.url, token, id);
    assert.equal(message.content.toString('utf8'), report.text);
    assert.equal(message.fields.routingKey, 'reports.a');
    assert.equal(message.properties.messageId, `${id}:pacs.002.001.10`);
    assert.equal(message.properties.contentType, 'application/xml');
    assert.equal(message.properties.deliveryMode, 2);
    assert.equal(message.properties.headers?.['x-transaction-id'], id);
    assert.equal(message.properties.headers?.['x-message-type'], 'pacs.002.001.10');
    assert.equal(message.properties.headers?.['x-mxgate-status'], 'ACSC');
    assert.notEqual(await receivedAt(token, id), null, 'the confirm adds RCVD');
    const view = (await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json();
    assert.equal((view.history as Array<{ status: string }>).filter((h) => h.status === 'RCVD').length, 1);
  });

  test('a routing key with nothing bound is retried until a queue is bound', async () => {
    const token = await bridged('reports.late');
    const id = await submit(token, 'am2');
    await awaitReport(e.url, token, id);
    // Returned unroutable: not delivered, so no RCVD yet (the outbox fetch above adds one: read the audit instead).
    await new Promise((r) => setTimeout(r, 150));
    const queue = await bound('reports.late');
    const message = await next(queue);
    assert.equal(message.properties.headers?.['x-transaction-id'], id);
  });

  test('a routing key that never gets a queue has the push dead-lettered with the reason', async () => {
    const token = await bridged('reports.nowhere');
    const id = await submit(token, 'am3');
    const { token: admin } = await e.token();
    const dead = await deadLettered(e.url, admin, 'mx.delivering.dlq.fifo', id, 20_000);
    assert.ok(dead, 'the push is in mx.delivering.dlq.fifo');
    assert.match(dead.attributes['mx-dead-letter-reason'] ?? '', /BRIDGE_UNAVAILABLE: .*nothing is bound to routing key "reports.nowhere"/);
  });

  test('the setting is checked when stored', async () => {
    const { token: admin } = await e.token({ scopes: ['mx/admin'] });
    for (const settings of [{ bridge: { amqp: '' } }, { bridge: { amqp: 'has space' } }, { bridge: { kafka: 'x' } }]) {
      const bad = await api(e.url, admin, 'POST', '/v1/admin/clients', { json: { name: 'bad bridge', settings } });
      assert.equal(bad.status, 400, bad.text);
      assert.equal((bad.json().error as { code: string }).code, 'INVALID_ATTRIBUTE');
    }
  });
});
