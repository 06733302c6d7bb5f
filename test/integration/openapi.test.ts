/**
 * The OpenAPI document at /openapi.json: valid against the official OpenAPI schema, describing every route the
 * app registers, with each operation's security taken from its route scope; /docs serves the interactive page.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { compileErrors, validate } from '@readme/openapi-parser';
import { loadConfig } from '../../src/config/index.js';
import { openEmbeddedEngine, type Engine } from '../../src/engines/embedded.js';
import { buildApp } from '../../src/http/app.js';
import { assembleWorkflow } from '../../src/main.js';
import { routeScopes } from '../../src/http/auth.js';
import { silentLogger } from '../../src/log.js';
import { systemClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';

interface Operation {
  security?: Array<Record<string, string[]>>;
  responses: Record<string, unknown>;
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
