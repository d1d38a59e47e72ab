import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { sdkAlertsService } from '../../src/aws/alerts.js';
import { parseDaemonConfig } from '../../src/daemon/config.js';
import { awsServices, startDaemon, type RunningDaemon } from '../../src/daemon/daemon.js';
import { memoryLogger } from '../../src/daemon/log.js';
import type { SshPool } from '../../src/ssh/index.js';
import { useAwsEmulator } from '../support/aws-emulator/per-file.js';
import { localSession } from '../backup/local-session.js';

// The daemon with CloudWatch and SNS in the emulator, failing or absent: jobs run and succeed
// either way, /healthz follows the jobs, /metrics counts the failed publishes and shows the values.
// Probes run against this machine (a local shell, df and docker stubbed: 12 % used, Docker up).

const aws = useAwsEmulator();

function localFleet(options: { dockerUp: boolean }) {
  const base = mkdtempSync(join(tmpdir(), 'hy-publish-'));
  const bin = join(base, 'bin');
  mkdirSync(bin);
  mkdirSync(join(base, 'home'));
  writeFileSync(join(bin, 'df'), "#!/bin/sh\necho 'Filesystem 1024-blocks Used Available Capacity Mounted on'\necho \"/dev/x 100 12 88 12% $2\"\n", { mode: 0o755 });
  writeFileSync(join(bin, 'docker'), `#!/bin/sh\nexit ${options.dockerUp ? 0 : 1}\n`, { mode: 0o755 });
  writeFileSync(join(base, 'inventory.yml'), 'all:\n  hosts:\n    web-1: { ansible_host: 10.0.0.1, ec2_instance_id: i-0web1 }\n');
  const env = { PATH: `${bin}:${process.env.PATH}` };
  const pool = (): SshPool => ({ session: async () => localSession('web-1', env), closeAll: async () => undefined }) as unknown as SshPool;
  return { base, pool, lockPaths: { rootDir: join(base, 'run-halyard'), userHome: join(base, 'home'), undoDir: join(base, 'undo') } };
}

const get = async (daemon: RunningDaemon, path: string) => {
  const response = await fetch(`${daemon.server.url}${path}`);
  return { status: response.status, text: await response.text() };
};

describe('publishing from the daemon (emulator)', () => {
  test('CloudWatch and SNS failing: every run succeeds, /healthz stays 200, each failed publish counts once, one log line per streak', async () => {
    const fleet = localFleet({ dockerUp: false });
    const topicArn = await sdkAlertsService().ensureTopic('halyard-alerts', {});
    const config = parseDaemonConfig(
      [`aws: { endpoint: "${aws.url}" }`, `sns_topic_arn: ${topicArn}`, 'http: { port: 0, docker_bridge: false }', 'state_dir: state', 'jobs:', '  - { name: probes, kind: probe, schedule: "0 0 0 1 1 *", inventory: inventory.yml }', ''].join('\n'),
      join(fleet.base, 'daemon.yml'),
    );
    const logger = memoryLogger();
    const services = await awsServices(config);
    const daemon = await startDaemon(config, { services: { ...services, sshPool: fleet.pool, lockPaths: fleet.lockPaths }, logger });
    const publishLog = () => logger.records.filter((r) => String(r.event).startsWith('publish-')).map((r) => [r.event, r.target]);
    const counter = async (target: string) => Number(new RegExp(`^halyard_publish_failures_total\\{target="${target}"\\} (\\d+)$`, 'm').exec((await get(daemon, '/metrics')).text)?.[1]);
    try {
      // Round 1: every SDK attempt of PutMetricData fails (5, retries included): one failed publish.
      // SNS refuses the FAILING message (no permission): not delivered, so it is sent again next round.
      aws.failNext({ service: 'cloudwatch', operation: 'PutMetricData', kind: '500', count: 5 });
      aws.failNext({ service: 'sns', operation: 'Publish', kind: 'denied', count: 1 });
      expect(await daemon.scheduler.trigger('probes')).toBe('success');
      expect(aws.countRequests({ service: 'cloudwatch', operation: 'PutMetricData' })).toBe(5);
      expect(await counter('cloudwatch')).toBe(1);
      expect(await counter('sns')).toBe(1);
      // (SNS goes out during the round, per host; the metrics at its end.)
      expect(publishLog()).toEqual([
        ['publish-failed', 'sns'],
        ['publish-failed', 'cloudwatch'],
      ]);
      expect(logger.records.find((r) => r.event === 'publish-failed' && r.target === 'cloudwatch')).toMatchObject({ level: 'warn', job: 'probes', error: expect.stringMatching(/^CloudWatch PutMetricData halyard: InternalServiceError/) });
      expect(aws.state.published).toEqual([]);

      // Round 2: CloudWatch still failing (denied: not retried), SNS back: the message goes out now.
      aws.failNext({ service: 'cloudwatch', operation: 'PutMetricData', kind: 'denied', count: 1 });
      expect(await daemon.scheduler.trigger('probes')).toBe('success');
      expect(await counter('cloudwatch')).toBe(2);
      expect(aws.state.published.map((m) => m.subject)).toEqual(['halyard: web-1 FAILING: docker']);
      expect(publishLog()).toEqual([
        ['publish-failed', 'sns'],
        ['publish-failed', 'cloudwatch'],
        ['publish-recovered', 'sns'],
      ]);

      const health = await get(daemon, '/healthz');
      expect(health.status).toBe(200);
      expect(JSON.parse(health.text)).toMatchObject({
        ok: true,
        jobs: { probes: { ok: true, lastResult: 'success', consecutiveFailures: 0, runs: { success: 2, failure: 0 } } },
        publishing: { cloudwatch: { failing: true, failures: 2, lastError: expect.stringMatching(/AccessDenied/) }, sns: { failing: false, failures: 1 } },
      });

      // Round 3: CloudWatch answers again (recovered, logged once); round 4: a new streak, logged again.
      expect(await daemon.scheduler.trigger('probes')).toBe('success');
      expect(aws.state.metricData.map((d) => [d.MetricName, d.Value])).toEqual([
        ['DockerDaemonUp', 0],
        ['DiskUsedPercent', 12],
      ]);
      aws.failNext({ service: 'cloudwatch', operation: 'PutMetricData', kind: 'denied', count: 1 });
      expect(await daemon.scheduler.trigger('probes')).toBe('success');
      expect(publishLog()).toEqual([
        ['publish-failed', 'sns'],
        ['publish-failed', 'cloudwatch'],
        ['publish-recovered', 'sns'],
        ['publish-recovered', 'cloudwatch'],
        ['publish-failed', 'cloudwatch'],
      ]);
      expect(logger.records.find((r) => r.event === 'publish-recovered' && r.target === 'cloudwatch')).toMatchObject({ failures: 2 });
      expect(await counter('cloudwatch')).toBe(3);
      expect((await get(daemon, '/healthz')).status).toBe(200);
      // The values are on /metrics whatever CloudWatch did.
      const metrics = (await get(daemon, '/metrics')).text;
      expect(metrics).toContain('halyard_job_runs_total{job="probes",result="success"} 4');
      expect(metrics).toContain('halyard_docker_daemon_up{instance_id="i-0web1"} 0');
      expect(metrics).toContain('halyard_disk_used_percent{instance_id="i-0web1"} 12');
    } finally {
      await daemon.stop();
    }
    expect(logger.records.find((r) => r.event === 'started')).toMatchObject({ publishTo: ['cloudwatch', 'sns'] });
  }, 60_000);

  test('without CloudWatch and SNS (`cloudwatch: false`, no topic): jobs run, nothing goes to AWS, /metrics has their metrics', async () => {
    const fleet = localFleet({ dockerUp: true });
    const config = parseDaemonConfig(
      [
        'cloudwatch: false',
        'http: { port: 0, docker_bridge: false }',
        'state_dir: state',
        'jobs:',
        '  - { name: probes, kind: probe, schedule: "0 0 0 1 1 *", inventory: inventory.yml }',
        '  - { name: tidy, kind: command, schedule: "0 0 0 1 1 *", command: [sh, -c, "exit 0"] }',
        '',
      ].join('\n'),
      join(fleet.base, 'daemon.yml'),
    );
    const services = await awsServices(config);
    expect(services).toMatchObject({ metrics: undefined, notifier: undefined, leaseStore: undefined });
    const logger = memoryLogger();
    const daemon = await startDaemon(config, { services: { ...services, sshPool: fleet.pool, lockPaths: fleet.lockPaths }, logger });
    try {
      expect(await daemon.scheduler.trigger('probes')).toBe('success');
      expect(await daemon.scheduler.trigger('tidy')).toBe('success');
      expect(aws.requests).toEqual([]);
      expect((await get(daemon, '/healthz')).status).toBe(200);
      const metrics = (await get(daemon, '/metrics')).text;
      expect(metrics).toContain('halyard_job_runs_total{job="probes",result="success"} 1');
      expect(metrics).toContain('halyard_job_runs_total{job="tidy",result="success"} 1');
      expect(metrics).toContain('halyard_docker_daemon_up{instance_id="i-0web1"} 1');
      expect(metrics).toContain('halyard_disk_used_percent{instance_id="i-0web1"} 12');
      expect(metrics).toContain('halyard_unhealthy_containers{instance_id="i-0web1"} 0');
      expect(metrics).toMatch(/^halyard_metric_updated_timestamp_seconds\{metric="docker_daemon_up",instance_id="i-0web1"\} \d+$/m);
      // No target, no failure samples.
      expect(metrics).not.toMatch(/^halyard_publish_failures_total\{/m);
      expect(JSON.parse((await get(daemon, '/healthz')).text).publishing).toEqual({});
    } finally {
      await daemon.stop();
    }
    expect(logger.records.find((r) => r.event === 'started')).toMatchObject({ publishTo: [] });
    expect(logger.records.filter((r) => r.level === 'warn' || r.level === 'error')).toEqual([]);
  });
});
