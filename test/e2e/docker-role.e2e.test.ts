import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { HostResult, TaskResult } from '../../src/engine/results.js';
import { dockerFact, parseDockerInfo } from '../../src/facts/docker.js';
import { labExec } from '../../src/lab/index.js';
import { localImageId } from '../../src/resources/docker-image.js';
import { daemonJson, dockerVars } from '../../roles/docker/index.js';
import { fleetInventory, freshKnownHosts, runCli, type CliRun } from '../support/cli.js';
import { stepChain } from '../support/steps.js';
import { reimportImage, startTestFleet, type TestFleet } from '../support/lab.js';
import { APP_DIR, APP_PROJECT, BROKEN_LOG_LINE, MOTD_PATH, WEB_PORT } from './playbooks/docker-data.js';
import { busyBudget } from '../support/budget.js';

const PLAYBOOK = 'test/e2e/playbooks/docker.ts';
const IMAGE = 'halyard-test-tiny:e2e';
const BUSYBOX = '/bin/busybox';

// busybox-static from Debian: one static binary, so an image of it is ~2 MB and needs no registry.
function ensureBusybox(): void {
  const installed = (() => {
    try {
      return execFileSync('dpkg-query', ['-W', '-f=${Status}', 'busybox-static'], { encoding: 'utf8' }).includes('install ok installed');
    } catch {
      return false;
    }
  })();
  if (installed && existsSync(BUSYBOX)) return;
  execFileSync('apt-get', ['install', '-y', '-q', 'busybox-static'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: 'ignore', timeout: 300_000 });
}

// Builds IMAGE on the controller from busybox and an index page (`docker import`: a new image ID every time).
async function buildTinyImage(page: string): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'hy-tiny-'));
  try {
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'www'));
    copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
    for (const applet of ['sh', 'sleep', 'httpd', 'echo', 'cat']) symlinkSync('busybox', join(root, 'bin', applet));
    writeFileSync(join(root, 'www/index.html'), page);
    const tar = join(root, '..', `${root.split('/').pop()}.tar`);
    execFileSync('tar', ['-C', root, '-cf', tar, '.']);
    try {
      await reimportImage(IMAGE, () => execFileSync('docker', ['import', '-c', 'CMD ["/bin/sh"]', tar, IMAGE], { stdio: 'ignore', timeout: 120_000 }));
    } finally {
      rmSync(tar, { force: true });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return localImageId(IMAGE);
}

function task(host: HostResult, prefix: string): TaskResult | undefined {
  return host.tasks.find((entry) => entry.name.startsWith(prefix));
}

// Changed tasks; the health check is left out: whether it had to wait depends on how fast httpd starts.
function changedTasks(host: HostResult): TaskResult[] {
  return host.tasks.filter((entry) => entry.status === 'changed' && !entry.name.startsWith('http health'));
}

function changedNames(host: HostResult): string[] {
  return changedTasks(host).map((entry) => entry.name);
}

// What a run changed (or, in check mode, would change), line by line: check and apply must agree.
function changeLines(host: HostResult): string[] {
  return changedTasks(host).flatMap((entry) => (entry.changes ?? []).map((line) => `${entry.name}: ${line}`));
}

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

describe('roles/docker and the docker resources on a systemd lab host', () => {
  const steps = stepChain();
  let fleet: TestFleet;
  let container: string;
  let hostName: string;
  let inventory: string;
  let knownHosts: string;
  let imageId: string;

  beforeAll(async () => {
    ensureBusybox();
    imageId = await buildTinyImage('<h1>tiny v1</h1>\n');
    fleet = await startTestFleet({ count: 1, systemd: true, prefix: 'docker' });
    const [host] = fleet.hosts;
    if (!host) throw new Error('no host');
    container = host.container;
    hostName = host.name;
    inventory = fleetInventory(fleet, {});
    knownHosts = freshKnownHosts();
  });
  afterAll(async () => {
    await fleet?.stop();
    execFileSync('docker', ['rmi', '-f', IMAGE], { stdio: 'ignore' });
  });

  async function apply(vars: Record<string, string>, flags: string[] = []): Promise<{ run: CliRun; host: HostResult }> {
    const extra = Object.entries({ image_ref: IMAGE, ...vars }).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
    const run = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '--json', ...flags, ...extra]);
    const host = run.json?.hosts[hostName];
    if (!host) throw new Error(`no JSON result for ${hostName}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    return { run, host };
  }

  async function sh(script: string, user?: string): Promise<string> {
    const result = await labExec(container, script, user ? { user } : {});
    if (result.exitCode !== 0) throw new Error(`${script}: exit ${result.exitCode}\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  }

  const mainPid = async () => (await sh('systemctl show -p MainPID --value docker')).trim();
  const containerId = async (service: string) => (await sh(`docker ps -q --no-trunc --filter label=com.docker.compose.project=${APP_PROJECT} --filter label=com.docker.compose.service=${service}`)).trim();
  const containerName = async (service: string) => (await sh(`docker ps --format '{{.Names}}' --filter label=com.docker.compose.project=${APP_PROJECT} --filter label=com.docker.compose.service=${service}`)).trim();
  const web = async (path: string) => sh(`curl -fsS http://127.0.0.1:${WEB_PORT}${path}`);

  steps.step('installs Docker from Debian packages: daemon answers for the connection user, compose v1 found; rerun is one exec', async () => {
    const first = await apply({ stage: 'docker' });
    expect(first.run.exitCode, JSON.stringify(first.host, null, 2)).toBe(0);
    expect(first.host.failed).toBe(0);
    console.log(`[docker e2e] docker install (apt-get update + docker.io + docker-compose): ${((task(first.host, 'docker packages')?.durationMs ?? 0) / 1000).toFixed(1)} s; whole first run ${(first.run.json?.durationMs ?? 0) / 1000} s`);

    // The connection user (halyard) is in group docker: no sudo needed.
    expect((await sh(`docker info --format '{{.ServerVersion}}'`, 'halyard')).trim()).toMatch(/^\d+\.\d+/);
    expect(await sh('cat /etc/docker/daemon.json; stat -c %U:%G:%a /etc/docker/daemon.json')).toBe(
      `${daemonJson(dockerVars('halyard').parse({}))}root:root:644\n`,
    );
    const probe = await labExec(container, dockerFact.script);
    const info = parseDockerInfo(probe.stdout, probe.exitCode ?? 1);
    // docker-compose (v1) is found on PATH, not run: Debian 12's package puts it here.
    expect(info).toMatchObject({ cli: true, composeV1: '/usr/bin/docker-compose' });
    expect(info.composeV2).toBeUndefined();
    expect(info.serverVersion).toMatch(/^\d+\.\d+/);
    expect((await sh('systemctl is-enabled docker; systemctl is-active docker'))).toBe('enabled\nactive\n');

    const second = await apply({ stage: 'docker' });
    expect(second.host, JSON.stringify(second.host, null, 2)).toMatchObject({ changed: 0, failed: 0, execs: 1 });
  }, busyBudget(128));

  steps.step('restores a hand-edited daemon.json and restarts docker, and only then', async () => {
    const before = await mainPid();
    await sh(`printf '{"log-driver": "none"}\\n' > /etc/docker/daemon.json`);
    const third = await apply({ stage: 'docker' });
    expect(third.run.exitCode, JSON.stringify(third.host, null, 2)).toBe(0);
    expect(changedNames(third.host)).toEqual(['file /etc/docker/daemon.json', 'handler: restart docker']);
    const after = await mainPid();
    expect(after).not.toBe(before);
    expect(await sh('cat /etc/docker/daemon.json')).toContain('"max-size": "10m"');

    const fourth = await apply({ stage: 'docker' });
    expect(fourth.host).toMatchObject({ changed: 0, execs: 1 });
    expect(await mainPid()).toBe(after);
  }, busyBudget(20));

  steps.step('ships an image from the controller, starts a compose project with it, and reruns as one exec', async () => {
    const size = Number(execFileSync('docker', ['image', 'inspect', '--format', '{{.Size}}', IMAGE], { encoding: 'utf8' }).trim());
    const first = await apply({ stage: 'app' });
    expect(first.run.exitCode, JSON.stringify(first.host, null, 2)).toBe(0);
    expect(changedNames(first.host)).toEqual([
      `docker image ${IMAGE}`,
      `directory ${APP_DIR}`,
      `file ${MOTD_PATH}`,
      `file ${APP_DIR}/docker-compose.yml`,
      `compose project ${APP_PROJECT}`,
      'handler: restart web',
    ]);
    console.log(`[docker e2e] image ship of ${(size / 1e6).toFixed(1)} MB: ${((task(first.host, 'docker image')?.durationMs ?? 0) / 1000).toFixed(2)} s; compose up: ${((task(first.host, 'compose project')?.durationMs ?? 0) / 1000).toFixed(1)} s`);
    expect((await sh(`docker image inspect --format '{{.Id}}' ${IMAGE}`)).trim()).toBe(imageId);
    expect(await web('/')).toBe('<h1>tiny v1</h1>\n');
    expect(await web('/motd.txt')).toBe('motd 1\n');

    const second = await apply({ stage: 'app' });
    expect(second.host, JSON.stringify(second.host, null, 2)).toMatchObject({ changed: 0, failed: 0, execs: 1 });
    expect(task(second.host, 'compose project')?.reason).toBe(`project ${APP_PROJECT}: 2 service(s) up with their current config (web, worker)`);
  }, busyBudget(38));

  steps.step('recreates only the service whose compose config changed; a mounted file restarts its service through the handler', async () => {
    const [webBefore, workerBefore] = [await containerId('web'), await containerId('worker')];
    const changed = await apply({ stage: 'app', compose_revision: '2' });
    expect(changed.run.exitCode, JSON.stringify(changed.host, null, 2)).toBe(0);
    expect(task(changed.host, 'compose project')).toMatchObject({ status: 'changed', changes: [expect.stringMatching(/^web: config changed/)] });
    expect(await containerId('web')).not.toBe(webBefore);
    expect(await containerId('worker')).toBe(workerBefore);
    expect((await sh(`docker exec $(docker ps -q --filter label=com.docker.compose.service=web) sh -c 'echo $REVISION'`)).trim()).toBe('2');
    expect((await apply({ stage: 'app', compose_revision: '2' })).host).toMatchObject({ changed: 0, execs: 1 });

    // The file is replaced by rename: the running container keeps the old inode until the handler restarts it.
    const webId = await containerId('web');
    const motd = await apply({ stage: 'app', compose_revision: '2', motd_revision: '2' });
    expect(changedNames(motd.host)).toEqual([`file ${MOTD_PATH}`, 'handler: restart web']);
    expect(await containerId('web')).toBe(webId);
    expect(await web('/motd.txt')).toBe('motd 2\n');
  }, busyBudget(43));

  steps.step('a new image under the same tag is shipped and the project recreated with it; --check predicts both first', async () => {
    const newId = await buildTinyImage('<h1>tiny v2</h1>\n');
    expect(newId).not.toBe(imageId);
    const vars = { stage: 'app', compose_revision: '2', motd_revision: '2' };
    const [webName, workerName] = [await containerName('web'), await containerName('worker')];
    const [webBefore, workerBefore] = [await containerId('web'), await containerId('worker')];

    // Check mode: the host still has the old image, yet the plan names the load and both recreates
    // (the compose project expects the shipped ID), and nothing is loaded or recreated.
    const check = await apply(vars, ['--check']);
    expect(check.run.exitCode, JSON.stringify(check.host, null, 2)).toBe(2);
    expect(changedNames(check.host)).toEqual([`docker image ${IMAGE}`, `compose project ${APP_PROJECT}`]);
    expect(task(check.host, 'compose project')?.changes).toEqual([
      `web: image ${IMAGE} changed to ${shortId(newId)} (${webName} runs ${shortId(imageId)})`,
      `worker: image ${IMAGE} changed to ${shortId(newId)} (${workerName} runs ${shortId(imageId)})`,
    ]);
    expect((await sh(`docker image inspect --format '{{.Id}}' ${IMAGE}`)).trim()).toBe(imageId);
    expect([await containerId('web'), await containerId('worker')]).toEqual([webBefore, workerBefore]);

    // Apply does exactly what check said, line by line.
    const run = await apply(vars);
    expect(run.run.exitCode, JSON.stringify(run.host, null, 2)).toBe(0);
    expect(changedNames(run.host)).toEqual([`docker image ${IMAGE}`, `compose project ${APP_PROJECT}`]);
    expect(changeLines(run.host)).toEqual(changeLines(check.host));
    expect(await containerId('web')).not.toBe(webBefore);
    expect(await containerId('worker')).not.toBe(workerBefore);
    expect(await web('/')).toBe('<h1>tiny v2</h1>\n');
    expect((await apply(vars)).host).toMatchObject({ changed: 0, execs: 1 });
  }, busyBudget(34));

  steps.step('a service that never answers fails the health check, named with its last answer and its log tail', async () => {
    const started = Date.now();
    const run = await apply({ stage: 'broken', compose_revision: '2', motd_revision: '2' });
    expect(run.run.exitCode).toBe(1);
    const health = task(run.host, 'http health');
    expect(health?.status, JSON.stringify(run.host, null, 2)).toBe('failed');
    const error = health?.error ?? '';
    expect(error).toContain('health checks of project hyapp still failing after 4 s:');
    expect(error).toMatch(/broken http:\/\/127\.0\.0\.1:18081\/: no answer \(curl: \(7\)/);
    expect(error).toContain('--- broken: docker-compose -p hyapp -f docker-compose.yml logs --no-color --tail 20 broken');
    expect(error).toContain(BROKEN_LOG_LINE);
    expect(error).not.toMatch(/^ {2}web /m);
    expect(Date.now() - started).toBeLessThan(60_000);
  }, busyBudget(18));
});
