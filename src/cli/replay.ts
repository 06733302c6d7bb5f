/**
 * `mxgate replay`: sends status reports to a client's participant queue again, through a running hub's HTTP API,
 * for a consumer that lost them. Named transactions one by one (the token's own client), or every released
 * transaction of a time window, a page at a time: the token's own client's, or with --client any client's (an
 * operator's token, mx/admin).
 */
import { Command, InvalidArgumentError } from 'commander';
import { action, int, out, printJson, request, withHubOptions, type ClientOptions } from './hub-client.js';

/** Transactions one replay call takes at most (the API's page). */
const PAGE = 100;

interface PageJson {
  queue: string;
  replayed: Array<{ transaction_id: string; status: string; message_type: string }>;
  skipped: string[];
  next_cursor: string | null;
}

interface ReplayOptions {
  client?: string;
  since?: string;
  until?: string;
  status?: string;
  max: number;
  json?: boolean;
}

const time = (name: string) => (value: string) => {
  if (!Number.isFinite(Date.parse(value))) throw new InvalidArgumentError(`${name} must be an RFC 3339 date-time, e.g. 2026-12-01T02:00:00Z`);
  return value;
};

async function replayWindow(client: ClientOptions, o: ReplayOptions): Promise<PageJson> {
  const path = o.client === undefined ? 'v1/replay' : `v1/admin/clients/${encodeURIComponent(o.client)}/replay`;
  const filter = { ...(o.since ? { since: o.since } : {}), ...(o.until ? { until: o.until } : {}), ...(o.status ? { status: o.status } : {}) };
  const all: PageJson = { queue: '', replayed: [], skipped: [], next_cursor: null };
  let cursor: string | null = null;
  do {
    const limit = Math.min(PAGE, o.max - all.replayed.length - all.skipped.length);
    const page = (await request(client, 'POST', path, { ...filter, limit, ...(cursor ? { cursor } : {}) })) as PageJson;
    all.queue = page.queue;
    all.replayed.push(...page.replayed);
    all.skipped.push(...page.skipped);
    cursor = page.next_cursor;
  } while (cursor !== null && all.replayed.length + all.skipped.length < o.max);
  all.next_cursor = cursor;
  return all;
}

export function register(program: Command): void {
  withHubOptions(program.command('replay [transactionIds...]'))
    .description("send status reports to a client's participant queue again: the transactions named, or a window of them")
    .option('--client <id>', "a client's transactions (needs mx/admin); default: the token's own client")
    .option('--since <time>', 'transactions created at or after this time', time('--since'))
    .option('--until <time>', 'transactions created before this time', time('--until'))
    .option('--status <status>', 'only transactions in this status (ACSC, RJCT, PART, CANC)')
    .option('--max <n>', 'at most this many transactions', int, 1000)
    .option('--json', 'print JSON')
    .action(
      action(async (client, ids: string[], o: ReplayOptions) => {
        if (ids.length > 0) {
          if (o.client !== undefined || o.since !== undefined || o.until !== undefined || o.status !== undefined) {
            throw new InvalidArgumentError('name transactions or give a window (--client, --since, --until, --status), not both');
          }
          const replayed = [];
          for (const id of ids) replayed.push(await request(client, 'POST', `v1/transactions/${encodeURIComponent(id)}/replay`));
          if (o.json) printJson({ replayed });
          else out(`replayed ${replayed.length} report(s)`);
          return;
        }
        if (o.since === undefined && o.until === undefined) throw new InvalidArgumentError('give a window: --since and/or --until (or name transactions)');
        const result = await replayWindow(client, o);
        if (o.json) {
          printJson(result);
          return;
        }
        out(`replayed ${result.replayed.length} report(s) to ${result.queue}; ${result.skipped.length} transaction(s) in flight skipped`);
        if (result.next_cursor !== null) out(`stopped at --max ${o.max}; more transactions are in the window`);
      }),
    );
}
