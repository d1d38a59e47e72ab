// halyard in a user's own repository, as a new user gets there: `npm pack` of this checkout,
// `npm init -y`, `npm install` of the tarball, `npx halyard init .`, `npm install`, then
// `npx tsc --noEmit` passes (with a playbook importing a bundled role) and the scaffold's
// site.ts converges a lab host, the rerun in one exec and one request.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/results.js';
import { labExec } from '../../src/lab/index.js';
import { busyBudget } from '../support/budget.js';
import { freshKnownHosts } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';

const run = promisify(execFile);
const CHECKOUT = resolve(import.meta.dirname, '../..');
// npm without network round trips where its cache has the package (CI's `npm ci` filled it).
const NPM_QUIET = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

describe('halyard as a package in a project of its own', () => {
  let fleet: TestFleet;
  let project: string;
  let tarball: string;

  beforeAll(async () => {
    // Scripts off: `npm test` has built dist/ already, and prepack would rebuild it under the
    // other tests' feet.
    const packDir = mkdtempSync(join(tmpdir(), 'hy-pack-'));
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: CHECKOUT, maxBuffer: 16 * 1024 * 1024 });
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(packDir, info!.filename);
    project = mkdtempSync(join(tmpdir(), 'hy-project-'));
    fleet = await startTestFleet({ count: 1, prefix: 'package' });
  }, 120_000);
  afterAll(() => fleet?.stop());

  it('the tarball holds the built CLI, API and bundled roles with their types, and no tests or sources', async () => {
    const listing = (await run('tar', ['-tzf', tarball], { maxBuffer: 16 * 1024 * 1024 })).stdout.split('\n').filter(Boolean);
    for (const path of ['package/bin/halyard.js', 'package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/roles/docker/index.d.ts', 'package/dist/roles/observability-stack/index.js', 'package/dist/roles/halyard-daemon/index.js', 'package/dist/playbooks/site.js', 'package/dist/daemon/role-support.d.ts']) {
      expect(listing).toContain(path);
    }
    expect(listing.filter((path) => /(^package\/test\/|\.test\.|^package\/src\/|\.ts$)/.test(path) && !path.endsWith('.d.ts'))).toEqual([]);
  }, busyBudget(2));

  it('npm init, npm install of the tarball, halyard init, npm install: tsc --noEmit passes on the scaffold and on a playbook importing halyard/roles/docker', async () => {
    await run('npm', ['init', '-y'], { cwd: project });
    await run('npm', ['install', ...NPM_QUIET, tarball], { cwd: project });
    const init = await run('npx', ['--no-install', 'halyard', 'init', '.'], { cwd: project });
    expect(init.stdout).toContain('created  playbooks/site.ts');
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string>;
    // What npm init wrote is kept; what halyard needs is added.
    expect(manifest).toMatchObject({ type: 'module', license: 'ISC', scripts: { test: expect.any(String), typecheck: 'tsc --noEmit' } });
    expect((manifest.dependencies as Record<string, string>).halyard).toMatch(/^file:.*halyard-.*\.tgz$/);
    // A second init adds nothing and overwrites nothing.
    writeFileSync(join(project, 'README.md'), 'ours\n');
    const again = await run('npx', ['--no-install', 'halyard', 'init', '.'], { cwd: project });
    expect(again.stdout).toContain('kept     README.md (exists)');
    expect(readFileSync(join(project, 'README.md'), 'utf8')).toBe('ours\n');

    await run('npm', ['install', ...NPM_QUIET], { cwd: project });
    writeFileSync(
      join(project, 'playbooks', 'docker.ts'),
      `import { definePlaybook } from 'halyard';
import { docker, type DockerVars } from 'halyard/roles/docker';
const logFiles: DockerVars['docker_log_max_file'] = 3;
export default definePlaybook({ name: 'docker', hosts: 'all', roles: [docker], vars: { docker_log_max_file: logFiles } });
`,
    );
    const tsc = await run('npx', ['--no-install', 'tsc', '--noEmit'], { cwd: project }).catch((error: { stdout: string; code: number }) => error);
    expect('code' in tsc ? tsc.stdout : '').toBe('');
    // And a mistake is caught by it: the check is real.
    writeFileSync(join(project, 'playbooks', 'wrong.ts'), `import { file } from 'halyard';\nexport const task = file({ path: 1 });\n`);
    const wrong = await run('npx', ['--no-install', 'tsc', '--noEmit'], { cwd: project }).catch((error: { stdout: string; code: number }) => error);
    expect('code' in wrong ? wrong.stdout : '').toContain("playbooks/wrong.ts(2,28): error TS2322: Type 'number' is not assignable to type 'string'.");
  }, busyBudget(90));

  it("the scaffold's site.ts converges a lab host; the rerun changes nothing in one exec and one request", async () => {
    const host = fleet.hosts[0]!;
    writeFileSync(
      join(project, 'inventory', 'hosts.yml'),
      stringify({ all: { children: { servers: { hosts: { [host.name]: { ansible_host: host.address, ansible_port: host.port } }, vars: { ansible_user: fleet.user, ansible_ssh_private_key_file: fleet.keyFile } } } } }),
    );
    const env = { ...process.env, CI: '1', XDG_CACHE_HOME: mkdtempSync(join(tmpdir(), 'hy-cache-')) };
    const knownHosts = freshKnownHosts();
    // halyard.yml names the inventory: no -i.
    const apply = async () => {
      const done = await run('npx', ['--no-install', 'halyard', 'apply', 'playbooks/site.ts', '--known-hosts', knownHosts, '--json'], { cwd: project, env }).catch((error: { stdout: string; stderr: string }) => error);
      return { result: JSON.parse(done.stdout) as RunResult, stderr: done.stderr };
    };
    const first = await apply();
    expect(first.result.ok, first.stderr).toBe(true);
    expect(first.result.hosts[host.name]).toMatchObject({ failed: 0, execs: 1 });
    expect(first.result.hosts[host.name]!.changed).toBeGreaterThan(0);
    const prettyName = (await labExec(host.container, '. /etc/os-release && echo "$PRETTY_NAME"')).stdout.trim();
    const arch = (await labExec(host.container, 'uname -m')).stdout.trim();
    expect((await labExec(host.container, 'cat /etc/motd')).stdout).toBe(`Managed by halyard: changes made by hand are overwritten.\n${prettyName} (${arch})\n`);

    const second = await apply();
    expect(second.result.hosts[host.name]).toMatchObject({ changed: 0, failed: 0, execs: 1, requests: 1 });
  }, busyBudget(20));
});
