/**
 * A hub on a real socket for end-to-end tests, on either engine, with helpers that speak its API like a client
 * would. The same test bodies run on both (`describeOnEngines`):
 *
 * | engine      | what runs                                                              | config overrides           |
 * | ----------- | ---------------------------------------------------------------------- | -------------------------- |
 * | embedded    | one hub in this process, on a fresh SQLite data directory              | given to loadConfig        |
 * | distributed | api, worker1, worker2 and scheduler processes (helpers/distributed.ts) | a JSON file, MXGATE_CONFIG |
 * |             | on a fresh PostgreSQL schema and JetStream namespace                   | of every process           |
 *
 * Clients are created in the hub's store from this process, as `mxgate clients create` does, on both engines.
 * `workers: false` starts the API alone (role api): it accepts payments and processes none (they wait at ACTC)
 * until `startWorkers()`; the embedded hub then restarts on its data with every role, the topology starts its
 * workers and scheduler beside the API.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'node:test';
import { AuthService, type NewClient } from '../../src/auth/service.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { startHub, type RunningHub } from '../../src/main.js';
import { SchemaValidator } from '../../src/iso20022/index.js';
import { directorySchemaSource } from '../../src/cli/schema-directory.js';
import { openEmbeddedEngine } from '../../src/engines/embedded.js';
import { systemClock } from '../../src/ports/clock.js';
import { randomIds } from '../../src/ports/ids.js';
import { openPostgresStore, type PostgresEngine } from '../../src/storage/postgres/index.js';
import { SHARED_ISO20022_DIR, sharedIso20022Available } from './shared.js';
import { bearer, fetchToken, type TestClient } from './auth.js';
import { startTopology } from './distributed.js';
import { NATS_URL, natsAvailable } from './nats.js';
import { dropSchema, freshSchemaName, POSTGRES_URL, postgresAvailable } from './postgres.js';

export type E2eEngine = 'embedded' | 'distributed';

export interface E2eOptions<K extends string = never> {
  /** Default embedded. */
  engine?: E2eEngine;
  /** false: nothing processes payments (they wait at ACTC) until `startWorkers()`. Default true. */
  workers?: boolean;
  /** Clients created before the hub starts, for a configuration that names them (e.g. downstream.answerClientIds). */
  clients?: Record<K, NewClient>;
}

export interface E2eHub<K extends string = string> {
  engine: E2eEngine;
  /** The API's address; it changes when the embedded hub restarts (`startWorkers`). */
  readonly url: string;
  dataDir: string;
  /** The clients of `options.clients`, by the keys given there. */
  clients: Record<K, TestClient>;
  /** A token of a new client (every scope unless told otherwise). */
  token(options?: { scopes?: Array<'mx/read' | 'mx/write' | 'mx/admin'>; profile?: string | null }): Promise<{ token: string; clientId: string }>;
  /** Creates a client in the hub's store, as an operator would; the store's checks apply (INVALID_ATTRIBUTE). */
  createClient(input: NewClient): Promise<TestClient>;
  /** A token for a client of `createClient` or `clients`. */
  tokenOf(client: TestClient): Promise<string>;
  /** After a start with `workers: false`: payments are processed from now on, on the same data. */
  startWorkers(): Promise<void>;
  close(): Promise<void>;
}

type Overrides = Record<string, unknown>;

/** The engines to run end-to-end tests on, each with its reason to skip (false: it runs). */
export interface E2eVariant {
  engine: E2eEngine;
  skip: string | false;
}

/**
 * Embedded always; distributed when PostgreSQL and NATS JetStream answer. Outside CI a missing service or missing
 * reference material skips with the reason; under CI=true a missing service throws (the test file fails).
 */
export async function e2eEngines(): Promise<E2eVariant[]> {
  const material = !sharedIso20022Available() && process.env.CI !== 'true' ? 'ISO 20022 reference material not found at ../shared/iso20022' : false;
  const servicesUp = (await postgresAvailable()) && (await natsAvailable());
  const needs = `PostgreSQL at ${POSTGRES_URL.replace(/\/\/[^@]*@/, '//')} (TEST_POSTGRES_URL) and NATS JetStream at ${NATS_URL} (NATS_URL)`;
  if (!servicesUp && process.env.CI === 'true') throw new Error(`CI requires ${needs} for the distributed end-to-end tests`);
  const services = servicesUp ? false : `the distributed engine needs ${needs}; see DEVELOPERS.md`;
  return [
    { engine: 'embedded', skip: material },
    { engine: 'distributed', skip: material || services },
  ];
}

/** Registers a describe block once per engine, named `<name> (<engine>)`, skipped where that engine cannot run. */
export function describeOnEngines(engines: readonly E2eVariant[], name: string, body: (engine: E2eEngine) => void): void {
  for (const { engine, skip } of engines) describe(`${name} (${engine})`, { skip }, () => body(engine));
}

export async function startE2eHub<K extends string = never>(
  overrides: Overrides | ((clients: Record<K, TestClient>) => Overrides) = {},
  options: E2eOptions<K> = {},
): Promise<E2eHub<K>> {
  return options.engine === 'distributed' ? startDistributed(overrides, options) : startEmbedded(overrides, options);
}

/** The overrides with what every end-to-end hub needs: the official schemas. */
function withSchemas(overrides: Overrides): Overrides {
  return { ...overrides, workflow: { schemaDir: join(SHARED_ISO20022_DIR, 'xsd'), ...(overrides.workflow as object) } };
}

async function createClients<K extends string>(auth: AuthService, wanted: Record<K, NewClient> | undefined): Promise<Record<K, TestClient>> {
  const made = {} as Record<K, TestClient>;
  for (const [key, input] of Object.entries(wanted ?? {}) as Array<[K, NewClient]>) made[key] = await createClient(auth, input);
  return made;
}

async function createClient(auth: AuthService, input: NewClient): Promise<TestClient> {
  const created = await auth.createClient(input);
  if (!created) throw new Error('client not created');
  return { id: created.client.id, secret: created.secret };
}

/** The client calls of an E2eHub, on the store `auth()` and the API at `url()` (both may change on a restart). */
function clientCalls(auth: () => AuthService, url: () => string): Pick<E2eHub, 'token' | 'createClient' | 'tokenOf'> {
  return {
    token: async (options = {}) => {
      const client = await createClient(auth(), { name: 'test', scopes: options.scopes, profile: options.profile ?? null });
      return { token: await fetchToken(url(), client), clientId: client.id };
    },
    createClient: (input) => createClient(auth(), input),
    tokenOf: (client) => fetchToken(url(), client),
  };
}

async function startEmbedded<K extends string>(overrides: Overrides | ((clients: Record<K, TestClient>) => Overrides), options: E2eOptions<K>): Promise<E2eHub<K>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mxgate-e2e-'));
  const configFor = (resolved: Overrides): Config => loadConfig({ overrides: { ...withSchemas(resolved), port: 0, dataDir } });
  let clients = {} as Record<K, TestClient>;
  if (options.clients) {
    // The store before the hub: the clients exist when the configuration names them.
    const engine = openEmbeddedEngine({ config: configFor({}), clock: systemClock, ids: randomIds, logger: silentLogger() });
    try {
      clients = await createClients(engine.auth, options.clients);
    } finally {
      await engine.close();
    }
  }
  const config = configFor(typeof overrides === 'function' ? overrides(clients) : overrides);
  let hub: RunningHub = await startHub(config, { logger: silentLogger(), role: options.workers === false ? 'api' : 'all' });
  return {
    engine: 'embedded',
    get url() {
      return hub.url;
    },
    dataDir,
    clients,
    ...clientCalls(() => hub.engine.auth, () => hub.url),
    startWorkers: async () => {
      // One process holds every role: the API-only hub gives way to a whole one on the same database.
      await hub.stop();
      hub = await startHub(config, { logger: silentLogger(), role: 'all' });
    },
    close: async () => {
      await hub.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startDistributed<K extends string>(overrides: Overrides | ((clients: Record<K, TestClient>) => Overrides), options: E2eOptions<K>): Promise<E2eHub<K>> {
  // The schema is opened here first: it is where the clients are created, before the processes start if need be.
  const schema = freshSchemaName();
  const configDir = mkdtempSync(join(tmpdir(), 'mxgate-e2e-config-'));
  const logger = silentLogger();
  let store: PostgresEngine | undefined;
  try {
    store = await openPostgresStore({ url: POSTGRES_URL, schema, clock: systemClock, ids: randomIds, logger });
    const auth = new AuthService({ store: store.auth, clock: systemClock, ids: randomIds, logger, config: loadConfig().auth });
    const clients = await createClients(auth, options.clients);
    const configFile = join(configDir, 'mxgate.json');
    writeFileSync(configFile, JSON.stringify(withSchemas(typeof overrides === 'function' ? overrides(clients) : overrides), null, 2));
    // Without workers only the API runs, as on the embedded engine; its standby relay still moves the outbox to the
    // queues (after relayStandbyAfterMs), where the payments then wait.
    const whole = { api: 'api', worker1: 'worker', worker2: 'worker', scheduler: 'scheduler' } as const;
    const running = await startTopology(options.workers === false ? { api: 'api' } : whole, { MXGATE_CONFIG: configFile, MXGATE_POSTGRES_SCHEMA: schema });
    const url = running.url('api');
    return {
      engine: 'distributed',
      url,
      dataDir: running.dataDir,
      clients,
      ...clientCalls(() => auth, () => url),
      startWorkers: async () => {
        await running.startAll(Object.fromEntries(Object.entries(whole).filter(([name]) => !running.processes.has(name))));
      },
      close: async () => {
        await store!.close();
        await running.close();
        rmSync(configDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await store?.close();
    // A topology that failed to start has closed itself; the schema made here goes either way.
    await dropSchema(schema).catch(() => undefined);
    rmSync(configDir, { recursive: true, force: true });
    throw error;
  }
}

export const sample = (path: string) => readFileSync(join(SHARED_ISO20022_DIR, 'samples', path), 'utf8');

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: () => Record<string, unknown>;
}

export async function api(url: string, token: string | null, method: string, path: string, init: { xml?: string; json?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(token ? bearer(token) : {}), ...init.headers };
  let body: string | undefined;
  if (init.xml !== undefined) {
    headers['content-type'] ??= 'application/xml';
    body = init.xml;
  } else if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  const response = await fetch(url + path, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** Polls the outbox until the status report is there (200), as a client would. */
export async function awaitReport(url: string, token: string, id: string, timeoutMs = 15_000): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await api(url, token, 'GET', `/v1/outbox/${id}`);
    if (answer.status === 200) return answer;
    if (answer.status !== 202) throw new Error(`outbox answered ${answer.status}: ${answer.text}`);
    if (Date.now() > deadline) throw new Error(`no report for ${id} in time (${answer.text})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The message of transaction `id` in a dead-letter queue, read without taking it (an `mx/admin` token), waiting up
 * to `timeoutMs` for it to get there; undefined when it does not.
 */
export async function deadLettered(url: string, adminToken: string, queue: string, id: string, timeoutMs = 10_000): Promise<{ body: string; attributes: Record<string, string> } | undefined> {
  for (const until = Date.now() + timeoutMs; Date.now() < until; ) {
    const answer = await api(url, adminToken, 'GET', `/v1/queues/${queue}/messages?max=10&wait_s=1&visibility_s=0`);
    const found = (answer.json().messages as Array<{ body: string; attributes: Record<string, string> }>).find((m) => JSON.parse(m.body).transaction_id === id);
    if (found) return found;
  }
  return undefined;
}

let validator: SchemaValidator | undefined;
/** Validates XML against the official schemas; returns the findings (empty when valid). */
export function schemaFindings(xml: string): unknown[] {
  validator ??= new SchemaValidator({ source: directorySchemaSource(join(SHARED_ISO20022_DIR, 'xsd')) });
  return validator.validate(xml);
}

/** Gives a sample new ids (MsgId, EndToEndId, UETR, TxId) so that it is not a duplicate of an earlier one. */
export function fresh(xml: string, tag: string): string {
  const uetr = crypto.randomUUID();
  return xml
    .replace(/(<(?:\w+:)?MsgId>)([^<]*)(<)/g, (_m, a: string, v: string, c: string) => `${a}${(v + tag).slice(-35)}${c}`)
    .replace(/(<(?:\w+:)?BizMsgIdr>)([^<]*)(<)/g, (_m, a: string, v: string, c: string) => `${a}${(v + tag).slice(-35)}${c}`)
    .replace(/(<(?:\w+:)?EndToEndId>)([^<]*)(<)/g, (_m, a: string, v: string, c: string) => `${a}${(v + tag).slice(-35)}${c}`)
    .replace(/(<(?:\w+:)?TxId>)([^<]*)(<)/g, (_m, a: string, v: string, c: string) => `${a}${(v + tag).slice(-35)}${c}`)
    .replace(/(<(?:\w+:)?UETR>)([^<]*)(<)/g, (_m, a: string, _v: string, c: string) => `${a}${uetr}${c}`);
}

/** Gives the (first) debtor account an other id, so that payments spread over FIFO groups as real traffic does. */
export function withDebtorAccount(xml: string, account: string): string {
  return xml.replace(/(<(?:\w+:)?DbtrAcct>\s*<(?:\w+:)?Id>\s*<(?:\w+:)?Othr>\s*<(?:\w+:)?Id>)[^<]+</, `$1${account}<`);
}
