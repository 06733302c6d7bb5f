/**
 * The fault harness: a distributed topology (1 API, 2 workers, 1 scheduler on PostgreSQL + NATS JetStream) under
 * a continuous load of payments, a fault injected mid-load, recovery, and the invariant checked at the end:
 *
 *   every payment the API accepted (answered 202) exists, has exactly one terminal status in its history (one of
 *   ACSC, RJCT, PART, CANC), its status report in the outbox (200), and exactly one status report on the
 *   participant queue; and none of them ended by the timeout sweeper (AB06), since the SLA is far longer than
 *   any fault here: a payment that times out was stuck, not slow.
 *
 * Timeline of one scenario:
 *
 *   start topology ─► load (submitters) ─loadBeforeMs─► fault(ctx) ─► recovery ─loadAfterMs─► stop load
 *     ─► wait for every accepted payment to be terminal ─► drain the participant queue ─► check the invariant
 *
 * Services: a fault stops PostgreSQL or nats-server, which other suites share. Whatever happens, the scenario
 * ends with both services up (`ensureServices` in a finally), and then removes its schema and streams.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { bootstrapToken, readBootstrapClient } from '../helpers/auth.js';
import { startTopology, type Topology } from '../helpers/distributed.js';
import { fresh, sample, withDebtorAccount } from '../helpers/e2e.js';
import { natsAvailable } from '../helpers/nats.js';
import { POSTGRES_URL, postgresAvailable } from '../helpers/postgres.js';
import { sharedIso20022Available } from '../helpers/shared.js';

export const TERMINAL = new Set(['ACSC', 'RJCT', 'PART', 'CANC']);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The skip reason of a fault test (false: run it). Under CI=true missing services or material fail instead. */
export async function faultSkipReason(): Promise<string | false> {
  const servicesUp = (await postgresAvailable()) && (await natsAvailable());
  if (!servicesUp && process.env.CI === 'true') throw new Error('CI requires PostgreSQL (127.0.0.1:5432) and NATS JetStream (127.0.0.1:4222)');
  if (!servicesUp) return 'PostgreSQL and NATS JetStream are needed (see DEVELOPERS.md)';
  if (!sharedIso20022Available()) {
    if (process.env.CI === 'true') throw new Error('CI requires the ISO 20022 reference material at ../shared/iso20022');
    return 'ISO 20022 reference material not found at ../shared/iso20022';
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------
// Services

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/** True when PostgreSQL answers a query (a fresh connection each time, nothing cached). */
async function postgresAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const cluster = () => readdirSync('/etc/postgresql')[0]!;

export const services = {
  async stopPostgres(): Promise<void> {
    run('pg_ctlcluster', ['--skip-systemctl-redirect', cluster(), 'main', 'stop', '-m', 'fast']);
    await waitFor('PostgreSQL stops listening', async () => !(await portOpen(5432)));
  },
  async startPostgres(): Promise<void> {
    run('pg_ctlcluster', ['--skip-systemctl-redirect', cluster(), 'main', 'start']);
    await waitFor('PostgreSQL answers', postgresAnswers);
  },
  async stopNats(): Promise<void> {
    run('start-stop-daemon', ['--stop', '--oknodo', '--exec', '/usr/sbin/nats-server']);
    await waitFor('nats-server stops listening', async () => !(await portOpen(4222)));
  },
  async startNats(): Promise<void> {
    run('start-stop-daemon', [
      '--start', '--oknodo', '--background', '--exec', '/usr/sbin/nats-server', '--',
      '-a', '127.0.0.1', '-p', '4222', '-js', '-sd', '/var/lib/nats-server', '-l', '/var/log/nats-server.log',
    ]);
    await waitFor('NATS JetStream answers', natsAvailable);
  },
};

/** Starts whichever service is down and waits until both answer: the state every scenario leaves behind. */
export async function ensureServices(): Promise<void> {
  if (!(await postgresAnswers())) {
    if (await portOpen(5432)) await waitFor('PostgreSQL answers', postgresAnswers, 20_000).catch(() => services.startPostgres());
    else await services.startPostgres();
  }
  if (!(await natsAvailable())) {
    if (await portOpen(4222)) await waitFor('NATS JetStream answers', natsAvailable, 20_000);
    else await services.startNats();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Load

export interface Load {
  /** Transaction ids the API answered 202 for, with the time of the answer. */
  accepted: Map<string, number>;
  /** Answers other than 202 (by status; 0: no answer), for the diagnostics. */
  refused: Map<number, number>;
  stop(): Promise<void>;
}

/**
 * `submitters` loops, each posting its next unique pacs.008 (debtor account drawn from `accounts`) as soon as the
 * previous one is answered. A failed or refused submission is not accepted; the loop pauses briefly and goes on.
 */
export function startLoad(options: { url: string; token: string; submitters: number; accounts: number }): Load {
  const template = sample('pacs.008.001.08-cbpr-single.xml');
  const run = randomBytes(3).toString('hex');
  const accepted = new Map<string, number>();
  const refused = new Map<number, number>();
  let stopping = false;
  const loop = async (i: number) => {
    for (let n = 0; !stopping; n++) {
      const xml = withDebtorAccount(fresh(template, `${run}s${i}n${n}`), `ACCT${10_000 + randomInt(options.accounts)}`);
      let status = 0;
      try {
        const res = await fetch(`${options.url}/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/xml' },
          body: xml,
          signal: AbortSignal.timeout(15_000),
        });
        status = res.status;
        const text = await res.text();
        if (status === 202) accepted.set((JSON.parse(text) as { transaction_id: string }).transaction_id, Date.now());
      } catch {
        status = 0; // no answer (connection refused or reset, timeout): not accepted
      }
      if (status !== 202) {
        refused.set(status, (refused.get(status) ?? 0) + 1);
        await sleep(50);
      }
    }
  };
  const loops = Array.from({ length: options.submitters }, (_, i) => loop(i));
  return {
    accepted,
    refused,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Scenario

export interface FaultContext {
  topology: Topology;
  load: Load;
  /** A token of the load's client, for reading transactions through the API. */
  token: string;
  /** Notes for the test's diagnostics. */
  note(text: string): void;
}

export interface ScenarioOptions {
  /** The fault and the recovery from it; returns when the system should be whole again. */
  fault(ctx: FaultContext): Promise<void>;
  loadBeforeMs?: number;
  loadAfterMs?: number;
  submitters?: number;
  accounts?: number;
  /** How long, after the load stops, every accepted payment has to reach its terminal status. */
  settleMs?: number;
  /**
   * How long after recovery the API may go on refusing (503 OVERLOADED while the backlog drains) before it has
   * to accept payments again; the load runs until 50 are accepted after recovery or this passes, then
   * `loadAfterMs` more. Default 6 s.
   */
  readmitMs?: number;
}

/**
 * Stage messages a process has acknowledged (all stages), from its /metrics. Right after a fault the process may
 * still be reconnecting (its queue metrics answer 503 meanwhile): it gets 30 s to answer again.
 */
async function stageAcks(url: string, token: string): Promise<number> {
  const deadline = Date.now() + 30_000;
  let res: Response;
  let text: string;
  for (;;) {
    res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
    text = await res.text();
    if (res.status === 200 || Date.now() > deadline) break;
    await sleep(250);
  }
  assert.equal(res.status, 200, `metrics of ${url}: ${text}`);
  let total = 0;
  for (const m of text.matchAll(/^mxgate_stage_messages_total\{stage="[^"]+",outcome="ack"\} (\d+)$/gm)) total += Number(m[1]);
  return total;
}

async function inParallel<T>(items: T[], width: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await each(items[next++]!);
    }),
  );
}

export async function runFaultScenario(t: TestContext, options: ScenarioOptions): Promise<void> {
  let topology: Topology | undefined;
  let load: Load | undefined;
  let failed = false;
  try {
    topology = await startTopology(
      { api: 'api', worker1: 'worker', worker2: 'worker', scheduler: 'scheduler' },
      // A deadline far beyond any fault here: payments finish by processing, and a timeout means one was stuck.
      { MXGATE_WORKFLOW_SLA_MS: '90000' },
    );
    const url = topology.url('api');
    const apiDir = join(topology.dataDir, 'api');
    const token = await bootstrapToken(url, apiDir);
    const clientId = readBootstrapClient(apiDir).client_id;
    const headers = { authorization: `Bearer ${token}` };

    load = startLoad({ url, token, submitters: options.submitters ?? 8, accounts: options.accounts ?? 500 });
    await sleep(options.loadBeforeMs ?? 4000);
    const beforeFault = load.accepted.size;
    const faultStart = Date.now();
    await options.fault({ topology, load, token, note: (text) => t.diagnostic(text) });
    const recoveredAt = Date.now();
    t.diagnostic(`fault and recovery took ${((recoveredAt - faultStart) / 1000).toFixed(1)} s`);
    const workers = ['worker1', 'worker2'];
    const acksAtRecovery = await Promise.all(workers.map((w) => stageAcks(topology!.url(w), token)));
    const acceptedSince = (at: number) => [...load!.accepted.values()].filter((when) => when > at).length;
    const readmitDeadline = recoveredAt + (options.readmitMs ?? 6000);
    while (acceptedSince(recoveredAt) < 50 && Date.now() < readmitDeadline) await sleep(250);
    t.diagnostic(`the API accepted again ${((Date.now() - recoveredAt) / 1000).toFixed(1)} s after recovery`);
    await sleep(options.loadAfterMs ?? 6000);
    await load.stop();
    const accepted = load.accepted;
    const afterRecovery = acceptedSince(recoveredAt);
    t.diagnostic(
      `accepted ${accepted.size} (${beforeFault} before the fault, ${afterRecovery} after recovery); ` +
        `not accepted: ${JSON.stringify(Object.fromEntries(load.refused))}`,
    );
    assert.ok(beforeFault >= 100, `the load ran before the fault: ${beforeFault} accepted`);
    assert.ok(afterRecovery >= 50, `the API accepts payments again after recovery: ${afterRecovery} accepted`);

    // Every accepted payment reaches a terminal status, exactly one, by processing.
    const terminal = new Map<string, { status: string; reason: string | null }>();
    const settleStart = Date.now();
    const deadline = settleStart + (options.settleMs ?? 150_000);
    const ids = [...accepted.keys()];
    while (terminal.size < ids.length && Date.now() < deadline) {
      await inParallel(
        ids.filter((id) => !terminal.has(id)),
        16,
        async (id) => {
          const res = await fetch(`${url}/v1/transactions/${id}`, { headers });
          const text = await res.text();
          assert.equal(res.status, 200, `accepted transaction ${id} exists: ${text}`);
          const view = JSON.parse(text) as { status: string; reason_code: string | null; history: Array<{ status: string }> };
          const finals = view.history.filter((h) => TERMINAL.has(h.status));
          assert.ok(finals.length <= 1, `${id}: at most one terminal status in ${JSON.stringify(view.history)}`);
          if (finals.length === 1) terminal.set(id, { status: finals[0]!.status, reason: view.reason_code });
        },
      );
      if (terminal.size < ids.length) await sleep(500);
    }
    const statuses = new Map<string, number>();
    for (const { status, reason } of terminal.values()) {
      const key = reason ? `${status}/${reason}` : status;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    t.diagnostic(`terminal after ${((Date.now() - settleStart) / 1000).toFixed(1)} s: ${terminal.size} of ${ids.length} (${JSON.stringify(Object.fromEntries(statuses))})`);
    const stuck = ids.filter((id) => !terminal.has(id));
    assert.deepEqual(stuck.slice(0, 10), [], `${stuck.length} accepted payments never reached a terminal status`);
    // Both workers took part after the recovery (a process whose consumers were lost would do nothing while the
    // other one does all the work), and the scheduler holds its lease again.
    const acksAtEnd = await Promise.all(workers.map((w) => stageAcks(topology!.url(w), token)));
    t.diagnostic(`stage messages acknowledged after recovery: ${workers.map((w, i) => `${w} ${acksAtEnd[i]! - acksAtRecovery[i]!}`).join(', ')}`);
    workers.forEach((w, i) => assert.ok(acksAtEnd[i]! > acksAtRecovery[i]!, `${w} handles stage messages after the recovery`));
    const metrics = await fetch(`${topology.url('scheduler')}/metrics`, { headers }).then((r) => r.text());
    assert.match(metrics, /^mxgate_scheduler_active 1$/m, 'the scheduler holds its lease after the recovery');
    const timedOut = [...terminal].filter(([, v]) => v.reason === 'AB06').map(([id]) => id);
    assert.deepEqual(timedOut.slice(0, 10), [], `${timedOut.length} accepted payments ended by timeout (AB06) rather than by processing`);

    // Exactly one report per accepted payment on the participant queue: read until every one is there and the
    // queue then stays empty for a while (a late duplicate would show up here).
    const reports = new Map<string, number>();
    const queuePath = `${url}/v1/queues/${encodeURIComponent(`participant.${clientId}`)}/messages`;
    const reportDeadline = Date.now() + 60_000;
    let quiet = 0;
    while (Date.now() < reportDeadline && quiet < 3) {
      const res = await fetch(`${queuePath}?max=10&wait_s=1`, { headers });
      const text = await res.text();
      assert.equal(res.status, 200, `receive from the participant queue: ${text}`);
      const { messages } = JSON.parse(text) as { messages: Array<{ receipt_handle: string; attributes: Record<string, string> }> };
      if (messages.length === 0) {
        if (ids.every((id) => reports.has(id))) quiet += 1;
        continue;
      }
      quiet = 0;
      for (const m of messages) {
        const id = m.attributes.transaction_id ?? '?';
        reports.set(id, (reports.get(id) ?? 0) + 1);
      }
      const del = await fetch(`${queuePath}/delete`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ receipt_handles: messages.map((m) => m.receipt_handle) }),
      });
      assert.equal(del.status, 200, `delete from the participant queue: ${await del.text()}`);
    }
    const missing = ids.filter((id) => !reports.has(id));
    const doubled = ids.filter((id) => (reports.get(id) ?? 0) > 1);
    t.diagnostic(`participant queue: ${[...reports.values()].reduce((a, b) => a + b, 0)} reports for ${reports.size} transactions`);
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} accepted payments have no status report on the participant queue`);
    assert.deepEqual(doubled.slice(0, 10), [], `${doubled.length} accepted payments have more than one status report on the participant queue`);

    const noReport: string[] = [];
    await inParallel(ids, 16, async (id) => {
      const res = await fetch(`${url}/v1/outbox/${id}`, { headers });
      await res.text();
      if (res.status !== 200) noReport.push(`${id} (${res.status})`);
    });
    assert.deepEqual(noReport.slice(0, 10), [], `${noReport.length} accepted payments have no report in the outbox`);
  } catch (error) {
    // The processes' own words are the first thing to read when the invariant breaks.
    failed = true;
    throw error;
  } finally {
    if (failed || process.env.FAULTS_VERBOSE === '1') {
      for (const [name, p] of topology?.processes ?? []) {
        const out = p.output().trim();
        if (out) t.diagnostic(`--- ${name} (last output) ---\n${out.slice(-(Number(process.env.FAULTS_OUTPUT_CHARS) || 3000))}`);
      }
    }
    await load?.stop().catch(() => undefined);
    await ensureServices();
    await topology?.close();
  }
}
