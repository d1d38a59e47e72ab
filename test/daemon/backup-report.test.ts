import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sdkAlertsService } from '../../src/aws/alerts.js';
import { HALYARD_METRICS, sdkMetricsService } from '../../src/aws/metrics.js';
import { BACKUP_BYTES_METRIC, BACKUP_CHANGED_FILES_METRIC, BACKUP_DURATION_METRIC, reportBackups } from '../../src/daemon/backup-job.js';
import { parseDaemonConfig } from '../../src/daemon/config.js';
import { snsNotifier } from '../../src/daemon/notify.js';
import type { Host } from '../../src/inventory/types.js';
import { startAwsEmulator, useEmulatorEnv, type AwsEmulator } from '../support/aws-emulator/index.js';

const host = (name: string, vars: Record<string, unknown> = {}): Host => ({ name, address: '10.0.0.1', port: 22, user: undefined, privateKeyFile: undefined, become: false, becomePassword: undefined, groups: [], vars });

describe('backup reporting (CloudWatch and SNS in the emulator)', () => {
  let aws: AwsEmulator;
  let restoreEnv: () => void;
  beforeAll(async () => {
    aws = await startAwsEmulator();
    restoreEnv = useEmulatorEnv(aws);
  });
  afterAll(async () => {
    restoreEnv?.();
    await aws?.stop();
  });

  test('success: heartbeat, bytes, duration and files changed while read per instance; failure: one SNS message with host, volume and error', async () => {
    const alerts = sdkAlertsService();
    const topicArn = await alerts.ensureTopic('halyard-alerts', {});
    const report = await reportBackups(
      [
        { host: 'web-1', volume: 'grafana', ok: true, durationMs: 2500, manifest: { size: 1234 }, changedWhileRead: 3 },
        { host: 'web-1', volume: 'postgres', ok: false, durationMs: 100, error: 'pg_dump: connection refused' },
        { host: 'web-2', volume: 'grafana', ok: true, durationMs: 1000, manifest: { size: 66 } },
      ],
      [host('web-1', { ec2_instance_id: 'i-0aaa' }), host('web-2')],
      { metrics: sdkMetricsService(), namespace: 'halyard', notifier: snsNotifier(alerts, topicArn) },
    );
    expect(report).toEqual({ ok: 2, failed: 1, bytes: 1300 });
    const data = aws.state.metricData.map((d) => [d.MetricName, d.Dimensions[0]?.Value, d.Value, d.Unit]);
    expect(data).toEqual([
      [HALYARD_METRICS.BackupHeartbeat, 'i-0aaa', 1, 'Count'],
      [BACKUP_BYTES_METRIC, 'i-0aaa', 1234, 'Bytes'],
      [BACKUP_DURATION_METRIC, 'i-0aaa', 2.5, 'Seconds'],
      [BACKUP_CHANGED_FILES_METRIC, 'i-0aaa', 3, 'Count'],
      [HALYARD_METRICS.BackupHeartbeat, 'web-2', 1, 'Count'],
      [BACKUP_BYTES_METRIC, 'web-2', 66, 'Bytes'],
      [BACKUP_DURATION_METRIC, 'web-2', 1, 'Seconds'],
      [BACKUP_CHANGED_FILES_METRIC, 'web-2', 0, 'Count'],
    ]);
    expect(aws.state.published).toHaveLength(1);
    expect(aws.state.published[0]).toMatchObject({ topicArn, subject: 'halyard: backup FAILED: web-1 postgres' });
    expect(aws.state.published[0]?.message).toMatch(/^Backup of volume postgres on host web-1 failed at .*:\npg_dump: connection refused\n$/);
  });

  test('a backup job in the daemon file points at a backup file (relative to the daemon file)', () => {
    const config = parseDaemonConfig('jobs:\n  - { name: nightly, kind: backup, schedule: "0 30 2 * * *", backup_file: backup.yml, volume: grafana }\n', '/etc/halyard/daemon.yml');
    expect(config.jobs[0]).toMatchObject({ kind: 'backup', backup_file: '/etc/halyard/backup.yml', volume: 'grafana' });
  });
});
