/**
 * One JetStream pull request (src/broker/nats/pull.ts) against a fake connection that plays a server which never
 * ends an expired request: the caller stops waiting shortly after the expiry, and a message the server sends late
 * still reaches onMessage until the request timeout closes the inbox.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { EXPIRED_GRACE_MS, pull } from '../../src/broker/nats/pull.js';

type Callback = (error: Error | null, msg: Msg) => void;

/** pull()'s timers do not hold the process open (a server's process has other work): a test must. */
function keepAlive(t: { after: (fn: () => void) => void }): void {
  const timer = setInterval(() => undefined, 1000);
  t.after(() => clearInterval(timer));
}

/** The connection port as pull() uses it: publish a request, subscribe to its reply inbox. */
function fakeServer() {
  const subscriptions = new Map<string, { callback: Callback; closed: boolean }>();
  const requests: Array<{ subject: string; reply: string; body: string }> = [];
  const connection = {
    subscribe(subject: string, options: { callback: Callback }) {
      const entry = { callback: options.callback, closed: false };
      subscriptions.set(subject, entry);
      return {
        isClosed: () => entry.closed,
        unsubscribe: () => void (entry.closed = true),
        drain: async () => void (entry.closed = true),
      };
    },
    publish(subject: string, body: string, options: { reply: string }) {
      requests.push({ subject, reply: options.reply, body });
    },
  };
  /** Delivers a message to a request's inbox, as the server would; false when nobody listens any more. */
  const deliver = (reply: string, data: string): boolean => {
    const entry = subscriptions.get(reply);
    if (!entry || entry.closed) return false;
    entry.callback(null, { data: new TextEncoder().encode(data), reply: `$JS.ACK.${data}`, headers: undefined } as unknown as Msg);
    return true;
  };
  /** Ends a request with a status message (no reply subject, a code header), as the server does. */
  const status = (reply: string, code: number): boolean => {
    const entry = subscriptions.get(reply);
    if (!entry || entry.closed) return false;
    entry.callback(null, { data: new Uint8Array(), reply: '', headers: { code, description: 'Request Timeout' } } as unknown as Msg);
    return true;
  };
  return { connection: connection as unknown as NatsConnection, requests, deliver, status };
}

test('a long poll the server never ends resolves shortly after its expiry; a late message still arrives', async (t) => {
  keepAlive(t);
  const server = fakeServer();
  const received: string[] = [];
  let unanswered = -1;
  const started = Date.now();
  const done = pull({
    connection: server.connection,
    subject: '$JS.API.CONSUMER.MSG.NEXT.s.c',
    batch: 10,
    expiresMs: 50,
    requestTimeoutMs: 600,
    onMessage: (msg) => received.push(new TextDecoder().decode(msg.data)),
    onEnd: () => undefined,
    onUnanswered: (count) => (unanswered = count),
  });
  assert.equal(server.requests.length, 1);
  assert.deepEqual(JSON.parse(server.requests[0]!.body), { batch: 10, expires: 50_000_000 });
  const reply = server.requests[0]!.reply;
  assert.ok(server.deliver(reply, 'm1'));
  assert.equal(await done, 1, 'resolved with what had arrived');
  const waited = Date.now() - started;
  assert.ok(waited >= 50 && waited < 50 + EXPIRED_GRACE_MS + 300, `resolved after ${waited} ms, not after the request timeout`);
  assert.ok(server.deliver(reply, 'm2'), 'the inbox is still open after the caller stopped waiting');
  assert.deepEqual(received, ['m1', 'm2']);
  await new Promise((resolve) => setTimeout(resolve, 700));
  assert.equal(server.deliver(reply, 'm3'), false, 'closed at the expiry plus the request timeout');
  assert.equal(unanswered, 2, 'reported as never ended, with what it received');
});

test('a request the server ends with a status resolves at once and closes its inbox', async (t) => {
  keepAlive(t);
  const server = fakeServer();
  let unanswered = false;
  const done = pull({
    connection: server.connection,
    subject: '$JS.API.CONSUMER.MSG.NEXT.s.c',
    batch: 10,
    expiresMs: 5_000,
    requestTimeoutMs: 5_000,
    onMessage: () => undefined,
    onEnd: () => undefined,
    onUnanswered: () => (unanswered = true),
  });
  const reply = server.requests[0]!.reply;
  const started = Date.now();
  assert.ok(server.deliver(reply, 'm1'));
  assert.ok(server.status(reply, 408));
  assert.equal(await done, 1);
  assert.ok(Date.now() - started < 1000, 'not held until the expiry');
  assert.equal(server.deliver(reply, 'm2'), false, 'the inbox is closed');
  assert.equal(unanswered, false);
});
