import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labExec } from '../../src/lab/index.js';
import { fleetInventory, freshKnownHosts, runCli, type CliRun } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { busyBudget } from '../support/budget.js';

const GRAFANA_PASSWORD = 'gr4fana-S3cret-value';
const POSTGRES_PASSWORD = 'pg-$(touch /tmp/pwned)-S3cret';
const DIR = '/opt/observability';
const CONFIGS = ['docker-compose.yml', 'otel-collector-config.yml', 'tempo-config.yml', 'loki-config.yml', 'mimir-config.yml', 'nginx.conf'];

// State of a path as the host sees it: sha256, owner:group and mode.
async function pathState(container: string, path: string): Promise<string> {
  const result = await labExec(container, `stat -c '%u:%g %a' ${path} && (sha256sum ${path} 2>/dev/null | cut -c1-64 || true)`);
  return result.stdout.trim();
}

function expectNoSecrets(run: CliRun): void {
  for (const secret of [GRAFANA_PASSWORD, POSTGRES_PASSWORD]) {
    expect(run.stdout).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
  }
}

describe('playbooks/examples/stack-files.ts on lab hosts', () => {
  let fleet: TestFleet;
  let inventory: string;
  let knownHosts: string;
  const apply = (...extra: string[]) =>
    runCli(['apply', 'playbooks/examples/stack-files.ts', '-i', inventory, '--known-hosts', knownHosts, '--json', ...extra]);

  beforeAll(async () => {
    fleet = await startTestFleet({ count: 2, prefix: 'stack' });
    inventory = fleetInventory(fleet, { grafana_password: GRAFANA_PASSWORD, postgres_password: POSTGRES_PASSWORD });
    knownHosts = freshKnownHosts();
  });
  afterAll(() => fleet?.stop());

  it('converges, reruns with changed=0 and one exec per host, repairs drift, and --check/--diff leak nothing', async () => {
    const first = await apply();
    expect(first.exitCode, first.stderr).toBe(0);
    expectNoSecrets(first);
    for (const host of fleet.hosts) {
      const result = first.json?.hosts[host.name];
      expect(result?.failed, JSON.stringify(result)).toBe(0);
      expect(result?.changed).toBeGreaterThan(0);
    }

    const [one] = fleet.hosts;
    if (!one) throw new Error('no host');
    const env = await labExec(one.container, `cat ${DIR}/.env; stat -c '%U:%G %a' ${DIR}/.env`);
    expect(env.stdout).toBe(`GF_SECURITY_ADMIN_PASSWORD=${GRAFANA_PASSWORD}\nPOSTGRES_PASSWORD=${POSTGRES_PASSWORD}\nroot:root 600\n`);
    const dirs = await labExec(one.container, `cd ${DIR} && stat -c '%n %u:%g %a' . loki-data mimir-data tempo-data grafana-data`);
    expect(dirs.stdout).toBe('. 0:0 755\nloki-data 10001:10001 750\nmimir-data 10001:10001 750\ntempo-data 10001:10001 750\ngrafana-data 472:472 750\n');
    for (const config of CONFIGS) expect(await pathState(one.container, `${DIR}/${config}`)).toMatch(/^0:0 644\n[0-9a-f]{64}$/);
    expect((await labExec(one.container, 'test -e /tmp/pwned; echo $?')).stdout.trim()).toBe('1');

    const second = await apply();
    expect(second.exitCode, second.stderr).toBe(0);
    for (const host of fleet.hosts) {
      expect(second.json?.hosts[host.name]).toMatchObject({ changed: 0, failed: 0, execs: 1, unreachable: false });
    }

    // Drift made by hand: content, owner, mode, a missing file, a removed package.
    await labExec(
      one.container,
      `echo '# edited by hand' >> ${DIR}/loki-config.yml && chown root ${DIR}/loki-data && chmod 0644 ${DIR}/.env ` +
        `&& rm ${DIR}/nginx.conf && DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq curl >/dev/null 2>&1 && ! command -v curl`,
    );
    const watched = [`${DIR}/loki-config.yml`, `${DIR}/loki-data`, `${DIR}/.env`];
    const before = await Promise.all(watched.map((path) => pathState(one.container, path)));

    const check = await apply('--check', '--diff');
    expect(check.exitCode, check.stderr).toBe(2);
    expectNoSecrets(check);
    const checked = check.json?.hosts[one.name];
    expect(checked?.changed).toBeGreaterThanOrEqual(5);
    expect(check.json?.hosts[fleet.hosts[1]?.name ?? '']?.changed).toBe(0);
    const diff = checked?.tasks.find((task) => task.name.includes('loki-config.yml'))?.diff?.text ?? '';
    expect(diff).toContain('-# edited by hand');
    expect(await Promise.all(watched.map((path) => pathState(one.container, path)))).toEqual(before);
    expect((await labExec(one.container, `test -e ${DIR}/nginx.conf; echo $?`)).stdout.trim()).toBe('1');

    const plainDiff = await runCli(['apply', 'playbooks/examples/stack-files.ts', '-i', inventory, '--known-hosts', knownHosts, '--check', '--diff']);
    expect(plainDiff.exitCode).toBe(2);
    expect(plainDiff.stdout).toContain('+++ /opt/observability/nginx.conf');
    expectNoSecrets(plainDiff);

    const third = await apply();
    expect(third.exitCode, third.stderr).toBe(0);
    expect(third.json?.hosts[one.name]?.changed).toBeGreaterThanOrEqual(5);
    expect(await pathState(one.container, `${DIR}/loki-data`)).toBe('10001:10001 750');
    expect((await labExec(one.container, `stat -c '%a' ${DIR}/.env; command -v curl`)).stdout).toBe('600\n/usr/bin/curl\n');

    const fourth = await apply();
    for (const host of fleet.hosts) expect(fourth.json?.hosts[host.name]).toMatchObject({ changed: 0, execs: 1 });
  }, busyBudget(60));
});
