import type { MetricPoint, MetricsService } from '../aws/metrics.js';
import { HALYARD_METRICS } from '../aws/metrics.js';
import type { InventoryReading } from '../inventory/index.js';
import type { Host } from '../inventory/types.js';
import type { SshOptions } from '../ssh/types.js';
import type { DaemonLogger } from './log.js';
import type { Notifier } from './notify.js';
import { instanceIdOf } from './probe.js';
import type { JobOutcome } from './scheduler.js';

// The backup job: `halyard backup run` on a schedule (src/backup), then reporting: each successful
// (host, volume) publishes BackupHeartbeat 1, BackupBytes, BackupDurationSeconds and
// BackupChangedFiles (files tar saw change as it read them: a live copy) per instance (the
// monitor's heartbeat alarm watches the first); each failed one notifies SNS with host, volume
// and error. The run fails when any backup failed; a failed publish never fails it (the daemon's
// publisher, publish.ts, counts and logs it).

/** What the daemon needs of one backup's outcome (src/backup's BackupOutcome). */
export interface BackupResultLike {
  host: string;
  volume: string;
  ok: boolean;
  error?: string | undefined;
  durationMs: number;
  manifest?: { size: number } | undefined;
  changedWhileRead?: number | undefined;
}

export const BACKUP_BYTES_METRIC = 'BackupBytes';
export const BACKUP_DURATION_METRIC = 'BackupDurationSeconds';
export const BACKUP_CHANGED_FILES_METRIC = 'BackupChangedFiles';

export async function reportBackups(
  outcomes: BackupResultLike[],
  hosts: Host[],
  deps: { metrics: Pick<MetricsService, 'putMetricData'>; namespace: string; notifier: Notifier; now?: () => Date },
): Promise<{ ok: number; failed: number; bytes: number }> {
  const now = (deps.now ?? (() => new Date()))();
  const byName = new Map(hosts.map((host) => [host.name, host]));
  const points: MetricPoint[] = [];
  let bytes = 0;
  const failed = outcomes.filter((outcome) => !outcome.ok);
  for (const outcome of outcomes) {
    if (!outcome.ok) continue;
    const host = byName.get(outcome.host);
    const dimensions = { InstanceId: host ? instanceIdOf(host) : outcome.host };
    const size = outcome.manifest?.size ?? 0;
    bytes += size;
    points.push(
      { name: HALYARD_METRICS.BackupHeartbeat, value: 1, unit: 'Count', dimensions, timestamp: now },
      { name: BACKUP_BYTES_METRIC, value: size, unit: 'Bytes', dimensions, timestamp: now },
      { name: BACKUP_DURATION_METRIC, value: outcome.durationMs / 1000, unit: 'Seconds', dimensions, timestamp: now },
      { name: BACKUP_CHANGED_FILES_METRIC, value: outcome.changedWhileRead ?? 0, unit: 'Count', dimensions, timestamp: now },
    );
  }
  if (points.length) await deps.metrics.putMetricData(deps.namespace, points);
  for (const outcome of failed) {
    await deps.notifier.publish(
      `halyard: backup FAILED: ${outcome.host} ${outcome.volume}`,
      `Backup of volume ${outcome.volume} on host ${outcome.host} failed at ${now.toISOString()}:\n${outcome.error ?? 'unknown error'}\n`,
    );
  }
  return { ok: outcomes.length - failed.length, failed: failed.length, bytes };
}

export interface BackupJobDeps {
  jobName: string;
  backupFile: string;
  volume?: string | undefined;
  limit?: string | undefined;
  ssh: Partial<SshOptions>;
  /** Vault passwords and connection defaults for the backup file's inventory (DaemonServices.inventoryReading). */
  inventoryReading?: () => Promise<InventoryReading>;
  /** In the daemon: the publisher's view (never throws; CloudWatch only when configured). */
  metrics: Pick<MetricsService, 'putMetricData'>;
  namespace: string;
  notifier: Notifier;
  logger: DaemonLogger;
  signal?: AbortSignal;
  /** Ends waits for host locks at once (the daemon begins to stop); default `signal`. */
  lockWaitSignal?: AbortSignal;
}

export async function runBackupJob(deps: BackupJobDeps): Promise<JobOutcome> {
  const backup = await import('../backup/index.js');
  const config = await backup.loadBackupConfig(deps.backupFile);
  // An abort (shutdown past its grace period) stops the copy and the upload, starts what was
  // stopped and only then closes the connections; were the daemon to die first, the hosts' guards
  // start them (src/engine/guard.ts).
  const inventory = await deps.inventoryReading?.();
  const env = await backup.openBackupEnv(config, {
    ssh: deps.ssh,
    ...(inventory ? { inventory } : {}),
    ...(deps.limit ? { limit: deps.limit } : {}),
    log: (line) => deps.logger.log('info', 'backup-progress', { job: deps.jobName, line }),
    warn: (line) => deps.logger.log('warn', 'backup-warning', { job: deps.jobName, line }),
    ...(deps.signal ? { signal: deps.signal } : {}),
    ...(deps.lockWaitSignal ? { lockWaitSignal: deps.lockWaitSignal } : {}),
  });
  let outcomes: BackupResultLike[];
  try {
    outcomes = await backup.runBackups(env, deps.volume ? { volume: deps.volume } : {});
  } finally {
    await env.close();
  }
  const report = await reportBackups(outcomes, env.inventory.hosts, deps);
  for (const outcome of outcomes) {
    deps.logger.log(outcome.ok ? 'info' : 'error', 'backup', { job: deps.jobName, host: outcome.host, volume: outcome.volume, durationMs: outcome.durationMs, bytes: outcome.manifest?.size, changedWhileRead: outcome.changedWhileRead, error: outcome.error });
  }
  if (report.failed > 0) {
    throw new Error(`${report.failed} of ${outcomes.length} backups failed: ${outcomes.filter((o) => !o.ok).map((o) => `${o.host}/${o.volume}`).join(', ')}`);
  }
  return { bytes: report.bytes, summary: { backups: report.ok } };
}
