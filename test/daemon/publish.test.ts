import { describe, expect, test } from 'vitest';
import { HalyardError } from '../../src/core/errors.js';
import { parseDaemonConfig } from '../../src/daemon/config.js';
import { publishingText } from '../../src/daemon/http.js';
import { LEASE_CHECK_FOLDER, LeaseStoreError, MemoryLeaseStore, checkLeaseStore, type LeaseStore } from '../../src/daemon/lease.js';
import { memoryLogger } from '../../src/daemon/log.js';
import { Publisher, snakeCase } from '../../src/daemon/publish.js';
import type { MetricPoint } from '../../src/aws/metrics.js';

const point = (name: string, value: number, instance = 'i-1'): MetricPoint => ({ name, value, unit: 'Count', dimensions: { InstanceId: instance }, timestamp: new Date('2026-03-01T00:00:00Z') });

describe('Publisher: CloudWatch and SNS never fail a job', () => {
  test('failures are counted per publish, logged once per streak, and swallowed; recovery is logged', async () => {
    let failCloudWatch = true;
    const sent: MetricPoint[][] = [];
    const logger = memoryLogger();
    const publisher = new Publisher({
      logger,
      cloudwatch: {
        putMetricData: async (_namespace, points) => {
          if (failCloudWatch) throw new HalyardError('E_AWS_CLOUDWATCH', 'CloudWatch PutMetricData halyard: AccessDenied: not authorized');
          sent.push(points);
        },
      },
    });
    const job = publisher.forJob('probes');
    for (let i = 0; i < 3; i++) await job.metrics.putMetricData('halyard', [point('DockerDaemonUp', 1)]);
    expect(publisher.targets()).toEqual([
      { target: 'cloudwatch', failures: 3, failing: true, lastError: 'CloudWatch PutMetricData halyard: AccessDenied: not authorized', lastFailure: expect.any(String) },
    ]);
    expect(logger.records).toEqual([
      { level: 'warn', event: 'publish-failed', target: 'cloudwatch', job: 'probes', error: 'CloudWatch PutMetricData halyard: AccessDenied: not authorized', note: 'jobs go on; logged once until a publish succeeds' },
    ]);
    failCloudWatch = false;
    await publisher.forJob('nightly').metrics.putMetricData('halyard', [point('BackupHeartbeat', 1)]);
    await job.metrics.putMetricData('halyard', [point('DockerDaemonUp', 0)]);
    expect(logger.records.slice(1)).toEqual([{ level: 'info', event: 'publish-recovered', target: 'cloudwatch', job: 'nightly', failures: 3 }]);
    expect(sent).toHaveLength(2);
    failCloudWatch = true;
    await job.metrics.putMetricData('halyard', [point('DockerDaemonUp', 0)]);
    expect(logger.records.map((r) => r.event)).toEqual(['publish-failed', 'publish-recovered', 'publish-failed']);
    expect(publisher.targets()[0]).toMatchObject({ failures: 4, failing: true });
    // SNS is not configured: nothing to deliver counts as delivered, and it has no counter.
    expect(await job.notifier.publish('subject', 'message')).toBe(true);
    expect(publisher.targets().map((t) => t.target)).toEqual(['cloudwatch']);
  });

  test('SNS: a failed Publish resolves false (the job may send it again), never throws', async () => {
    let fail = true;
    const logger = memoryLogger();
    const publisher = new Publisher({ logger, sns: { publish: async () => (fail ? Promise.reject(new Error('SNS Publish: AuthorizationError')) : undefined) } });
    const { notifier } = publisher.forJob('drift');
    expect(await notifier.publish('a', 'b')).toBe(false);
    expect(await notifier.publish('a', 'b')).toBe(false);
    fail = false;
    expect(await notifier.publish('a', 'b')).toBe(true);
    expect(publisher.targets()).toEqual([{ target: 'sns', failures: 2, failing: false, lastError: 'SNS Publish: AuthorizationError', lastFailure: expect.any(String) }]);
    expect(logger.records.map((r) => [r.event, r.target])).toEqual([
      ['publish-failed', 'sns'],
      ['publish-recovered', 'sns'],
    ]);
  });

  test('every value published is kept for /metrics, CloudWatch or not (the last one per metric and dimensions)', async () => {
    const publisher = new Publisher({ logger: memoryLogger() });
    const { metrics } = publisher.forJob('probes');
    await metrics.putMetricData('halyard', [point('DiskUsedPercent', 40, 'i-1'), point('DiskUsedPercent', 70, 'i-2'), point('DockerDaemonUp', 1)]);
    await metrics.putMetricData('halyard', [point('DiskUsedPercent', 41, 'i-1')]);
    expect(publisher.targets()).toEqual([]);
    const text = publishingText(publisher.targets(), publisher.gauges());
    expect(text).toBe(
      [
        '# HELP halyard_publish_failures_total Publishes to CloudWatch or SNS that failed (after the SDK retries); jobs are not failed by them.',
        '# TYPE halyard_publish_failures_total counter',
        '# HELP halyard_disk_used_percent Last value a job published (CloudWatch metric of this name).',
        '# TYPE halyard_disk_used_percent gauge',
        'halyard_disk_used_percent{instance_id="i-1"} 41',
        'halyard_disk_used_percent{instance_id="i-2"} 70',
        '# HELP halyard_docker_daemon_up Last value a job published (CloudWatch metric of this name).',
        '# TYPE halyard_docker_daemon_up gauge',
        'halyard_docker_daemon_up{instance_id="i-1"} 1',
        '# HELP halyard_metric_updated_timestamp_seconds Unix time a job last published the metric.',
        '# TYPE halyard_metric_updated_timestamp_seconds gauge',
        'halyard_metric_updated_timestamp_seconds{metric="disk_used_percent",instance_id="i-1"} 1772323200',
        'halyard_metric_updated_timestamp_seconds{metric="disk_used_percent",instance_id="i-2"} 1772323200',
        'halyard_metric_updated_timestamp_seconds{metric="docker_daemon_up",instance_id="i-1"} 1772323200',
        '',
      ].join('\n'),
    );
    expect(publishingText([{ target: 'cloudwatch', failures: 2, failing: true, lastError: 'x', lastFailure: 'y' }], [])).toContain('halyard_publish_failures_total{target="cloudwatch"} 2\n');
  });

  test('snake case of CloudWatch names', () => {
    expect(['DiskUsedPercent', 'BackupDurationSeconds', 'InstanceId', 'UnhealthyContainers', 'HTTPStatus', 'a.b-c', '5xx'].map(snakeCase)).toEqual([
      'disk_used_percent',
      'backup_duration_seconds',
      'instance_id',
      'unhealthy_containers',
      'http_status',
      'a_b_c',
      '_5xx',
    ]);
  });
});

describe('daemon file: cloudwatch', () => {
  test('CloudWatch is on by default; `cloudwatch: false` turns it off; no sns_topic_arn, no SNS', () => {
    const jobs = 'jobs:\n  - { name: x, kind: command, schedule: "* * * * *", command: ["true"] }\n';
    expect(parseDaemonConfig(jobs, '/etc/halyard/daemon.yml')).toMatchObject({ cloudwatch: true, cloudwatch_namespace: 'halyard' });
    const off = parseDaemonConfig(`cloudwatch: false\n${jobs}`, '/etc/halyard/daemon.yml');
    expect(off.cloudwatch).toBe(false);
    expect(off.sns_topic_arn).toBeUndefined();
    expect(() => parseDaemonConfig(`cloudwatch: prometheus-only\n${jobs}`, '/etc/halyard/daemon.yml')).toThrow(/daemon\.yml:1: cloudwatch: /);
  });
});

// A store as some S3-compatible servers are: every write succeeds, conditions or not.
class IgnoringStore extends MemoryLeaseStore {
  override async putIfAbsent(key: string, body: string): Promise<boolean> {
    this.objects.set(key, body);
    return true;
  }
}

describe('checkLeaseStore: the lease bucket must refuse a second conditional write', () => {
  test('a store that honours If-None-Match passes; the probe key is deleted', async () => {
    const store = new MemoryLeaseStore();
    await checkLeaseStore(store, 'ha/leases');
    expect(store.objects.size).toBe(0);
  });

  test('a store that writes twice is refused in one line naming it and the fix (exit 65); the probe key is deleted', async () => {
    const store = Object.assign(new IgnoringStore(), { where: 's3://ops/leases/ at http://127.0.0.1:4568' });
    const error = await checkLeaseStore(store, 'leases').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseStoreError);
    expect(error).toMatchObject({ code: 'E_LEASE_UNSAFE', exitCode: 65 });
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(
      new RegExp(
        `^lease store s3://ops/leases/ at http://127\\.0\\.0\\.1:4568 ignores conditional writes: a second PUT of leases/${LEASE_CHECK_FOLDER}/[0-9a-f]{16} with If-None-Match: \\* succeeded where it must fail with 412 PreconditionFailed, so two daemons could both run a tick; use a store that honours conditional writes \\(AWS S3 does\\) for lease\\.bucket, or remove lease: from the daemon file and run a single daemon$`,
      ),
    );
    expect(store.objects.size).toBe(0);
  });

  test('a store without conditional writes is unsafe; one that cannot be reached is E_LEASE_CHECK (exit 1)', async () => {
    const failing = (error: Error): LeaseStore => ({ where: 's3://b/leases/ at X', putIfAbsent: async () => Promise.reject(error), list: async function* () {}, delete: async () => {} });
    await expect(checkLeaseStore(failing(new HalyardError('E_S3_UNSUPPORTED', 'S3 conditional PutObject s3://b/k: this store does not implement it (NotImplemented)')))).rejects.toMatchObject({
      code: 'E_LEASE_UNSAFE',
      message: expect.stringMatching(/^lease store s3:\/\/b\/leases\/ at X does not support conditional writes \(S3 conditional PutObject .*NotImplemented\)\): use a store that honours/),
    });
    await expect(checkLeaseStore(failing(new HalyardError('E_AWS_S3', 'S3 conditional PutObject s3://b/k: AccessDenied: Access Denied')))).rejects.toMatchObject({
      code: 'E_LEASE_CHECK',
      exitCode: 1,
      message: 'cannot check the lease store s3://b/leases/ at X: S3 conditional PutObject s3://b/k: AccessDenied: Access Denied',
    });
  });
});
