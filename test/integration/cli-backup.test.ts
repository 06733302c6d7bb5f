/**
 * `mxgate backup` and `mxgate restore` on real SQLite files: the CLI runs as a child process while a hub
 * (embedded, started in this process) takes payments. The backup, restored into another data directory, is a
 * working hub: its clients get tokens, its payments keep their statuses, the ones in flight at the backup finish
 * (state and queues come from one snapshot), and a payment submitted again is the duplicate it was. A restore
 * refuses a running hub, a damaged file and a newer schema, changing nothing; one onto a stopped hub keeps the
 * database it replaces.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config/index.js';
import { startHub, type RunningHub } from '../../src/main.js';
import { DATABASE_FILE } from '../../src/engines/embedded.js';
import { bootstrapToken, fetchToken, readBootstrapClient } from '../helpers/auth.js';
import { api, awaitReport, fresh, sample } from '../helpers/e2e.js';
import { sharedIso20022Available } from '../helpers/shared.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const skip = !sharedIso20022Available() && process.env.CI !== 'true' ? 'ISO 20022 reference material not found at ../shared/iso20022' : false;
const FINAL = new Set(['ACSC', 'RJCT', 'PART', 'CANC']);

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join('src', 'cli', 'main.ts'), ...args],
      { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (error && code === -1) return reject(error);
        done({ code, stdout, stderr });
      },
    );
  });
}

const startOn = (dataDir: string) => startHub(loadConfig({ overrides: { dataDir, port: 0, logLevel: 'silent' } }));

async function statusOf(hub: RunningHub, token: string, id: string): Promise<string> {
  const answer = await api(hub.url, token, 'GET', `/v1/transactions/${id}`);
  assert.equal(answer.status, 200, answer.text);
  return answer.json().status as string;
}

describe('mxgate backup and restore', { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'mxgate-backup-'));
  const live = join(root, 'live');
  const restored = join(root, 'restored');
  const backup = join(root, 'copies', 'first.db');
  const submitted = new Map<string, string>();
  let firstId: string;
  let firstXml: string;
  let hub: RunningHub | null = null;
  let report: Record<string, unknown>;

  before(async () => {
    hub = await startOn(live);
    const token = await bootstrapToken(hub.url, live);
    firstXml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'bk0');
    const first = await api(hub.url, token, 'POST', '/v1/messages', { xml: firstXml });
    assert.equal(first.status, 202, first.text);
    firstId = first.json().transaction_id as string;
    await awaitReport(hub.url, token, firstId);

    // Payments keep coming while the backup runs.
    let going = true;
    const load = (async () => {
      for (let n = 1; going; n += 1) {
        const answer = await api(hub!.url, token, 'POST', '/v1/messages', { xml: fresh(sample('pacs.008.001.08-cbpr-single.xml'), `bk${n}`) });
        assert.equal(answer.status, 202, answer.text);
        submitted.set(answer.json().transaction_id as string, '');
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const result = await cli(['backup', '--data-dir', live, '--to', join(root, 'copies') + '/', '--json']);
    going = false;
    await load;
    assert.equal(result.code, 0, result.stderr);
    report = JSON.parse(result.stdout) as Record<string, unknown>;
    const written = (report.backup as { file: string }).file;
    copyFileSync(written, backup);
    for (const id of submitted.keys()) await awaitReport(hub.url, token, id);
    await hub.stop();
    hub = null;
  });

  after(async () => {
    await hub?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('takes a checked copy of a running hub, readable by its owner only', () => {
    assert.equal(report.hubRunning, true);
    const summary = report.backup as { file: string; check: string; transactions: number; clients: number; migrations: Record<string, number> };
    assert.equal(summary.check, 'ok');
    assert.ok(summary.transactions >= 1, `${summary.transactions} transactions in the backup`);
    assert.equal(summary.clients, 1);
    assert.deepEqual(Object.keys(summary.migrations).sort(), ['auth', 'queues', 'store', 'workflow']);
    assert.match(summary.file, /mxgate-\d{4}-\d\d-\d\dT[\d-]+Z\.db$/);
    assert.equal(statSync(summary.file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(root, 'copies')).filter((f) => f.endsWith('.partial')), []);
  });

  it('never overwrites a file, and leaves the distributed store to PostgreSQL', async () => {
    const exists = await cli(['backup', '--data-dir', live, '--to', backup]);
    assert.equal(exists.code, 1);
    assert.match(exists.stderr, /CONFIG_INVALID: .*exists already/);
    const distributed = await cli(['backup', '--data-dir', live, '--to', join(root, 'never.db')], { MXGATE_STORE: 'postgres://nobody@127.0.0.1:1/none', MXGATE_QUEUES: 'nats://127.0.0.1:1' });
    assert.equal(distributed.code, 1);
    assert.match(distributed.stderr, /CONFIG_INVALID: .*PostgreSQL's own tools/);
    assert.equal(existsSync(join(root, 'never.db')), false);
    const nowhere = await cli(['backup', '--data-dir', live, '--to', join(root, 'no', 'such', 'dir', 'x.db')]);
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /CONFIG_INVALID: the directory of .* does not exist/);
  });

  it('restores into a working hub: clients, statuses, payments in flight finished, duplicates still known', async () => {
    const result = await cli(['restore', backup, '--data-dir', restored, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const restoredReport = JSON.parse(result.stdout) as { replaced: unknown; restored: { transactions: number; check: string } };
    assert.equal(restoredReport.replaced, null);
    assert.equal(restoredReport.restored.check, 'ok');

    hub = await startOn(restored);
    // The client of the live hub, with its secret: it came with the backup.
    const client = readBootstrapClient(live);
    const token = await fetchToken(hub.url, { id: client.client_id, secret: client.client_secret });
    assert.equal(await statusOf(hub, token, firstId), 'ACSC');

    const listed: string[] = [];
    for (let cursor: string | null = null; ; ) {
      const page = (await api(hub.url, token, 'GET', `/v1/transactions?limit=100${cursor ? `&cursor=${cursor}` : ''}`)).json();
      listed.push(...(page.transactions as Array<{ transaction_id: string }>).map((t) => t.transaction_id));
      cursor = (page.next_cursor as string | null) ?? null;
      if (cursor === null) break;
    }
    assert.equal(listed.length, restoredReport.restored.transactions);
    for (const id of listed) assert.ok(id === firstId || submitted.has(id), `${id} was never submitted`);
    // Whatever was in flight at the backup finishes: its stage messages came with it.
    for (const id of listed) await awaitReport(hub.url, token, id);
    for (const id of listed) assert.ok(FINAL.has(await statusOf(hub, token, id)), `${id} is not final`);

    const again = await api(hub.url, token, 'POST', '/v1/messages', { xml: firstXml });
    assert.ok(again.status === 200 || again.status === 202, again.text);
    assert.equal(again.json().transaction_id, firstId);
  });

  it('refuses a running hub, a damaged file and a newer schema, changing nothing', async () => {
    assert.ok(hub, 'the restored hub runs');
    const before = statSync(join(restored, DATABASE_FILE));
    const running = await cli(['restore', backup, '--data-dir', restored]);
    assert.equal(running.code, 1);
    assert.match(running.stderr, /STORE_UNAVAILABLE: restore refused, nothing was changed: .*(write-ahead log|lease)/);

    const itself = await cli(['restore', join(restored, DATABASE_FILE), '--data-dir', restored, '--force']);
    assert.equal(itself.code, 1);
    assert.match(itself.stderr, /CONFIG_INVALID: .*is the hub's database itself/);

    const damaged = join(root, 'damaged.db');
    writeFileSync(damaged, Buffer.alloc(8192, 7));
    const bad = await cli(['restore', damaged, '--data-dir', restored]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /CONFIG_INVALID: /);

    const newer = join(root, 'newer.db');
    copyFileSync(backup, newer);
    const db = new Database(newer);
    db.prepare("INSERT INTO schema_migrations (component, version, description, applied_at) VALUES ('workflow', 999, 'from the future', 0)").run();
    db.close();
    const future = await cli(['restore', newer, '--data-dir', restored]);
    assert.equal(future.code, 1);
    assert.match(future.stderr, /CONFIG_INVALID: .*newer mxgate \(workflow schema version 999/);

    const now = statSync(join(restored, DATABASE_FILE));
    assert.equal(now.ino, before.ino);
    assert.deepEqual(readdirSync(restored).filter((f) => f.includes('.replaced-')), []);
  });

  it('restores onto a stopped hub and keeps the database it replaces', async () => {
    await hub!.stop();
    hub = null;
    const result = await cli(['restore', backup, '--data-dir', restored]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /the database that was in place is kept as .*mxgate\.db\.replaced-/);
    assert.match(result.stdout, /payments accepted since, when submitted again, are processed as new/);
    const kept = readdirSync(restored).filter((f) => f.startsWith(`${DATABASE_FILE}.replaced-`) && !f.endsWith('-wal') && !f.endsWith('-shm'));
    assert.equal(kept.length, 1);
    const old = new Database(join(restored, kept[0]!), { readonly: true });
    const current = new Database(join(restored, DATABASE_FILE), { readonly: true });
    // The replaced database had the payments the restored hub finished and was stopped with; the new one is the backup.
    const count = (d: Database.Database) => d.prepare('SELECT count(*) FROM transactions').pluck().get() as number;
    assert.equal(count(current), (report.backup as { transactions: number }).transactions);
    assert.ok(count(old) >= count(current));
    const inFlight = (d: Database.Database) => d.prepare("SELECT count(*) FROM transactions WHERE status IN ('ACTC', 'ACSP')").pluck().get() as number;
    assert.equal(inFlight(old), 0);
    old.close();
    current.close();
  });
});
