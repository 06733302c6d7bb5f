/**
 * Black-box tests of the /v1/queues HTTP contract: status codes, field names, error codes.
 * A real engine on a fresh SQLite file per test; requests through a real socket.
 */
import { test, beforeEach, afterEach, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import { openEmbeddedEngine, type Engine } from '../../src/engines/embedded.js';
import { buildApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { bearer, createTestClient, fetchToken, tokenFor } from '../helpers/auth.js';

let dir: string;
let engine: Engine;
let app: FastifyInstance;
let base: string;
let clock: ManualClock;
let token: string;

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? { ...bearer(token), ...headers } : { 'content-type': 'application/json', ...bearer(token), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mxgate-http-'));
  clock = new ManualClock();
  const config = loadConfig({ overrides: { dataDir: dir, http: { bodyLimitBytes: 64 * 1024 } } });
  engine = openEmbeddedEngine({ config, clock, ids: randomIds, logger: silentLogger() });
  app = await buildApp({ config, logger: silentLogger(), queues: engine.queues, auth: engine.auth });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  token = await tokenFor(engine.auth, base);
});

afterEach(async () => {
  engine.beginShutdown();
  await app.close();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('queue resources', () => {
  test('POST /v1/queues creates (201), repeats idempotently (200), conflicts (409)', async () => {
    const created = await call('POST', '/v1/queues', { name: 'orders.fifo', fifo: true, content_based_dedup: true, visibility_timeout_s: 45 });
    assert.equal(created.status, 201);
    assert.deepEqual(Object.keys(created.body).sort(), [
      'content_based_dedup', 'created_at', 'dead_letter_queue', 'delay_s', 'fifo', 'max_message_bytes', 'max_receive_count', 'name', 'retention_s', 'visibility_timeout_s',
    ]);
    assert.equal(created.body.visibility_timeout_s, 45);
    const again = await call('POST', '/v1/queues', { name: 'orders.fifo', fifo: true, content_based_dedup: true, visibility_timeout_s: 45 });
    assert.equal(again.status, 200);
    const conflict = await call('POST', '/v1/queues', { name: 'orders.fifo', visibility_timeout_s: 5 });
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error.code, 'QUEUE_ALREADY_EXISTS');
  });

  test('GET lists and describes queues with metrics; DELETE removes (204), then 404', async () => {
    await call('POST', '/v1/queues', { name: 'a' });
    await call('POST', '/v1/queues/a/messages', { body: 'x' });
    const one = await call('GET', '/v1/queues/a');
    assert.equal(one.status, 200);
    assert.deepEqual(one.body.metrics, { visible: 1, in_flight: 0, delayed: 0, oldest_age_s: 0 });
    const list = await call('GET', '/v1/queues');
    assert.deepEqual(list.body.queues.map((q: { name: string }) => q.name), ['a']);
    assert.equal((await call('DELETE', '/v1/queues/a')).status, 204);
    const gone = await call('GET', '/v1/queues/a');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, 'QUEUE_NOT_FOUND');
  });

  test('bad input is answered with coded 4xx errors', async () => {
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/v1/queues', { name: 'bad name' }, 400, 'QUEUE_NAME_INVALID'],
      ['POST', '/v1/queues', { name: 'x', unknown_field: 1 }, 400, 'INVALID_ATTRIBUTE'],
      ['POST', '/v1/queues', { name: 'x', visibility_timeout_s: -1 }, 400, 'INVALID_ATTRIBUTE'],
      ['POST', '/v1/queues', '{"name":', 400, 'BAD_REQUEST'],
      ['GET', '/v1/nothing-here', undefined, 404, 'NOT_FOUND'],
      ['POST', '/v1/queues/none/messages', { body: 'x' }, 404, 'QUEUE_NOT_FOUND'],
      // Attribute names of the hub (the dead-letter reason) cannot be sent, so that none is ever a client's.
      ['POST', '/v1/queues/reserved/messages', { body: 'x', attributes: { 'mx-dead-letter-reason': 'forged' } }, 400, 'INVALID_ATTRIBUTE'],
    ];
    await call('POST', '/v1/queues', { name: 'reserved' });
    for (const [method, path, body, status, code] of cases) {
      const res = await call(method, path, body);
      assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}`);
      assert.equal(res.body.error.code, code, `${method} ${path}`);
      assert.equal(typeof res.body.error.message, 'string');
    }
  });

  test('a request body over the configured limit is refused with 413', async () => {
    await call('POST', '/v1/queues', { name: 'big' });
    const res = await call('POST', '/v1/queues/big/messages', { body: 'x'.repeat(70 * 1024) });
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'PAYLOAD_TOO_LARGE');
  });
});

describe('messages', () => {
  beforeEach(async () => {
    await call('POST', '/v1/queues', { name: 'dlq' });
    await call('POST', '/v1/queues', { name: 'q', max_message_bytes: 100, dead_letter_queue: 'dlq', max_receive_count: 1, visibility_timeout_s: 10 });
  });

  test('send one -> 201 {message_id, sequence_number, duplicate}; receive; delete -> 204', async () => {
    const sent = await call('POST', '/v1/queues/q/messages', { body: 'hello', attributes: { a: 'b' } });
    assert.equal(sent.status, 201);
    assert.equal(typeof sent.body.message_id, 'string');
    assert.match(sent.body.sequence_number, /^\d+$/);
    assert.equal(sent.body.duplicate, false);
    const got = await call('GET', '/v1/queues/q/messages?max=10&visibility_s=20');
    assert.equal(got.status, 200);
    const [m] = got.body.messages;
    assert.deepEqual(Object.keys(m).sort(), [
      'attributes', 'body', 'first_received_at', 'group_id', 'message_id', 'receipt_handle', 'receive_count', 'sent_at', 'sequence_number',
    ]);
    assert.equal(m.body, 'hello');
    assert.deepEqual(m.attributes, { a: 'b' });
    assert.equal(m.receive_count, 1);
    assert.equal((await call('DELETE', `/v1/queues/q/messages/${encodeURIComponent(m.receipt_handle)}`)).status, 204);
    const again = await call('DELETE', `/v1/queues/q/messages/${encodeURIComponent(m.receipt_handle)}`);
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, 'RECEIPT_HANDLE_INVALID');
  });

  test('batch send reports partial failures per entry; batch rules are enforced', async () => {
    const res = await call('POST', '/v1/queues/q/messages', {
      entries: [{ id: 'a', body: 'one' }, { id: 'b', body: 'x'.repeat(101) }, { id: 'c', body: 'three' }],
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.successful.map((s: { id: string }) => s.id), ['a', 'c']);
    assert.equal(res.body.failed.length, 1);
    assert.equal(res.body.failed[0].id, 'b');
    assert.equal(res.body.failed[0].code, 'MESSAGE_TOO_LARGE');
    const eleven = Array.from({ length: 11 }, (_, i) => ({ id: `e${i}`, body: 'x' }));
    assert.equal((await call('POST', '/v1/queues/q/messages', { entries: eleven })).body.error.code, 'BATCH_TOO_LARGE');
    assert.equal((await call('POST', '/v1/queues/q/messages', { entries: [] })).body.error.code, 'BATCH_EMPTY');
    const twins = [{ id: 'x', body: '1' }, { id: 'x', body: '2' }];
    assert.equal((await call('POST', '/v1/queues/q/messages', { entries: twins })).body.error.code, 'BATCH_IDS_NOT_DISTINCT');
  });

  test('batch delete and visibility change; redrive from the dead-letter queue', async () => {
    await call('POST', '/v1/queues/q/messages', { entries: [{ id: '1', body: 'one' }, { id: '2', body: 'two' }] });
    const got = (await call('GET', '/v1/queues/q/messages?max=10')).body.messages;
    assert.equal(got.length, 2);
    const del = await call('POST', '/v1/queues/q/messages/delete', { receipt_handles: [got[0].receipt_handle, '9.nonexistent'] });
    assert.deepEqual(del.body.successful, [{ receipt_handle: got[0].receipt_handle }]);
    assert.equal(del.body.failed[0].code, 'RECEIPT_HANDLE_INVALID');
    const patch = await call('PATCH', `/v1/queues/q/messages/${encodeURIComponent(got[1].receipt_handle)}`, { visibility_s: 0 });
    assert.equal(patch.status, 204);
    // Received once already (max_receive_count 1): the next receive dead-letters it.
    assert.deepEqual((await call('GET', '/v1/queues/q/messages?max=10')).body.messages, []);
    assert.equal((await call('GET', '/v1/queues/dlq')).body.metrics.visible, 1);
    const redrive = await call('POST', '/v1/queues/dlq/redrive');
    assert.deepEqual(redrive.body, { moved: 1 });
    const back = (await call('GET', '/v1/queues/q/messages?max=10')).body.messages;
    assert.deepEqual(back.map((m: { body: string }) => m.body), ['two']);
  });

  test('receive parameters are bounded: max 1..10, wait_s 0..20', async () => {
    assert.equal((await call('GET', '/v1/queues/q/messages?max=11')).status, 400);
    assert.equal((await call('GET', '/v1/queues/q/messages?wait_s=21')).status, 400);
    assert.equal((await call('GET', '/v1/queues/q/messages?max=abc')).status, 400);
  });

  test('a long poll over HTTP returns as soon as a message is sent', async () => {
    const started = Date.now();
    const polling = call('GET', '/v1/queues/q/messages?wait_s=15');
    await new Promise((r) => setTimeout(r, 100));
    await call('POST', '/v1/queues/q/messages', { body: 'ping' });
    const res = await polling;
    assert.deepEqual(res.body.messages.map((m: { body: string }) => m.body), ['ping']);
    assert.ok(Date.now() - started < 5_000, `answered after ${Date.now() - started} ms`);
  });

  test('FIFO over HTTP: duplicates are flagged and enqueued once', async () => {
    await call('POST', '/v1/queues', { name: 'p.fifo', fifo: true });
    const a = await call('POST', '/v1/queues/p.fifo/messages', { body: 'x', group_id: 'acct-1', dedup_id: 'd-1' });
    const b = await call('POST', '/v1/queues/p.fifo/messages', { body: 'x', group_id: 'acct-1', dedup_id: 'd-1' });
    assert.equal(a.status, 201);
    assert.equal(b.body.duplicate, true);
    assert.equal(b.body.message_id, a.body.message_id);
    const missing = await call('POST', '/v1/queues/p.fifo/messages', { body: 'x', dedup_id: 'd-2' });
    assert.equal(missing.body.error.code, 'GROUP_ID_REQUIRED');
    const got = (await call('GET', '/v1/queues/p.fifo/messages?max=10')).body.messages;
    assert.equal(got.length, 1);
    assert.equal(got[0].group_id, 'acct-1');
  });
});

describe('tenancy of queue messages', () => {
  test("the hub's mx.* queues need mx/admin; another client's participant queue answers 404, its own works", async () => {
    await call('POST', '/v1/queues', { name: 'mx.processing.fifo', fifo: true });
    const a = await createTestClient(engine.auth, { scopes: ['mx/read', 'mx/write'] });
    const b = await createTestClient(engine.auth, { scopes: ['mx/read', 'mx/write'] });
    for (const c of [a, b]) await call('POST', '/v1/queues', { name: `participant.${c.id}` });
    const tokenA = await fetchToken(base, a);
    const as = (method: string, path: string, body?: unknown) =>
      fetch(base + path, {
        method,
        headers: body === undefined ? bearer(tokenA) : { 'content-type': 'application/json', ...bearer(tokenA) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json().catch(() => null)) as { error?: { code: string } } | null }));

    // A forged stage message would be taken for the hub's own.
    const forged = await as('POST', '/v1/queues/mx.processing.fifo/messages', { body: '{"transaction_id":"x"}', group_id: 'g', dedup_id: 'd' });
    assert.equal(forged.status, 403);
    assert.equal(forged.body?.error?.code, 'FORBIDDEN');
    assert.equal((await as('GET', '/v1/queues/mx.processing.fifo/messages?max=10')).status, 403);
    assert.equal((await call('GET', '/v1/queues/mx.processing.fifo/messages?max=10')).status, 200, 'an operator (mx/admin) may look');

    // Client b's reports are b's alone: a can neither read nor add to them.
    await call('POST', `/v1/queues/participant.${b.id}/messages`, { body: 'report for b' });
    const foreign = await as('GET', `/v1/queues/participant.${b.id}/messages?max=10`);
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body?.error?.code, 'QUEUE_NOT_FOUND');
    assert.equal((await as('POST', `/v1/queues/participant.${b.id}/messages`, { body: 'spoofed report' })).status, 404);
    assert.equal((await as('POST', `/v1/queues/participant.${b.id}/messages/delete`, { receipt_handles: ['h'] })).status, 404);
    const kept = await call('GET', `/v1/queues/participant.${b.id}/messages?max=10`);
    assert.deepEqual(kept.body.messages.map((m: { body: string }) => m.body), ['report for b']);

    await call('POST', `/v1/queues/participant.${a.id}/messages`, { body: 'report for a' });
    const own = await as('GET', `/v1/queues/participant.${a.id}/messages?max=10`);
    assert.equal(own.status, 200);
    assert.deepEqual((own.body as unknown as { messages: Array<{ body: string }> }).messages.map((m) => m.body), ['report for a']);
  });
});
