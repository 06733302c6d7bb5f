/**
 * `mxgate clients ...` and `mxgate keys ...` on a data directory while a hub runs on the same database: the CLI
 * runs as a child process and writes the database directly; the hub sees its changes within its cache times.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import { startHub, type RunningHub } from '../../src/main.js';
import { bearer, fetchToken } from '../helpers/auth.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const cliEntry = join('src', 'cli', 'main.ts');

let hub: RunningHub;
let dataDir: string;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', cliEntry, ...args, '--data-dir', dataDir],
      { cwd: repoRoot, env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (error && code === -1) return reject(error);
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

async function ok(args: string[]): Promise<string> {
  const result = await cli(args);
  assert.equal(result.code, 0, `mxgate ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** Polls `check` until it holds (the hub re-reads the database within its cache time) or the deadline passes. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what}: not seen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function status(path: string, token: string): Promise<number> {
  return (await fetch(`${hub.url}${path}`, { headers: bearer(token) })).status;
}

describe('mxgate clients and keys (CLI on the database)', () => {
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mxgate-cli-clients-'));
    hub = await startHub(loadConfig({ overrides: { dataDir, port: 0, logLevel: 'silent', auth: { clientCacheMs: 200, keyCacheMs: 200 } } }));
  });

  after(async () => {
    await hub?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates, lists, shows, rotates the secret of, disables and enables a client; the running hub follows', async () => {
    const created = JSON.parse(await ok(['clients', 'create', '--name', 'Acme ERP', '--scopes', 'mx/read mx/write', '--profile', 'cbpr+', '--settings', '{"limit":"500.00"}', '--json'])) as {
      client_id: string;
      client_secret: string;
      scopes: string[];
      profile: string;
      settings: Record<string, unknown>;
    };
    assert.match(created.client_id, /^mxc_/);
    assert.match(created.client_secret, /^mxs_/);
    assert.deepEqual(created.scopes, ['mx/read', 'mx/write']);
    assert.equal(created.profile, 'cbpr+');
    assert.deepEqual(created.settings, { limit: '500.00' });
    const token = await fetchToken(hub.url, { id: created.client_id, secret: created.client_secret });
    assert.equal(await status('/v1/queues', token), 200);

    const table = (await ok(['clients', 'list'])).trimEnd().split('\n');
    assert.match(table[0]!, /^CLIENT ID\s+NAME\s+SCOPES\s+PROFILE\s+ENABLED\s+CREATED$/);
    assert.ok(table.some((l) => l.startsWith(created.client_id) && /Acme ERP\s+mx\/read mx\/write\s+cbpr\+\s+yes/.test(l)), table.join('\n'));
    const listed = await ok(['clients', 'list', '--json']);
    assert.ok(!listed.includes(created.client_secret) && !listed.includes('scrypt') && !listed.includes('secret'), 'no secrets in listings');
    const ids = (JSON.parse(listed) as Array<{ client_id: string }>).map((c) => c.client_id);
    assert.equal(ids.length, 2, 'the bootstrap client and the new one');
    assert.match(await ok(['clients', 'show', created.client_id]), /^name\s+Acme ERP$/m);
    const updated = JSON.parse(await ok(['clients', 'update', created.client_id, '--name', 'Acme ERP 2', '--profile', 'none', '--settings', '{"limit":"1.00"}', '--json'])) as {
      name: string;
      profile: string | null;
      settings: Record<string, unknown>;
      scopes: string[];
    };
    assert.deepEqual([updated.name, updated.profile, updated.settings, updated.scopes], ['Acme ERP 2', null, { limit: '1.00' }, ['mx/read', 'mx/write']]);

    const rotated = await ok(['clients', 'rotate-secret', created.client_id]);
    const secret = /^client_secret\s+(\S+)$/m.exec(rotated)?.[1];
    assert.ok(secret && secret !== created.client_secret);
    await assert.rejects(fetchToken(hub.url, { id: created.client_id, secret: created.client_secret }), /invalid_client/);
    await fetchToken(hub.url, { id: created.client_id, secret });

    assert.equal(await ok(['clients', 'disable', created.client_id]), `client ${created.client_id} disabled\n`);
    await eventually('the hub refuses the disabled client', async () => (await status('/v1/queues', token)) === 401);
    await ok(['clients', 'enable', created.client_id]);
    await eventually('the hub accepts the enabled client', async () => (await status('/v1/queues', token)) === 200);
  });

  it('refuses unknown scopes, profiles and clients with coded errors', async () => {
    const scope = await cli(['clients', 'create', '--name', 'x', '--scopes', 'mx/root']);
    assert.notEqual(scope.code, 0);
    assert.match(scope.stderr, /^mxgate: INVALID_ATTRIBUTE: unknown scope mx\/root/m);
    const profile = await cli(['clients', 'create', '--name', 'x', '--profile', 'swift-gpi']);
    assert.match(profile.stderr, /INVALID_ATTRIBUTE: unknown profile/);
    const missing = await cli(['clients', 'disable', 'mxc_nobody']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /^mxgate: NOT_FOUND: /m);
  });

  it('rotates the signing key; the hub publishes both keys and old tokens keep working', async () => {
    const credentials = JSON.parse(await ok(['clients', 'create', '--name', 'keys-test', '--json'])) as { client_id: string; client_secret: string };
    const before = await fetchToken(hub.url, { id: credentials.client_id, secret: credentials.client_secret });
    const keys = JSON.parse(await ok(['keys', 'rotate', '--json'])) as Array<{ kid: string; state: string; retire_at: string | null }>;
    const current = keys.find((k) => k.state === 'current')!;
    const previous = keys.filter((k) => k.state === 'previous');
    assert.ok(previous.length >= 1 && previous.every((k) => k.retire_at !== null));
    await eventually('the hub publishes the new key', async () => {
      const jwks = (await (await fetch(`${hub.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
      return jwks.keys.some((k) => k.kid === current.kid) && previous.every((p) => jwks.keys.some((k) => k.kid === p.kid));
    });
    assert.equal(await status('/v1/queues', before), 200);
    const listed = await ok(['keys', 'list']);
    assert.match(listed, new RegExp(`^${current.kid}\\s+current`, 'm'));
  });
});
