/**
 * The OpenAPI document at /openapi.json: valid against the official OpenAPI schema, describing every route the
 * app registers, with each operation's security taken from its route scope; /docs serves the interactive page.
 * The transaction API is described whole (headers, XML bodies, success and error answers), and real answers of a
 * running hub validate against the document's response schemas.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { compileErrors, validate } from '@readme/openapi-parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { loadConfig } from '../../src/config/index.js';
import { openEmbeddedEngine, type Engine } from '../../src/engines/embedded.js';
import { buildApp } from '../../src/http/app.js';
import { assembleWorkflow } from '../../src/main.js';
import { routeScopes } from '../../src/http/auth.js';
import { silentLogger } from '../../src/log.js';
import { systemClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { api, awaitReport, fresh, sample, startE2eHub, type Answer, type E2eHub } from '../helpers/e2e.js';
import { sharedIso20022Available } from '../helpers/shared.js';

interface Media {
  schema?: Record<string, unknown>;
}
interface Response {
  description: string;
  headers?: Record<string, { schema: unknown }>;
  content?: Record<string, Media>;
}
interface Operation {
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ in: string; name: string; required?: boolean; schema?: unknown }>;
  requestBody?: { required?: boolean; content: Record<string, Media> };
  responses: Record<string, Response>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; flows: { clientCredentials: { tokenUrl: string; scopes: Record<string, string> } } }> };
}

let dir: string;
let engine: Engine;
let app: FastifyInstance;
let base: string;
let doc: Document;

/** The document's form of a route path: /v1/queues/:name -> /v1/queues/{name}, without a trailing slash. */
function docPath(url: string): string {
  const path = url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  return path.length > 1 ? path.replace(/\/$/, '') : path;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mxgate-openapi-'));
  const config = loadConfig({ overrides: { dataDir: dir } });
  engine = openEmbeddedEngine({ config, clock: systemClock, ids: randomIds, logger: silentLogger() });
  const { workflow } = assembleWorkflow({ config, engine, logger: silentLogger(), clock: systemClock, ids: randomIds, workers: false });
  app = await buildApp({ config, logger: silentLogger(), queues: engine.queues, auth: engine.auth, workflow });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  const res = await fetch(`${base}/openapi.json`);
  assert.equal(res.status, 200);
  doc = (await res.json()) as Document;
});

after(async () => {
  await app.close();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the document is valid OpenAPI 3.1', async () => {
  assert.equal(doc.openapi, '3.1.0');
  const result = await validate(structuredClone(doc) as never);
  assert.ok(result.valid, result.valid ? '' : compileErrors(result));
});

test('every registered route is described, and nothing else', () => {
  const routes = routeScopes(app).filter((r) => !r.hidden && r.method !== 'HEAD');
  assert.ok(routes.length >= 20, `routes seen: ${routes.length}`);
  const registered = new Set(routes.map((r) => `${r.method.toLowerCase()} ${docPath(r.url)}`));
  const documented = new Set(
    Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${docPath(path)}`)),
  );
  assert.deepEqual([...registered].filter((r) => !documented.has(r)), [], 'registered but not documented');
  assert.deepEqual([...documented].filter((d) => !registered.has(d)), [], 'documented but not registered');
});

test("each operation's security is its route scope; public routes have none", () => {
  const scheme = doc.components.securitySchemes.oauth2!;
  assert.equal(scheme.type, 'oauth2');
  assert.equal(scheme.flows.clientCredentials.tokenUrl, '/oauth2/token');
  assert.deepEqual(Object.keys(scheme.flows.clientCredentials.scopes).sort(), ['mx/admin', 'mx/read', 'mx/write']);
  for (const route of routeScopes(app).filter((r) => !r.hidden && r.method !== 'HEAD')) {
    const operation = doc.paths[docPath(route.url)]?.[route.method.toLowerCase()];
    assert.ok(operation, `${route.method} ${route.url}`);
    assert.ok(route.scope, `${route.method} ${route.url} declares a scope`);
    if (route.scope === 'public') {
      assert.deepEqual(operation.security, [], `${route.method} ${route.url}`);
    } else {
      assert.deepEqual(operation.security, [{ oauth2: [route.scope] }], `${route.method} ${route.url}`);
      assert.ok(operation.responses['401'] && operation.responses['403'], `${route.method} ${route.url} documents 401 and 403`);
      assert.match(JSON.stringify(operation.responses['500'] ?? null), /INTERNAL/, `${route.method} ${route.url} documents 500 INTERNAL`);
    }
  }
  assert.deepEqual(doc.paths['/v1/queues']?.post?.security, [{ oauth2: ['mx/admin'] }]);
  assert.deepEqual(doc.paths['/v1/queues/{name}/messages']?.get?.security, [{ oauth2: ['mx/write'] }]);
  assert.deepEqual(doc.paths['/v1/queues/{name}']?.get?.security, [{ oauth2: ['mx/read'] }]);
});

test('/docs serves the interactive page, which loads the document', async () => {
  const page = await fetch(`${base}/docs`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await page.text(), /swagger-ui/i);
  const json = await fetch(`${base}/docs/json`);
  assert.equal(json.status, 200);
  assert.deepEqual(Object.keys((await json.json()) as object).sort(), Object.keys(doc).sort());
});

/** The transaction API, route by route: what its document must hold. */
const TRANSACTION_API: Array<{
  op: string;
  success: Record<string, string>;
  errors: string[];
  headers?: Record<string, boolean>;
  params?: string[];
  xmlBody?: boolean;
  responseHeaders?: Record<string, string[]>;
}> = [
  { op: 'post /v1/transactions', success: { 201: 'application/json' }, errors: [] },
  { op: 'get /uuid', success: { 200: 'application/json' }, errors: [], headers: { 'x-message-type': false } },
  ...['post /v1/inbox', 'post /inbox'].map((op) => ({
    op,
    success: { 202: 'application/json', 200: 'application/json' },
    errors: ['400', '404', '409', '413', '415', '422', '503'],
    headers: { 'x-transaction-id': false, 'x-message-type': false, 'idempotency-key': false },
    xmlBody: true,
    responseHeaders: { 202: ['location'], 200: ['location'] },
  })),
  {
    op: 'post /v1/messages',
    success: { 202: 'application/json', 200: 'application/json' },
    errors: ['400', '413', '415', '422', '503'],
    headers: { 'x-message-type': false, 'idempotency-key': false },
    xmlBody: true,
    responseHeaders: { 202: ['location'], 200: ['location'] },
  },
  { op: 'get /v1/transactions/{id}', success: { 200: 'application/json' }, errors: ['400', '404'], params: ['id'] },
  { op: 'get /v1/transactions', success: { 200: 'application/json' }, errors: ['400'], params: ['status', 'since', 'until', 'msg_id', 'end_to_end_id', 'uetr', 'cursor', 'limit'] },
  {
    op: 'get /v1/outbox/{id}',
    success: { 200: 'application/xml', 202: 'application/json' },
    errors: ['400', '404'],
    params: ['id'],
    responseHeaders: { 200: ['x-message-type', 'x-transaction-id'], 202: ['retry-after'] },
  },
  {
    op: 'post /outbox',
    success: { 200: 'application/xml', 202: 'application/json' },
    errors: ['400', '404'],
    headers: { 'x-transaction-id': true },
    responseHeaders: { 200: ['x-message-type', 'x-transaction-id'], 202: ['retry-after'] },
  },
];

function operation(document: Document, op: string): Operation {
  const [method, path] = op.split(' ') as [string, string];
  const found = document.paths[path]?.[method];
  assert.ok(found, `${op} is documented`);
  return found;
}

test('each transaction route documents its success answers with their schemas and media types', () => {
  for (const route of TRANSACTION_API) {
    const responses = operation(doc, route.op).responses;
    for (const [status, type] of Object.entries(route.success)) {
      const schema = responses[status]?.content?.[type]?.schema;
      assert.ok(schema, `${route.op} ${status} ${type} has a schema`);
      if (type === 'application/xml') assert.equal(schema.type, 'string', `${route.op} ${status}`);
      else assert.equal(schema.type, 'object', `${route.op} ${status}`);
      for (const name of route.responseHeaders?.[status] ?? []) {
        assert.ok(responses[status]!.headers?.[name], `${route.op} ${status} documents the ${name} header`);
      }
    }
  }
  const view = operation(doc, 'get /v1/transactions/{id}').responses['200']!.content!['application/json']!.schema as {
    properties: Record<string, { type?: unknown; items?: { properties: Record<string, { type?: unknown }> } }>;
  };
  for (const field of ['transaction_id', 'status', 'reason_code', 'reason_text', 'message_type', 'msg_id', 'created_at', 'updated_at', 'payments', 'history']) {
    assert.ok(view.properties[field], `the transaction view names ${field}`);
  }
  // Money is a decimal string, never a number.
  assert.deepEqual(view.properties.payments!.items!.properties.amount!.type, ['string', 'null']);
  const page = operation(doc, 'get /v1/transactions').responses['200']!.content!['application/json']!.schema as { properties: Record<string, unknown> };
  assert.ok(page.properties.transactions && page.properties.next_cursor, 'a page names its transactions and next_cursor');
  const submitted = operation(doc, 'post /v1/messages').responses['200']!.content!['application/json']!.schema as { properties: Record<string, unknown> };
  assert.ok(submitted.properties.duplicate && submitted.properties.report_url, 'a submission answer names duplicate and report_url');
});

test('each transaction route documents its request headers, parameters and XML body', () => {
  for (const route of TRANSACTION_API) {
    const op = operation(doc, route.op);
    for (const [name, required] of Object.entries(route.headers ?? {})) {
      const parameter = op.parameters?.find((p) => p.in === 'header' && p.name === name);
      assert.ok(parameter, `${route.op} declares the ${name} header`);
      assert.equal(parameter.required, required, `${route.op} ${name} required`);
    }
    for (const name of route.params ?? []) {
      assert.ok(op.parameters?.some((p) => (p.in === 'path' || p.in === 'query') && p.name === name), `${route.op} declares ${name}`);
    }
    if (route.xmlBody) {
      assert.equal(op.requestBody?.required, true, `${route.op} requires a body`);
      for (const type of ['application/xml', 'text/xml']) {
        assert.equal(op.requestBody?.content[type]?.schema?.type, 'string', `${route.op} takes ${type}`);
      }
      assert.equal(op.requestBody?.content['application/json'], undefined, `${route.op} takes no JSON`);
    } else {
      assert.equal(op.requestBody, undefined, `${route.op} takes no body`);
    }
  }
});

test('each transaction route documents its error answers in the shared error shape, with their codes', () => {
  for (const route of TRANSACTION_API) {
    const responses = operation(doc, route.op).responses;
    for (const status of [...route.errors, '401', '403']) {
      const schema = responses[status]?.content?.['application/json']?.schema as
        | { required?: string[]; properties?: { error?: { required?: string[]; properties?: { code?: { enum?: string[] } } } } }
        | undefined;
      assert.ok(schema, `${route.op} documents ${status}`);
      assert.deepEqual(schema.required, ['error'], `${route.op} ${status}`);
      assert.deepEqual(schema.properties?.error?.required, ['code', 'message'], `${route.op} ${status}`);
      assert.ok(schema.properties?.error?.properties?.code?.enum?.length, `${route.op} ${status} lists its codes`);
    }
  }
});

const skipLive = !sharedIso20022Available() && process.env.CI !== 'true' ? 'ISO 20022 reference material not found at ../shared/iso20022' : false;

describe('real answers of the transaction API validate against the document', { skip: skipLive }, () => {
  let e: E2eHub;
  let live: Document;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const seen = new Set<string>();

  /** Checks one answer against the document: a schema for its status and media type that it satisfies, and the headers the document promises. */
  function check(op: string, answer: Answer): void {
    const response = operation(live, op).responses[String(answer.status)];
    assert.ok(response, `${op} documents ${answer.status}: ${answer.text.slice(0, 200)}`);
    const type = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const schema = response.content?.[type]?.schema;
    assert.ok(schema, `${op} ${answer.status} documents ${type}`);
    const validator = ajv.compile(schema);
    const value = type === 'application/json' ? JSON.parse(answer.text) : answer.text;
    assert.ok(validator(value), `${op} ${answer.status}: ${ajv.errorsText(validator.errors)} in ${answer.text.slice(0, 300)}`);
    for (const name of Object.keys(response.headers ?? {})) {
      assert.ok(answer.headers.get(name) !== null, `${op} ${answer.status} sends the ${name} header`);
    }
    seen.add(`${op} ${answer.status}`);
  }

  before(async () => {
    e = await startE2eHub({ http: { bodyLimitBytes: 64 * 1024 } });
    live = (await (await fetch(`${e.url}/openapi.json`)).json()) as Document;
  });
  after(async () => {
    await e.close();
  });

  test('success answers of every route', async () => {
    const { token } = await e.token();
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'oas1');
    check('post /v1/transactions', await api(e.url, token, 'POST', '/v1/transactions'));
    const uuid = await api(e.url, token, 'GET', '/uuid', { headers: { 'x-message-type': 'pacs.008' } });
    check('get /uuid', uuid);
    const id = uuid.json().transaction_id as string;
    check('post /inbox', await api(e.url, token, 'POST', '/inbox', { xml, headers: { 'x-transaction-id': id, 'x-message-type': 'pacs.008' } }));
    // A reserved id has no message: its outbox answers 202 until one is submitted and released.
    const waiting = (await api(e.url, token, 'POST', '/v1/transactions')).json().transaction_id as string;
    check('get /v1/outbox/{id}', await api(e.url, token, 'GET', `/v1/outbox/${waiting}`));
    check('post /outbox', await api(e.url, token, 'POST', '/outbox', { headers: { 'x-transaction-id': waiting } }));
    check('get /v1/outbox/{id}', await awaitReport(e.url, token, id));
    check('post /outbox', await api(e.url, token, 'POST', '/outbox', { headers: { 'x-transaction-id': id } }));
    check('get /v1/transactions/{id}', await api(e.url, token, 'GET', `/v1/transactions/${id}`));
    check('get /v1/transactions/{id}', await api(e.url, token, 'GET', `/v1/transactions/${waiting}`));
    check('post /v1/messages', await api(e.url, token, 'POST', '/v1/messages', { xml: fresh(xml, 'b'), headers: { 'idempotency-key': 'oas-1' } }));
    check('post /v1/messages', await api(e.url, token, 'POST', '/v1/messages', { xml }));
    check('post /v1/inbox', await api(e.url, token, 'POST', '/v1/inbox', { xml, headers: { 'x-transaction-id': waiting } }));
    check('post /v1/inbox', await api(e.url, token, 'POST', '/v1/inbox', { xml: fresh(xml, 'c') }));
    const first = await api(e.url, token, 'GET', '/v1/transactions?limit=1');
    check('get /v1/transactions', first);
    assert.equal(typeof first.json().next_cursor, 'string');
    check('get /v1/transactions', await api(e.url, token, 'GET', '/v1/transactions?limit=100'));
    for (const expected of ['post /v1/transactions 201', 'get /uuid 200', 'post /inbox 202', 'post /v1/inbox 200', 'post /v1/inbox 202', 'post /v1/messages 200',
      'post /v1/messages 202', 'get /v1/outbox/{id} 200', 'get /v1/outbox/{id} 202', 'post /outbox 200', 'post /outbox 202', 'get /v1/transactions/{id} 200', 'get /v1/transactions 200']) {
      assert.ok(seen.has(expected), `checked ${expected}`);
    }
  });

  test('error answers', async () => {
    const { token } = await e.token();
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'oas2');
    const used = (await api(e.url, token, 'POST', '/v1/messages', { xml })).json().transaction_id as string;
    check('get /v1/transactions/{id}', await api(e.url, token, 'GET', '/v1/transactions/not-a-uuid'));
    check('get /v1/transactions/{id}', await api(e.url, token, 'GET', `/v1/transactions/${crypto.randomUUID()}`));
    check('get /v1/transactions', await api(e.url, token, 'GET', '/v1/transactions?cursor=bogus'));
    check('get /v1/outbox/{id}', await api(e.url, token, 'GET', `/v1/outbox/${crypto.randomUUID()}`));
    check('post /outbox', await api(e.url, token, 'POST', '/outbox'));
    check('post /v1/inbox', await api(e.url, token, 'POST', '/v1/inbox', { xml: fresh(xml, 'd'), headers: { 'x-transaction-id': used } }));
    check('post /v1/inbox', await api(e.url, token, 'POST', '/v1/inbox', { xml: fresh(xml, 'e'), headers: { 'x-transaction-id': crypto.randomUUID() } }));
    check('post /v1/messages', await api(e.url, token, 'POST', '/v1/messages', { json: { not: 'xml' } }));
    check('post /v1/messages', await api(e.url, token, 'POST', '/v1/messages', { xml: sample('camt.053.001.02-ing.xml') }));
    check('post /v1/messages', await api(e.url, token, 'POST', '/v1/messages', { xml: `${xml}<!--${'x'.repeat(70 * 1024)}-->` }));
    check('post /v1/messages', await api(e.url, token, 'POST', '/v1/messages', { xml: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "a">]><x>&a;</x>' }));
    check('post /v1/messages', await api(e.url, null, 'POST', '/v1/messages', { xml }));
    check('post /v1/messages', await api(e.url, (await e.token({ scopes: ['mx/read'] })).token, 'POST', '/v1/messages', { xml }));
    for (const expected of ['get /v1/transactions/{id} 400', 'get /v1/transactions/{id} 404', 'get /v1/transactions 400', 'get /v1/outbox/{id} 404', 'post /outbox 400',
      'post /v1/inbox 409', 'post /v1/inbox 404', 'post /v1/messages 415', 'post /v1/messages 422', 'post /v1/messages 413', 'post /v1/messages 400',
      'post /v1/messages 401', 'post /v1/messages 403']) {
      assert.ok(seen.has(expected), `checked ${expected}`);
    }
  });
});
