/**
 * `mxgate queues ...`: manage and use the queues of a running hub through its HTTP API (/v1/queues).
 * A thin client: it parses arguments, calls one endpoint per step and prints the answer; the hub decides
 * everything. The hub's errors come back as `mxgate: CODE: message` and a non-zero exit status.
 */
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { MxError, isErrorCode } from '../errors.js';
import { action, HubError, int, out, printJson, request, withHubOptions, type ClientOptions } from './hub-client.js';

/** Bounds what `send` reads from a file or stdin; the hub enforces the queue's own, smaller limit. */
const BODY_READ_MAX_BYTES = 16 * 1024 * 1024;

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

function keyValue(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('expected key=value');
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
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

export function register(program: Command): void {
  const queues = withHubOptions(program.command('queues').description('manage and use the queues of a running hub over its HTTP API'));

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
