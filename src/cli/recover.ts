/**
 * `mxgate recover`: redrives or cancels the payments stranded in flight (pipeline/recovery.ts), through a running
 * hub's HTTP API with an operator's token (mx/admin), a page at a time until none is left or --max is reached.
 */
import { Command, InvalidArgumentError } from 'commander';
import { action, int, out, printJson, request, withHubOptions, type ClientOptions } from './hub-client.js';

/** Transactions one recovery call takes at most (the API's page). */
const PAGE = 100;

interface PageJson {
  action: 'redrive' | 'cancel';
  dry_run: boolean;
  examined: number;
  redriven: string[];
  cancelled: string[];
  skipped: Array<{ transaction_id: string; reason: string }>;
  next_cursor: string | null;
}

interface RecoverOptions {
  redrive?: boolean;
  cancel?: boolean;
  quietS: number;
  max: number;
  dryRun?: boolean;
  json?: boolean;
}

async function recoverAll(client: ClientOptions, act: 'redrive' | 'cancel', o: RecoverOptions): Promise<PageJson> {
  const all: PageJson = { action: act, dry_run: o.dryRun === true, examined: 0, redriven: [], cancelled: [], skipped: [], next_cursor: null };
  let cursor: string | null = null;
  do {
    const limit = Math.min(PAGE, o.max - all.examined);
    const page = (await request(client, 'POST', 'v1/admin/recovery', { action: act, quiet_s: o.quietS, limit, dry_run: o.dryRun === true, ...(cursor ? { cursor } : {}) })) as PageJson;
    all.examined += page.examined;
    all.redriven.push(...page.redriven);
    all.cancelled.push(...page.cancelled);
    all.skipped.push(...page.skipped);
    cursor = page.next_cursor;
  } while (cursor !== null && all.examined < o.max);
  all.next_cursor = cursor;
  return all;
}

export function register(program: Command): void {
  withHubOptions(program.command('recover'))
    .description('redrive or cancel the payments stranded in flight (after lost queues, a failover or a restore); needs mx/admin')
    .option('--redrive', 'hand each to its stage again')
    .option('--cancel', 'make each final as CANC, with its status report (what a downstream system has is left to it)')
    .option('--quiet-s <seconds>', 'only transactions unchanged for this many seconds (0: every one in flight)', int, 60)
    .option('--max <n>', 'at most this many transactions', int, 10_000)
    .option('--dry-run', 'say what would be done; change nothing')
    .option('--json', 'print JSON')
    .action(
      action(async (client, o: RecoverOptions) => {
        if (o.redrive === o.cancel) throw new InvalidArgumentError('choose one: --redrive or --cancel');
        const result = await recoverAll(client, o.redrive ? 'redrive' : 'cancel', o);
        if (o.json) {
          printJson(result);
          return;
        }
        const would = result.dry_run ? 'would be ' : '';
        out(`${result.examined} transaction(s) in flight: ${result.redriven.length} ${would}redriven, ${result.cancelled.length} ${would}cancelled, ${result.skipped.length} skipped`);
        for (const s of result.skipped) out(`skipped ${s.transaction_id}: ${s.reason}`);
        if (result.next_cursor !== null) out(`stopped at --max ${o.max}; more transactions are in flight`);
      }),
    );
}
