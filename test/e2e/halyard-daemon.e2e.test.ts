import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { stringify } from 'yaml';
import { sdkAlertsService } from '../../src/aws/alerts.js';
import type { HostResult } from '../../src/engine/results.js';
import { labExec } from '../../src/lab/index.js';
import { halyardRelease } from '../../src/release/pack.js';
import { useAwsEmulator } from '../support/aws-emulator/per-file.js';
import { emulatorEnvironment } from '../support/aws-emulator/daemon-env.js';
import { fleetInventory, freshKnownHosts, runCli, varsFileText, type CliRun } from '../support/cli.js';
import { stepChain } from '../support/steps.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { reverseTunnel, type ReverseTunnel } from '../support/reverse-tunnel.js';
import { busyBudget } from '../support/budget.js';

const PLAYBOOK = 'test/e2e/playbooks/halyard-daemon.ts';
const BUCKET = 'hy-daemon-e2e';
const NAMESPACE = 'halyard-e2e';
const PORT = 9464;
// Not "halyard": that is the lab's login user, whose home the role would move.
const ACCOUNT = 'hyd';

// The installed daemon: this checkout's release and node on a systemd lab host, running as a
// service that reaches S3 and CloudWatch (the emulator, through `ssh -R`) and probes its own host
// over SSH: everything a daemon host on EC2 does, on loopback.
describe('roles/halyard-daemon on a systemd lab host', () => {
  const steps = stepChain();
  const aws = useAwsEmulator();
  // After the emulator's reset before each test: the running daemon's leases need the bucket.
  beforeEach(() => aws.createBucket(BUCKET));
  let fleet: TestFleet;
  let tunnel: ReverseTunnel;
  let container: string;
  let hostName: string;
  let inventory: string;
  let knownHosts: string;
  let varsDir: string;

  beforeAll(async () => {
    fleet = await startTestFleet({ count: 1, systemd: true, prefix: 'hyd' });
    const host = fleet.hosts[0]!;
    container = host.container;
    hostName = host.name;
    inventory = fleetInventory(fleet, {});
    knownHosts = freshKnownHosts();
    tunnel = await reverseTunnel({ port: host.port, user: fleet.user, keyFile: fleet.keyFile, targetPort: Number(new URL(aws.url).port) });
    varsDir = mkdtempSync(join(tmpdir(), 'hy-daemon-vars-'));
  });
  afterAll(async () => {
    tunnel?.close();
    await fleet?.stop();
  });

  // The role's vars as a -e @file (YAML, so the AWS secret key is tagged !secret).
  function varsFile(jobs: Record<string, unknown>[], extra: { config?: Record<string, unknown>; vars?: Record<string, unknown> } = {}): string {
    const config = {
      aws: { region: aws.region, endpoint: `http://127.0.0.1:${tunnel.remotePort}` },
      cloudwatch_namespace: NAMESPACE,
      lease: { bucket: BUCKET },
      shutdown_grace_seconds: 5,
      ssh: { known_hosts: '/var/lib/halyard/known_hosts' },
      jobs,
      ...extra.config,
    };
    const selfInventory = stringify({
      all: { hosts: { self: { ansible_host: '127.0.0.1', ansible_port: 22, ansible_user: fleet.user, ansible_ssh_private_key_file: '/etc/halyard/lab_key', ec2_instance_id: 'i-0daemone2e000001' } } },
    });
    const text = varsFileText({
      halyard_daemon_user: ACCOUNT,
      halyard_daemon_http_port: PORT,
      halyard_daemon_config: config,
      halyard_daemon_files: { 'inventory.yml': selfInventory, lab_key: readFileSync(fleet.keyFile, 'utf8') },
      halyard_daemon_environment: emulatorEnvironment(aws),
      ...extra.vars,
    });
    const path = join(varsDir, `vars-${jobs.map((job) => job.name).join('-')}.yml`);
    writeFileSync(path, text);
    return path;
  }

  async function apply(vars: string): Promise<{ run: CliRun; host: HostResult }> {
    // The daemon's own probes job takes this host's lock every 5 s (as every remote action does):
    // an apply waits for it, as an operator's would (without, it failed E_HOST_LOCKED at random).
    const run = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '--json', '--lock-timeout', '60', '-e', `@${vars}`]);
    const host = run.json?.hosts[hostName];
    if (!host) throw new Error(`no JSON result for ${hostName}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    return { run, host };
  }

  async function sh(script: string): Promise<string> {
    const result = await labExec(container, script);
    if (result.exitCode !== 0) throw new Error(`${script}: exit ${result.exitCode}\n${result.stdout}\n${result.stderr}`);
    return result.stdout.trim();
  }

  // Polls the daemon's /healthz on the host until `ready` holds (the jobs run every few seconds).
  async function healthWhen(ready: (health: Health) => boolean, timeoutMs = 60_000): Promise<Health> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const result = await labExec(container, `curl -s http://127.0.0.1:${PORT}/healthz`);
      last = `${result.stdout}${result.stderr}`;
      if (result.exitCode === 0) {
        try {
          const health = JSON.parse(result.stdout) as Health;
          if (ready(health)) return health;
        } catch {
          // Not JSON yet: the daemon is starting.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const journal = await labExec(container, 'journalctl -u halyard-daemon --no-pager -n 40 -o cat');
    throw new Error(`/healthz never got ready; last answer: ${last}\njournal:\n${journal.stdout}`);
  }

  const tick = { name: 'tick', kind: 'command', schedule: '*/2 * * * * *', command: ['/bin/true'] };
  const probes = { name: 'probes', kind: 'probe', schedule: '*/5 * * * * *', inventory: 'inventory.yml' };

  steps.step('installs node, the release and the service; the daemon runs as its own user and its jobs reach SSH, CloudWatch and S3', async () => {
    const release = halyardRelease();
    const first = await apply(varsFile([tick, probes]));
    expect(first.run.exitCode, first.run.stderr).toBe(0);
    const uploads = first.host.tasks.filter((task) => task.name.startsWith('halyard-daemon: node') || task.name.startsWith('halyard-daemon: release'));
    console.log(
      `[halyard-daemon e2e] first run ${((first.run.json?.durationMs ?? 0) / 1000).toFixed(1)} s; ${uploads.map((task) => `${task.name}: ${((task.durationMs ?? 0) / 1000).toFixed(1)} s`).join('; ')}; release ${(readFileSync(release.file).length / 1024 / 1024).toFixed(1)} MiB, ${release.files} files`,
    );
    expect(first.host.tasks.filter((task) => task.status === 'changed').map((task) => task.name)).toEqual(
      expect.arrayContaining([`halyard-daemon: node ${process.version} (${process.arch})`, `halyard-daemon: activate release ${release.sha256.slice(0, 16)}`, 'service halyard-daemon.service', 'handler: restart halyard-daemon']),
    );

    // The shipped node and release run on the host without npm (Debian 12 has neither node 20 nor npm here).
    expect(await sh('/opt/halyard/bin/node --version')).toBe(process.version);
    expect(await sh('command -v npm || echo none')).toBe('none');
    expect(await sh('/usr/local/bin/halyard --version')).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    expect(await sh('readlink /opt/halyard/current')).toBe(`releases/${release.sha256.slice(0, 16)}`);
    expect(await sh('stat -c %U:%G:%a /etc/halyard/daemon.env /etc/halyard/daemon.yml')).toBe(`root:root:600\nroot:${ACCOUNT}:640`);
    // The secret is in the 0600 file for systemd, never in the unit or the run's output.
    expect(await sh('grep -c AWS_SECRET_ACCESS_KEY /etc/halyard/daemon.env')).toBe('1');
    expect(await sh('cat /etc/systemd/system/halyard-daemon.service')).not.toContain(aws.credentials.secretAccessKey);
    expect(`${first.run.stdout}${first.run.stderr}`).not.toContain(aws.credentials.secretAccessKey);

    expect(await sh('systemctl is-active halyard-daemon; systemctl is-enabled halyard-daemon')).toBe('active\nenabled');
    const pid = await sh('systemctl show -p MainPID --value halyard-daemon');
    expect(await sh(`ps -o user= -p ${pid}`)).toBe(ACCOUNT);

    const health = await healthWhen((h) => (h.jobs.tick?.runs.success ?? 0) >= 2 && (h.jobs.probes?.runs.success ?? 0) + (h.jobs.probes?.runs.failure ?? 0) >= 1);
    expect(health.jobs.tick).toMatchObject({ lastResult: 'success', ok: true });
    expect(health.jobs.probes, JSON.stringify(health)).toMatchObject({ lastResult: 'success', summary: { hosts: 1 } });
    console.log(`[halyard-daemon e2e] daemon RSS on the host after ${health.jobs.tick?.runs.success} ticks: ${(Number(await sh(`ps -o rss= -p ${pid}`)) / 1024).toFixed(0)} MiB`);
    const metrics = await sh(`curl -s http://127.0.0.1:${PORT}/metrics`);
    expect(metrics).toMatch(/^halyard_job_runs_total\{job="tick",result="success"\} [1-9]\d*$/m);

    // What the daemon sent, as AWS saw it: probe metrics for its host and one lease per tick.
    const points = aws.state.metricData.filter((datum) => datum.Namespace === NAMESPACE);
    expect(points.map((datum) => datum.MetricName)).toEqual(expect.arrayContaining(['DiskUsedPercent', 'DockerDaemonUp']));
    expect(points[0]?.Dimensions).toEqual([{ Name: 'InstanceId', Value: 'i-0daemone2e000001' }]);
    expect(aws.s3.keys(BUCKET, 'leases/tick/').length).toBeGreaterThanOrEqual(2);
  }, busyBudget(64));

  steps.step('a rerun is one exec and changes nothing; the daemon keeps running (no restart)', async () => {
    const pid = await sh('systemctl show -p MainPID --value halyard-daemon');
    const second = await apply(varsFile([tick, probes]));
    expect(second.host, JSON.stringify(second.host.tasks.filter((task) => task.status !== 'ok'), null, 2)).toMatchObject({ changed: 0, failed: 0, execs: 1 });
    expect(await sh('systemctl show -p MainPID --value halyard-daemon')).toBe(pid);
  }, busyBudget(33));

  steps.step('a new daemon file restarts the service, which runs the new job; stop is a clean SIGTERM (exit 0)', async () => {
    const pid = await sh('systemctl show -p MainPID --value halyard-daemon');
    const nightly = { name: 'nightly', kind: 'command', schedule: '*/3 * * * * *', command: ['/bin/sh', '-c', 'exit 0'] };
    const third = await apply(varsFile([tick, probes, nightly]));
    expect(third.host.tasks.filter((task) => task.status === 'changed').map((task) => task.name), JSON.stringify(third.host, null, 2)).toEqual(['file /etc/halyard/daemon.yml', 'handler: restart halyard-daemon']);
    expect(await sh('systemctl show -p MainPID --value halyard-daemon')).not.toBe(pid);
    await healthWhen((h) => (h.jobs.nightly?.runs.success ?? 0) >= 1);

    // An admin runs one job by hand as the service would: its user, its environment (AWS keys), its state.
    expect(await sh('halyard daemon -c /etc/halyard/daemon.yml --run probes >/tmp/run.log; echo "exit $?"; stat -c %U /var/lib/halyard/probe-probes.json')).toBe(`exit 0\n${ACCOUNT}`);
    expect(await sh('tail -n 1 /tmp/run.log')).toMatch(/"event":"success","job":"probes"/);

    await sh('systemctl stop halyard-daemon');
    expect(await sh('systemctl show -p ExecMainStatus --value halyard-daemon; systemctl is-active halyard-daemon || true')).toBe('0\ninactive');
    // journald may take a moment to write the service's last lines.
    let events: Array<{ event: string }> = [];
    for (let attempt = 0; attempt < 20 && events.at(-1)?.event !== 'stopped'; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 250));
      events = (await sh('journalctl -u halyard-daemon --no-pager -o cat')).split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { event: string });
    }
    expect(events.at(-1)?.event).toBe('stopped');
    // The next run starts it again (state: started).
    const fourth = await apply(varsFile([tick, probes, nightly]));
    expect(fourth.host.tasks.filter((task) => task.status === 'changed').map((task) => task.name)).toEqual(['service halyard-daemon.service']);
    expect(await sh('systemctl is-active halyard-daemon')).toBe('active');
  }, busyBudget(34));

  steps.step("drift jobs run the project's playbooks shipped with the role: hand drift on the host reaches SNS naming the task", async () => {
    const project = mkdtempSync(join(tmpdir(), 'hy-daemon-project-'));
    mkdirSync(join(project, 'playbooks'));
    mkdirSync(join(project, 'roles', 'motd'), { recursive: true });
    mkdirSync(join(project, 'inventory'));
    writeFileSync(
      join(project, 'roles', 'motd', 'index.ts'),
      "import { file, type TaskList } from 'halyard';\n\nexport const motd = (): TaskList => [file({ path: '/etc/hy-motd', content: 'managed by halyard\\n', owner: 'root', group: 'root', mode: '0644' })];\n",
    );
    writeFileSync(
      join(project, 'playbooks', 'motd.ts'),
      "import { definePlaybook } from 'halyard';\nimport { motd } from '../roles/motd/index.js';\n\nexport default definePlaybook({ name: 'motd', hosts: 'all', tasks: () => motd() });\n",
    );
    writeFileSync(
      join(project, 'inventory', 'self.yml'),
      stringify({ all: { hosts: { self: { ansible_host: '127.0.0.1', ansible_port: 22, ansible_user: fleet.user, ansible_ssh_private_key_file: '/etc/halyard/lab_key', ansible_become: true } } } }),
    );
    // Converged from the controller first, with the same playbook.
    const converge = await runCli(['apply', join(project, 'playbooks', 'motd.ts'), '-i', inventory, '--known-hosts', knownHosts]);
    expect(converge.exitCode, converge.stderr).toBe(0);

    const topicArn = await sdkAlertsService().ensureTopic('halyard-alerts', {});
    const drift = { name: 'drift', kind: 'drift', schedule: '*/4 * * * * *', playbook: 'project/playbooks/motd.ts', inventory: 'project/inventory/self.yml' };
    const installed = await apply(varsFile([tick, drift], { config: { sns_topic_arn: topicArn }, vars: { halyard_daemon_project_dir: project } }));
    expect(installed.run.exitCode, installed.run.stderr).toBe(0);
    expect(installed.host.tasks.filter((task) => task.status === 'changed').map((task) => task.name)).toEqual([
      'directory /opt/halyard/project',
      expect.stringMatching(/^halyard-daemon: project [0-9a-f]{16} \(3 files\)$/),
      expect.stringMatching(/^halyard-daemon: activate project [0-9a-f]{16}$/),
      'file /etc/halyard/daemon.yml',
      'handler: restart halyard-daemon',
    ]);
    expect(await sh(`stat -c '%U:%G %a' /etc/halyard/project/playbooks/motd.ts`)).toBe(`root:${ACCOUNT} 640`);
    expect((await apply(varsFile([tick, drift], { config: { sns_topic_arn: topicArn }, vars: { halyard_daemon_project_dir: project } }))).host).toMatchObject({ changed: 0, execs: 1 });

    // Converged: drift runs succeed and say nothing.
    await healthWhen((h) => (h.jobs.drift?.runs.success ?? 0) >= 2);
    expect(aws.state.published).toEqual([]);
    // A hand edit: the next drift run reports the host and the task, once per run.
    await sh("echo 'edited by hand' > /etc/hy-motd");
    const deadline = Date.now() + 30_000;
    while (aws.state.published.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
    const [message] = aws.state.published;
    expect(message?.topicArn, await sh('journalctl -u halyard-daemon --no-pager -n 20 -o cat')).toBe(topicArn);
    expect(`${message?.subject}\n${message?.message}`).toContain('self');
    expect(message?.message).toContain('file /etc/hy-motd');
  }, busyBudget(41));
});

interface Health {
  ok: boolean;
  jobs: Record<string, { ok: boolean; lastResult?: string; runs: { success: number; failure: number }; summary?: unknown } | undefined>;
}
