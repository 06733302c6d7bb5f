/**
 * `mxgate replay` against a real hub: the CLI runs as a child process and talks HTTP to a hub started in this
 * process (embedded, fresh data directory), as the hub's bootstrap client. A report taken from the participant
 * queue comes back: named, or in a window of time, for the token's own client or for a client named by an operator.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import { startHub, type RunningHub } from '../../src/main.js';
import { BOOTSTRAP_FILE, type BootstrapCredentials } from '../../src/auth/bootstrap.js';
import { bootstrapToken } from '../helpers/auth.js';
import { api, awaitReport, fresh, sample } from '../helpers/e2e.js';
import { sharedIso20022Available } from '../helpers/shared.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const skip = !sharedIso20022Available() && process.env.CI !== 'true' ? 'ISO 20022 reference material not found at ../shared/iso20022' : false;

let hub: RunningHub;
let dataDir: string;
let token: string;
let clientId: string;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join('src', 'cli', 'main.ts'), 'replay', '--url', hub.url, '--data-dir', dataDir, ...args],
      { cwd: repoRoot, env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (error && code === -1) return reject(error);
        done({ code, stdout, stderr });
      },
    );
  });
}

/** Takes every message now in the client's participant queue (long poll until `count` came). */
async function take(count: number): Promise<Array<{ attributes: Record<string, string> }>> {
  const queue = `participant.${clientId}`;
  const taken: Array<{ receipt_handle: string; attributes: Record<string, string> }> = [];
  for (const until = Date.now() + 10_000; taken.length < count && Date.now() < until; ) {
    const messages = (await api(hub.url, token, 'GET', `/v1/queues/${queue}/messages?max=10&wait_s=1`)).json().messages as typeof taken;
    if (messages.length > 0) await api(hub.url, token, 'POST', `/v1/queues/${queue}/messages/delete`, { json: { receipt_handles: messages.map((m) => m.receipt_handle) } });
    taken.push(...messages);
  }
  return taken;
}

describe('mxgate replay (CLI over HTTP)', { skip }, () => {
  let id: string;
  let since: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mxgate-cli-replay-'));
    hub = await startHub(loadConfig({ overrides: { dataDir, port: 0, logLevel: 'silent' } }));
    token = await bootstrapToken(hub.url, dataDir);
    clientId = (JSON.parse(await readFile(join(dataDir, BOOTSTRAP_FILE), 'utf8')) as BootstrapCredentials).client_id;
    since = new Date(Date.now() - 1000).toISOString();
    const submitted = await api(hub.url, token, 'POST', '/v1/messages', { xml: fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'cli1') });
    assert.equal(submitted.status, 202, submitted.text);
    id = submitted.json().transaction_id as string;
    await awaitReport(hub.url, token, id);
    assert.equal((await take(1)).length, 1);
  });
  after(async () => {
    await hub?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('replays a named transaction', async () => {
    const result = await cli([id]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'replayed 1 report(s)\n');
    const [again] = await take(1);
    assert.equal(again?.attributes.transaction_id, id);
    assert.ok(again?.attributes.replayed_at);
  });

  it("replays a window: the token's own client, or a client an operator names", async () => {
    const own = await cli(['--since', since, '--json']);
    assert.equal(own.code, 0, own.stderr);
    const page = JSON.parse(own.stdout) as { queue: string; replayed: Array<{ transaction_id: string }>; skipped: string[] };
    assert.equal(page.queue, `participant.${clientId}`);
    assert.deepEqual(page.replayed.map((r) => r.transaction_id), [id]);
    assert.equal((await take(1)).length, 1);

    const named = await cli(['--client', clientId, '--since', since, '--until', new Date(Date.now() + 60_000).toISOString()]);
    assert.equal(named.code, 0, named.stderr);
    assert.equal(named.stdout, `replayed 1 report(s) to participant.${clientId}; 0 transaction(s) in flight skipped\n`);
    assert.equal((await take(1)).length, 1);
  });

  it('refuses what it cannot do, with a coded error', async () => {
    const noWindow = await cli([]);
    assert.equal(noWindow.code, 2);
    assert.match(noWindow.stderr, /give a window/);
    const badTime = await cli(['--since', 'yesterday']);
    assert.notEqual(badTime.code, 0);
    assert.match(badTime.stderr, /--since must be an RFC 3339 date-time/);
    const unknown = await cli([crypto.randomUUID()]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^mxgate: NOT_FOUND: /);
    const nobody = await cli(['--client', 'mxc_nobody', '--since', since]);
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /^mxgate: NOT_FOUND: /);
  });
});
