/**
 * A hub on a real socket for end-to-end tests, with helpers that speak its API like a client would.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { startHub, type RunningHub } from '../../src/main.js';
import { SchemaValidator } from '../../src/iso20022/index.js';
import { directorySchemaSource } from '../../src/cli/schema-directory.js';
import { SHARED_ISO20022_DIR } from './shared.js';
import { bearer, createTestClient, fetchToken } from './auth.js';

export interface E2eHub {
  hub: RunningHub;
  url: string;
  dataDir: string;
  /** A token of a new client (every scope unless told otherwise). */
  token(options?: { scopes?: Array<'mx/read' | 'mx/write' | 'mx/admin'>; profile?: string | null }): Promise<{ token: string; clientId: string }>;
  close(): Promise<void>;
}

export async function startE2eHub(
  overrides: Record<string, unknown> = {},
  options: { dataDir?: string; keepData?: boolean; role?: 'all' | 'api' | 'worker' | 'scheduler' } = {},
): Promise<E2eHub> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'mxgate-e2e-'));
  const config = loadConfig({
    overrides: { ...overrides, port: 0, dataDir, workflow: { schemaDir: join(SHARED_ISO20022_DIR, 'xsd'), ...(overrides.workflow as object) } },
  });
  const hub = await startHub(config, { logger: silentLogger(), role: options.role ?? 'all' });
  return {
    hub,
    url: hub.url,
    dataDir,
    token: async (options = {}) => {
      const client = await createTestClient(hub.engine.auth, options);
      return { token: await fetchToken(hub.url, client), clientId: client.id };
    },
    close: async () => {
      await hub.stop();
      if (!options.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
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
