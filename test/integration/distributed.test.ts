/**
 * The workflow on the distributed engine, as separate processes on this machine: 1 API, 2 workers, 2 schedulers
 * (one active under the lease), on PostgreSQL + NATS JetStream. Same behaviour as the embedded engine.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { bootstrapToken } from '../helpers/auth.js';
import { api, awaitReport, fresh, sample, schemaFindings, withDebtorAccount } from '../helpers/e2e.js';
import { startTopology, type Topology } from '../helpers/distributed.js';
import { natsAvailable } from '../helpers/nats.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { sharedIso20022Available } from '../helpers/shared.js';

const servicesUp = (await postgresAvailable()) && (await natsAvailable());
if (!servicesUp && process.env.CI === 'true') throw new Error('CI requires PostgreSQL (127.0.0.1:5432) and NATS JetStream (127.0.0.1:4222)');
const skip = !servicesUp ? 'PostgreSQL and NATS JetStream are needed (see DEVELOPERS.md)' : !sharedIso20022Available() && process.env.CI !== 'true' ? 'ISO 20022 reference material not found' : false;

describe('distributed topology: 1 api, 2 workers, 2 schedulers', { skip, timeout: 180_000 }, () => {
  let topology: Topology;
  let url: string;
  let token: string;
  before(async () => {
    topology = await startTopology(
      { api: 'api', worker1: 'worker', worker2: 'worker', scheduler1: 'scheduler', scheduler2: 'scheduler' },
      { MXGATE_WORKFLOW_SLA_MS: '8000', MXGATE_WORKFLOW_SCHEMA_DIR: join(import.meta.dirname, '..', '..', '..', 'shared', 'iso20022', 'xsd') },
    );
    url = topology.url('api');
    token = await bootstrapToken(url, join(topology.dataDir, 'api'));
  });
  after(async () => {
    await topology?.close();
  });

  test('payments submitted to the API are processed by the workers and answered with XSD-valid reports', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const xml = withDebtorAccount(fresh(sample('pacs.008.001.08-cbpr-single.xml'), `d${i}`), `ACCT${1000 + i}`);
      const res = await api(url, token, 'POST', '/v1/messages', { xml });
      assert.equal(res.status, 202, res.text);
      ids.push(res.json().transaction_id as string);
    }
    for (const id of ids) {
      const out = await awaitReport(url, token, id, 30_000);
      assert.deepEqual(schemaFindings(out.text), []);
      const view = (await api(url, token, 'GET', `/v1/transactions/${id}`)).json();
      assert.equal(view.status, 'ACSC');
      assert.deepEqual((view.history as Array<{ status: string }>).map((h) => h.status), ['ACTC', 'ACSP', 'ACSC', 'RCVD']);
    }
    // The outbox on /metrics: every report went through it; nothing failed, so nothing is being retried.
    const metrics = await api(url, token, 'GET', '/metrics');
    assert.match(metrics.text, /^mxgate_outbox_rows\{state="pending"\} \d+$/m);
    assert.match(metrics.text, /^mxgate_outbox_rows\{state="retrying"\} 0$/m);
    assert.match(metrics.text, /^mxgate_outbox_oldest_age_seconds \d+$/m);
  });

  test('a rule failure is rejected with its reason code; duplicates behave as on the embedded engine', async () => {
    const bad = await api(url, token, 'POST', '/v1/messages', { xml: sample('invalid-xsd/pacs.008.001.08-bad-bic.xml') });
    const badView = await awaitReport(url, token, bad.json().transaction_id as string, 30_000).then(() =>
      api(url, token, 'GET', `/v1/transactions/${bad.json().transaction_id as string}`),
    );
    assert.equal(badView.json().reason_code, 'FF01');
    const xml = fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'dupd');
    const answers = await Promise.all(Array.from({ length: 6 }, () => api(url, token, 'POST', '/v1/messages', { xml })));
    assert.equal(new Set(answers.map((a) => a.json().transaction_id)).size, 1, 'concurrent resends make one payment');
    const modified = xml.replace(/(IntrBkSttlmAmt Ccy="EUR">)750000</, '$1750001<');
    const conflict = await api(url, token, 'POST', '/v1/messages', { xml: modified });
    await awaitReport(url, token, conflict.json().transaction_id as string, 30_000);
    assert.equal((await api(url, token, 'GET', `/v1/transactions/${conflict.json().transaction_id as string}`)).json().reason_code, 'AM05');
  });

  test('the scheduler lease moves when the active scheduler dies: deadlines are still enforced', async () => {
    // Stop the workers: payments stay ACTC and only the scheduler's timeout sweeper can finish them.
    await topology.processes.get('worker1')!.kill('SIGKILL');
    await topology.processes.get('worker2')!.kill('SIGKILL');
    const active = await activeScheduler(topology, token);
    await topology.processes.get(active)!.kill('SIGKILL');
    const res = await api(url, token, 'POST', '/v1/messages', { xml: fresh(sample('pacs.008.001.08-cbpr-single.xml'), 'lease') });
    const id = res.json().transaction_id as string;
    const out = await awaitReport(url, token, id, 40_000);
    assert.deepEqual(schemaFindings(out.text), []);
    const view = (await api(url, token, 'GET', `/v1/transactions/${id}`)).json();
    assert.equal(view.status, 'RJCT');
    assert.equal(view.reason_code, 'AB06');
    await topology.start('worker1', 'worker');
  });
});

/** The scheduler process that reports holding the lease on /metrics. */
async function activeScheduler(topology: Topology, token: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    for (const name of ['scheduler1', 'scheduler2']) {
      const res = await fetch(`${topology.url(name)}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      if ((await res.text()).includes('mxgate_scheduler_active 1')) return name;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('no scheduler holds the lease');
}
