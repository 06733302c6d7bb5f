/**
 * GET /metrics: queue depths and stage counters in the Prometheus text format, on every role, so that an
 * autoscaler can add workers by backlog (mxgate_queue_messages{queue="mx.processing.fifo",state="visible"}).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { QueueService } from '../../ports/queues.js';
import type { Workflow } from '../../pipeline/workflow.js';
import type { OutboxStats, StoreStats } from '../../engines/index.js';

export interface MetricsSources {
  queues: QueueService;
  workflow?: Workflow | undefined;
  /** Whether this process holds the scheduler lease (undefined: not a scheduler). */
  schedulerActive?: () => boolean;
  /** The store's group-commit counters in this process. */
  storeStats?: () => StoreStats;
  /** The outbox rows waiting for the queues; null when the engine has none (embedded). */
  outbox?: () => Promise<OutboxStats | null>;
  /** Transactions in flight that have not changed for a minute, counted up to STRANDED_COUNT_MAX. */
  stranded?: () => Promise<number>;
}

/** Most stranded transactions /metrics counts: enough to alert on, bounded per scrape. */
export const STRANDED_COUNT_MAX = 1000;

const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export async function renderMetrics(sources: MetricsSources): Promise<string> {
  const lines: string[] = [];
  const queues = await sources.queues.listQueues();
  lines.push('# HELP mxgate_queue_messages Messages in a queue by state.', '# TYPE mxgate_queue_messages gauge');
  for (const q of queues) {
    const name = label(q.name);
    lines.push(`mxgate_queue_messages{queue="${name}",state="visible"} ${q.metrics.visible}`);
    lines.push(`mxgate_queue_messages{queue="${name}",state="in_flight"} ${q.metrics.inFlight}`);
    lines.push(`mxgate_queue_messages{queue="${name}",state="delayed"} ${q.metrics.delayed}`);
  }
  lines.push('# HELP mxgate_queue_oldest_age_seconds Age of the oldest message in a queue.', '# TYPE mxgate_queue_oldest_age_seconds gauge');
  for (const q of queues) lines.push(`mxgate_queue_oldest_age_seconds{queue="${label(q.name)}"} ${q.metrics.oldestAgeS}`);
  const stages = sources.workflow?.stageStats ?? {};
  lines.push('# HELP mxgate_stage_messages_total Stage messages handled by this process, by outcome.', '# TYPE mxgate_stage_messages_total counter');
  for (const [stage, s] of Object.entries(stages)) {
    lines.push(`mxgate_stage_messages_total{stage="${stage}",outcome="ack"} ${s.handled}`);
    lines.push(`mxgate_stage_messages_total{stage="${stage}",outcome="retry"} ${s.retried}`);
    lines.push(`mxgate_stage_messages_total{stage="${stage}",outcome="dead_letter"} ${s.deadLettered}`);
  }
  if (sources.storeStats) {
    const s = sources.storeStats();
    lines.push('# HELP mxgate_store_commits_total Database transactions committed by this process (group commits).', '# TYPE mxgate_store_commits_total counter');
    lines.push(`mxgate_store_commits_total ${s.commits}`);
    lines.push('# HELP mxgate_store_units_total Units of work those commits carried; units per commit is the batching.', '# TYPE mxgate_store_units_total counter');
    lines.push(`mxgate_store_units_total ${s.units}`);
    if (s.walFlushes !== undefined) {
      lines.push('# HELP mxgate_store_wal_flushes_total WAL flushes (fdatasync) that made commits durable.', '# TYPE mxgate_store_wal_flushes_total counter');
      lines.push(`mxgate_store_wal_flushes_total ${s.walFlushes}`);
    }
    if (s.walResets !== undefined) {
      lines.push('# HELP mxgate_store_wal_resets_total Times the WAL was checkpointed in full and started over.', '# TYPE mxgate_store_wal_resets_total counter');
      lines.push(`mxgate_store_wal_resets_total ${s.walResets}`);
    }
    if (s.walResetMisses !== undefined) {
      lines.push('# HELP mxgate_store_wal_reset_misses_total WAL start-overs that failed because a reader held an older snapshot (a backup).', '# TYPE mxgate_store_wal_reset_misses_total counter');
      lines.push(`mxgate_store_wal_reset_misses_total ${s.walResetMisses}`);
    }
    if (s.backups !== undefined) {
      lines.push('# HELP mxgate_backup_last_success_timestamp_seconds When the last of the hub\'s own backups completed (0: none yet).', '# TYPE mxgate_backup_last_success_timestamp_seconds gauge');
      lines.push(`mxgate_backup_last_success_timestamp_seconds ${(s.backups.lastSuccessAt ?? 0) / 1000}`);
      lines.push('# HELP mxgate_backup_failures_total The hub\'s own backups that failed.', '# TYPE mxgate_backup_failures_total counter');
      lines.push(`mxgate_backup_failures_total ${s.backups.failures}`);
    }
    if (s.walResetPauseMs !== undefined) {
      lines.push('# HELP mxgate_store_wal_reset_pause_seconds_total Time new commits waited for the WAL start-overs.', '# TYPE mxgate_store_wal_reset_pause_seconds_total counter');
      lines.push(`mxgate_store_wal_reset_pause_seconds_total ${s.walResetPauseMs / 1000}`);
    }
  }
  // Read from the database: while it is unreachable the rest of the page still answers (the queues' depths).
  const outbox = sources.outbox ? await sources.outbox().catch(() => null) : null;
  if (outbox) {
    lines.push('# HELP mxgate_outbox_rows Outbox rows not yet handed to the queues (counted up to 10000), and those being retried.', '# TYPE mxgate_outbox_rows gauge');
    lines.push(`mxgate_outbox_rows{state="pending"} ${outbox.pending}`, `mxgate_outbox_rows{state="retrying"} ${outbox.retrying}`);
    lines.push('# HELP mxgate_outbox_oldest_age_seconds Age of the oldest outbox row.', '# TYPE mxgate_outbox_oldest_age_seconds gauge');
    lines.push(`mxgate_outbox_oldest_age_seconds ${outbox.oldestAgeS}`);
  }
  const stranded = sources.stranded ? await sources.stranded().catch(() => null) : null;
  if (stranded !== null) {
    lines.push(
      `# HELP mxgate_transactions_stranded Transactions in flight (ACTC, ACSP) unchanged for a minute, counted up to ${STRANDED_COUNT_MAX}: lost work to recover, or downstream answers owed.`,
      '# TYPE mxgate_transactions_stranded gauge',
    );
    lines.push(`mxgate_transactions_stranded ${stranded}`);
  }
  if (sources.schedulerActive) {
    lines.push('# HELP mxgate_scheduler_active 1 when this process holds the scheduler lease.', '# TYPE mxgate_scheduler_active gauge');
    lines.push(`mxgate_scheduler_active ${sources.schedulerActive() ? 1 : 0}`);
  }
  return `${lines.join('\n')}\n`;
}

export const metricsRoutes: FastifyPluginAsync<MetricsSources> = async (app, sources) => {
  app.get('/metrics', { config: { scope: 'mx/read' }, schema: { summary: 'Queue depths and stage counters (Prometheus text format)', tags: ['health'] } }, async (_request, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(await renderMetrics(sources)),
  );
};
