import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkAlertsService } from '../../src/aws/alerts.js';
import { HALYARD_METRICS, sdkMetricsService } from '../../src/aws/metrics.js';
import { parseDaemonConfig } from '../../src/daemon/config.js';
import { awsServices, startDaemon } from '../../src/daemon/daemon.js';
import { runDrift } from '../../src/daemon/drift.js';
import { memoryLogger } from '../../src/daemon/log.js';
import { snsNotifier, type Notifier } from '../../src/daemon/notify.js';
import { ProbeStateStore, runProbes, type ProbeSettings } from '../../src/daemon/probe.js';
import { loadInventory } from '../../src/inventory/index.js';
import { labExec } from '../../src/lab/index.js';
import { SshPool } from '../../src/ssh/index.js';
import { startAwsEmulator, useEmulatorEnv, type AwsEmulator } from '../support/aws-emulator/index.js';
import { fleetInventory, freshKnownHosts, runCli } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { busyBudget } from '../support/budget.js';

const GRAFANA_PASSWORD = 'gr4fana-daemon-S3cret';
const POSTGRES_PASSWORD = 'pg-daemon-S3cret';

describe('daemon jobs against a lab host, AWS in the emulator', () => {
  let fleet: TestFleet;
  let aws: AwsEmulator;
  let restoreEnv: () => void;
  let notifier: Notifier;
  let topicArn: string;
  let inventory: string;
  let knownHosts: string;
  const instanceId = 'i-0daemon0000000001';

  beforeAll(async () => {
    fleet = await startTestFleet({ count: 1, prefix: 'daemon' });
    aws = await startAwsEmulator();
    restoreEnv = useEmulatorEnv(aws);
    const alerts = sdkAlertsService();
    topicArn = await alerts.ensureTopic('halyard-alerts', {});
    notifier = snsNotifier(alerts, topicArn);
    const host = fleet.hosts[0]!;
    inventory = fleetInventory(fleet, { grafana_password: GRAFANA_PASSWORD, postgres_password: POSTGRES_PASSWORD }, { hostVars: { [host.name]: { ec2_instance_id: instanceId } } });
    knownHosts = freshKnownHosts();
  });
  afterAll(async () => {
    restoreEnv?.();
    await aws?.stop();
    await fleet?.stop();
  });

  it('probes publish metrics per instance every time, and SNS only when a check changes state', async () => {
    const hosts = (await loadInventory(inventory)).hosts;
    const stateFile = join(mkdtempSync(join(tmpdir(), 'hy-probe-')), 'probe-state.json');
    const settings: ProbeSettings = { installDir: '/opt/observability', healthUrls: ['http://127.0.0.1:9/health'], diskPercentThreshold: 99 };
    const probeOnce = async (state: ProbeStateStore) => {
      const pool = new SshPool({ knownHostsFile: knownHosts });
      try {
        return await runProbes({ hosts, pool, metrics: sdkMetricsService(), namespace: 'halyard', notifier, state, settings, logger: memoryLogger(), jobName: 'probes' });
      } finally {
        await pool.closeAll();
      }
    };
    const state = new ProbeStateStore(stateFile);
    for (let round = 0; round < 3; round++) {
      const outcome = await probeOnce(state);
      expect(outcome.summary).toMatchObject({ hosts: 1, failingHosts: 1 });
    }

    const docker = aws.state.metricData.filter((d) => d.MetricName === HALYARD_METRICS.DockerDaemonUp);
    expect(docker).toHaveLength(3);
    for (const datum of docker) {
      expect(datum).toMatchObject({ Namespace: 'halyard', Value: 0, Dimensions: [{ Name: 'InstanceId', Value: instanceId }] });
    }
    const disk = aws.state.metricData.filter((d) => d.MetricName === HALYARD_METRICS.DiskUsedPercent);
    expect(disk).toHaveLength(3);
    const [host] = fleet.hosts;
    const df = await labExec(host!.container, "df -P / | awk 'NR==2 { sub(/%/, \"\", $5); print $5 }'");
    expect(Math.abs((disk[0]?.Value ?? -1) - Number(df.stdout.trim()))).toBeLessThanOrEqual(1);

    // Three probes, one change of state (unknown -> failing): one message naming both failing checks.
    expect(aws.state.published).toHaveLength(1);
    const [message] = aws.state.published;
    expect(message?.topicArn).toBe(topicArn);
    expect(message?.subject).toMatch(new RegExp(`^halyard: ${fleet.hosts[0]!.name} FAILING: docker, health http://127.0.0.1:9/health$`));
    expect(message?.message).toContain('docker: unknown -> failing (docker is not installed)');

    // The state survives a restart of the daemon: a fresh store reads the file, still no new message.
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))[fleet.hosts[0]!.name].docker).toEqual({ ok: false, detail: 'docker is not installed' });
    await probeOnce(new ProbeStateStore(stateFile));
    expect(aws.state.published).toHaveLength(1);
    expect(aws.state.metricData.filter((d) => d.MetricName === HALYARD_METRICS.DockerDaemonUp)).toHaveLength(4);
  }, busyBudget(4));

  it('a failing health endpoint that comes back: one "recovered" message for it, then silence', async () => {
    const hosts = (await loadInventory(inventory)).hosts;
    const host = fleet.hosts[0]!;
    const url = 'http://127.0.0.1:8099/health';
    const settings: ProbeSettings = { installDir: '/opt/observability', healthUrls: [url], diskPercentThreshold: 99 };
    const state = new ProbeStateStore(join(mkdtempSync(join(tmpdir(), 'hy-probe-')), 'probe-state.json'));
    const probeOnce = async () => {
      const pool = new SshPool({ knownHostsFile: knownHosts });
      try {
        return await runProbes({ hosts, pool, metrics: sdkMetricsService(), namespace: 'halyard', notifier, state, settings, logger: memoryLogger(), jobName: 'probes' });
      } finally {
        await pool.closeAll();
      }
    };
    const before = aws.state.published.length;
    await probeOnce();
    expect(aws.state.published.slice(before).map((m) => m.subject)).toEqual([`halyard: ${host.name} FAILING: docker, health ${url}`]);

    // The endpoint starts answering (a tiny HTTP server in perl-base, which every Debian has).
    const server =
      `nohup perl -MIO::Socket::INET -e '$s=IO::Socket::INET->new(LocalAddr=>"127.0.0.1",LocalPort=>8099,Listen=>5,ReuseAddr=>1) or die; ` +
      `while($c=$s->accept){<$c>;print $c "HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok";close $c}' >/dev/null 2>&1 &`;
    await labExec(host.container, server);
    await labExec(host.container, 'for i in $(seq 50); do curl -fsS http://127.0.0.1:8099/health && exit 0; sleep 0.1; done; exit 1');
    try {
      const recovered = await probeOnce();
      expect(recovered.summary).toMatchObject({ hosts: 1, failingHosts: 1 });
      const messages = aws.state.published.slice(before + 1);
      expect(messages.map((m) => m.subject)).toEqual([`halyard: ${host.name} recovered: health ${url}`]);
      expect(messages[0]?.message).toContain(`health ${url}: failing -> ok`);
      await probeOnce();
      expect(aws.state.published.length).toBe(before + 2);
    } finally {
      await labExec(host.container, 'pkill -f IO::Socket::INET || true');
    }
  }, busyBudget(4));

  it('the daemon file wires a probe job to SSH, CloudWatch and SNS (services built from the file)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-daemon-file-'));
    const config = parseDaemonConfig(
      [
        `aws: { region: us-east-1, endpoint: "${aws.url}" }`,
        `sns_topic_arn: ${topicArn}`,
        'cloudwatch_namespace: halyard-daemon-test',
        'http: { port: 0, docker_bridge: false }',
        `state_dir: ${dir}`,
        `ssh: { known_hosts: ${knownHosts} }`,
        'jobs:',
        `  - { name: probes, kind: probe, schedule: "0 0 0 1 1 *", inventory: ${inventory} }`,
      ].join('\n'),
      join(dir, 'daemon.yml'),
    );
    const logger = memoryLogger();
    const daemon = await startDaemon(config, { services: await awsServices(config), logger });
    try {
      const before = aws.state.published.length;
      expect(await daemon.scheduler.trigger('probes')).toBe('success');
      const points = aws.state.metricData.filter((d) => d.Namespace === 'halyard-daemon-test');
      expect(points.map((d) => d.MetricName).sort()).toEqual([HALYARD_METRICS.DiskUsedPercent, HALYARD_METRICS.DockerDaemonUp]);
      // A fresh state file: the failing docker check is news once.
      expect(aws.state.published.length).toBe(before + 1);
      expect(readFileSync(join(dir, 'probe-probes.json'), 'utf8')).toContain('docker is not installed');
      const health = (await (await fetch(`${daemon.server.url}/healthz`)).json()) as { jobs: { probes: { lastResult: string; summary: unknown } } };
      expect(health.jobs.probes).toMatchObject({ lastResult: 'success', summary: { hosts: 1, failingHosts: 1, notifications: 1, metrics: 2 } });
    } finally {
      await daemon.stop();
    }
    expect(logger.records.map((r) => r.event)).toEqual(['scheduled', 'started', 'start', 'probe', 'success', 'shutdown', 'stopped']);
  }, busyBudget(2));

  it('drift: converged with the CLI, one file changed by hand, one SNS message naming that task; nothing drifted: no message', async () => {
    const converge = await runCli(['apply', 'playbooks/examples/stack-files.ts', '-i', inventory, '--known-hosts', knownHosts, '--json']);
    expect(converge.exitCode, converge.stderr).toBe(0);
    const host = fleet.hosts[0]!;
    const tasks = converge.json?.hosts[host.name]?.tasks.map((task) => task.name) ?? [];
    const nginxTask = tasks.find((name) => name.includes('nginx.conf'));
    expect(nginxTask, tasks.join('\n')).toBeDefined();

    const drift = (logger = memoryLogger()) =>
      runDrift({
        jobName: 'drift',
        playbook: 'playbooks/examples/stack-files.ts',
        inventory,
        forks: 5,
        pool: new SshPool({ knownHostsFile: knownHosts }),
        notifier,
        logger,
      });

    const before = aws.state.published.length;
    expect((await drift()).summary).toMatchObject({ hosts: 1, driftedHosts: 0, notified: false });
    expect(aws.state.published).toHaveLength(before);

    await labExec(host.container, 'echo "# edited by hand" >> /opt/observability/nginx.conf');
    const logger = memoryLogger();
    expect((await drift(logger)).summary).toMatchObject({ hosts: 1, driftedHosts: 1, notified: true });
    const published = aws.state.published.slice(before);
    expect(published).toHaveLength(1);
    expect(published[0]?.subject).toBe(`halyard drift: 1 host (${host.name})`);
    expect(published[0]?.message).toContain(`${host.name}:\n  - ${nginxTask}`);
    // Only the edited file drifted, and no secret is in the message or the logs.
    expect(published[0]?.message.split('\n').filter((line) => line.startsWith('  - '))).toHaveLength(1);
    for (const secret of [GRAFANA_PASSWORD, POSTGRES_PASSWORD]) {
      expect(published[0]?.message).not.toContain(secret);
      expect(JSON.stringify(logger.records)).not.toContain(secret);
    }
    // Check mode changed nothing.
    expect((await labExec(host.container, 'tail -n 1 /opt/observability/nginx.conf')).stdout).toBe('# edited by hand\n');
  }, busyBudget(11));

  it('drift: a role edited while the daemon runs is checked as it is now, with no restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-drift-edit-'));
    writeFileSync(join(dir, 'motd-role.ts'), "export const motd: string = 'first text\\n';\n");
    writeFileSync(
      join(dir, 'motd.ts'),
      `import { definePlaybook, file } from 'halyard';
import { motd } from './motd-role.js';
export default definePlaybook({ name: 'motd', hosts: 'all', tasks: () => [file({ path: '/etc/hy-drift-motd', content: motd, mode: '0644' })] });
`,
    );
    const converge = await runCli(['apply', join(dir, 'motd.ts'), '-i', inventory, '--known-hosts', knownHosts, '--json']);
    expect(converge.exitCode, converge.stderr).toBe(0);
    // One process runs both checks, as the daemon's scheduler does.
    const drift = () => runDrift({ jobName: 'drift-motd', playbook: join(dir, 'motd.ts'), inventory, forks: 1, pool: new SshPool({ knownHostsFile: knownHosts }), notifier, logger: memoryLogger() });
    expect((await drift()).summary).toMatchObject({ hosts: 1, driftedHosts: 0, notified: false });
    writeFileSync(join(dir, 'motd-role.ts'), "export const motd: string = 'second text\\n';\n");
    const before = aws.state.published.length;
    expect((await drift()).summary).toMatchObject({ hosts: 1, driftedHosts: 1, notified: true });
    expect(aws.state.published.slice(before)[0]?.message).toContain('/etc/hy-drift-motd');
    expect((await labExec(fleet.hosts[0]!.container, 'cat /etc/hy-drift-motd')).stdout).toBe('first text\n');
  }, busyBudget(6));
});
