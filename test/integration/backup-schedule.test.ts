/**
 * The backups an embedded hub takes of itself (`backup.intervalS`): on a running hub taking payments, a checked copy
 * appears every interval in the backup directory, only the newest `backup.keep` stay (files of other names are left
 * alone), and /metrics says when the last one completed. The distributed engine refuses the setting.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import { startHub, type RunningHub } from '../../src/main.js';
import { summarize } from '../../src/storage/sqlite/backup.js';
import { bootstrapToken } from '../helpers/auth.js';
import { api, awaitReport, fresh, sample } from '../helpers/e2e.js';
import { sharedIso20022Available } from '../helpers/shared.js';

const skip = !sharedIso20022Available() && process.env.CI !== 'true' ? 'ISO 20022 reference material not found at ../shared/iso20022' : false;

describe('backups the embedded hub takes of itself', { skip }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mxgate-backups-'));
  const dir = join(dataDir, 'copies');
  let hub: RunningHub;
  let token: string;

  before(async () => {
    hub = await startHub(loadConfig({ overrides: { dataDir, port: 0, logLevel: 'silent', backup: { intervalS: 1, keep: 2, dir } } }));
    token = await bootstrapToken(hub.url, dataDir);
  });
  after(async () => {
    await hub?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the newest backups, each checked, while payments flow; other files stay', async () => {
    // Completed copies; one more than `keep` stands for the moment between a new one's rename and the pruning.
    const copies = () => readdirSync(dir).filter((f) => /^mxgate-.*\.db$/.test(f)).sort();
    for (let n = 0; n < 8; n += 1) {
      const answer = await api(hub.url, token, 'POST', '/v1/messages', { xml: fresh(sample('pacs.008.001.08-cbpr-single.xml'), `bs${n}`) });
      assert.equal(answer.status, 202, answer.text);
      await awaitReport(hub.url, token, answer.json().transaction_id as string);
      await new Promise((r) => setTimeout(r, 450));
    }
    writeFileSync(join(dir, 'operator-copy.db'), 'not one of the hub\'s');
    // At least three backups by now (one a second): the oldest are gone.
    let seen = new Set<string>();
    for (const until = Date.now() + 10_000; seen.size < 4 && Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
      seen = new Set([...seen, ...copies()]);
      assert.ok(copies().length <= 3, `${copies().length} backups kept`);
    }
    assert.ok(seen.size >= 4, `${seen.size} backups seen`);
    const metrics = (await api(hub.url, token, 'GET', '/metrics')).text;
    const last = Number(/^mxgate_backup_last_success_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
    assert.ok(Math.abs(last - Date.now() / 1000) < 10, `last success at ${last}`);
    assert.match(metrics, /^mxgate_backup_failures_total 0$/m);

    // Stopped, the hub finishes the backup under way: then exactly `keep` are there, each checked.
    await hub.stop();
    const kept = copies();
    assert.equal(kept.length, 2);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.partial')), []);
    for (const f of kept) {
      const summary = summarize(join(dir, f));
      assert.equal(summary.check, 'ok');
      assert.ok(summary.transactions >= 1);
    }
    assert.ok(readdirSync(dir).includes('operator-copy.db'), 'a file of another name stays');
  });

  it('is for the embedded engine only', () => {
    assert.throws(
      () => loadConfig({ overrides: { store: 'postgres://x@127.0.0.1/y', queues: 'nats://127.0.0.1:4222', backup: { intervalS: 60 } } }),
      /backup\.intervalS is for the embedded engine/,
    );
  });
});
