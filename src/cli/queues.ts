/**
 * `mxgate queues ...`: manage and use the queues of a running hub through its HTTP API (/v1/queues).
 * A thin client: it parses arguments, calls one endpoint per step and prints the answer; the hub decides
 * everything. The hub's errors come back as `mxgate: CODE: message` and a non-zero exit status.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MxError, isErrorCode, isMxError } from '../errors.js';
import { BOOTSTRAP_FILE, type BootstrapCredentials } from '../auth/bootstrap.js';

export const DEFAULT_HUB_URL = 'http://127.0.0.1:8080';
/** Bounds what `send` reads from a file or stdin; the hub enforces the queue's own, smaller limit. */
const BODY_READ_MAX_BYTES = 16 * 1024 * 1024;

interface ClientOptions {
  url: string;
  /** Bearer token sent with every request; the one place where authentication enters the client. */
  token?: string;
}

/** Where a token comes from when --token is not given: client credentials, or the hub's bootstrap file. */
interface CredentialOptions {
  clientId?: string;
  clientSecret?: string;
  dataDir?: string;
}

/**
 * The bearer token: --token as given; else one fetched from the hub's token endpoint with --client-id and
 * --client-secret, or with the bootstrap client's credentials in <data dir>/bootstrap-client.json when present.
 */
async function resolveToken(url: string, options: ClientOptions & CredentialOptions): Promise<string | undefined> {
  if (options.token) return options.token;
  let id = options.clientId;
  let secret = options.clientSecret;
  if ((id === undefined) !== (secret === undefined)) throw new InvalidArgumentError('give --client-id and --client-secret together');
  if (id === undefined && options.dataDir && existsSync(join(options.dataDir, BOOTSTRAP_FILE))) {
    const bootstrap = JSON.parse(await readFile(join(options.dataDir, BOOTSTRAP_FILE), 'utf8')) as BootstrapCredentials;
    ({ client_id: id, client_secret: secret } = bootstrap);
  }
  if (id === undefined || secret === undefined) return undefined;
  const tokenUrl = new URL('oauth2/token', url.endsWith('/') ? url : `${url}/`);
  let response: Response;
  try {
    response = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret }).toString(),
    });
  } catch (cause) {
    const reason = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : String(cause);
    throw new HubError('HUB_UNREACHABLE', `cannot reach the hub at ${url}: ${reason}`, { cause });
  }
  const answer = (await response.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown; error_description?: unknown };
  if (response.ok && typeof answer.access_token === 'string') return answer.access_token;
  const description = typeof answer.error_description === 'string' ? answer.error_description : `the token endpoint answered ${response.status}`;
  throw new MxError('UNAUTHENTICATED', `no access token for client ${id}: ${String(answer.error ?? 'error')}: ${description}`);
}

/** An error the hub answered with a code outside our catalog (a newer hub), or the hub could not be reached. */
class HubError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HubError';
  }
}

/** Calls the hub and returns the parsed JSON answer (undefined for 204); throws the hub's coded error. */
async function request(client: ClientOptions, method: string, path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (client.token) headers.authorization = `Bearer ${client.token}`;
  const url = new URL(path, client.url.endsWith('/') ? client.url : `${client.url}/`);
  let response: Response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (cause) {
    const reason = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : String(cause);
    throw new HubError('HUB_UNREACHABLE', `cannot reach the hub at ${client.url}: ${reason}`, { cause });
  }
  if (response.status === 204) return undefined;
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new HubError('BAD_RESPONSE', `the hub answered ${response.status} with a body that is not JSON`);
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`;
    const message = typeof error?.message === 'string' ? error.message : `${method} ${url.pathname} failed`;
    throw isErrorCode(code) ? new MxError(code, message) : new HubError(code, message);
  }
  return parsed;
}

// Shapes of the hub's answers, as far as the client reads them.
interface QueueJson {
  name: string;
  fifo: boolean;
  metrics?: { visible: number; in_flight: number; delayed: number; oldest_age_s: number };
  [key: string]: unknown;
}
interface MessageJson {
  message_id: string;
  receipt_handle: string;
  body: string;
  group_id: string | null;
  attributes: Record<string, string>;
  receive_count: number;
  sequence_number: string;
}
interface BatchJson {
  successful: unknown[];
  failed: Array<{ code: string; message: string; [key: string]: string }>;
}

const q = (name: string) => `v1/queues/${encodeURIComponent(name)}`;

function int(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

function keyValue(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('expected key=value');
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function printJson(value: unknown): void {
  out(JSON.stringify(value, null, 2));
}

function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  for (const row of rows) out(row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ').trimEnd());
}

function printQueue(queue: QueueJson): void {
  const { metrics, ...attributes } = queue;
  const rows = Object.entries({ ...attributes, ...(metrics ?? {}) }).map(([k, v]) => [k, v === null ? '-' : String(v)]);
  const width = Math.max(...rows.map(([k]) => k!.length));
  for (const [k, v] of rows) out(`${k!.padEnd(width)}  ${v}`);
}

async function readBody(opts: { body?: string; file?: string }): Promise<string> {
  if (opts.body !== undefined && opts.file !== undefined) throw new InvalidArgumentError('give --body or --file, not both');
  if (opts.body !== undefined) return opts.body;
  if (opts.file !== undefined) return readFile(opts.file, 'utf8');
  if (process.stdin.isTTY) throw new InvalidArgumentError('no message body: give --body, --file, or pipe it on stdin');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_READ_MAX_BYTES) throw new InvalidArgumentError(`the body on stdin exceeds ${BODY_READ_MAX_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Wraps an action: errors of a newer hub or of the connection print like catalog errors, without a stack. */
function action<A extends unknown[]>(fn: (client: ClientOptions, ...args: A) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args[args.length - 1] as Command;
    const client = command.optsWithGlobals<ClientOptions & CredentialOptions>();
    try {
      const token = await resolveToken(client.url, client);
      await fn({ url: client.url, token }, ...(args.slice(0, -1) as A));
    } catch (error) {
      if (error instanceof InvalidArgumentError) command.error(`error: ${error.message}`, { exitCode: 2 });
      if (isMxError(error) || !(error instanceof HubError)) throw error;
      process.stderr.write(`mxgate: ${error.code}: ${error.message}\n`);
      process.exitCode = 1;
    }
  };
}

export function register(program: Command): void {
  const queues = program
    .command('queues')
    .description('manage and use the queues of a running hub over its HTTP API')
    .addOption(new Option('--url <url>', 'base URL of the hub').env('MXGATE_URL').default(DEFAULT_HUB_URL))
    .addOption(new Option('--token <token>', 'bearer token for the hub').env('MXGATE_TOKEN'))
    .addOption(new Option('--client-id <id>', 'get a token with these client credentials').env('MXGATE_CLIENT_ID'))
    .addOption(new Option('--client-secret <secret>', 'secret of --client-id').env('MXGATE_CLIENT_SECRET'))
    .addOption(
      new Option('--data-dir <dir>', "without a token or client credentials, use the hub's bootstrap client in this directory")
        .env('MXGATE_DATA_DIR')
        .default('./data'),
    );

  queues
    .command('create <name>')
    .description('create a queue (a name ending in .fifo makes a FIFO queue)')
    .option('--fifo', 'FIFO queue: ordered per message group, exactly-once within the dedup window')
    .option('--content-based-dedup', 'FIFO: deduplicate on a hash of the body when no dedup id is given')
    .option('--visibility-timeout-s <s>', 'how long a received message stays hidden', int)
    .option('--max-receive-count <n>', 'receives before a message moves to the dead-letter queue', int)
    .option('--dead-letter-queue <name>', 'queue that takes messages received too often')
    .option('--retention-s <s>', 'how long a message is kept', int)
    .option('--delay-s <s>', 'delay of every new message', int)
    .option('--max-message-bytes <n>', 'largest message (body and attributes)', int)
    .option('--json', 'print the queue as JSON')
    .action(
      action(async (client, name: string, o: Record<string, unknown>) => {
        const queue = (await request(client, 'POST', 'v1/queues', {
          name,
          fifo: o.fifo,
          content_based_dedup: o.contentBasedDedup,
          visibility_timeout_s: o.visibilityTimeoutS,
          max_receive_count: o.maxReceiveCount,
          dead_letter_queue: o.deadLetterQueue,
          retention_s: o.retentionS,
          delay_s: o.delayS,
          max_message_bytes: o.maxMessageBytes,
        })) as QueueJson;
        if (o.json) printJson(queue);
        else out(`queue ${queue.name} ready (${queue.fifo ? 'FIFO' : 'standard'})`);
      }),
    );

  queues
    .command('list')
    .description('list the queues with their backlog')
    .option('--json', 'print JSON')
    .action(
      action(async (client, o: { json?: boolean }) => {
        const { queues: list } = (await request(client, 'GET', 'v1/queues')) as { queues: QueueJson[] };
        if (o.json) return printJson(list);
        const rows = [['NAME', 'KIND', 'VISIBLE', 'IN FLIGHT', 'DELAYED', 'OLDEST AGE S']];
        for (const x of list) {
          const m = x.metrics;
          rows.push([x.name, x.fifo ? 'fifo' : 'standard', ...[m?.visible, m?.in_flight, m?.delayed, m?.oldest_age_s].map((v) => String(v ?? '-'))]);
        }
        table(rows);
      }),
    );

  queues
    .command('stats <name>')
    .description("print a queue's attributes and metrics")
    .option('--json', 'print JSON')
    .action(
      action(async (client, name: string, o: { json?: boolean }) => {
        const queue = (await request(client, 'GET', q(name))) as QueueJson;
        if (o.json) printJson(queue);
        else printQueue(queue);
      }),
    );

  queues
    .command('send <name>')
    .description('send one message; the body comes from --body, --file or stdin')
    .option('--body <text>', 'message body')
    .option('--file <path>', 'read the body from a file')
    .option('--group-id <id>', 'message group (FIFO queues)')
    .option('--dedup-id <id>', 'deduplication id')
    .option('--delay-s <s>', 'delay before the message can be received (standard queues)', int)
    .option('--attribute <key=value>', 'message attribute (repeatable)', keyValue)
    .option('--json', 'print JSON')
    .action(
      action(async (client, name: string, o: { body?: string; file?: string; groupId?: string; dedupId?: string; delayS?: number; attribute?: Record<string, string>; json?: boolean }) => {
        const body = await readBody(o);
        const result = (await request(client, 'POST', `${q(name)}/messages`, {
          body,
          group_id: o.groupId,
          dedup_id: o.dedupId,
          delay_s: o.delayS,
          attributes: o.attribute,
        })) as { message_id: string; sequence_number: string; duplicate: boolean };
        if (o.json) return printJson(result);
        out(`${result.duplicate ? 'duplicate of' : 'sent'} ${result.message_id} (sequence ${result.sequence_number})`);
      }),
    );

  queues
    .command('receive <name>')
    .description('receive messages (they stay in the queue unless --delete)')
    .option('--max <n>', 'most messages, 1-10', int, 1)
    .option('--wait-s <s>', 'long poll: wait up to this long for a first message, 0-20', int, 0)
    .option('--visibility-s <s>', "how long the messages stay hidden (default: the queue's)", int)
    .option('--delete', 'delete the messages after printing them')
    .option('--json', 'print JSON')
    .action(
      action(async (client, name: string, o: { max: number; waitS: number; visibilityS?: number; delete?: boolean; json?: boolean }) => {
        const query = new URLSearchParams({ max: String(o.max), wait_s: String(o.waitS) });
        if (o.visibilityS !== undefined) query.set('visibility_s', String(o.visibilityS));
        const { messages } = (await request(client, 'GET', `${q(name)}/messages?${query}`)) as { messages: MessageJson[] };
        if (o.json) printJson(messages);
        else if (messages.length === 0) process.stderr.write('no messages\n');
        for (const m of o.json ? [] : messages) {
          const attrs = Object.entries(m.attributes).map(([k, v]) => ` ${k}=${v}`).join('');
          out(`# ${m.message_id} seq=${m.sequence_number} receives=${m.receive_count}${m.group_id === null ? '' : ` group=${m.group_id}`}${attrs}`);
          out(`# receipt_handle=${m.receipt_handle}`);
          out(m.body);
        }
        if (o.delete && messages.length > 0) {
          await deleteMessages(client, name, messages.map((m) => m.receipt_handle));
        }
      }),
    );

  queues
    .command('delete <name>')
    .description('delete a queue, or with --receipt-handle only those messages')
    .option('--receipt-handle <handle>', 'delete this received message instead of the queue (repeatable)', collect)
    .action(
      action(async (client, name: string, o: { receiptHandle?: string[] }) => {
        if (o.receiptHandle) {
          await deleteMessages(client, name, o.receiptHandle);
          out(`deleted ${o.receiptHandle.length} message(s)`);
          return;
        }
        await request(client, 'DELETE', q(name));
        out(`queue ${name} deleted`);
      }),
    );

  queues
    .command('purge <name>')
    .description('delete every message of a queue')
    .action(
      action(async (client, name: string) => {
        const { purged } = (await request(client, 'POST', `${q(name)}/purge`)) as { purged: number };
        out(`purged ${purged} message(s)`);
      }),
    );

  queues
    .command('redrive <name>')
    .description('move every message of a dead-letter queue back to the queue it came from')
    .action(
      action(async (client, name: string) => {
        const { moved } = (await request(client, 'POST', `${q(name)}/redrive`)) as { moved: number };
        out(`moved ${moved} message(s)`);
      }),
    );
}

/** Deletes in batches of the API's limit; a handle the hub refuses fails the command after the others. */
async function deleteMessages(client: ClientOptions, name: string, handles: string[]): Promise<void> {
  const failed: BatchJson['failed'] = [];
  for (let i = 0; i < handles.length; i += 10) {
    const result = (await request(client, 'POST', `${q(name)}/messages/delete`, { receipt_handles: handles.slice(i, i + 10) })) as BatchJson;
    failed.push(...result.failed);
  }
  const first = failed[0];
  if (first) {
    const message = `${failed.length} message(s) not deleted; first: ${first.message}`;
    throw isErrorCode(first.code) ? new MxError(first.code, message) : new HubError(first.code, message);
  }
}
