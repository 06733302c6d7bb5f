/**
 * Queue throughput benchmark: send + receive + delete cycles per second, durability on.
 *
 *   npm run bench:queue -- [--seconds 5] [--warmup-s 1] [--repeats 3] [--concurrency 32] [--batch 1,10]
 *                          [--only inproc,http,pgboss,bullmq] [--hub-node-option=--cpu-prof ...]
 *
 * One cycle is one message sent, received and deleted (completed). Each of `concurrency` loops repeats:
 * send a batch of B messages (B = 1 or 10), receive until it holds B messages, delete them; a loop's
 * iteration time is the cycle latency reported (p50/p99, per batch). Loops share one queue, so a loop may
 * take messages another sent; the backlog stays below concurrency x B.
 *
 * Scenarios:
 *   inproc  the embedded engine's API in this process (SQLite WAL, synchronous=FULL, group commit)
 *   http    a real hub in a child process on a loopback port, driven through keep-alive connections
 *   pgboss  pg-boss 10 on the local PostgreSQL (send/insert, fetch, complete), schema pgboss_bench, dropped after
 *   bullmq  BullMQ on the local Redis (add/addBulk, a Worker processes, completion), queue obliterated after
 * Each measurement runs `warmup-s` then counts cycles completed during `seconds`, `repeats` times; the table
 * shows the median run. References whose service is down are skipped with a message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/index.js';
import { openEmbeddedEngine } from '../src/engines/embedded.js';
import { silentLogger } from '../src/log.js';
import { startHub } from '../src/main.js';
import { systemClock } from '../src/ports/clock.js';
import { randomIds } from '../src/ports/ids.js';

const PG = { host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres' };
const PG_SCHEMA = 'pgboss_bench';
const REDIS = { host: '127.0.0.1', port: 6379 };
const BODY = JSON.stringify({ kind: 'bench', payload: 'x'.repeat(200) });
const SCENARIO_KINDS = ['inproc', 'http', 'pgboss', 'bullmq'] as const;
type Kind = (typeof SCENARIO_KINDS)[number];

// ---------------------------------------------------------------------------------------------------------
// Hub child mode: `tsx bench/queue.ts --serve-hub DIR` starts a hub, prints its URL, stops when stdin closes.

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    'warmup-s': { type: 'string', default: '1' },
    repeats: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '32' },
    only: { type: 'string' },
    batch: { type: 'string', default: '1,10' },
    'serve-hub': { type: 'string' },
    'hub-node-option': { type: 'string', multiple: true, default: [] },
  },
  strict: true,
});

if (args['serve-hub'] !== undefined) {
  const hub = await startHub(loadConfig({ overrides: { dataDir: args['serve-hub'], port: 0, logLevel: 'silent' } }), silentLogger());
  process.stdout.write(`${hub.url}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    hub.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
} else {
  await main();
}

// ---------------------------------------------------------------------------------------------------------
// Measurement

interface Driver {
  /** Sends `batch` messages (loop `loop`, iteration `seq`). */
  send(loop: number, seq: number, batch: number): Promise<void>;
  /** Receives up to `max`; returns handles to complete. May return none. */
  receive(loop: number, max: number): Promise<unknown[]>;
  complete(handles: unknown[]): Promise<void>;
}

interface RunResult {
  cyclesPerS: number;
  p50Ms: number;
  p99Ms: number;
}

interface Row {
  scenario: string;
  batch: number;
  result: RunResult | null;
  /** fdatasync latency of the data disk measured right before the scenario, ms. */
  fsyncMs?: number;
  note?: string;
}

/**
 * Average latency of a 4 KiB write + fdatasync in the temp directory: the floor of every durable commit. On
 * shared or virtual disks it varies from minute to minute, so each row records the value seen before it.
 */
async function fsyncLatencyMs(rounds = 200): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'mxgate-fsync-'));
  const file = await open(join(dir, 'probe'), 'w');
  const block = Buffer.alloc(4096, 7);
  try {
    const began = performance.now();
    for (let i = 0; i < rounds; i++) {
      await file.write(block, 0, block.length, i * block.length);
      await file.datasync();
    }
    return (performance.now() - began) / rounds;
  } finally {
    await file.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** Runs `concurrency` loops for warm-up + measured time; counts cycles completed inside the measured window. */
async function measure(driver: Driver, options: { concurrency: number; batch: number; warmupMs: number; measureMs: number }): Promise<RunResult> {
  const start = performance.now();
  const windowStart = start + options.warmupMs;
  const windowEnd = windowStart + options.measureMs;
  let cycles = 0;
  const latencies: number[] = [];
  const loop = async (index: number) => {
    for (let seq = 0; performance.now() < windowEnd; seq++) {
      const began = performance.now();
      await driver.send(index, seq, options.batch);
      let held = 0;
      while (held < options.batch && performance.now() < windowEnd + 2000) {
        const handles = await driver.receive(index, options.batch - held);
        if (handles.length > 0) await driver.complete(handles);
        held += handles.length;
        const ended = performance.now();
        if (ended >= windowStart && ended < windowEnd) cycles += handles.length;
      }
      const ended = performance.now();
      if (began >= windowStart && ended < windowEnd) latencies.push(ended - began);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => loop(i)));
  latencies.sort((a, b) => a - b);
  return { cyclesPerS: cycles / (options.measureMs / 1000), p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

async function repeated(
  label: string,
  repeats: number,
  once: (repeat: number) => Promise<RunResult>,
): Promise<RunResult> {
  const runs: RunResult[] = [];
  for (let r = 0; r < repeats; r++) {
    const result = await once(r);
    runs.push(result);
    process.stderr.write(`  ${label} run ${r + 1}/${repeats}: ${Math.round(result.cyclesPerS)} cycles/s, p50 ${result.p50Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms\n`);
  }
  runs.sort((a, b) => a.cyclesPerS - b.cyclesPerS);
  return runs[Math.floor(runs.length / 2)]!;
}

// ---------------------------------------------------------------------------------------------------------
// mxgate in process

async function inproc(settings: Settings, fifo: boolean, batch: number): Promise<RunResult> {
  return repeated(`inproc ${fifo ? 'fifo' : 'standard'} b${batch}`, settings.repeats, async (r) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mxgate-bench-'));
    const config = loadConfig({ overrides: { dataDir, logLevel: 'silent' } });
    const engine = openEmbeddedEngine({ config, clock: systemClock, ids: randomIds, logger: silentLogger() });
    try {
      const name = `bench-${r}${fifo ? '.fifo' : ''}`;
      await engine.queues.createQueue({ name, fifo });
      const q = engine.queues;
      const message = (loop: number, seq: number, i: number) =>
        fifo ? { body: BODY, groupId: `g${loop}`, dedupId: `${loop}-${seq}-${i}` } : { body: BODY };
      const driver: Driver = {
        send: async (loop, seq, n) => {
          if (n === 1) await q.send(name, message(loop, seq, 0));
          else await q.sendBatch(name, Array.from({ length: n }, (_, i) => message(loop, seq, i)));
        },
        receive: async (_loop, max) => (await q.receive(name, { max, waitMs: 1000 })).map((m) => m.receiptHandle),
        complete: async (handles) => {
          if (handles.length === 1) await q.delete(name, handles[0] as string);
          else await q.deleteBatch(name, handles as string[]);
        },
      };
      return await measure(driver, { concurrency: settings.concurrency, batch, warmupMs: settings.warmupMs, measureMs: settings.measureMs });
    } finally {
      await engine.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// mxgate over HTTP

async function startHubChild(dataDir: string, nodeOptions: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [...nodeOptions, '--import', 'tsx', join(import.meta.dirname, 'queue.ts'), '--serve-hub', dataDir], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the hub exited with code ${code} before listening`)));
  });
  lines.close();
  return { url, child };
}

async function stopHubChild(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin!.end();
  await exited;
}

/**
 * A bearer token for the hub that runs on `dataDir`: the hub writes its first client's credentials to
 * bootstrap-client.json (see src/auth/bootstrap.ts); a hub without authentication writes none and needs none.
 */
async function hubToken(url: string, dataDir: string): Promise<string | undefined> {
  const file = join(dataDir, 'bootstrap-client.json');
  if (!existsSync(file)) return undefined;
  const { client_id: id, client_secret: secret } = JSON.parse(await readFile(file, 'utf8')) as { client_id: string; client_secret: string };
  const response = await fetch(new URL('/oauth2/token', url), {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
  });
  const answer = (await response.json()) as { access_token?: string };
  if (!response.ok || typeof answer.access_token !== 'string') throw new Error(`no access token from the hub: ${response.status} ${JSON.stringify(answer)}`);
  return answer.access_token;
}

function httpClient(url: string, concurrency: number, token: string | undefined) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const base = new URL(url);
  const call = (method: string, path: string, body?: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        {
          agent,
          host: base.hostname,
          port: base.port,
          method,
          path,
          headers: {
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 500) >= 300) return reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
            resolve(text === '' ? undefined : JSON.parse(text));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  return { call, close: () => agent.destroy() };
}

async function overHttp(settings: Settings, fifo: boolean, batch: number): Promise<RunResult> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mxgate-bench-'));
  const { url, child } = await startHubChild(dataDir, settings.hubNodeOptions);
  const client = httpClient(url, settings.concurrency, await hubToken(url, dataDir));
  try {
    return await repeated(`http ${fifo ? 'fifo' : 'standard'} b${batch}`, settings.repeats, async (r) => {
      const name = `bench-${r}${fifo ? '.fifo' : ''}`;
      const path = `/v1/queues/${encodeURIComponent(name)}`;
      await client.call('POST', '/v1/queues', { name, fifo });
      const message = (loop: number, seq: number, i: number) =>
        fifo ? { body: BODY, group_id: `g${loop}`, dedup_id: `${loop}-${seq}-${i}` } : { body: BODY };
      const driver: Driver = {
        send: async (loop, seq, n) => {
          if (n === 1) await client.call('POST', `${path}/messages`, message(loop, seq, 0));
          else await client.call('POST', `${path}/messages`, { entries: Array.from({ length: n }, (_, i) => ({ id: String(i), ...message(loop, seq, i) })) });
        },
        receive: async (_loop, max) => {
          const { messages } = (await client.call('GET', `${path}/messages?max=${max}&wait_s=1`)) as { messages: Array<{ receipt_handle: string }> };
          return messages.map((m) => m.receipt_handle);
        },
        complete: async (handles) => {
          if (handles.length === 1) await client.call('DELETE', `${path}/messages/${encodeURIComponent(handles[0] as string)}`);
          else await client.call('POST', `${path}/messages/delete`, { receipt_handles: handles });
        },
      };
      const result = await measure(driver, { concurrency: settings.concurrency, batch, warmupMs: settings.warmupMs, measureMs: settings.measureMs });
      await client.call('DELETE', path);
      return result;
    });
  } finally {
    client.close();
    await stopHubChild(child);
    await rm(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// References

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

async function dropPgSchema(): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ ...PG, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
  } finally {
    await client.end();
  }
}

async function pgBoss(settings: Settings, batch: number): Promise<RunResult> {
  const { default: PgBoss } = await import('pg-boss');
  await dropPgSchema();
  const boss = new PgBoss({
    ...PG,
    schema: PG_SCHEMA,
    max: Math.min(settings.concurrency, 32),
    supervise: false,
    schedule: false,
    migrate: true,
  });
  boss.on('error', (err: unknown) => process.stderr.write(`pg-boss error: ${String(err)}\n`));
  await boss.start();
  try {
    return await repeated(`pgboss b${batch}`, settings.repeats, async (r) => {
      const name = `bench_${r}`;
      await boss.createQueue(name);
      const driver: Driver = {
        send: async (_loop, _seq, n) => {
          if (n === 1) await boss.send(name, { body: BODY });
          else await boss.insert(Array.from({ length: n }, () => ({ name, data: { body: BODY } })));
        },
        receive: async (_loop, max) => {
          const jobs = await boss.fetch(name, { batchSize: max });
          // pg-boss has no long poll; wait a little before fetching again when the queue looked empty.
          if (jobs.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
          return jobs.map((j) => j.id);
        },
        complete: async (ids) => boss.complete(name, ids as string[]),
      };
      // The queue stays until the schema is dropped: deleting a queue that holds completed jobs fails in pg-boss 10.
      return measure(driver, { concurrency: settings.concurrency, batch, warmupMs: settings.warmupMs, measureMs: settings.measureMs });
    });
  } finally {
    await boss.stop({ graceful: false, wait: true });
    await dropPgSchema();
  }
}

/**
 * BullMQ's model differs: a Worker pulls and completes jobs itself. A loop adds B jobs and waits until the
 * Worker has completed them; `receive` therefore yields the jobs of this loop as they complete.
 */
async function bullMq(settings: Settings, batch: number): Promise<RunResult> {
  const { Queue, Worker } = await import('bullmq');
  const connection = { ...REDIS, maxRetriesPerRequest: null };
  return repeated(`bullmq b${batch}`, settings.repeats, async (r) => {
    const name = `mxgate-bench-${process.pid}-${r}`;
    const queue = new Queue(name, { connection });
    const waiting = new Map<string, () => void>();
    const completedEarly = new Set<string>(); // completed before its loop registered (never seen so far)
    const worker = new Worker(name, async () => undefined, { connection, concurrency: settings.concurrency * batch, autorun: true });
    worker.on('completed', (job) => {
      const done = waiting.get(job.id!);
      if (!done) return void completedEarly.add(job.id!);
      waiting.delete(job.id!);
      done();
    });
    const pending = new Map<number, Array<Promise<void>>>();
    const jobOpts = { removeOnComplete: true, removeOnFail: true };
    const driver: Driver = {
      send: async (loop, _seq, n) => {
        const jobs = n === 1 ? [await queue.add('b', { body: BODY }, jobOpts)] : await queue.addBulk(Array.from({ length: n }, () => ({ name: 'b', data: { body: BODY }, opts: jobOpts })));
        const promises = jobs.map((job) =>
          completedEarly.delete(job.id!) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(job.id!, resolve)),
        );
        pending.set(loop, promises);
      },
      receive: async (loop) => {
        const mine = pending.get(loop) ?? [];
        pending.delete(loop);
        await Promise.all(mine);
        return mine;
      },
      complete: async () => undefined,
    };
    try {
      return await measure(driver, { concurrency: settings.concurrency, batch, warmupMs: settings.warmupMs, measureMs: settings.measureMs });
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
}

// ---------------------------------------------------------------------------------------------------------

interface Settings {
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  repeats: number;
  hubNodeOptions: string[];
}

function positiveInt(name: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer from 1 to ${max}`);
  return n;
}

async function main(): Promise<void> {
  const settings: Settings = {
    concurrency: positiveInt('concurrency', args.concurrency!, 1024),
    warmupMs: positiveInt('warmup-s', args['warmup-s']!, 60) * 1000,
    measureMs: positiveInt('seconds', args.seconds!, 600) * 1000,
    repeats: positiveInt('repeats', args.repeats!, 20),
    hubNodeOptions: args['hub-node-option'] ?? [],
  };
  const only = new Set((args.only ?? SCENARIO_KINDS.join(',')).split(',').map((s) => s.trim()));
  for (const kind of only) {
    if (!SCENARIO_KINDS.includes(kind as Kind)) throw new Error(`--only takes ${SCENARIO_KINDS.join('|')} (comma-separated), not ${kind}`);
  }
  const rows: Row[] = [];
  const batches = args.batch!.split(',').map((b) => positiveInt('batch', b.trim(), 10));
  process.stderr.write(
    `queue benchmark: ${settings.concurrency} loops, ${settings.warmupMs / 1000} s warm-up + ${settings.measureMs / 1000} s measured, median of ${settings.repeats}\n`,
  );

  if (only.has('inproc')) {
    for (const fifo of [false, true]) {
      for (const batch of batches) rows.push({ scenario: `mxgate in-process ${fifo ? 'FIFO' : 'standard'}`, batch, fsyncMs: await fsyncLatencyMs(), result: await inproc(settings, fifo, batch) });
    }
  }
  if (only.has('http')) {
    for (const fifo of [false, true]) {
      for (const batch of batches) rows.push({ scenario: `mxgate HTTP ${fifo ? 'FIFO' : 'standard'}`, batch, fsyncMs: await fsyncLatencyMs(), result: await overHttp(settings, fifo, batch) });
    }
  }
  if (only.has('pgboss')) {
    const up = await reachable(PG.host, PG.port);
    if (!up) process.stderr.write(`pg-boss skipped: PostgreSQL is not reachable at ${PG.host}:${PG.port}\n`);
    for (const batch of batches) {
      rows.push({ scenario: 'pg-boss 10 (PostgreSQL)', batch, fsyncMs: await fsyncLatencyMs(), result: up ? await pgBoss(settings, batch) : null, note: up ? undefined : 'skipped: PostgreSQL down' });
    }
  }
  if (only.has('bullmq')) {
    const up = await reachable(REDIS.host, REDIS.port);
    if (!up) process.stderr.write(`BullMQ skipped: Redis is not reachable at ${REDIS.host}:${REDIS.port}\n`);
    for (const batch of batches) {
      rows.push({ scenario: 'BullMQ (Redis, no persistence)', batch, fsyncMs: await fsyncLatencyMs(), result: up ? await bullMq(settings, batch) : null, note: up ? undefined : 'skipped: Redis down' });
    }
  }
  printTable(rows);
}

function printTable(rows: Row[]): void {
  const pgboss = new Map(rows.filter((r) => r.scenario.startsWith('pg-boss') && r.result).map((r) => [r.batch, r.result!.cyclesPerS]));
  const out = [
    '| scenario | batch | cycles/s (median) | p50 ms | p99 ms | vs pg-boss | fsync ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      if (!r.result) return `| ${r.scenario} | ${r.batch} | ${r.note ?? 'skipped'} | | | | |`;
      const base = pgboss.get(r.batch);
      const ratio = base ? `${(r.result.cyclesPerS / base).toFixed(2)}x` : '-';
      return `| ${r.scenario} | ${r.batch} | ${Math.round(r.result.cyclesPerS).toLocaleString('en-US')} | ${r.result.p50Ms.toFixed(1)} | ${r.result.p99Ms.toFixed(1)} | ${ratio} | ${r.fsyncMs?.toFixed(2) ?? '-'} |`;
    }),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
