/**
 * First start: the hub creates a client with every scope when none exists, writes its credentials to
 * <dataDir>/bootstrap-client.json readable by the owner only, and logs the path (never the secret).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import type { Logger } from '../../src/log.js';
import { startHub } from '../../src/main.js';
import { bearer, bootstrapToken, readBootstrapClient } from '../helpers/auth.js';

function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream) as Logger, lines };
}

test('first start writes bootstrap-client.json (mode 0600) and logs its path, not the secret; later starts do not', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mxgate-bootstrap-'));
  const config = loadConfig({ overrides: { dataDir, port: 0 } });
  try {
    const first = capturingLogger();
    let hub = await startHub(config, first.logger);
    const file = join(dataDir, 'bootstrap-client.json');
    try {
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const credentials = readBootstrapClient(dataDir);
      assert.match(credentials.client_id, /^mxc_/);
      assert.match(credentials.client_secret, /^mxs_/);
      assert.equal(credentials.scope, 'mx/read mx/write mx/admin');
      assert.equal(credentials.token_endpoint, '/oauth2/token');

      const warning = first.lines.map((l) => JSON.parse(l) as { level: number; path?: string }).find((l) => l.path === file);
      assert.ok(warning, 'the path is logged');
      assert.equal(warning.level, 40, 'at warn level');
      assert.ok(!first.lines.some((l) => l.includes(credentials.client_secret)), 'the secret is never logged');

      const token = await bootstrapToken(hub.url, dataDir);
      assert.ok(!first.lines.some((l) => l.includes(token)), 'tokens are never logged');
      const res = await fetch(`${hub.url}/v1/admin/clients`, { headers: bearer(token) });
      assert.equal(res.status, 200);
      const { clients } = (await res.json()) as { clients: Array<{ client_id: string; scopes: string[] }> };
      assert.deepEqual(clients.map((c) => [c.client_id, c.scopes]), [[credentials.client_id, ['mx/read', 'mx/write', 'mx/admin']]]);
    } finally {
      await hub.stop();
    }

    // A client exists now: a restart creates none and writes no file, even when the file was removed.
    rmSync(file);
    const second = capturingLogger();
    hub = await startHub(config, second.logger);
    try {
      assert.equal(existsSync(file), false);
      assert.ok(!second.lines.some((l) => l.includes('bootstrap-client.json')), second.lines.join('\n'));
    } finally {
      await hub.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
