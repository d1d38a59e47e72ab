import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { stringify } from 'yaml';
import { sdkAlertsService } from '../../src/aws/alerts.js';
import { Secret } from '../../src/core/secret.js';
import { LEASE_CHECK_FOLDER } from '../../src/daemon/lease.js';
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
import { S3RVER_ACCESS_KEY_ID, S3RVER_SECRET_ACCESS_KEY, startS3rver, type S3rverServer } from '../support/s3rver.js';

const PLAYBOOK = 'test/e2e/playbooks/halyard-daemon.ts';
const BUCKET = 'hy-daemon-e2e';
const NAMESPACE = 'halyard-e2e';
const PORT = 9464;
// Not "halyard": that is the lab's login user, whose home the role would move.
const ACCOUNT = 'hyd';
// Buckets on s3rver, an S3 server that ignores If-None-Match (test/support/s3rver.ts).
const BACKUP_BUCKET = 'hy-daemon-backups';
const LEASE_BUCKET = 'hy-daemon-leases';

// The installed daemon: this checkout's release and node on a systemd lab host, running as a
// service that reaches S3 and CloudWatch (the emulator, through `ssh -R`) and probes its own host
// over SSH: everything a daemon host on EC2 does, on loopback. Then, with s3rver (a second S3,
// through its own `ssh -R`): a daemon with no CloudWatch, SNS or lease backing up into it, and
// daemons refusing a lease bucket there (s3rver ignores If-None-Match).
describe('roles/halyard-daemon on a systemd lab host', () => {
  const steps = stepChain();
  const aws = useAwsEmulator();
  // After the emulator's reset before each test: the running daemon's leases need the bucket.
  beforeEach(() => aws.createBucket(BUCKET));
  let fleet: TestFleet;
  let tunnel: ReverseTunnel;
  let s3rver: S3rverServer;
  let s3rverTunnel: ReverseTunnel;
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
    s3rver = await startS3rver({ buckets: [BACKUP_BUCKET, LEASE_BUCKET] });
    s3rverTunnel = await reverseTunnel({ port: host.port, user: fleet.user, keyFile: fleet.keyFile, targetPort: Number(new URL(s3rver.url).port) });
  });
  afterAll(async () => {
    tunnel?.close();
    s3rverTunnel?.close();
    await s3rver?.stop();
    await fleet?.stop();
  });

  // The role's vars as a -e @file (YAML, so the AWS secret key is tagged !secret).
  function varsFile(jobs: Record<string, unknown>[], extra: { config?: Record<string, unknown>; files?: Record<string, string>; vars?: Record<string, unknown> } = {}): string {
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
      halyard_daemon_files: { 'inventory.yml': selfInventory, lab_key: readFileSync(fleet.keyFile, 'utf8'), ...extra.files },
      halyard_daemon_environment: emulatorEnvironment(aws),
      ...extra.vars,
    });
    const path = join(varsDir, `vars-${jobs.map((job) => job.name).join('-')}.yml`);
    writeFileSync(path, text);
    return path;
  }

  async function apply(vars: string): Promise<{ run: CliRun; host: HostResult }> {
    // The daemon's jobs take this host's lock (as every remote action does): a probe is asked past,
    // but the drift job's check runs hold it for seconds, so these applies wait as an operator's would.
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
    // Converged from the controller first, with the same playbook, as an operator would: no
    // --lock-timeout, while the running daemon's probes job takes the host's lock every 5 s. A
    // converge meeting a probe asks again until it lets go (CI once saw E_HOST_LOCKED here).
    const converge = await runCli(['apply', join(project, 'playbooks', 'motd.ts'), '-i', inventory, '--known-hosts', knownHosts]);
    expect(converge.exitCode, `${converge.stdout}\n${converge.stderr}`).toBe(0);

    const topicArn = await sdkAlertsService().ensureTopic('halyard-alerts', {});
    const drift = { name: 'drift', kind: 'drift', schedule: '*/4 * * * * *', playbook: 'project/playbooks/motd.ts', inventory: 'project/inventory/self.yml' };
    const installed = await apply(varsFile([tick, drift], { config: { sns_topic_arn: topicArn }, vars: { halyard_daemon_project_dir: project } }));
    expect(installed.run.exitCode, installed.run.stderr).toBe(0);
    expect(installed.host.tasks.filter((task) => task.status === 'changed').map((task) => task.name)).toEqual([
      'directory /opt/halyard/project',
      expect.stringMatching(/^halyard-daemon: project [0-9a-f]{16} \(3 files\)$/),
      expect.stringMatching(/^halyard-daemon: activate project [0-9a-f]{16}$/),
      'file /etc/halyard/daemon.yml',
      // The service now runs in the project (WorkingDirectory), so its jobs read the project's ansible.cfg.
      'file /etc/systemd/system/halyard-daemon.service',
      'service halyard-daemon.service',
      'handler: restart halyard-daemon',
    ]);
    expect(await sh(`stat -c '%U:%G %a' /etc/halyard/project/playbooks/motd.ts`)).toBe(`root:${ACCOUNT} 640`);
    expect(await sh('readlink /proc/$(systemctl show -p MainPID --value halyard-daemon)/cwd')).toBe('/etc/halyard/project');
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

  // The service's environment when its only AWS is a bucket on s3rver: the one key pair s3rver
  // accepts, nothing for CloudWatch, SNS or a lease (the daemon makes no client for them).
  const s3rverEnvironment = (): Record<string, string | Secret> => ({
    AWS_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: new Secret(S3RVER_SECRET_ACCESS_KEY, 'AWS_SECRET_ACCESS_KEY'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  const healthStatus = () => sh(`curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:${PORT}/healthz`);
  const SOURCE = '/srv/hy-daemon-site';
  // The daemon file of the s3rver backup step (no CloudWatch, SNS or lease), applied again at the end.
  let s3rverVars = '';

  steps.step('cloudwatch: false, no SNS, no lease: a backup job into s3rver succeeds, /healthz stays 200, /metrics counts it, nothing goes to AWS or says CloudWatch', async () => {
    await sh(`mkdir -p ${SOURCE} && printf 'halyard daemon e2e\\n' > ${SOURCE}/note.txt`);
    const backupFile = stringify({
      inventory: 'inventory.yml',
      bucket: BACKUP_BUCKET,
      prefix: 'e2e',
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${s3rverTunnel.remotePort}`,
      volumes: [{ name: 'site', kind: 'dir', path: SOURCE }],
    });
    const backups = { name: 'backups', kind: 'backup', schedule: '*/4 * * * * *', backup_file: 'backup.yml' };
    s3rverVars = varsFile([backups], { config: { cloudwatch: false, lease: undefined }, files: { 'backup.yml': backupFile }, vars: { halyard_daemon_environment: s3rverEnvironment() } });
    const installed = await apply(s3rverVars);
    expect(installed.run.exitCode, installed.run.stderr).toBe(0);
    expect(installed.host.tasks.filter((task) => task.status === 'changed').map((task) => task.name)).toContain('handler: restart halyard-daemon');
    // From here on only the new daemon runs (the restart handler waited for the old one to stop).
    const awsRequestsBefore = aws.requests.length;
    const pid = await sh('systemctl show -p MainPID --value halyard-daemon');

    const health = await healthWhen((h) => (h.jobs.backups?.runs.success ?? 0) + (h.jobs.backups?.runs.failure ?? 0) >= 1);
    expect(health.jobs.backups, JSON.stringify(health)).toMatchObject({ ok: true, lastResult: 'success', summary: { backups: 1 } });
    expect(await healthStatus()).toBe('200');
    // No publish target at all: /healthz's publishing part is empty.
    expect(health.ok).toBe(true);
    expect(health.publishing).toEqual({});
    const metrics = await sh(`curl -s http://127.0.0.1:${PORT}/metrics`);
    expect(metrics).toMatch(/^halyard_job_runs_total\{job="backups",result="success"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^halyard_backup_heartbeat\{instance_id="i-0daemone2e000001"\} 1$/m);
    expect(metrics).toMatch(/^halyard_job_bytes_total\{job="backups"\} [1-9]\d*$/m);
    expect(metrics).not.toMatch(/^halyard_publish_failures_total\{/m);
    // The backup as s3rver holds it: data and manifest of host "self", volume "site".
    const keys = await s3rver.keys(BACKUP_BUCKET, 'e2e/self/site/');
    expect(keys, keys.join('\n')).toEqual(expect.arrayContaining([expect.stringMatching(/^e2e\/self\/site\/[^/]+\/manifest\.json$/)]));
    // Not one request to the emulator (CloudWatch, SNS or S3) since the restart.
    expect(aws.requests.slice(awsRequestsBefore).map((request) => `${request.service} ${request.operation}`)).toEqual([]);

    // The service's log (this process, as journald keeps it; it may lag a moment behind /healthz).
    let journal = '';
    let events: DaemonEvent[] = [];
    for (let attempt = 0; attempt < 20 && !events.some((event) => event.event === 'success' && event.job === 'backups'); attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 250));
      journal = await sh(`journalctl _PID=${pid} --no-pager -o cat`);
      events = journal.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as DaemonEvent);
    }
    expect(events.find((event) => event.event === 'started'), journal).toMatchObject({ publishTo: [] });
    expect(events.find((event) => event.event === 'started')).not.toHaveProperty('lease');
    expect(events.some((event) => event.event === 'success' && event.job === 'backups'), journal).toBe(true);
    // Only s3rver's missing ListMultipartUploads may warn (src/daemon/README.md: backup); nothing about CloudWatch at all.
    // A tick that comes while the last backup still runs is skipped with a warning (seen at load 60).
    expect(events.filter((event) => event.level !== 'info' && event.event !== 'backup-warning' && event.event !== 'skipped-overlap'), journal).toEqual([]);
    expect(journal).not.toMatch(/cloudwatch|PutMetricData|publish-failed/i);
  }, busyBudget(14));

  steps.step('a lease bucket on s3rver (If-None-Match ignored): two daemons started together both refuse, exit 65 with one line naming the store and the fix, as does --check; the running daemon goes on', async () => {
    const pid = await sh('systemctl show -p MainPID --value halyard-daemon');
    const endpoint = `http://127.0.0.1:${s3rverTunnel.remotePort}`;
    const file = '/etc/halyard/lease-s3rver.yml';
    const leaseFile = stringify({
      aws: { region: 'us-east-1', endpoint },
      cloudwatch: false,
      http: { port: PORT + 1, docker_bridge: false },
      state_dir: '/var/lib/halyard',
      lease: { bucket: LEASE_BUCKET },
      jobs: [{ name: 'tick', kind: 'command', schedule: '*/2 * * * * *', command: ['/bin/true'] }],
    });
    await sh(`echo ${Buffer.from(leaseFile).toString('base64')} | base64 -d > ${file} && chown root:${ACCOUNT} ${file} && chmod 0640 ${file}`);

    // Run by root, the wrapper the role installs is the service: its user and environment (s3rver's keys).
    // `timeout`: a daemon that wrongly started would run on; it ends the test with 124 instead.
    const codes = await sh(
      [
        `timeout 60 halyard daemon -c ${file} >/tmp/lease-1.out 2>/tmp/lease-1.err & first=$!`,
        `timeout 60 halyard daemon -c ${file} >/tmp/lease-2.out 2>/tmp/lease-2.err & second=$!`,
        `timeout 60 halyard daemon -c ${file} --check >/tmp/lease-check.out 2>/tmp/lease-check.err; check=$?`,
        'wait $first; first=$?; wait $second; second=$?',
        'echo "$first $second $check"',
      ].join('\n'),
    );
    const read = (name: string) => sh(`cat /tmp/${name}`);
    const [firstOut, firstErr, secondOut, secondErr, checkOut, checkErr] = await Promise.all([
      read('lease-1.out'),
      read('lease-1.err'),
      read('lease-2.out'),
      read('lease-2.err'),
      read('lease-check.out'),
      read('lease-check.err'),
    ]);
    expect(codes, [firstOut, firstErr, secondOut, secondErr, checkOut, checkErr].join('\n')).toBe('65 65 65');
    const unsafe = `lease store s3://${LEASE_BUCKET}/leases/ at ${escapeRegExp(endpoint)} ignores conditional writes: a second PUT of leases/${LEASE_CHECK_FOLDER}/[0-9a-f]{16} with If-None-Match: \\* succeeded where it must fail with 412 PreconditionFailed, so two daemons could both run a tick; use a store that honours conditional writes \\(AWS S3 does\\) for lease\\.bucket, or remove lease: from the daemon file and run a single daemon`;
    // Each daemon: that one line on stderr, nothing on stdout (it never scheduled a job nor opened its port).
    expect([firstOut, secondOut]).toEqual(['', '']);
    expect(firstErr).toMatch(new RegExp(`^halyard: ${unsafe}$`));
    expect(secondErr).toMatch(new RegExp(`^halyard: ${unsafe}$`));
    // --check: the file is fine, its lease store is not.
    expect(checkErr).toBe('');
    const checkLines = checkOut.split('\n');
    expect(checkLines[0]).toBe(`${file}: unsafe lease store, 1 job`);
    expect(checkLines.at(-1)).toMatch(new RegExp(`^  ${unsafe}$`));
    // Every check deleted its probe key; no lease was ever taken.
    expect(await s3rver.keys(LEASE_BUCKET)).toEqual([]);

    // The service (no lease) went on throughout.
    expect(await sh('systemctl show -p MainPID --value halyard-daemon')).toBe(pid);
    expect(await healthStatus()).toBe('200');
  }, busyBudget(9));

  steps.step('the role with that lease store: the restart handler fails the apply (the unit is Type=notify), the service stays down with 65; the good file brings it back', async () => {
    const endpoint = `http://127.0.0.1:${s3rverTunnel.remotePort}`;
    const refused = await apply(
      varsFile([tick], { config: { aws: { region: 'us-east-1', endpoint }, cloudwatch: false, lease: { bucket: LEASE_BUCKET } }, vars: { halyard_daemon_environment: s3rverEnvironment() } }),
    );
    expect(refused.run.exitCode, refused.run.stderr).not.toBe(0);
    const failed = refused.host.tasks.filter((task) => task.status === 'failed');
    expect(failed.map((task) => task.name), JSON.stringify(refused.host, null, 2)).toEqual(['handler: restart halyard-daemon']);
    expect(failed[0]?.error).toContain('halyard-daemon.service');
    expect(await sh('systemctl is-active halyard-daemon || true; systemctl show -p ExecMainStatus --value halyard-daemon')).toBe('failed\n65');
    // RestartPreventExitStatus=65: systemd does not retry a file the daemon refuses.
    expect(await sh('systemctl show -p NRestarts --value halyard-daemon')).toBe('0');
    const journal = await sh('journalctl -u halyard-daemon --no-pager -n 20 -o cat');
    expect(journal).toContain(`halyard: lease store s3://${LEASE_BUCKET}/leases/ at ${endpoint} ignores conditional writes`);
    expect(await s3rver.keys(LEASE_BUCKET)).toEqual([]);

    // The previous file again: the apply restarts the service and is green only once it runs.
    const restored = await apply(s3rverVars);
    expect(restored.run.exitCode, restored.run.stderr).toBe(0);
    expect(await sh('systemctl is-active halyard-daemon')).toBe('active');
    expect(await healthStatus()).toBe('200');
    // Budget: 14.0 s in a fresh-clone CI run with every lane busy (Dec 6), not yet under ci-under-load.sh.
  }, busyBudget(14));
});

interface Health {
  ok: boolean;
  jobs: Record<string, { ok: boolean; lastResult?: string; runs: { success: number; failure: number }; summary?: unknown } | undefined>;
  publishing?: Record<string, unknown>;
}

// A line of the daemon's JSON log.
interface DaemonEvent {
  level: string;
  event: string;
  job?: string;
  publishTo?: string[];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
