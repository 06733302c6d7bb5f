import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, configLeaves } from '../../src/config/index.js';
import { MxError } from '../../src/errors.js';

test('defaults give a loopback server on 8080 with data under ./data', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 8080);
  assert.equal(config.dataDir, './data');
  assert.equal(config.http.bodyLimitBytes, 10 * 1024 * 1024);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.http));
});

test('environment variables with the MXGATE_ prefix override defaults and are converted', () => {
  const config = loadConfig({
    env: { MXGATE_HOST: '0.0.0.0', MXGATE_PORT: '9090', MXGATE_DATA_DIR: '/srv/mx', MXGATE_HTTP_BODY_LIMIT_BYTES: '2048', PATH: '/bin' },
  });
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.port, 9090);
  assert.equal(config.dataDir, '/srv/mx');
  assert.equal(config.http.bodyLimitBytes, 2048);
});

test('precedence is defaults < file < environment < flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mxgate-config-'));
  const file = join(dir, 'mxgate.json');
  writeFileSync(file, JSON.stringify({ port: 1111, host: '10.0.0.1', logLevel: 'warn' }));
  const config = loadConfig({ file, env: { MXGATE_PORT: '2222' }, overrides: { port: 3333 } });
  assert.equal(config.port, 3333);
  assert.equal(config.host, '10.0.0.1');
  assert.equal(config.logLevel, 'warn');
  const viaEnv = loadConfig({ env: { MXGATE_CONFIG: file } });
  assert.equal(viaEnv.port, 1111);
});

test('unknown keys, unknown MXGATE_ variables and out-of-bounds values are rejected with CONFIG_INVALID', () => {
  const cases: Array<Parameters<typeof loadConfig>[0]> = [
    { overrides: { prot: 8080 } },
    { overrides: { http: { bodyLimit: 5 } } },
    { env: { MXGATE_PROT: '8080' } },
    { env: { MXGATE_PORT: 'eighty' } },
    { env: { MXGATE_PORT: '70000' } },
    { overrides: { logLevel: 'loud' } },
    { env: { MXGATE_STORE: 'postgres://postgres@127.0.0.1:5432/test' } },
    { env: { MXGATE_QUEUES: 'nats://127.0.0.1:4222' } },
    { env: { MXGATE_STORE: 'mysql://x', MXGATE_QUEUES: 'nats://127.0.0.1:4222' } },
  ];
  for (const sources of cases) {
    assert.throws(() => loadConfig(sources), (error: unknown) => error instanceof MxError && error.code === 'CONFIG_INVALID', JSON.stringify(sources));
  }
});

test('every leaf key has an MXGATE_ environment name derived from its path', () => {
  const names = configLeaves().map((leaf) => leaf.env);
  assert.ok(names.includes('MXGATE_HOST'));
  assert.ok(names.includes('MXGATE_PORT'));
  assert.ok(names.includes('MXGATE_DATA_DIR'));
  assert.ok(names.includes('MXGATE_BROKER_DEFAULTS_VISIBILITY_TIMEOUT_S'));
  assert.equal(new Set(names).size, names.length);
});

test('the distributed engines are chosen with MXGATE_STORE and MXGATE_QUEUES together', () => {
  const config = loadConfig({ env: { MXGATE_STORE: 'postgres://postgres@127.0.0.1:5432/test', MXGATE_QUEUES: 'nats://127.0.0.1:4222' } });
  assert.equal(config.store, 'postgres://postgres@127.0.0.1:5432/test');
  assert.equal(config.queues, 'nats://127.0.0.1:4222');
  const embedded = loadConfig({ env: {} });
  assert.equal(embedded.store, null);
  assert.equal(embedded.queues, null);
});
