/**
 * `mxgate backup` and `mxgate restore`: a consistent copy of an embedded hub's database, taken while it runs,
 * and its restore into a stopped hub's data directory (storage/sqlite/backup.ts does the work and says what a
 * restore means for payments). The distributed engine's state is PostgreSQL's: its own backups apply.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { loadConfig, type Config } from '../config/index.js';
import { DATABASE_FILE } from '../engines/embedded.js';
import { MxError } from '../errors.js';
import { systemClock } from '../ports/clock.js';
import { backupDatabase, backupName, restoreDatabase, type DatabaseSummary } from '../storage/sqlite/backup.js';
import { out } from './hub-client.js';

interface CommonOptions {
  config?: string;
  dataDir?: string;
  json?: boolean;
}


function embeddedConfig(o: CommonOptions): Config {
  const config = loadConfig({ file: o.config, env: process.env, overrides: { dataDir: o.dataDir } });
  if (config.store !== null) {
    throw new MxError(
      'CONFIG_INVALID',
      "this hub's store is PostgreSQL: back it up with PostgreSQL's own tools (pg_dump, or continuous archiving for point-in-time recovery); see the README, \"Backups\"",
    );
  }
  return config;
}

function summaryLines(s: DatabaseSummary): string[] {
  const migrations = Object.entries(s.migrations).map(([c, v]) => `${c} ${v}`).join(', ');
  return [
    `  ${s.file}: ${s.bytes} bytes, check ${s.check}`,
    `  transactions: ${s.transactions} (${s.inFlight} not final), queue messages: ${s.queueMessages}, API clients: ${s.clients}`,
    `  last activity: ${s.lastActivityAt ?? 'none'}; schema: ${migrations}`,
  ];
}

/** Where `--to` points: a file to create, or a directory (made when missing) to hold a file named by the time. */
function destination(to: string | undefined, config: Config): string {
  const dir = to ?? join(config.dataDir, 'backups');
  const isDir = to === undefined || to.endsWith('/') || (statSync(to, { throwIfNoEntry: false })?.isDirectory() ?? false);
  if (!isDir) return to!;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, backupName(systemClock.now()));
}

export function register(program: Command): void {
  program
    .command('backup')
    .description('write a consistent copy of the embedded database; the hub may run meanwhile')
    .addOption(new Option('-c, --config <file>', 'JSON configuration file (also MXGATE_CONFIG)'))
    .addOption(new Option('--data-dir <dir>', 'data directory of the embedded hub (MXGATE_DATA_DIR)'))
    .option('--to <path>', 'file to write (must not exist), or a directory for mxgate-<time>.db (default <data-dir>/backups/)')
    .option('--json', 'print the report as JSON')
    .action((o: CommonOptions & { to?: string }) => {
      const config = embeddedConfig(o);
      const report = backupDatabase({ path: join(config.dataDir, DATABASE_FILE), to: destination(o.to, config), clock: systemClock });
      if (o.json) {
        out(JSON.stringify(report, null, 2));
        return;
      }
      const { copy, flush, check } = report.phasesMs;
      out(`backed up ${report.source} in ${(report.elapsedMs / 1000).toFixed(1)} s (copy ${copy} ms, flush ${flush} ms, check ${check} ms)${report.hubRunning ? ' while a hub ran on it' : ''}:`);
      for (const line of summaryLines(report.backup)) out(line);
      out('note: the copy holds signing keys and secret hashes (mode 0600); keep it as safe as the data directory, and off this machine');
    });

  program
    .command('restore')
    .description('put a backup in place of the database of a stopped embedded hub (the database in place is kept beside it)')
    .argument('<backup>', 'a file written by mxgate backup')
    .addOption(new Option('-c, --config <file>', 'JSON configuration file (also MXGATE_CONFIG)'))
    .addOption(new Option('--data-dir <dir>', 'data directory of the embedded hub (MXGATE_DATA_DIR)'))
    .option('--force', 'restore although the database in place shows a running hub (one that crashed and cannot start)')
    .option('--json', 'print the report as JSON')
    .action((backup: string, o: CommonOptions & { force?: boolean }) => {
      const config = embeddedConfig(o);
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      const report = restoreDatabase({ from: backup, path: join(config.dataDir, DATABASE_FILE), clock: systemClock, force: o.force === true });
      if (o.json) {
        out(JSON.stringify(report, null, 2));
        return;
      }
      out(`restored ${backup} in ${(report.elapsedMs / 1000).toFixed(1)} s:`);
      for (const line of summaryLines(report.restored)) out(line);
      if (report.replaced) out(`the database that was in place is kept as ${report.replaced.movedTo}`);
      out(
        `note: the hub knows nothing after ${report.restored.lastActivityAt ?? 'the backup'}: payments accepted since, when submitted again, are processed as new; reconcile with the systems downstream from that time before opening the hub to clients`,
      );
    });
}
