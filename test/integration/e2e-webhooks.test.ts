/**
 * Status reports pushed to a client's webhook, on each engine: a client with a `webhook` setting gets each report
 * POSTed to its URL, signed (HMAC-SHA256 of `<timestamp>.<body>` under its secret), and the first delivery adds
 * RCVD; a receiver that fails (503) is retried until it takes the report; one that refuses (4xx) has the push
 * dead-lettered with the reason; a client without a webhook gets no push. The secret is never shown back.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { api, awaitReport, deadLettered, describeOnEngines, e2eEngines, fresh, sample, startE2eHub, type E2eHub } from '../helpers/e2e.js';
import { Downstream, type Received } from '../helpers/downstream.js';

const engines = await e2eEngines();

const SECRET = 'a-webhook-secret-of-the-client';

/** The webhook receiver: a recording HTTP server, answering per path with the status `answers` gives (204). */
class Receiver extends Downstream {
  readonly answers = new Map<string, () => number>();

  constructor() {
    super();
    this.answer = (_xml, { path }) => ({ status: this.answers.get(path)?.() ?? 204, body: '' });
  }

  /** The pushes to `path`. */
  pushes(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** The pushes to `path`, once there are at least `count` (waiting up to 15 s). */
  async pushed(path: string, count: number): Promise<Received[]> {
    for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
      if (this.pushes(path).length >= count) return this.pushes(path);
    }
    throw new Error(`${this.pushes(path).length} of ${count} pushes reached ${path}`);
  }
}

describeOnEngines(engines, 'webhooks', (engine) => {
  let e: E2eHub;
  let receiver: Receiver;
  before(async () => {
    receiver = new Receiver();
    await receiver.start();
    e = await startE2eHub({ workflow: { retryBaseMs: 50, retryMaxMs: 200 } }, { engine });
  });
  after(async () => {
    await e.close();
    await receiver.stop();
  });

  /** A client whose webhook is `path` on the receiver, and its token. */
  async function hooked(path: string): Promise<{ token: string; clientId: string }> {
    const client = await e.createClient({ name: `hooked ${path}`, scopes: ['mx/read', 'mx/write'], settings: { webhook: { url: `${receiver.base}${path}`, secret: SECRET } } });
    return { token: await e.tokenOf(client), clientId: client.id };
  }

  async function submit(token: string, tag: string): Promise<string> {
    const answer = await api(e.url, token, 'POST', '/v1/messages', { xml: fresh(sample('pacs.008.001.08-cbpr-single.xml'), tag) });
    assert.equal(answer.status, 202, answer.text);
    return answer.json().transaction_id as string;
  }

  test('pushes the report, signed, and records RCVD', async () => {
    const { token } = await hooked('/a');
    const id = await submit(token, 'wh1');
    const [push] = await receiver.pushed('/a', 1);
    const report = await awaitReport(e.url, token, id);
    assert.equal(push!.xml, report.text);
    assert.equal(push!.headers['content-type'], 'application/xml; charset=utf-8');
    assert.equal(push!.headers['x-transaction-id'], id);
    assert.equal(push!.headers['x-message-type'], 'pacs.002.001.10');
    assert.equal(push!.headers['x-mxgate-status'], 'ACSC');
    const timestamp = String(push!.headers['x-mxgate-timestamp']);
    assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 60, 'a current Unix time');
    const expected = `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${push!.xml}`).digest('hex')}`;
    assert.equal(push!.headers['x-mxgate-signature'], expected);
    // RCVD once delivered (the outbox fetch above may have added it first: either way, once).
    for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
      const view = (await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json();
      if ((view.history as Array<{ status: string }>).some((h) => h.status === 'RCVD')) break;
    }
    const view = (await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json();
    assert.equal((view.history as Array<{ status: string }>).filter((h) => h.status === 'RCVD').length, 1);
    assert.equal(view.status, 'ACSC');
  });

  test('a receiver that fails is retried until it takes the report', async () => {
    let calls = 0;
    receiver.answers.set('/b', () => (++calls <= 2 ? 503 : 200));
    const { token } = await hooked('/b');
    const id = await submit(token, 'wh2');
    const pushes = await receiver.pushed('/b', 3);
    assert.ok(pushes.every((p) => p.headers['x-transaction-id'] === id));
    for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 20))) {
      if ((await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json().received_at !== null) break;
    }
    assert.notEqual((await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json().received_at, null, 'delivered: RCVD');
  });

  test('a receiver that refuses the report (4xx) has the push dead-lettered with the reason', async () => {
    receiver.answers.set('/c', () => 410);
    const { token } = await hooked('/c');
    const id = await submit(token, 'wh3');
    await receiver.pushed('/c', 1);
    const { token: admin } = await e.token();
    const dead = await deadLettered(e.url, admin, 'mx.delivering.dlq.fifo', id);
    assert.ok(dead, 'the push is in mx.delivering.dlq.fifo');
    assert.match(dead.attributes['mx-dead-letter-reason'] ?? '', /WEBHOOK_REFUSED: the webhook answered HTTP 410/);
    assert.equal(receiver.pushes('/c').length, 1, 'refused once, not retried');
    assert.equal((await api(e.url, token, 'GET', `/v1/transactions/${id}`)).json().received_at, null);
  });

  test('a client bridged to a broker this hub has no configuration for has the push dead-lettered at once', async () => {
    const client = await e.createClient({ name: 'bridged nowhere', scopes: ['mx/read', 'mx/write'], settings: { bridge: { amqp: 'reports.x' } } });
    const token = await e.tokenOf(client);
    const id = await submit(token, 'wh5');
    await awaitReport(e.url, token, id);
    const { token: admin } = await e.token();
    const dead = await deadLettered(e.url, admin, 'mx.delivering.dlq.fifo', id);
    assert.ok(dead, 'the push is in mx.delivering.dlq.fifo');
    assert.match(dead.attributes['mx-dead-letter-reason'] ?? '', /BRIDGE_REFUSED: .*no AMQP broker configured \(bridges\.amqp\.url\)/);
  });

  test('a client without a webhook gets no push; the setting is checked, and its secret never shown', async () => {
    const before = receiver.received.length;
    const { token } = await e.token({ scopes: ['mx/read', 'mx/write'] });
    await awaitReport(e.url, token, await submit(token, 'wh4'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.received.length, before);

    const { token: admin } = await e.token({ scopes: ['mx/admin'] });
    const bad = await api(e.url, admin, 'POST', '/v1/admin/clients', { json: { name: 'bad hook', settings: { webhook: { url: 'ftp://x', secret: SECRET } } } });
    assert.equal(bad.status, 400, bad.text);
    assert.equal((bad.json().error as { code: string }).code, 'INVALID_ATTRIBUTE');
    const short = await api(e.url, admin, 'POST', '/v1/admin/clients', { json: { name: 'weak hook', settings: { webhook: { url: `${receiver.base}/d`, secret: 'short' } } } });
    assert.equal(short.status, 400, short.text);
    const { clientId } = await hooked('/d');
    const shown = (await api(e.url, admin, 'GET', `/v1/admin/clients/${clientId}`)).json();
    assert.deepEqual(shown.settings, { webhook: { url: `${receiver.base}/d`, secret: '(set)' } });
  });
});
