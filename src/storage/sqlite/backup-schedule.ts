/**
 * Backups the embedded hub takes of itself (`backup.intervalS`), for operators who want them without a cron job:
 * a scheduler duty writes `mxgate backup`'s copy into `backup.dir` (default `<dataDir>/backups`) on a worker thread,
 * then removes the oldest copies beyond `backup.keep`. A copy is removed only once a newer one is complete and
 * checked, so a failing backup never leaves fewer good ones. Each backup is logged; the last success and the
 * failures are on /metrics, to alert on backups that stop.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MxError, isErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Clock } from '../../ports/clock.js';
import { periodic, type Duty } from '../../pipeline/duty.js';
import { startWorker, workerEntry } from '../../workers.js';
import { backupName, type BackupReport } from './backup.js';

const WORKER_URL = workerEntry(import.meta.url, 'backup-worker');

/** The files of a backup directory the hub wrote (`mxgate-<time>.db`), oldest first. */
const BACKUP_FILE = /^mxgate-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.db$/;

export interface BackupScheduleOptions {
  path: string;
  dir: string;
  intervalS: number;
  keep: number;
  clock: Clock;
  logger: Logger;
}

export interface BackupStats {
  /** Epoch ms of the last backup that completed, or null. */
  lastSuccessAt: number | null;
  failures: number;
}

/** Takes one backup of `path` into `to` on a worker thread. */
export function backupOffThread(path: string, to: string): Promise<BackupReport> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(WORKER_URL, { path, to });
    worker.once('message', (m: { ok: true; report: BackupReport } | { ok: false; code: string; message: string }) => {
      if (m.ok) resolve(m.report);
      else reject(new MxError(isErrorCode(m.code) ? m.code : 'INTERNAL', m.message));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new MxError('INTERNAL', `the backup worker exited (${code}) without a result`)));
  });
}

/** Removes the oldest of the hub's backups in `dir` beyond `keep`; returns the files removed. */
export function pruneBackups(dir: string, keep: number): string[] {
  const files = readdirSync(dir).filter((f) => BACKUP_FILE.test(f)).sort();
  const removed = files.slice(0, Math.max(0, files.length - keep));
  for (const f of removed) rmSync(join(dir, f), { force: true });
  return removed;
}

export function scheduledBackups(options: BackupScheduleOptions): { duty: Duty; stats: BackupStats } {
  const stats: BackupStats = { lastSuccessAt: null, failures: 0 };
  const tick = async () => {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    const to = join(options.dir, backupName(options.clock.now()));
    let report: BackupReport;
    try {
      report = await backupOffThread(options.path, to);
    } catch (error) {
      stats.failures += 1;
      throw error;
    }
    stats.lastSuccessAt = options.clock.now();
    const removed = pruneBackups(options.dir, options.keep);
    const { file, bytes, transactions, lastActivityAt } = report.backup;
    options.logger.info({ file, bytes, transactions, lastActivityAt, elapsedMs: report.elapsedMs, removed }, 'backup taken');
  };
  const duty = periodic('embedded-backup', options.intervalS * 1000, tick, (err) => options.logger.error({ err }, 'scheduled backup failed; the older backups are kept'));
  return { duty, stats };
}
