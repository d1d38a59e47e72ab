// The whole guide on a fresh EC2-like host (systemd, Debian's Docker packages preinstalled in a
// host image variant, not configured or started for halyard): playbooks/site.ts converges Docker,
// lays everything down, starts the stack and waits for health. Installing Docker from the packages
// is docker-role.e2e.test.ts's job; here it would only time dpkg (issue 9).
// No image registry is reachable here, so (said plainly) Grafana, Loki, Tempo, Mimir and the
// collector run as small stand-in images serving the same health endpoints, and nginx, Postgres
// and node-exporter run for real from Debian's packages; all are built locally
// (src/lab/stack-images.ts), shipped with `docker save | docker load` and passed as image overrides.
// Users get the real upstream image tags by default.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { stringify } from 'yaml';
import { Secret } from '../../src/core/secret.js';
import { labExec } from '../../src/lab/index.js';
import { useAwsEmulator } from '../support/aws-emulator/per-file.js';
import { emulatorEnvironment } from '../support/aws-emulator/daemon-env.js';
import { fleetInventory, freshKnownHosts, runCli, varsFileText } from '../support/cli.js';
import { reverseTunnel, type ReverseTunnel } from '../support/reverse-tunnel.js';
import { ensureStackTestImages } from '../../src/lab/stack-images.js';
import { stepChain } from '../support/steps.js';
import { SITE_LAB_PACKAGES, startTestFleet, type TestFleet } from '../support/lab.js';
import { busyBudget } from '../support/budget.js';

const GRAFANA_PASSWORD = 'site-grafana-S3cret';
const POSTGRES_PASSWORD = 'site-postgres-S3cret';
const DIR = '/opt/observability';
const PROJECT = 'observability-stack';

// Start time of each service's container, to prove which ones restarted (two docker calls, not
// two per service: each costs these hosts about 80 ms of CPU).
async function startTimes(container: string): Promise<Record<string, string>> {
  const result = await labExec(
    container,
    `docker inspect -f '{{index .Config.Labels "com.docker.compose.service"}} {{.State.StartedAt}}' $(docker ps -aq --filter label=com.docker.compose.project=${PROJECT})`,
  );
  return Object.fromEntries(
    result.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
}

// What a run changed on the host, one "task: change" line each, in run order. Waits for health
// endpoints change nothing on the host (and whether a just-restarted stand-in answers at the first
// probe is timing, which a check run cannot know): they are left out.
function hostChanges(run: Awaited<ReturnType<typeof runCli>>): string[] {
  const tasks = Object.values(run.json?.hosts ?? {}).flatMap((host) => host.tasks);
  return tasks
    .filter((task) => task.status === 'changed')
    .flatMap((task) => (task.changes ?? []).filter((change) => !change.startsWith('wait for ')).map((change) => `${task.name}: ${change}`));
}

// Hand drifts of a converged stack, one of each kind the role repairs: every config file, .env,
// docker-compose.yml, a data directory's owner, a stopped container. `changes` are what the apply
// must report for it (and --check predict); `restarts` the services whose containers it restarts.
const FILE_EDIT = (path: string) => `echo '# edited by hand' >> ${DIR}/${path}`;
const contentChange = (path: string) => new RegExp(`^file ${DIR}/${path.replace(/[.]/g, '\\.')}: content of ${DIR}/${path.replace(/[.]/g, '\\.')} differs \\(`);
// The stack's restart handlers notified together run as one (`together`): one compose restart names every service.
const restartChange = (service: string) => new RegExp(`^handler: (restart [a-z-]+, )*restart ${service}(, restart [a-z-]+)*: restart ([a-z-]+, )*${service}(, [a-z-]+)* of project ${PROJECT}$`);
const HAND_DRIFTS: { what: string; shell: string; changes: RegExp[]; restarts: string[] }[] = [
  ...(
    [
      ['otel-collector-config.yml', 'otel-collector'],
      ['tempo-config.yml', 'tempo'],
      ['loki-config.yml', 'loki'],
      ['mimir-config.yml', 'mimir'],
      ['nginx.conf', 'nginx'],
    ] as const
  ).map(([path, service]) => ({ what: `${path} edited`, shell: FILE_EDIT(path), changes: [contentChange(path), restartChange(service)], restarts: [service] })),
  {
    what: "Grafana's data sources, dashboard provider and alert rules edited",
    shell: ['datasources/datasources.yml', 'dashboards/dashboards.yml', 'alerting/rules.yml'].map((path) => FILE_EDIT(`grafana/provisioning/${path}`)).join(' && '),
    changes: [
      contentChange('grafana/provisioning/datasources/datasources.yml'),
      contentChange('grafana/provisioning/dashboards/dashboards.yml'),
      contentChange('grafana/provisioning/alerting/rules.yml'),
      restartChange('grafana'),
    ],
    restarts: ['grafana'],
  },
  {
    what: 'a dashboard removed',
    shell: `rm ${DIR}/grafana/dashboards/logs.json`,
    changes: [new RegExp(`^file ${DIR}/grafana/dashboards/logs\\.json: create `), restartChange('grafana')],
    restarts: ['grafana'],
  },
  {
    // On-disk hashes would say grafana's config changed; the apply restores the file first.
    what: "docker-compose.yml edited (a Grafana setting): no service recreated",
    shell: `sed -i 's/GF_USERS_ALLOW_SIGN_UP: "false"/GF_USERS_ALLOW_SIGN_UP: "true"/' ${DIR}/docker-compose.yml && grep -q 'GF_USERS_ALLOW_SIGN_UP: "true"' ${DIR}/docker-compose.yml`,
    changes: [contentChange('docker-compose.yml')],
    restarts: [],
  },
  {
    // Issue 15: --check used to predict "postgres: config changed" here; the apply recreates nothing.
    what: '.env edited (the Postgres password): no service recreated',
    shell: `sed -i "s/^POSTGRES_PASSWORD=.*/POSTGRES_PASSWORD='typed-by-hand'/" ${DIR}/.env && grep -q typed-by-hand ${DIR}/.env`,
    changes: [new RegExp(`^file ${DIR}/\\.env: content of ${DIR}/\\.env differs \\(secret content\\)$`)],
    restarts: [],
  },
  {
    what: 'loki-data chowned to root',
    shell: `chown root:root ${DIR}/loki-data`,
    changes: [new RegExp(`^directory ${DIR}/loki-data: owner root -> 10001$`), new RegExp(`^directory ${DIR}/loki-data: group root -> 10001$`)],
    restarts: [],
  },
  {
    what: 'node-exporter stopped',
    shell: 'docker stop $(docker ps -q --filter label=com.docker.compose.service=node-exporter) >/dev/null',
    changes: [new RegExp(`^compose project ${PROJECT}: node-exporter: \\S+ is exited \\(Exited \\(\\d+\\)\\)$`)],
    restarts: ['node-exporter'],
  },
];

describe('playbooks/site.ts on a fresh systemd lab host', () => {
  const steps = stepChain();
  const aws = useAwsEmulator();
  let fleet: TestFleet;
  let tunnel: ReverseTunnel | undefined;
  let inventory: string;
  let knownHosts: string;
  let varsFile: string;
  let images: Record<string, string>;
  const site = async (...extra: string[]) => {
    const run = await runCli(['apply', 'playbooks/site.ts', '-i', inventory, '--known-hosts', knownHosts, '-e', `@${varsFile}`, '--json', ...extra]);
    const tasks = Object.values(run.json?.hosts ?? {}).flatMap((host) => host.tasks);
    const slowest = [...tasks].sort((a, b) => b.durationMs - a.durationMs).slice(0, 4);
    console.log(`[site e2e] apply ${extra.join(' ')}: ${((run.json?.durationMs ?? 0) / 1000).toFixed(1)} s; slowest: ${slowest.map((t) => `${t.name} ${(t.durationMs / 1000).toFixed(1)} s`).join('; ')}`);
    return run;
  };

  beforeAll(async () => {
    images = await ensureStackTestImages();
    fleet = await startTestFleet({ count: 1, systemd: true, prefix: 'site', packages: SITE_LAB_PACKAGES });
    inventory = fleetInventory(fleet, { grafana_admin_password: GRAFANA_PASSWORD, postgres_password: POSTGRES_PASSWORD });
    knownHosts = freshKnownHosts();
    varsFile = join(inventory, '..', 'vars.yml');
    writeFileSync(varsFile, stringify({ images, ship_images: Object.keys(images), health_timeout_seconds: 120 }));
  });
  afterAll(async () => {
    tunnel?.close();
    await fleet?.stop();
  });

  steps.step('converges Docker, starts the stack healthy, reruns in one exec, and repairs drift restarting only what changed', async () => {
    const host = fleet.hosts[0];
    if (!host) throw new Error('no host');

    const first = await site();
    const firstHost = first.json?.hosts[host.name];
    expect(first.exitCode, `${first.stderr}\n${JSON.stringify(firstHost?.tasks.filter((t) => t.status === 'failed'))}`).toBe(0);
    expect(firstHost?.changed).toBeGreaterThan(20);
    // Containers created by the first `up` already read the new files: no service restart follows,
    // and Docker's restart for daemon.json ran before the stack (flushHandlers in roles/docker).
    const firstHandlers = firstHost?.tasks.filter((task) => task.handler).map((task) => task.name) ?? [];
    expect(firstHandlers).toEqual(['handler: restart docker']);
    const flushAt = firstHost?.tasks.findIndex((task) => task.name === 'flush handlers') ?? -1;
    expect(firstHost?.tasks[flushAt + 1]?.name).toBe('handler: restart docker');
    for (const secret of [GRAFANA_PASSWORD, POSTGRES_PASSWORD]) expect(first.stdout + first.stderr).not.toContain(secret);

    const state = await labExec(
      host.container,
      `systemctl is-active docker && id -nG halyard | tr ' ' '\\n' | grep -x docker && ` +
        `stat -c '%n %u:%g %a' ${DIR}/loki-data ${DIR}/grafana-data ${DIR}/.env && ` +
        `curl -fsS http://127.0.0.1:3100/ready && curl -fsS http://127.0.0.1:3000/api/health && curl -fsSk https://127.0.0.1/grafana/api/health`,
    );
    expect(state.exitCode, state.stderr).toBe(0);
    expect(state.stdout).toContain(`${DIR}/loki-data 10001:10001 750`);
    expect(state.stdout).toContain(`${DIR}/grafana-data 472:472 750`);
    expect(state.stdout).toContain(`${DIR}/.env 0:0 600`);

    const second = await site();
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.json?.hosts[host.name]).toMatchObject({ changed: 0, failed: 0, execs: 1 });

    // Drift by hand, the whole table at once (one check and one apply, to keep this step short).
    const before = await startTimes(host.container);
    const drifted = await labExec(host.container, HAND_DRIFTS.map((drift) => `(${drift.shell})`).join(' && '));
    expect(drifted.exitCode, drifted.stderr).toBe(0);

    const check = await site('--check', '--diff');
    expect(check.exitCode, check.stderr).toBe(2);
    expect(check.json?.hosts[host.name]?.failed).toBe(0);
    for (const secret of [POSTGRES_PASSWORD, 'typed-by-hand']) expect(check.stdout + check.stderr).not.toContain(secret);

    const third = await site();
    expect(third.exitCode, third.stderr).toBe(0);
    const applied = hostChanges(third);
    // Check mode predicted exactly what the apply did: the same changes, the same restarts.
    expect(hostChanges(check)).toEqual(applied);
    // Each drift was repaired as it should be, and nothing else changed.
    for (const drift of HAND_DRIFTS) for (const change of drift.changes) expect(applied.some((line) => change.test(line)), `${drift.what}: ${change}\n${applied.join('\n')}`).toBe(true);
    const unexplained = applied.filter((line) => !HAND_DRIFTS.some((drift) => drift.changes.some((change) => change.test(line))));
    expect(unexplained).toEqual([]);
    // The six restart handlers ran as one: one compose restart, then one wait for their health.
    const restartHandlers = ['loki', 'tempo', 'mimir', 'otel-collector', 'grafana', 'nginx'].map((service) => `restart ${service}`).join(', ');
    const handlerSteps = Object.values(third.json?.hosts ?? {}).flatMap((run) => run.tasks).filter((task) => task.handler);
    expect(handlerSteps.map((task) => task.name)).toEqual([`handler: ${restartHandlers}`, `handler: ${restartHandlers}`]);
    // Restarted: the services whose files drifted, and the stopped one; not Postgres (.env put back) nor the app.
    const after = await startTimes(host.container);
    const restarted = new Set(HAND_DRIFTS.flatMap((drift) => drift.restarts));
    for (const service of Object.keys(before)) {
      if (restarted.has(service)) expect(after[service], `${service} restarted`).not.toBe(before[service]);
      else expect(after[service], `${service} untouched`).toBe(before[service]);
    }
    expect(Object.keys(before).sort()).toEqual(['app', 'grafana', 'loki', 'mimir', 'nginx', 'node-exporter', 'otel-collector', 'postgres', 'tempo']);
    expect((await labExec(host.container, `stat -c '%u:%g' ${DIR}/loki-data; test -f ${DIR}/grafana/dashboards/logs.json && echo back`)).stdout).toBe('10001:10001\nback\n');

    const fourth = await site();
    expect(fourth.json?.hosts[host.name]).toMatchObject({ changed: 0, execs: 1 });
  }, busyBudget(260));

  // A new release of one service: in the lab (no registry) its stand-in tagged anew on the host, as a
  // pulled image would be; the role then no longer ships that service's image. The vars file keeps
  // the new tag, so the steps after this one run with it.
  steps.step('bumping one image tag recreates that service alone, as --check predicted', async () => {
    const host = fleet.hosts[0];
    if (!host) throw new Error('no host');
    const current = images.app;
    if (!current) throw new Error('no app stand-in image');
    const bumped = `${current.slice(0, current.lastIndexOf(':'))}:bumped-release`;
    const tagged = await labExec(host.container, `docker tag ${current} ${bumped}`);
    expect(tagged.exitCode, tagged.stderr).toBe(0);
    images = { ...images, app: bumped };
    writeFileSync(varsFile, stringify({ images, ship_images: Object.keys(images).filter((service) => service !== 'app'), health_timeout_seconds: 120 }));
    const before = await startTimes(host.container);

    const check = await site('--check', '--diff');
    expect(check.exitCode, check.stderr).toBe(2);
    const apply = await site();
    expect(apply.exitCode, apply.stderr).toBe(0);
    expect(hostChanges(check)).toEqual(hostChanges(apply));
    expect(hostChanges(apply)).toEqual([
      expect.stringMatching(new RegExp(`^file ${DIR}/docker-compose\\.yml: content of ${DIR}/docker-compose\\.yml differs \\(sha256 `)),
      expect.stringMatching(new RegExp(`^compose project ${PROJECT}: app: config changed since \\S+ was created$`)),
    ]);

    // Only the app's container is new (nginx depends on it, the app on Postgres and the collector: none restarted).
    const after = await startTimes(host.container);
    for (const service of Object.keys(before)) {
      if (service === 'app') expect(after.app, 'app recreated').not.toBe(before.app);
      else expect(after[service], `${service} untouched`).toBe(before[service]);
    }
    const running = await labExec(host.container, `docker inspect --format '{{.Config.Image}}' $(docker ps -q --filter label=com.docker.compose.service=app)`);
    expect(running.stdout.trim()).toBe(bumped);
    expect((await site()).json?.hosts[host.name]).toMatchObject({ changed: 0, execs: 1 });
  }, busyBudget(60));

  steps.step('with halyard_daemon_config, the same host runs the daemon: its stack probed healthy, Postgres and Grafana data backed up to S3 on schedule, restorable', async () => {
    const host = fleet.hosts[0]!;
    tunnel = await reverseTunnel({ port: host.port, user: fleet.user, keyFile: fleet.keyFile, targetPort: Number(new URL(aws.url).port) });
    const endpoint = `http://127.0.0.1:${tunnel.remotePort}`;
    const bucket = 'hy-site-backups';
    aws.createBucket(bucket);
    const psql = (sql: string) =>
      labExec(host.container, `docker exec $(docker ps -q --filter label=com.docker.compose.service=postgres) psql -U app -d app -tA -c ${JSON.stringify(sql)}`);
    const seeded = await psql('CREATE TABLE IF NOT EXISTS notes (id int PRIMARY KEY, body text); INSERT INTO notes SELECT g, md5(g::text) FROM generate_series(1, 500) g ON CONFLICT DO NOTHING; SELECT count(*) FROM notes');
    expect(seeded.stdout.trim().split('\n').at(-1), seeded.stderr).toBe('500');

    // The daemon reaches its own host over SSH as the deploy user (the lab's key, a secret file) and
    // AWS through the tunnel; "hyd", because the lab's deploy user is already called halyard.
    const selfInventory = stringify({ all: { hosts: { self: { ansible_host: '127.0.0.1', ansible_port: 22, ansible_user: fleet.user, ansible_ssh_private_key_file: '/etc/halyard/deploy_key', ansible_become: true } } } });
    const backupFile = stringify({
      inventory: 'inventory.yml',
      bucket,
      region: aws.region,
      endpoint,
      volumes: [
        { name: 'grafana', hosts: 'all', kind: 'dir', path: `${DIR}/grafana-data` },
        { name: 'appdb', hosts: 'all', kind: 'postgres', database: 'app', user: 'app', container: 'postgres' },
      ],
    });
    const daemonVars = join(inventory, '..', 'daemon-vars.yml');
    writeFileSync(
      daemonVars,
      varsFileText({
        halyard_daemon_user: 'hyd',
        halyard_daemon_config: {
          aws: { region: aws.region, endpoint },
          cloudwatch_namespace: 'halyard-site',
          ssh: { known_hosts: '/var/lib/halyard/known_hosts' },
          jobs: [
            { name: 'probes', kind: 'probe', schedule: '*/5 * * * * *', inventory: 'inventory.yml', install_dir: DIR, health_urls: ['http://127.0.0.1:3000/api/health', 'http://127.0.0.1:3100/ready'] },
            { name: 'backups', kind: 'backup', schedule: '*/20 * * * * *', backup_file: 'backup.yml' },
          ],
        },
        halyard_daemon_files: { 'inventory.yml': selfInventory, 'backup.yml': backupFile, deploy_key: new Secret(readFileSync(fleet.keyFile, 'utf8'), 'deploy_key') },
        halyard_daemon_environment: emulatorEnvironment(aws),
      }),
    );

    const withDaemon = await site('-e', `@${daemonVars}`);
    const result = withDaemon.json?.hosts[host.name];
    expect(withDaemon.exitCode, `${withDaemon.stderr}\n${JSON.stringify(result?.tasks.filter((t) => t.status === 'failed'))}`).toBe(0);
    // Only the daemon's tasks changed, and what makes the stack watch it: the collector's scrape
    // job (its config, and compose recreating it), the halyard dashboard and alert rules.
    const changed = result?.tasks.filter((task) => task.status === 'changed').map((task) => task.name) ?? [];
    expect(
      changed.filter((name) => !/halyard|hyd|\/opt\/halyard|\/var\/lib\/halyard|otel-collector-config\.yml|docker-compose\.yml|^compose |alerting|^handler: /.test(name)),
      changed.join('\n'),
    ).toEqual([]);
    expect(withDaemon.stdout + withDaemon.stderr).not.toContain(aws.credentials.secretAccessKey);
    expect((await labExec(host.container, 'stat -c %a /etc/halyard/deploy_key; systemctl is-active halyard-daemon')).stdout).toBe('640\nactive\n');
    // The daemon started by its task may already run a job waiting for the host lock this apply
    // holds; the apply's restart must not wait out that job's grace (once: the 60 s TimeoutStopSec
    // and a SIGKILL). A stopping daemon ends lock waits at once.
    const restart = result?.tasks.find((task) => task.name === 'handler: restart halyard-daemon');
    expect(restart?.durationMs, JSON.stringify(restart)).toBeLessThan(20_000);
    expect((await labExec(host.container, 'journalctl -u halyard-daemon --no-pager -o cat | grep -c "State .stop-sigterm. timed out" || true')).stdout.trim()).toBe('0');

    // Both volumes backed up by the daemon's schedule (manifests written last), probes all healthy.
    const deadline = Date.now() + 90_000;
    const manifests = () => aws.s3.keys(bucket, 'halyard-backups/self/').filter((key) => key.endsWith('/manifest.json'));
    while (Date.now() < deadline && new Set(manifests().map((key) => key.split('/')[2])).size < 2) await new Promise((resolve) => setTimeout(resolve, 1000));
    const journal = async () => (await labExec(host.container, 'journalctl -u halyard-daemon --no-pager -n 30 -o cat')).stdout;
    expect(new Set(manifests().map((key) => key.split('/')[2])), await journal()).toEqual(new Set(['grafana', 'appdb']));
    const health = JSON.parse((await labExec(host.container, 'curl -s http://127.0.0.1:9464/healthz')).stdout) as { jobs: Record<string, { lastResult: string; summary?: Record<string, unknown> }> };
    expect(health.jobs.probes, await journal()).toMatchObject({ lastResult: 'success', summary: { hosts: 1, failingHosts: 0 } });
    const points = aws.state.metricData.filter((datum) => datum.Namespace === 'halyard-site');
    expect(points.filter((datum) => datum.MetricName === 'BackupHeartbeat').length).toBeGreaterThanOrEqual(2);
    expect(points.find((datum) => datum.MetricName === 'DockerDaemonUp')?.Value).toBe(1);

    // The stack can watch its own daemon: from the collector's container (a busybox stand-in here,
    // so no Mimir to query), host.docker.internal reaches the daemon's /metrics on the Docker bridge.
    const fromCollector = await labExec(
      host.container,
      `docker exec $(docker ps -q --filter label=com.docker.compose.service=otel-collector) /bin/busybox wget -qO- http://host.docker.internal:9464/metrics`,
    );
    expect(fromCollector.stdout, fromCollector.stderr + (await journal())).toContain('halyard_job_runs_total{job="backups",result="success"}');

    // From the controller: the daemon's backups verify, and its Postgres dump restores a dropped table.
    const localBackup = join(inventory, '..', 'backup.yml');
    writeFileSync(localBackup, stringify({ inventory, bucket, region: aws.region, endpoint: aws.url, volumes: [{ name: 'appdb', hosts: 'all', kind: 'postgres', database: 'app', user: 'app', container: 'postgres' }] }));
    const verify = await runCli(['backup', 'verify', '-c', localBackup, '--json']);
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, results: [{ ok: true }, { ok: true }] });
    expect((await psql('DROP TABLE notes')).exitCode).toBe(0);
    const restore = await runCli(['backup', 'restore', '-c', localBackup, '--host', host.name, '--volume', 'appdb', '--from-host', 'self', '--known-hosts', knownHosts]);
    expect(restore.exitCode, `${restore.stdout}\n${restore.stderr}`).toBe(0);
    expect((await psql("SELECT count(*), md5(string_agg(body, ',' ORDER BY id)) = md5(string_agg(md5(id::text), ',' ORDER BY id)) FROM notes")).stdout.trim()).toBe('500|t');
  }, busyBudget(60));
});
