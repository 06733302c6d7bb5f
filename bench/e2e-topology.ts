/**
 * The distributed hub for the end-to-end benchmark: 1 API, 2 workers and 1 scheduler as separate processes
 * (`node dist/cli/main.js serve --role ...`) sharing a fresh PostgreSQL schema (`mx_bench_<random>`) and a fresh
 * JetStream namespace (`b<random>`), both removed when the topology stops.
 *
 * Services: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test) and BENCH_NATS_URL (default
 * nats://127.0.0.1:4222); see DEVELOPERS.md for starting them.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';

export const BENCH_POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const BENCH_NATS_URL = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';

export type Role = 'api' | 'worker' | 'scheduler';
export const TOPOLOGY: Array<{ name: string; role: Role }> = [
  { name: 'api', role: 'api' },
  { name: 'worker1', role: 'worker' },
  { name: 'worker2', role: 'worker' },
  { name: 'scheduler', role: 'scheduler' },
];

export interface TopologyProcess {
  name: string;
  role: Role;
  process: ChildProcess;
  port: number;
  dataDir: string;
}

/** True when PostgreSQL answers a query and NATS JetStream answers its API at the benchmark's URLs. */
export async function distributedServicesUp(): Promise<boolean> {
  const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
  try {
    const nc = await connect({ servers: BENCH_NATS_URL, timeout: 2000, maxReconnectAttempts: 0 });
    try {
      await nc.request('$JS.API.INFO', '', { timeout: 2000 });
    } finally {
      await nc.close();
    }
    return true;
  } catch {
    return false;
  }
}

/** The PIDs of the PostgreSQL server processes and of nats-server (for their CPU over a window). */
export function servicePids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm === 'postgres' || comm === 'nats-server') pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

/**
 * Work counters of the services, read before and after a window: PostgreSQL transactions committed and rows
 * written in the benchmark's database (every client of it counts, so a quiet machine gives the clean figure),
 * and the messages JetStream stored in the topology's streams (queue messages, and KV puts and deletes: the
 * sum of the streams' last sequence numbers; reads and acks are not counted).
 */
export interface ServiceCounters {
  commits: number;
  rowsWritten: number;
  jsWrites: number;
}

export async function serviceCounters(namespace: string): Promise<ServiceCounters> {
  const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  let commits = NaN;
  let rowsWritten = NaN;
  try {
    await client.connect();
    // The statistics collector publishes at most every 500 ms; a fresh snapshot is asked for explicitly.
    await client.query('SELECT pg_stat_clear_snapshot()');
    const row = (
      await client.query<{ commits: string; rows: string }>(
        'SELECT xact_commit AS commits, tup_inserted + tup_updated + tup_deleted AS rows FROM pg_stat_database WHERE datname = current_database()',
      )
    ).rows[0];
    commits = Number(row?.commits);
    rowsWritten = Number(row?.rows);
  } finally {
    await client.end().catch(() => undefined);
  }
  let jsWrites = 0;
  const nc = await connect({ servers: BENCH_NATS_URL, timeout: 2000, maxReconnectAttempts: 0 });
  try {
    const jsm = await jetstreamManager(nc);
    const prefix = `${namespace.toUpperCase()}_`;
    for await (const info of jsm.streams.list()) {
      if (info.config.name.startsWith(prefix) || info.config.name.startsWith(`KV_${prefix}`)) jsWrites += info.state.last_seq;
    }
  } finally {
    await nc.close();
  }
  return { commits, rowsWritten, jsWrites };
}

export interface StartOptions {
  /** Starts one process: the benchmark's own spawner (same node options, output relay and child bookkeeping). */
  spawnHub(args: string[], env: NodeJS.ProcessEnv, label: string): ChildProcess;
  freePort(): Promise<number>;
  baseEnv: NodeJS.ProcessEnv;
  cliArgs(port: number, dataDir: string): string[];
  stop(child: ChildProcess): Promise<void>;
}

export interface Topology {
  schema: string;
  namespace: string;
  processes: TopologyProcess[];
  api: TopologyProcess;
  close(): Promise<void>;
}

async function healthy(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'GET', path: '/health' }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function startTopology(options: StartOptions): Promise<Topology> {
  const id = randomBytes(4).toString('hex');
  const schema = `mx_bench_${id}`;
  const namespace = `b${id}`;
  const root = await mkdtemp(join(tmpdir(), 'mxgate-e2e-dist-'));
  const env: NodeJS.ProcessEnv = {
    ...options.baseEnv,
    MXGATE_STORE: BENCH_POSTGRES_URL,
    MXGATE_QUEUES: BENCH_NATS_URL,
    MXGATE_POSTGRES_SCHEMA: schema,
    MXGATE_BROKER_NAMESPACE: namespace,
  };
  const processes: TopologyProcess[] = [];
  const start = async ({ name, role }: { name: string; role: Role }): Promise<TopologyProcess> => {
    const port = await options.freePort();
    const dataDir = join(root, name);
    const child = options.spawnHub([...options.cliArgs(port, dataDir), '--role', role], env, name);
    const entry = { name, role, process: child, port, dataDir };
    processes.push(entry);
    const deadline = performance.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} before listening`);
      if (performance.now() > deadline) throw new Error(`${name} did not listen within 60 s`);
      if ((role !== 'api' || existsSync(join(dataDir, 'bootstrap-client.json'))) && (await healthy(port))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    process.stderr.write(`  ${name} (${role}) pid ${child.pid} on 127.0.0.1:${port}\n`);
    return entry;
  };
  const close = async () => {
    await Promise.all(processes.map((p) => options.stop(p.process)));
    await rm(root, { recursive: true, force: true });
    await dropState(schema, namespace);
  };
  try {
    // The API first: it migrates the schema and creates the streams and the bootstrap client.
    const api = await start(TOPOLOGY[0]!);
    await Promise.all(TOPOLOGY.slice(1).map(start));
    process.stderr.write(`  schema ${schema}, JetStream namespace ${namespace}\n`);
    return { schema, namespace, processes, api, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/** Drops the schema and deletes the namespace's streams and KV buckets. */
async function dropState(schema: string, namespace: string): Promise<void> {
  const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end().catch(() => undefined);
  }
  const nc = await connect({ servers: BENCH_NATS_URL, timeout: 5000, maxReconnectAttempts: 0 });
  try {
    const jsm = await jetstreamManager(nc);
    const prefix = `${namespace.toUpperCase()}_`;
    const names: string[] = [];
    for await (const info of jsm.streams.list()) if (info.config.name.startsWith(prefix) || info.config.name.startsWith(`KV_${prefix}`)) names.push(info.config.name);
    for (const name of names) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}
