// The whole guide on a fresh EC2-like host (systemd, no Docker yet): playbooks/site.ts installs
// Docker through apt, lays everything down, starts the stack and waits for health.
// No image registry is reachable here, so (said plainly) Grafana, Loki, Tempo, Mimir and the
// collector run as small stand-in images serving the same health endpoints, and nginx, Postgres
// and node-exporter run for real from Debian's packages; all are built locally
// (src/lab/stack-images.ts), shipped with `docker save | docker load` and passed as image overrides.
// Users get the real upstream image tags by default.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { labExec } from '../../src/lab/index.js';
import { fleetInventory, freshKnownHosts, runCli } from '../support/cli.js';
import { ensureStackTestImages } from '../../src/lab/stack-images.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';

const GRAFANA_PASSWORD = 'site-grafana-S3cret';
const POSTGRES_PASSWORD = 'site-postgres-S3cret';
const DIR = '/opt/observability';
const PROJECT = 'observability-stack';

// Start time of each service's container, to prove which ones restarted.
async function startTimes(container: string): Promise<Record<string, string>> {
  const result = await labExec(
    container,
    `docker ps -a --filter label=com.docker.compose.project=${PROJECT} --format '{{.Label "com.docker.compose.service"}}' | ` +
      `while read s; do printf '%s %s\\n' "$s" "$(docker inspect -f '{{.State.StartedAt}}' "$(docker ps -aq --filter label=com.docker.compose.service=$s --filter label=com.docker.compose.project=${PROJECT})")"; done`,
  );
  return Object.fromEntries(
    result.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
}

describe('playbooks/site.ts on a fresh systemd lab host', () => {
  let fleet: TestFleet;
  let inventory: string;
  let knownHosts: string;
  let varsFile: string;
  const site = (...extra: string[]) =>
    runCli(['apply', 'playbooks/site.ts', '-i', inventory, '--known-hosts', knownHosts, '-e', `@${varsFile}`, '--json', ...extra]);

  beforeAll(async () => {
    const images = await ensureStackTestImages();
    fleet = await startTestFleet({ count: 1, systemd: true, prefix: 'site' });
    inventory = fleetInventory(fleet, { grafana_admin_password: GRAFANA_PASSWORD, postgres_password: POSTGRES_PASSWORD });
    knownHosts = freshKnownHosts();
    varsFile = join(inventory, '..', 'vars.yml');
    writeFileSync(varsFile, stringify({ images, ship_images: Object.keys(images), health_timeout_seconds: 120 }));
  });
  afterAll(() => fleet?.stop());

  it('installs Docker, starts the stack healthy, reruns in one exec, and repairs drift restarting only what changed', async () => {
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

    // Drift by hand: an edited Loki config, loki-data chowned to root, a stopped container, a removed dashboard.
    const before = await startTimes(host.container);
    const dashboards = (await labExec(host.container, `ls ${DIR}/grafana/dashboards`)).stdout.trim().split('\n');
    const removed = dashboards[0];
    expect(removed).toBeTruthy();
    await labExec(
      host.container,
      `echo '# edited by hand' >> ${DIR}/loki-config.yml && chown root:root ${DIR}/loki-data && ` +
        `docker stop $(docker ps -q --filter label=com.docker.compose.service=node-exporter) >/dev/null && rm ${DIR}/grafana/dashboards/${removed}`,
    );

    const check = await site('--check');
    expect(check.exitCode).toBe(2);

    const third = await site();
    expect(third.exitCode, third.stderr).toBe(0);
    const after = await startTimes(host.container);
    expect(after.loki).not.toBe(before.loki);
    expect(after.grafana).not.toBe(before.grafana);
    expect(after['node-exporter']).not.toBe(before['node-exporter']);
    for (const untouched of ['tempo', 'mimir', 'otel-collector', 'nginx', 'postgres']) {
      if (before[untouched] !== undefined) expect(after[untouched], untouched).toBe(before[untouched]);
    }
    expect((await labExec(host.container, `stat -c '%u:%g' ${DIR}/loki-data; test -f ${DIR}/grafana/dashboards/${removed} && echo back`)).stdout).toBe('10001:10001\nback\n');

    const fourth = await site();
    expect(fourth.json?.hosts[host.name]).toMatchObject({ changed: 0, execs: 1 });
  });
});
