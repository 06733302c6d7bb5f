/**
 * A distributed topology for tests: hub processes (api, workers, schedulers) sharing a fresh PostgreSQL schema and
 * a fresh JetStream namespace, removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { connectNats, NATS_URL } from './nats.js';
import { POSTGRES_URL } from './postgres.js';
import { freePort, startHubProcess, type HubProcess } from './hub-process.js';

export interface Topology {
  env: Record<string, string>;
  dataDir: string;
  processes: Map<string, HubProcess>;
  /** Starts (or restarts) a named process with a role. */
  start(name: string, role: 'api' | 'worker' | 'scheduler' | 'all'): Promise<HubProcess>;
  /**
   * Starts named processes side by side; when one fails, waits for the others first (so that `close` knows every
   * process that runs) and then throws its error.
   */
  startAll(roles: Record<string, 'api' | 'worker' | 'scheduler' | 'all'>): Promise<void>;
  url(name: string): string;
  close(): Promise<void>;
}

export async function startTopology(roles: Record<string, 'api' | 'worker' | 'scheduler' | 'all'>, extraEnv: Record<string, string> = {}): Promise<Topology> {
  const id = randomBytes(4).toString('hex');
  // A schema the caller made (to create clients before the processes start) is used, and dropped like a fresh one.
  const schema = extraEnv.MXGATE_POSTGRES_SCHEMA ?? `mx_test_${id}`;
  const namespace = `t${id}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'mxgate-topology-'));
  const env: Record<string, string> = {
    MXGATE_STORE: POSTGRES_URL,
    MXGATE_QUEUES: NATS_URL.startsWith('nats://') ? NATS_URL : `nats://${NATS_URL}`,
    MXGATE_BROKER_NAMESPACE: namespace,
    ...extraEnv,
    MXGATE_POSTGRES_SCHEMA: schema,
  };
  const processes = new Map<string, HubProcess>();
  const ports = new Map<string, number>();
  const topology: Topology = {
    env,
    dataDir,
    processes,
    async start(name, role) {
      const port = ports.get(name) ?? (await freePort());
      ports.set(name, port);
      // Each process has its own data dir (the API writes the bootstrap client there); the state is shared.
      const hub = await startHubProcess({ dataDir: join(dataDir, name), port, env, role, timeoutMs: 30_000 });
      processes.set(name, hub);
      return hub;
    },
    async startAll(named) {
      const started = await Promise.allSettled(Object.entries(named).map(([name, role]) => topology.start(name, role)));
      const failed = started.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    },
    url: (name) => processes.get(name)!.url,
    async close() {
      await Promise.all([...processes.values()].map((p) => p.kill('SIGKILL')));
      rmSync(dataDir, { recursive: true, force: true });
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end().catch(() => undefined);
      }
      // Best effort: a leftover namespace only costs disk, and must not fail the tests that used it.
      try {
        const nc = await connectNats();
        try {
          const jsm = await jetstreamManager(nc);
          const prefix = `${namespace.toUpperCase()}_`;
          const names: string[] = [];
          for await (const info of jsm.streams.list()) if (info.config.name.startsWith(prefix) || info.config.name.startsWith(`KV_${prefix}`)) names.push(info.config.name);
          for (const name of names) await jsm.streams.delete(name).catch(() => false);
        } finally {
          await nc.close().catch(() => undefined);
        }
      } catch {
        // the server went away (a fault test restarts it); nothing to clean then
      }
    },
  };
  try {
    // The API first: it creates the schema and the streams. The others need nothing of each other and start side
    // by side (each start is seconds of loading and connecting).
    const entries = Object.entries(roles);
    const first = entries.filter(([, role]) => role === 'api' || role === 'all');
    for (const [name, role] of first) await topology.start(name, role);
    await topology.startAll(Object.fromEntries(entries.filter((entry) => !first.includes(entry))));
  } catch (error) {
    await topology.close();
    throw error;
  }
  return topology;
}
