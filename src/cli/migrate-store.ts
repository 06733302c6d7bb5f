/**
 * `mxgate migrate-store`: moves a stopped embedded hub's data (the SQLite file in its data directory) into an
 * empty PostgreSQL store, for a move from embedded to distributed (storage/embedded-to-postgres.ts does the work
 * and says what moves, what blocks and what stays behind). The hub must be stopped first. With --dry-run it only
 * reports what would be copied and what blocks the move, and exits non-zero when something does.
 */
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { DATABASE_FILE } from '../engines/embedded.js';
import { MxError } from '../errors.js';
import { silentLogger } from '../log.js';
import { systemClock } from '../ports/clock.js';
import { checkSchemaName } from '../storage/postgres/index.js';
import { moveEmbeddedToPostgres, type MoveReport, type TableCount } from '../storage/embedded-to-postgres.js';
import { out } from './hub-client.js';

interface MigrateOptions {
  config?: string;
  dataDir?: string;
  to: string;
  schema?: string;
  dryRun?: boolean;
  leaveParticipantMessages?: boolean;
  json?: boolean;
}

const TARGET_URL = /^postgres(ql)?:\/\//;


function countLines(counts: readonly TableCount[]): string[] {
  const width = Math.max(5, ...counts.map((c) => c.table.length));
  const lines = [`${'TABLE'.padEnd(width)}  ${'ROWS'.padStart(10)}  ${'LEFT OUT'.padStart(8)}`];
  for (const c of counts) lines.push(`${c.table.padEnd(width)}  ${String(c.rows).padStart(10)}  ${String(c.skipped).padStart(8)}`);
  return lines;
}

function printReport(report: MoveReport): void {
  const total = report.tables.reduce((sum, t) => sum + t.rows, 0);
  const where = `schema "${report.schema}"${report.targetExisted ? '' : ' (to be created)'}`;
  out(report.dryRun ? `dry run: would copy from ${report.source} into ${where}:` : `copied from ${report.source} into schema "${report.schema}":`);
  for (const line of countLines(report.tables)) out(`  ${line}`);
  out(`${report.dryRun ? 'would copy' : 'copied'} ${total} rows in ${(report.elapsedMs / 1000).toFixed(1)} s`);
  for (const note of report.notes) out(`note: ${note}`);
  if (report.dryRun) {
    if (report.blockers.length === 0) out('nothing blocks the move');
    for (const b of report.blockers) out(`blocks the move: ${b.code}: ${b.message}`);
  }
}

export function register(program: Command): void {
  program
    .command('migrate-store')
    .description('move a stopped embedded hub (clients, keys, transactions, history, business keys) into an empty PostgreSQL store')
    .addOption(new Option('-c, --config <file>', 'JSON configuration file (also MXGATE_CONFIG)'))
    .addOption(new Option('--data-dir <dir>', 'data directory of the embedded hub (MXGATE_DATA_DIR)'))
    .requiredOption('--to <url>', 'PostgreSQL URL of the distributed store (postgres://user@host:5432/db)')
    .option('--schema <name>', 'schema of the distributed store (default postgres.schema of the configuration: mxgate)')
    .option('--dry-run', 'report what would be copied and what blocks the move; write nothing')
    .option('--leave-participant-messages', 'leave the reports waiting in participant queues behind (clients fetch them at GET /v1/outbox/{id})')
    .option('--json', 'print the report as JSON')
    .action(async (o: MigrateOptions) => {
      if (!TARGET_URL.test(o.to)) throw new MxError('CONFIG_INVALID', '--to takes a PostgreSQL URL (postgres://user@host:5432/db)');
      const config = loadConfig({ file: o.config, env: process.env, overrides: { dataDir: o.dataDir } });
      const schema = checkSchemaName(o.schema ?? config.postgres.schema);
      const report = await moveEmbeddedToPostgres({
        path: join(config.dataDir, DATABASE_FILE),
        url: o.to,
        schema,
        dryRun: o.dryRun === true,
        leaveParticipantMessages: o.leaveParticipantMessages === true,
        clock: systemClock,
        logger: silentLogger(),
        onTable: o.json || o.dryRun ? undefined : (c) => process.stderr.write(`${c.table}: ${c.rows} rows\n`),
      });
      if (o.json) out(JSON.stringify(report, null, 2));
      else printReport(report);
      if (report.blockers.length > 0) process.exitCode = 1;
    });
}
