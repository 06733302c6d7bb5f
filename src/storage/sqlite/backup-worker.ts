/**
 * The worker thread of a scheduled backup (backup-schedule.ts): `VACUUM INTO` blocks the thread that runs it for as
 * long as the copy takes, so the hub's own backups run here, off its event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isMxError } from '../../errors.js';
import { systemClock } from '../../ports/clock.js';
import { backupDatabase } from './backup.js';

const { path, to } = workerData as { path: string; to: string };
try {
  parentPort!.postMessage({ ok: true, report: backupDatabase({ path, to, clock: systemClock }) });
} catch (error) {
  parentPort!.postMessage({ ok: false, code: isMxError(error) ? error.code : 'INTERNAL', message: error instanceof Error ? error.message : String(error) });
}
