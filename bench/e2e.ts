/**
 * End-to-end payment benchmark: pacs.008 in over HTTP, pacs.002 status report out, durability on.
 *
 *   npm run bench -- [--rate 1000[,250...]] [--seconds 10] [--concurrency 64] [--prime 3000] [--warmup-s 2] [--consumers 16]
 *                    [--accounts 10000] [--only open,closed,echo] [--xsd] [--durability pipelined|full]
 *                    [--no-build] [--drain-s 60] [--engine embedded|distributed|both]
 *                    [--hub-node-option=--cpu-prof --hub-node-option=--cpu-prof-dir=DIR]
 *                    [--hub-env MXGATE_WORKFLOW_LIFECYCLE_EVENTS=false ...]
 *
 * The hub runs as a child process (`node dist/cli/main.js serve`, built at the start with `npm run build`
 * unless --no-build) on a fresh temporary data directory, a free loopback port, log level warn and the default
 * durability (every acknowledged write is on stable storage; --durability picks the hub's sqlite.durability mode). The benchmark reads the bootstrap client's credentials the hub
 * writes on first start and takes a token with them. Hub settings come only from the benchmark: MXGATE_* variables
 * of its own environment are dropped, and `--hub-env KEY=VALUE` (repeatable) gives one to every hub process.
 *
 * Load: the CBPR+ pacs.008.001.08 sample of ../shared/iso20022/samples, read at run time. Every submission gets
 * a new MsgId (and AppHdr BizMsgIdr), InstrId, EndToEndId, TxId, a v4 UETR and a debtor IBAN drawn from a pool
 * of `accounts` German IBANs with valid check digits, so the FIFO groups (client + debtor account) spread.
 * Each is posted to `POST /v1/messages` as application/xml.
 *
 * Completion: the payment's status report reached the client. `consumers` loops long-poll the client's
 * participant queue (`GET /v1/queues/participant.<client_id>/messages?max=10&wait_s=1`), read the report's
 * transaction_id attribute, and delete what they received in one batch call. A payment is complete when its
 * report is received: that is what a client of the hub sees, and it costs the hub one receive per ten reports
 * instead of one outbox poll per payment and interval. There must be enough consumer loops: each receive and
 * delete waits for a group commit like any other request, so with a few loops a loaded hub's reports pile up in
 * the queue and the consumers, not the hub, set the completion rate (16 loops keep up on 2 cores; 4 did not).
 *
 * Modes, each on a fresh hub (so its CPU and peak RSS are its own), after a priming and a warm-up that are not
 * counted: the priming runs the closed loop until `prime` payments are accepted, then drains, so that every process
 * of the hub runs compiled code in the window (a fresh Node process interprets its code until it is hot: a hub that
 * completes a few hundred payments per second, four processes of it in the distributed topology, takes 15 to 20 s
 * of load to get there, and a 2 s warm-up measured its start rather than its sustained rate); the warm-up then runs
 * `warmup-s` of the row's own load, and drains:
 *   open    submissions at a fixed `rate` (one hub run per rate given) for `seconds` (latency is measured from the
 *           scheduled time, so a stalled client or hub does not hide its own delay), p50/p90/p99 of submit ->
 *           202 and of submit -> status report received.
 *   closed  `concurrency` submitters, each posting its next payment when the previous one is accepted, for
 *           `seconds`; accepted and completed per second inside the window, then the drain: how long after the
 *           window the last accepted payment's report arrives.
 *   echo    a bare node:http server in a child process that reads the same payload and answers 202 with a small
 *           JSON body, driven by the same client in both patterns: the ceiling of HTTP on this machine.
 * Hub CPU is user + system time of the child over the window (from /proc/<pid>/stat), peak RSS its VmHWM.
 * Linux only (/proc). Everything runs on loopback, is bounded in count and time, and the children are stopped
 * at the end, also on error.
 *
 * Engines (`--engine`; default `both` when PostgreSQL and NATS JetStream answer, else `embedded`):
 *   embedded     the hub above: one process, SQLite.
 *   distributed  1 API, 2 workers and 1 scheduler as separate processes (`serve --role ...`, built the same way)
 *                on PostgreSQL + NATS JetStream, on a fresh schema and JetStream namespace per run, removed
 *                afterwards (bench/e2e-topology.ts). Submissions and consumers talk to the API process. Hub CPU
 *                is the sum over the four processes, peak RSS the sum of their peaks; "PG + NATS CPU" is the
 *                PostgreSQL server processes and nats-server over the same window.
 *   both         each mode on the embedded hub, then on the distributed topology, in one run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { distributedServicesUp, serviceCounters, servicePids, startTopology, type ServiceCounters } from './e2e-topology.js';

const ROOT = join(import.meta.dirname, '..');
const SHARED = join(ROOT, '..', 'shared', 'iso20022');
const SAMPLE = join(SHARED, 'samples', 'pacs.008.001.08-cbpr-single.xml');
const MODES = ['open', 'closed', 'echo'] as const;
type Mode = (typeof MODES)[number];
const ENGINES = ['embedded', 'distributed'] as const;
type Engine = (typeof ENGINES)[number];

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '64' },
    prime: { type: 'string', default: '3000' },
    'warmup-s': { type: 'string', default: '2' },
    'drain-s': { type: 'string', default: '60' },
    consumers: { type: 'string', default: '16' },
    accounts: { type: 'string', default: '10000' },
    'in-flight-max': { type: 'string', default: '20000' },
    only: { type: 'string', default: MODES.join(',') },
    xsd: { type: 'boolean', default: false },
    durability: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    'hub-node-option': { type: 'string', multiple: true, default: [] },
    'hub-env': { type: 'string', multiple: true, default: [] },
    engine: { type: 'string' },
    'serve-echo': { type: 'boolean', default: false },
  },
  strict: true,
});

// ---------------------------------------------------------------------------------------------------------
// Payments

/** ISO 13616 check digits: the BBAN then the country and "00", letters as 10..35, mod 97, subtracted from 98. */
function ibanCheckDigits(country: string, bban: string): string {
  const digits = `${bban}${country}00`.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let rest = 0;
  for (const d of digits) rest = (rest * 10 + Number(d)) % 97;
  return String(98 - rest).padStart(2, '0');
}

/** A German IBAN: DE, check digits, 8-digit bank code, 10-digit account number. */
function randomGermanIban(): string {
  let bban = '';
  for (let i = 0; i < 18; i++) bban += String(randomInt(10));
  return `DE${ibanCheckDigits('DE', bban)}${bban}`;
}

type Field = 'msgId' | 'instrId' | 'endToEndId' | 'txId' | 'uetr' | 'iban';

/**
 * Cuts the sample into constant parts around the fields each submission changes, once; a submission is then
 * the parts joined with fresh values. Every edit must match exactly once, so a changed sample fails loudly.
 */
function paymentTemplate(xml: string): { parts: string[]; fields: Field[] } {
  const marks: Field[] = [];
  const mark = (f: Field) => `\u0000${f}\u0000`;
  const once = (text: string, pattern: RegExp, replace: (...groups: string[]) => string, what: string): string => {
    const hits = text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;
    if (hits !== 1) throw new Error(`the sample has ${hits} ${what}, expected one`);
    return text.replace(pattern, (...m: string[]) => replace(...m));
  };
  let t = xml;
  t = once(t, /<(\w+:)?BizMsgIdr>[^<]*<\/\1?BizMsgIdr>/, (_m, p = '') => `<${p}BizMsgIdr>${mark('msgId')}</${p}BizMsgIdr>`, 'BizMsgIdr');
  t = once(t, /<(\w+:)?MsgId>[^<]*<\/\1?MsgId>/, (_m, p = '') => `<${p}MsgId>${mark('msgId')}</${p}MsgId>`, 'MsgId');
  t = once(t, /<(\w+:)?InstrId>[^<]*<\/\1?InstrId>/, (_m, p = '') => `<${p}InstrId>${mark('instrId')}</${p}InstrId>`, 'InstrId');
  // The sample has no TxId: it goes right after EndToEndId (PmtId: InstrId, EndToEndId, TxId, UETR).
  t = once(t, /<(\w+:)?EndToEndId>[^<]*<\/\1?EndToEndId>(\s*<\1?TxId>[^<]*<\/\1?TxId>)?/, (_m, p = '') =>
    `<${p}EndToEndId>${mark('endToEndId')}</${p}EndToEndId><${p}TxId>${mark('txId')}</${p}TxId>`, 'EndToEndId');
  t = once(t, /<(\w+:)?UETR>[^<]*<\/\1?UETR>/, (_m, p = '') => `<${p}UETR>${mark('uetr')}</${p}UETR>`, 'UETR');
  t = once(t, /<(\w+:)?DbtrAcct>[\s\S]*?<\/\1?DbtrAcct>/, (_m, p = '') =>
    `<${p}DbtrAcct><${p}Id><${p}IBAN>${mark('iban')}</${p}IBAN></${p}Id></${p}DbtrAcct>`, 'DbtrAcct');
  const pieces = t.split('\u0000');
  const parts: string[] = [];
  for (let i = 0; i < pieces.length; i++) {
    if (i % 2 === 0) parts.push(pieces[i]!);
    else marks.push(pieces[i] as Field);
  }
  return { parts, fields: marks };
}

class PaymentGenerator {
  readonly #parts: string[];
  readonly #fields: Field[];
  readonly #ibans: string[];
  // A run tag keeps ids unique across runs against one data directory; ids stay well under 35 characters.
  readonly #tag = randomBytes(4).toString('hex').toUpperCase();
  #seq = 0;

  constructor(xml: string, accounts: number) {
    ({ parts: this.#parts, fields: this.#fields } = paymentTemplate(xml));
    this.#ibans = Array.from({ length: accounts }, randomGermanIban);
  }

  next(): Buffer {
    const n = (this.#seq++).toString(36).toUpperCase();
    const values: Record<Field, string> = {
      msgId: `BM-${this.#tag}-${n}`,
      instrId: `BI-${this.#tag}-${n}`,
      endToEndId: `BE-${this.#tag}-${n}`,
      txId: `BT-${this.#tag}-${n}`,
      uetr: randomUUID(),
      iban: this.#ibans[randomInt(this.#ibans.length)]!,
    };
    let out = this.#parts[0]!;
    for (let i = 0; i < this.#fields.length; i++) out += values[this.#fields[i]!] + this.#parts[i + 1]!;
    return Buffer.from(out, 'utf8');
  }
}

// ---------------------------------------------------------------------------------------------------------
// HTTP client (keep-alive, one agent per role so consumers never wait behind submitters for a socket)

interface Answer {
  status: number;
  text: string;
}

function httpClient(port: number, sockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  let token: string | undefined;
  const call = (method: string, path: string, body?: Buffer, contentType = 'application/json'): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent,
          host: '127.0.0.1',
          port,
          method,
          path,
          headers: {
            ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
            ...(body === undefined ? {} : { 'content-type': contentType, 'content-length': body.length }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
      req.on('error', reject);
      req.end(body);
    });
  return {
    call,
    setToken: (t: string) => void (token = t),
    close: () => agent.destroy(),
  };
}
type Client = ReturnType<typeof httpClient>;

// ---------------------------------------------------------------------------------------------------------
// Child processes

interface Child {
  process: ChildProcess;
  port: number;
  dataDir?: string;
  clientId?: string;
}

const children = new Set<ChildProcess>();
// Last resort: whatever way this process ends, its children end with it.
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Forwards a child's output to stderr, up to a number of lines (a hub under overload may log a lot). */
function relay(child: ChildProcess, label: string, linesMax = 20): void {
  let lines = 0;
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      lines += 1;
      if (lines <= linesMax) process.stderr.write(`  [${label}] ${line.slice(0, 400)}\n`);
      else if (lines === linesMax + 1) process.stderr.write(`  [${label}] (further output not shown)\n`);
    });
  }
}

async function stopChild(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return void children.delete(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The V8 flags `npm start` and the Docker image run the hub with (README, "Memory and garbage collection"). */
const HUB_NODE_FLAGS = ['--max-semi-space-size=32'];

const serveArgs = (port: number, dataDir: string) => [
  join(ROOT, 'dist', 'cli', 'main.js'), 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn',
];

function spawnHub(nodeOptions: string[], args: string[], env: NodeJS.ProcessEnv, label: string): ChildProcess {
  const child = spawn(process.execPath, [...nodeOptions, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  relay(child, label);
  return child;
}

/**
 * The environment of a hub process: this one's without MXGATE_* settings, plus the benchmark's own and the
 * settings given with --hub-env (every process of the distributed topology gets them too).
 */
function hubEnv(options: HubOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('MXGATE_')) delete env[key];
  if (options.xsd) env.MXGATE_WORKFLOW_SCHEMA_DIR = join(SHARED, 'xsd');
  if (options.durability !== undefined) env.MXGATE_SQLITE_DURABILITY = options.durability;
  return { ...env, ...options.hubEnv };
}

/** --hub-env values: MXGATE_ settings as KEY=VALUE. */
function hubSettings(values: readonly string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const value of values) {
    const match = /^(MXGATE_[A-Z0-9_]+)=(.*)$/s.exec(value);
    if (!match) throw new Error(`--hub-env takes MXGATE_<SETTING>=<value>, not ${value}`);
    settings[match[1]!] = match[2]!;
  }
  return settings;
}

/** What a benchmark run talks to: the API's port and data directory, and every hub process for CPU and RSS. */
interface Target {
  engine: Engine;
  /** The JetStream namespace of a distributed topology. */
  namespace?: string;
  port: number;
  dataDir: string;
  pids: number[];
  close(): Promise<void>;
}

/** What a hub run starts its processes with. */
interface HubOptions {
  xsd: boolean;
  durability: string | undefined;
  hubEnv: Record<string, string>;
  nodeOptions: string[];
}

async function startTarget(engine: Engine, options: HubOptions): Promise<Target> {
  if (engine === 'embedded') {
    const hub = await startHub(options);
    return {
      engine,
      port: hub.port,
      dataDir: hub.dataDir!,
      pids: [hub.process.pid!],
      close: async () => {
        await stopChild(hub.process);
        await rm(hub.dataDir!, { recursive: true, force: true });
      },
    };
  }
  const topology = await startTopology({
    spawnHub: (args, env, label) => spawnHub(options.nodeOptions, args, env, label),
    freePort,
    baseEnv: hubEnv(options),
    cliArgs: serveArgs,
    stop: (child) => stopChild(child),
  });
  return { engine, namespace: topology.namespace, port: topology.api.port, dataDir: topology.api.dataDir, pids: topology.processes.map((p) => p.process.pid!), close: topology.close };
}

async function startHub(options: HubOptions): Promise<Child> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mxgate-e2e-'));
  const port = await freePort();
  const env = hubEnv(options);
  const child = spawnHub(options.nodeOptions, serveArgs(port, dataDir), env, 'hub');
  // The hub writes the bootstrap credentials before it listens; ready = the token endpoint answers.
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the hub exited with code ${child.exitCode} before listening`);
    if (performance.now() > deadline) throw new Error('the hub did not listen within 60 s');
    if (existsSync(join(dataDir, 'bootstrap-client.json'))) {
      const ok = await new Promise<boolean>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'GET', path: '/health' }, (res) => {
          res.resume();
          resolve(true);
        });
        req.on('error', () => resolve(false));
        req.end();
      });
      if (ok) break;
    }
    await sleep(100);
  }
  process.stderr.write(`  hub pid ${child.pid} on 127.0.0.1:${port}, data in ${dataDir}\n`);
  return { process: child, port, dataDir };
}

async function startEcho(): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'e2e.ts'), '--serve-echo'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    lines.once('line', (line) => resolve(Number(line)));
    child.once('exit', (code) => reject(new Error(`the echo server exited with code ${code} before listening`)));
  });
  lines.close();
  return { process: child, port };
}

/** A bearer token for the bootstrap client of the hub (HTTP Basic client credentials). */
async function bootstrapToken(hub: { port: number; dataDir?: string }): Promise<{ token: string; clientId: string }> {
  const { client_id: id, client_secret: secret } = JSON.parse(await readFile(join(hub.dataDir!, 'bootstrap-client.json'), 'utf8')) as { client_id: string; client_secret: string };
  const client = httpClient(hub.port, 1);
  try {
    const form = Buffer.from(new URLSearchParams({ grant_type: 'client_credentials' }).toString());
    const basic = Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: hub.port, method: 'POST', path: '/oauth2/token', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', 'content-length': form.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end(form);
    });
    const token = (JSON.parse(answer.text) as { access_token?: string }).access_token;
    if (answer.status !== 200 || typeof token !== 'string') throw new Error(`no access token from the hub: ${answer.status} ${answer.text}`);
    return { token, clientId: id };
  } finally {
    client.close();
  }
}

/** user + system CPU seconds of a process, and its peak resident set (VmHWM) in bytes. */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at state; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
function peakRssBytes(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}
/** CPU seconds of each process still alive (a process that ended meanwhile is left out). */
function cpuByPid(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      out.set(pid, cpuSeconds(pid));
    } catch {
      // gone
    }
  }
  return out;
}
/** CPU used between two readings by the processes present in both (or started after the first: from zero). */
function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// Tracking submissions and their reports

interface Result {
  target: string;
  mode: string;
  offered: string;
  windowS: number;
  accepted: number;
  acceptedInWindow: number;
  completedInWindow: number;
  failed: number;
  notSent: number;
  rejected: number;
  statuses: string;
  acceptMs: number[];
  completeMs: number[];
  drainS: number | null;
  undrained: number;
  cpuS: number;
  /** PostgreSQL and nats-server CPU over the window (distributed runs); NaN otherwise. */
  servicesCpuS: number;
  /** PostgreSQL commits and rows written, messages JetStream stored, per accepted payment (distributed runs). */
  perPayment: { commits: number; rowsWritten: number; jsWrites: number } | null;
  clientCpuS: number;
  peakRssBytes: number;
  /** Where a payment's time went (p50 and p90 ms of each phase, from a sample of the completed payments). */
  phases: Array<{ phase: string; p50: number; p90: number }> | null;
}

/** How many completed payments `phasesOf` reads back. */
const PHASE_SAMPLE = 200;

/**
 * Splits the completion time of a sample of payments into phases, from the history the hub recorded (its clock,
 * the same machine's): submission to ACTC (the 202), ACTC to ACSP (processing), ACSP to ACSC (releasing), ACSC to
 * the report's receipt by a consumer (the outbox relay on the distributed engine, the participant queue, the
 * consumer's poll).
 */
async function phasesOf(client: Client, completed: Tracker['completed']): Promise<Result['phases']> {
  if (completed.length === 0) return null;
  const step = Math.max(1, Math.floor(completed.length / PHASE_SAMPLE));
  const sample = completed.filter((_, i) => i % step === 0).slice(0, PHASE_SAMPLE);
  const spans: Record<string, number[]> = { 'submit -> ACTC': [], 'ACTC -> ACSP': [], 'ACSP -> ACSC': [], 'ACSC -> report received': [] };
  for (const c of sample) {
    const answer = await client.call('GET', `/v1/transactions/${c.id}`);
    if (answer.status !== 200) continue;
    const history = (JSON.parse(answer.text) as { history: Array<{ status: string; at: string }> }).history;
    const at = (status: string) => {
      const h = history.find((e) => e.status === status);
      return h ? Date.parse(h.at) - performance.timeOrigin : NaN;
    };
    const [actc, acsp, acsc] = [at('ACTC'), at('ACSP'), at('ACSC')];
    if (![actc, acsp, acsc].every(Number.isFinite)) continue;
    spans['submit -> ACTC']!.push(actc - c.from);
    spans['ACTC -> ACSP']!.push(acsp - actc);
    spans['ACSP -> ACSC']!.push(acsc - acsp);
    spans['ACSC -> report received']!.push(c.at - acsc);
  }
  return Object.entries(spans).map(([phase, values]) => ({ phase, p50: percentile(values, 50), p90: percentile(values, 90) }));
}

/**
 * Submissions in flight by transaction id, with the time each one counts from. A report may reach a consumer
 * before the 202 that names its transaction reaches the submitter; it waits in `early` until then.
 */
class Tracker {
  readonly pending = new Map<string, number>();
  readonly early = new Map<string, number>();
  window = { start: Infinity, end: Infinity };
  completedInWindow = 0;
  rejected = 0;
  /** Reports by group status (ACSC, RJCT ...) during the measured window and drain. */
  statuses = new Map<string, number>();
  lastCompletionAt = 0;
  completeMs: number[] = [];
  /** Completed payments of the window and drain: id, submission and report times (performance.now()). */
  completed: Array<{ id: string; from: number; at: number }> = [];
  recording = false;

  accepted(id: string, from: number): void {
    const at = this.early.get(id);
    if (at === undefined) return void this.pending.set(id, from);
    this.early.delete(id);
    this.#complete(id, from, at);
  }

  report(id: string, at: number, status: string | undefined): void {
    if (status === 'RJCT') this.rejected += 1;
    if (this.recording) this.statuses.set(status ?? '?', (this.statuses.get(status ?? '?') ?? 0) + 1);
    const from = this.pending.get(id);
    if (from === undefined) return void this.early.set(id, at);
    this.pending.delete(id);
    this.#complete(id, from, at);
  }

  #complete(id: string, from: number, at: number): void {
    this.lastCompletionAt = at;
    if (at >= this.window.start && at < this.window.end) this.completedInWindow += 1;
    if (!this.recording) return;
    this.completeMs.push(at - from);
    this.completed.push({ id, from, at });
  }
}

/** Consumer loops on the client's participant queue: receive up to 10 reports, note them, delete them in one call. */
function startConsumers(client: Client, clientId: string, tracker: Tracker, loops: number): { stop(): Promise<void> } {
  const path = `/v1/queues/${encodeURIComponent(`participant.${clientId}`)}/messages`;
  let stopping = false;
  const loop = async () => {
    while (!stopping) {
      const answer = await client.call('GET', `${path}?max=10&wait_s=1`);
      const at = performance.now();
      if (answer.status === 404) {
        // The hub creates the participant queue with the first report.
        await sleep(20);
        continue;
      }
      if (answer.status !== 200) throw new Error(`receive: ${answer.status} ${answer.text}`);
      const { messages } = JSON.parse(answer.text) as { messages: Array<{ receipt_handle: string; attributes?: Record<string, string> }> };
      if (messages.length === 0) continue;
      for (const m of messages) {
        const id = m.attributes?.transaction_id;
        if (id !== undefined) tracker.report(id, at, m.attributes?.status);
      }
      const deleted = await client.call('POST', `${path}/delete`, Buffer.from(JSON.stringify({ receipt_handles: messages.map((m) => m.receipt_handle) })));
      if (deleted.status !== 200) throw new Error(`delete: ${deleted.status} ${deleted.text}`);
    }
  };
  const running = Array.from({ length: loops }, loop);
  return {
    stop: async () => {
      stopping = true;
      await Promise.all(running);
    },
  };
}

interface Load {
  /** Posts one payment; resolves with its transaction id (or null for the echo server), throws on a non-202. */
  submit(): Promise<string | null>;
}

function submitter(client: Client, generator: PaymentGenerator): Load {
  return {
    submit: async () => {
      const answer = await client.call('POST', '/v1/messages', generator.next(), 'application/xml');
      if (answer.status !== 202) throw new Error(`submit: ${answer.status} ${answer.text.slice(0, 300)}`);
      return (JSON.parse(answer.text) as { transaction_id: string }).transaction_id;
    },
  };
}

interface Phase {
  accepted: number;
  acceptedInWindow: number;
  failed: number;
  notSent: number;
  acceptMs: number[];
  firstError?: string;
}

/** Fixed-rate submissions for `seconds`; returns when every submission has been answered. */
async function openLoop(load: Load, tracker: Tracker | null, options: { rate: number; seconds: number; inFlightMax: number; record: boolean }): Promise<Phase> {
  const phase: Phase = { accepted: 0, acceptedInWindow: 0, failed: 0, notSent: 0, acceptMs: [] };
  const start = performance.now();
  const end = start + options.seconds * 1000;
  const total = Math.round(options.rate * options.seconds);
  const intervalMs = 1000 / options.rate;
  const answers: Array<Promise<void>> = [];
  let inFlight = 0;
  let sent = 0;
  const one = async (scheduled: number) => {
    inFlight += 1;
    try {
      const id = await load.submit();
      const now = performance.now();
      phase.accepted += 1;
      if (now < end) phase.acceptedInWindow += 1;
      if (options.record) phase.acceptMs.push(now - scheduled);
      if (id !== null) tracker?.accepted(id, scheduled);
    } catch (error) {
      phase.failed += 1;
      phase.firstError ??= String(error);
    } finally {
      inFlight -= 1;
    }
  };
  while (sent < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - start) / intervalMs) + 1);
    for (; sent < due; sent++) {
      if (inFlight >= options.inFlightMax) {
        phase.notSent += 1;
        continue;
      }
      answers.push(one(start + sent * intervalMs));
    }
    // setTimeout's floor is about 1 ms: each turn sends what has come due, so the rate holds on average.
    await sleep(Math.max(0, Math.min(intervalMs, start + sent * intervalMs - performance.now())));
  }
  await Promise.all(answers);
  return phase;
}

/** `concurrency` submitters, each posting its next payment when the previous one is answered, for `seconds`. */
/** `concurrency` submitters for `seconds`, or until `payments` submissions have started when that is given. */
async function closedLoop(load: Load, tracker: Tracker | null, options: { concurrency: number; seconds: number; record: boolean; payments?: number }): Promise<Phase> {
  const phase: Phase = { accepted: 0, acceptedInWindow: 0, failed: 0, notSent: 0, acceptMs: [] };
  const end = performance.now() + options.seconds * 1000;
  let started = 0;
  const worker = async () => {
    while (performance.now() < end && started++ < (options.payments ?? Infinity)) {
      const began = performance.now();
      try {
        const id = await load.submit();
        const now = performance.now();
        phase.accepted += 1;
        if (now < end) phase.acceptedInWindow += 1;
        if (options.record) phase.acceptMs.push(now - began);
        if (id !== null) tracker?.accepted(id, began);
      } catch (error) {
        phase.failed += 1;
        phase.firstError ??= String(error);
        if (phase.failed > 1000) throw new Error(`too many failed submissions; first: ${phase.firstError}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return phase;
}

/** Longest priming: a hub that cannot complete `prime` payments in this time is measured as it is. */
const PRIME_MAX_S = 120;

/** Waits until every accepted payment has its report, up to `drainMs`; returns the payments still waiting. */
async function drain(tracker: Tracker, drainMs: number): Promise<number> {
  const deadline = performance.now() + drainMs;
  while (tracker.pending.size > 0 && performance.now() < deadline) await sleep(10);
  return tracker.pending.size;
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios

interface Settings {
  /** Open-loop rates, one hub run each; the echo server's open loop uses the first. */
  rates: number[];
  seconds: number;
  concurrency: number;
  /** Payments of the priming closed loop (0: none). */
  prime: number;
  warmupS: number;
  drainMs: number;
  consumers: number;
  accounts: number;
  inFlightMax: number;
  xsd: boolean;
  durability: string | undefined;
  hubEnv: Record<string, string>;
  hubNodeOptions: string[];
}

async function hubRun(settings: Settings, sample: string, engine: Engine, mode: 'open' | 'closed', rate = 0): Promise<Result> {
  const hub = await startTarget(engine, { xsd: settings.xsd, durability: settings.durability, hubEnv: settings.hubEnv, nodeOptions: settings.hubNodeOptions });
  const submitters = httpClient(hub.port, Math.max(settings.concurrency, 256));
  const consumers = httpClient(hub.port, settings.consumers);
  try {
    const { token, clientId } = await bootstrapToken(hub);
    submitters.setToken(token);
    consumers.setToken(token);
    const generator = new PaymentGenerator(sample, settings.accounts);
    const load = submitter(submitters, generator);
    const tracker = new Tracker();
    const consuming = startConsumers(consumers, clientId, tracker, settings.consumers);
    const run = (seconds: number, record: boolean) =>
      mode === 'open'
        ? openLoop(load, tracker, { rate, seconds, inFlightMax: settings.inFlightMax, record })
        : closedLoop(load, tracker, { concurrency: settings.concurrency, seconds, record });
    try {
      // Priming (see the module comment): not counted, drained.
      if (settings.prime > 0) {
        const primed = await closedLoop(load, tracker, { concurrency: settings.concurrency, seconds: PRIME_MAX_S, record: false, payments: settings.prime });
        if (primed.failed > 0) throw new Error(`priming submissions failed: ${primed.firstError}`);
        const left = await drain(tracker, settings.drainMs);
        if (left > 0) throw new Error(`${left} priming payments got no status report within ${settings.drainMs / 1000} s`);
      }
      // Warm-up: the same load, not counted, then drained so the window starts from an empty pipeline.
      if (settings.warmupS > 0) {
        const warm = await run(settings.warmupS, false);
        if (warm.failed > 0) throw new Error(`warm-up submissions failed: ${warm.firstError}`);
        const left = await drain(tracker, settings.drainMs);
        if (left > 0) throw new Error(`${left} warm-up payments got no status report within ${settings.drainMs / 1000} s`);
      }
      tracker.rejected = 0;
      tracker.completedInWindow = 0;
      tracker.recording = true;
      const cpu0 = cpuByPid(hub.pids);
      const services0 = engine === 'distributed' ? cpuByPid(servicePids()) : null;
      const counters0 = engine === 'distributed' ? await serviceCounters(hub.namespace!) : null;
      const client0 = process.cpuUsage();
      const t0 = performance.now();
      tracker.window = { start: t0, end: t0 + settings.seconds * 1000 };
      const phase = await run(settings.seconds, true);
      // The open loop returns after its last answer, the closed loop at the end of the window (plus the answers
      // in progress): CPU is read at the window's end or right after.
      const windowEnd = tracker.window.end;
      const cpu1 = cpuByPid(hub.pids);
      const servicesCpuS = services0 ? cpuBetween(services0, cpuByPid(servicePids())) : NaN;
      const client1 = process.cpuUsage(client0);
      const undrained = await drain(tracker, settings.drainMs);
      const phases = await phasesOf(submitters, tracker.completed);
      const drainS = undrained === 0 ? Math.max(0, tracker.lastCompletionAt - windowEnd) / 1000 : null;
      // Per payment: over the window and the drain, so that every counted payment's work is in it.
      let perPayment: Result['perPayment'] = null;
      if (counters0) {
        const counters1 = await serviceCounters(hub.namespace!);
        const n = phase.accepted;
        const per = (k: keyof ServiceCounters) => (counters1[k] - counters0[k]) / n;
        perPayment = { commits: per('commits'), rowsWritten: per('rowsWritten'), jsWrites: per('jsWrites') };
      }
      return {
        target: `mxgate ${engine}`,
        mode,
        offered: mode === 'open' ? `${rate}/s` : `${settings.concurrency} conc.`,
        windowS: settings.seconds,
        accepted: phase.accepted,
        acceptedInWindow: phase.acceptedInWindow,
        completedInWindow: tracker.completedInWindow,
        failed: phase.failed,
        notSent: phase.notSent,
        rejected: tracker.rejected,
        statuses: [...tracker.statuses].map(([k, v]) => `${k} ${v}`).join(', '),
        acceptMs: phase.acceptMs,
        completeMs: tracker.completeMs,
        drainS,
        undrained,
        cpuS: cpuBetween(cpu0, cpu1),
        servicesCpuS,
        perPayment,
        clientCpuS: (client1.user + client1.system) / 1e6,
        peakRssBytes: hub.pids.reduce((sum, pid) => sum + peakRssBytes(pid), 0),
        phases,
      };
    } finally {
      await consuming.stop().catch(() => undefined);
    }
  } finally {
    submitters.close();
    consumers.close();
    await hub.close();
  }
}

async function echoRuns(settings: Settings, sample: string): Promise<Result[]> {
  const echo = await startEcho();
  const client = httpClient(echo.port, Math.max(settings.concurrency, 256));
  const generator = new PaymentGenerator(sample, settings.accounts);
  const load: Load = {
    submit: async () => {
      const answer = await client.call('POST', '/v1/messages', generator.next(), 'application/xml');
      if (answer.status !== 202) throw new Error(`echo: ${answer.status}`);
      JSON.parse(answer.text);
      return null;
    },
  };
  const results: Result[] = [];
  try {
    for (const mode of ['open', 'closed'] as const) {
      const run = (seconds: number, record: boolean) =>
        mode === 'open'
          ? openLoop(load, null, { rate: settings.rates[0]!, seconds, inFlightMax: settings.inFlightMax, record })
          : closedLoop(load, null, { concurrency: settings.concurrency, seconds, record });
      if (settings.warmupS > 0) await run(settings.warmupS, false);
      const cpu0 = cpuSeconds(echo.process.pid!);
      const client0 = process.cpuUsage();
      const phase = await run(settings.seconds, true);
      const cpu1 = cpuSeconds(echo.process.pid!);
      const client1 = process.cpuUsage(client0);
      if (phase.failed > 0) process.stderr.write(`  echo ${mode}: ${phase.failed} failed, first: ${phase.firstError}\n`);
      results.push({
        target: 'HTTP echo (node:http)',
        mode,
        offered: mode === 'open' ? `${settings.rates[0]}/s` : `${settings.concurrency} conc.`,
        windowS: settings.seconds,
        accepted: phase.accepted,
        acceptedInWindow: phase.acceptedInWindow,
        completedInWindow: NaN,
        failed: phase.failed,
        notSent: phase.notSent,
        rejected: 0,
        statuses: '',
        acceptMs: phase.acceptMs,
        completeMs: [],
        drainS: null,
        undrained: 0,
        cpuS: cpu1 - cpu0,
        servicesCpuS: NaN,
        perPayment: null,
        clientCpuS: (client1.user + client1.system) / 1e6,
        peakRssBytes: peakRssBytes(echo.process.pid!),
        phases: null,
      });
    }
  } finally {
    client.close();
    await stopChild(echo.process);
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------------

function positiveInt(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

function build(): void {
  process.stderr.write('building dist/ (npm run build)...\n');
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm run build failed; fix the build, or run with --no-build against the current dist/');
}

async function main(): Promise<void> {
  const settings: Settings = {
    rates: args.rate!.split(',').map((r) => positiveInt('rate', r.trim(), 1, 100_000)),
    seconds: positiveInt('seconds', args.seconds!, 1, 600),
    concurrency: positiveInt('concurrency', args.concurrency!, 1, 1024),
    prime: positiveInt('prime', args.prime!, 0, 1_000_000),
    warmupS: positiveInt('warmup-s', args['warmup-s']!, 0, 60),
    drainMs: positiveInt('drain-s', args['drain-s']!, 1, 600) * 1000,
    consumers: positiveInt('consumers', args.consumers!, 1, 64),
    accounts: positiveInt('accounts', args.accounts!, 1, 1_000_000),
    inFlightMax: positiveInt('in-flight-max', args['in-flight-max']!, 1, 100_000),
    xsd: args.xsd!,
    durability: args.durability,
    hubEnv: hubSettings(args['hub-env'] ?? []),
    hubNodeOptions: [...HUB_NODE_FLAGS, ...(args['hub-node-option'] ?? [])],
  };
  const only = new Set(args.only!.split(',').map((s) => s.trim()));
  const engineArg = args.engine ?? ((await distributedServicesUp()) ? 'both' : 'embedded');
  if (engineArg !== 'both' && !ENGINES.includes(engineArg as Engine)) throw new Error(`--engine takes ${ENGINES.join('|')}|both, not ${engineArg}`);
  const engines: Engine[] = engineArg === 'both' ? [...ENGINES] : [engineArg as Engine];
  if (engines.includes('distributed') && !(await distributedServicesUp())) {
    throw new Error('--engine distributed needs PostgreSQL and NATS JetStream (BENCH_POSTGRES_URL, BENCH_NATS_URL; see DEVELOPERS.md)');
  }
  for (const mode of only) if (!MODES.includes(mode as Mode)) throw new Error(`--only takes ${MODES.join('|')} (comma-separated), not ${mode}`);
  if (!existsSync(SAMPLE)) throw new Error(`the benchmark reads its payment from ${SAMPLE}, which is missing`);
  const sample = readFileSync(SAMPLE, 'utf8');
  if (!args['no-build']) build();
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/cli/main.js is missing: run npm run build');

  process.stderr.write(
    `end-to-end benchmark: open loop ${settings.rates.join(', ')}/s, closed loop ${settings.concurrency} submitters, ${settings.seconds} s windows after priming with ${settings.prime} payments and ${settings.warmupS} s warm-up; ` +
      `${settings.consumers} report consumers; ${settings.accounts} debtor accounts; engines ${engines.join(', ')}${settings.xsd ? '; XSD validation on' : ''}; durability ${settings.durability ?? 'default'}${Object.entries(settings.hubEnv).map(([k, v]) => `; ${k}=${v}`).join('')}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`,
  );
  const results: Result[] = [];
  const runs = [...(only.has('open') ? settings.rates.map((rate) => ['open', rate] as const) : []), ...(only.has('closed') ? [['closed', 0] as const] : [])];
  for (const engine of engines) {
    for (const [mode, rate] of runs) {
      const result = await hubRun(settings, sample, engine, mode, rate);
      results.push(result);
      process.stderr.write(`  ${summary(result)}\n`);
    }
  }
  if (only.has('echo')) {
    for (const result of await echoRuns(settings, sample)) {
      results.push(result);
      process.stderr.write(`  ${summary(result)}\n`);
    }
  }
  process.stdout.write(`${table(results)}\n`);
  process.stdout.write(`load average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}; Node ${process.version}\n`);
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');

function summary(r: Result): string {
  const extra = [
    r.failed > 0 ? `${r.failed} failed` : '',
    r.notSent > 0 ? `${r.notSent} not sent (in-flight limit)` : '',
    r.rejected > 0 ? `${r.rejected} reports RJCT` : '',
    r.undrained > 0 ? `${r.undrained} without a report after the drain limit` : '',
    r.perPayment
      ? `per payment: ${r.perPayment.commits.toFixed(1)} PostgreSQL commits, ${r.perPayment.rowsWritten.toFixed(1)} rows written, ${r.perPayment.jsWrites.toFixed(1)} JetStream messages stored (KV included)`
      : '',
  ].filter(Boolean);
  const phases = r.phases ? `\n    phases p50 / p90 ms: ${r.phases.map((p) => `${p.phase} ${ms(p.p50)} / ${ms(p.p90)}`).join('; ')}` : '';
  return `${r.target} ${r.mode} ${r.offered}: ${int(r.acceptedInWindow / r.windowS)} accepted/s, ${int(r.completedInWindow / r.windowS)} completed/s${r.statuses ? `; reports: ${r.statuses}` : ''}${extra.length ? ` (${extra.join(', ')})` : ''}${phases}`;
}

function table(results: Result[]): string {
  const rows = results.map((r) => {
    const cells = [
      r.target,
      r.mode === 'open' ? `open loop ${r.offered}` : `closed loop ${r.offered}`,
      int(r.acceptedInWindow / r.windowS),
      int(r.completedInWindow / r.windowS),
      `${ms(percentile(r.acceptMs, 50))} / ${ms(percentile(r.acceptMs, 99))}`,
      r.completeMs.length ? `${ms(percentile(r.completeMs, 50))} / ${ms(percentile(r.completeMs, 90))} / ${ms(percentile(r.completeMs, 99))}` : '-',
      r.drainS === null ? (r.undrained > 0 ? `> limit (${r.undrained} left)` : '-') : r.drainS.toFixed(2),
      `${r.cpuS.toFixed(1)} (${((r.cpuS / r.windowS) * 100).toFixed(0)}%)`,
      Number.isFinite(r.servicesCpuS) ? `${r.servicesCpuS.toFixed(1)} (${((r.servicesCpuS / r.windowS) * 100).toFixed(0)}%)` : '-',
      `${(r.clientCpuS).toFixed(1)}`,
      int(r.peakRssBytes / 2 ** 20),
      r.rejected > 0 ? `${r.rejected} RJCT` : r.failed > 0 ? `${r.failed} failed` : r.notSent > 0 ? `${r.notSent} not sent` : '',
    ];
    return `| ${cells.join(' | ')} |`;
  });
  return [
    '| target | load | accepted/s | completed/s | accept p50 / p99 ms | complete p50 / p90 / p99 ms | drain s | server CPU s (of 1 core) | PG + NATS CPU s | client CPU s | peak RSS MiB | notes |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------
// Echo child mode: `tsx bench/e2e.ts --serve-echo` listens on a free loopback port, prints it, stops on SIGTERM.

// (At the end of the module, so that every declaration above is initialized when main runs.)
if (args['serve-echo']) {
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      const body = JSON.stringify({ transaction_id: randomUUID(), status: 'ACTC', duplicate: false, bytes });
      res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
} else {
  await main();
}
