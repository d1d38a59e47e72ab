import { describe, expect, test } from 'vitest';
import { DaemonConfigError, describeDaemonConfig, parseDaemonConfig } from '../../src/daemon/config.js';

const GOOD = `aws:
  region: eu-west-1
sns_topic_arn: arn:aws:sns:eu-west-1:123456789012:halyard-alerts
http:
  port: 9464
state_dir: state
lease:
  bucket: ops-bucket
jobs:
  - name: probes
    kind: probe
    schedule: "0 */5 * * * *"
    inventory: inventory.yml
    install_dir: /opt/observability
    health_urls: [http://127.0.0.1:3000/api/health]
  - name: drift
    kind: drift
    schedule: "0 0 * * *"
    timezone: Europe/Berlin
    playbook: /srv/site.ts
    inventory: inventory.yml
  - name: nightly
    kind: command
    schedule: "30 2 * * *"
    command: [halyard, backup, run]
`;

function errorOf(text: string): string {
  try {
    parseDaemonConfig(text, '/etc/halyard/daemon.yml');
  } catch (error) {
    expect(error).toBeInstanceOf(DaemonConfigError);
    expect((error as DaemonConfigError).exitCode).toBe(65);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('no error');
}

describe('daemon file', () => {
  test('a full file: defaults filled, relative paths resolved against the file', () => {
    const config = parseDaemonConfig(GOOD, '/etc/halyard/daemon.yml');
    expect(config).toMatchObject({
      cloudwatch_namespace: 'halyard',
      state_dir: '/etc/halyard/state',
      failure_threshold: 3,
      shutdown_grace_seconds: 30,
      lease: { bucket: 'ops-bucket', prefix: 'leases', keep_hours: 24 },
      ssh: { strict_host_keys: false },
    });
    expect(config.jobs.map((job) => job.kind)).toEqual(['probe', 'drift', 'command']);
    expect(config.jobs[0]).toMatchObject({ inventory: '/etc/halyard/inventory.yml', disk_percent_threshold: 85 });
    expect(config.jobs[1]).toMatchObject({ playbook: '/srv/site.ts', timezone: 'Europe/Berlin', forks: 10, extra_vars: {} });
  });

  test.each([
    ['a bad schedule', GOOD.replace('"0 0 * * *"', '"every hour"'), /daemon\.yml:18: job "drift": schedule: is not a cron expression/],
    ['a bad time zone', GOOD.replace('Europe/Berlin', 'Mars/Olympus'), /daemon\.yml:19: job "drift": timezone: is not an IANA time zone/],
    ['an unknown kind', GOOD.replace('kind: command', 'kind: reboot'), /daemon\.yml:2\d: job "nightly": kind: kind must be one of probe, drift, backup, command/],
    ['an unknown key', GOOD.replace('    install_dir:', '    install_dri:'), /daemon\.yml:14: job "probes": unknown key install_dri/],
    ['a missing field', GOOD.replace('    playbook: /srv/site.ts\n', ''), /daemon\.yml:1[67]: job "drift": playbook: is required/],
    ['a bad topic ARN', GOOD.replace('arn:aws:sns:eu-west-1:123456789012:halyard-alerts', 'halyard-alerts'), /daemon\.yml:3: sns_topic_arn: is not an SNS topic ARN/],
    ['a lease kept under an hour', GOOD.replace('  bucket: ops-bucket\n', '  bucket: ops-bucket\n  keep_hours: 0.5\n'), /daemon\.yml:9: lease\.keep_hours: must be at least 1 \(hours\)/],
    ['no jobs', 'jobs: []\n', /daemon\.yml:1: jobs: needs at least one job/],
    ['broken YAML', 'jobs: [\n', /daemon\.yml:\d+: YAML: /],
  ])('%s: one line naming file:line', (_what, text, expected) => {
    expect(errorOf(text)).toMatch(expected);
  });
});

describe('describeDaemonConfig (daemon --check)', () => {
  test('each job with its next run in UTC, time zones applied (Berlin is UTC+1 in November, +2 in July)', () => {
    const config = parseDaemonConfig(
      ['jobs:', '  - { name: probes, kind: command, schedule: "0 */5 * * * *", command: [x] }', '  - { name: nightly, kind: command, schedule: "0 30 2 * * *", timezone: Europe/Berlin, command: [x] }'].join('\n'),
      '/etc/halyard/daemon.yml',
    );
    expect(describeDaemonConfig(config, new Date('2026-11-25T13:59:34Z'))).toEqual([
      'probes (command) "0 */5 * * * *": next run 2026-11-25T14:00:00.000Z',
      'nightly (command) "0 30 2 * * *" Europe/Berlin: next run 2026-11-26T01:30:00.000Z',
    ]);
    expect(describeDaemonConfig(config, new Date('2026-07-01T12:00:00Z'))[1]).toBe('nightly (command) "0 30 2 * * *" Europe/Berlin: next run 2026-07-02T00:30:00.000Z');
  });
});

