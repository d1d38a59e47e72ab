import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contextFor } from '../support/host-context.js';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { halyardRelease, projectArchive, Secret, type Host, type HostContext, type ResourceInstance } from 'halyard';
import { describeRoleVars } from '../../src/playbook/role-vars.js';
import { flattenTasks } from '../../src/playbook/types.js';
import { parseDaemonConfig } from '../../src/daemon/config.js';
import {
  HALYARD_DAEMON_RESTART_HANDLER,
  HALYARD_DAEMON_UNIT,
  activateProjectScript,
  activateReleaseScript,
  controllerNodeProblem,
  driftJobsProblem,
  projectActiveCheck,
  releaseActiveCheck,
  halyardDaemon,
  halyardDaemonEnvironment,
  halyardDaemonLayout,
  halyardDaemonConfigText,
  halyardDaemonUnit,
  halyardDaemonVars,
} from '../../roles/halyard-daemon/index.js';

// The release is built from this checkout into a cache of this test file's own.
process.env['XDG_CACHE_HOME'] = mkdtempSync(join(tmpdir(), 'hy-release-cache-'));

const INVENTORY = 'all:\n  hosts:\n    h1: { ansible_host: 10.0.0.5 }\n';

const CONFIG = {
  sns_topic_arn: 'arn:aws:sns:eu-west-1:123456789012:halyard-alerts',
  jobs: [{ name: 'probes', kind: 'probe', schedule: '0 */5 * * * *', inventory: 'inventory.yml' }],
};

function hostContext(vars: Record<string, unknown>): HostContext {
  const host: Host = { name: 'h1', address: '10.0.0.5', port: 22, user: 'admin', privateKeyFile: undefined, become: true, becomePassword: undefined, groups: ['all'], vars };
  return contextFor(host);
}

// The role's tasks for a host, flattened as the engine runs them.
const tasksOf = (vars: Record<string, unknown>) => flattenTasks(halyardDaemon.tasks(hostContext(vars)));

describe('roles/halyard-daemon', () => {
  test('every var has a type, a default and a description', () => {
    const docs = describeRoleVars(halyardDaemonVars);
    expect(docs.map((doc) => doc.name)).toEqual([
      'halyard_daemon_config',
      'halyard_daemon_files',
      'halyard_daemon_environment',
      'halyard_daemon_node',
      'halyard_daemon_node_packages',
      'halyard_daemon_node_path',
      'halyard_daemon_project_dir',
      'halyard_daemon_project_paths',
      'halyard_daemon_install_dir',
      'halyard_daemon_user',
      'halyard_daemon_config_dir',
      'halyard_daemon_state_dir',
      'halyard_daemon_http_port',
      'halyard_daemon_bin',
      'halyard_daemon_stop_seconds',
    ]);
    for (const doc of docs) {
      expect(doc.default, doc.name).not.toBeUndefined();
      expect(doc.type, doc.name).toMatch(/^(string|record|number|array|enum)$/);
      expect(doc.description, doc.name).toMatch(/\w{3,}/);
    }
  });

  test('the role: named halyard-daemon, needs root; a host without halyard_daemon_config gets no tasks and no handlers', () => {
    expect(halyardDaemon).toMatchObject({ name: 'halyard-daemon', become: true, tags: [], facts: [] });
    expect(tasksOf({})).toEqual([]);
    expect(halyardDaemon.handlers(hostContext({}))).toEqual({});
    // The login user as the daemon's would fail the run, but only where the daemon is installed.
    expect(tasksOf({ halyard_daemon_user: 'admin' })).toEqual([]);
  });

  test('the task list, in order: user, dirs, node and release shipped, release activated once, wrapper, config, unit, service', () => {
    const tasks = tasksOf({ halyard_daemon_config: CONFIG, halyard_daemon_files: { 'inventory.yml': INVENTORY } });
    const release = halyardRelease();
    const id = release.sha256.slice(0, 16);
    const rows = tasks.map((task) => {
      const d = task.desired as Record<string, unknown>;
      return [task.type.kind, (d.path ?? d.name ?? d.command ?? d.names) as unknown, d.mode ?? null, d.owner ?? null, d.group ?? null, task.notify ?? []];
    });
    const restart = [HALYARD_DAEMON_RESTART_HANDLER];
    expect(rows).toEqual([
      ['group', 'halyard', null, null, null, []],
      ['user', 'halyard', null, null, 'halyard', []],
      ['directory', '/etc/halyard', '0750', 'root', 'halyard', []],
      ['directory', '/var/lib/halyard', '0750', 'halyard', 'halyard', []],
      ['directory', '/opt/halyard', '0755', 'root', 'root', []],
      ['directory', '/opt/halyard/bin', '0755', 'root', 'root', []],
      ['directory', '/opt/halyard/releases', '0755', 'root', 'root', []],
      ['upload', '/opt/halyard/bin/node', '0755', 'root', 'root', restart],
      ['upload', `/opt/halyard/releases/halyard-${id}.tgz`, '0644', 'root', 'root', []],
      ['command', activateReleaseScript('/opt/halyard', id), null, null, null, restart],
      ['file', '/usr/local/bin/halyard', '0755', 'root', 'root', []],
      ['absent', '/etc/halyard/daemon.env', null, null, null, restart],
      ['file', '/etc/halyard/daemon.yml', '0640', 'root', 'halyard', restart],
      ['file', '/etc/halyard/inventory.yml', '0640', 'root', 'halyard', restart],
      ['file', HALYARD_DAEMON_UNIT, '0644', 'root', 'root', restart],
      ['service', 'halyard-daemon', null, null, null, []],
    ]);
    expect(tasks[1]?.desired).toMatchObject({ system: true, home: '/var/lib/halyard', shell: '/usr/sbin/nologin' });
    // This controller's node, checked on the host before it replaces the old one.
    expect(tasks[7]?.desired).toMatchObject({ src: process.execPath, validate: ['%s', '--version'], compress: true });
    expect(tasks[8]?.desired).toMatchObject({ src: release.file, sha256: release.sha256, compress: false });
    expect(tasks[9]?.desired).toMatchObject({ unless: `[ "$(readlink /opt/halyard/current)" = releases/${id} ] && [ -f /opt/halyard/releases/${id}/.complete ]` });
    expect(releaseActiveCheck('/opt/halyard', id)).toBe((tasks[9]?.desired as { unless: string }).unless);
    expect((tasks[10]?.desired as { content: string }).content).toBe(
      [
        '#!/bin/sh',
        '# Written by roles/halyard-daemon: the halyard release the daemon runs, as the daemon when run by root.',
        'if [ "$(id -u)" = 0 ]; then',
        '  if [ -r /etc/halyard/daemon.env ]; then set -a; . /etc/halyard/daemon.env; set +a; fi',
        `  HOME=/var/lib/halyard NODE_ENV=production exec runuser -u halyard -- /opt/halyard/bin/node /opt/halyard/current/${release.entry} "$@"`,
        'fi',
        `exec /opt/halyard/bin/node /opt/halyard/current/${release.entry} "$@"`,
        '',
      ].join('\n'),
    );
    expect(tasks[15]?.desired).toEqual({ name: 'halyard-daemon', enabled: true, state: 'started', daemonReload: true });
    const handlers = halyardDaemon.handlers(hostContext({ halyard_daemon_config: CONFIG }));
    expect(Object.keys(handlers)).toEqual([HALYARD_DAEMON_RESTART_HANDLER]);
    expect((handlers[HALYARD_DAEMON_RESTART_HANDLER] as ResourceInstance | undefined)?.desired).toEqual({ name: 'halyard-daemon', state: 'restarted', daemonReload: true });
  });

  test('node from the distribution: packages first, no node shipped, the unit runs that node', () => {
    const tasks = tasksOf({ halyard_daemon_config: CONFIG, halyard_daemon_node: 'system', halyard_daemon_node_packages: ['nodejs20'], halyard_daemon_node_path: '/usr/bin/node-20' });
    expect(tasks[0]?.desired).toEqual({ names: ['nodejs20'] });
    expect(tasks.filter((task) => task.type.kind === 'upload').map((task) => (task.desired as { path: string }).path)).toEqual([expect.stringMatching(/^\/opt\/halyard\/releases\/halyard-[0-9a-f]{16}\.tgz$/)]);
    const unit = tasks.find((task) => (task.desired as { path?: string }).path === HALYARD_DAEMON_UNIT)?.desired as { content: string };
    expect(unit.content).toContain(`ExecStart=/usr/bin/node-20 /opt/halyard/current/${halyardRelease().entry} daemon -c /etc/halyard/daemon.yml\n`);
  });

  test('the environment file: root 0600, systemd quoting, secrets typed (masked) and never in the unit', () => {
    const key = new Secret('wJalr"XUtn$FEMI`K7\\MDENG', 'aws_secret_access_key');
    const content = halyardDaemonEnvironment({ AWS_REGION: 'eu-west-1', AWS_SECRET_ACCESS_KEY: key });
    expect(content.reveal()).toBe('# Written by roles/halyard-daemon; read by systemd (EnvironmentFile=).\nAWS_REGION="eu-west-1"\nAWS_SECRET_ACCESS_KEY="wJalr\\"XUtn\\$FEMI\\`K7\\\\MDENG"\n');
    expect(content.masked()).toBe('# Written by roles/halyard-daemon; read by systemd (EnvironmentFile=).\nAWS_REGION="eu-west-1"\nAWS_SECRET_ACCESS_KEY="********"\n');
    const tasks = tasksOf({ halyard_daemon_config: CONFIG, halyard_daemon_environment: { AWS_SECRET_ACCESS_KEY: key } });
    const env = tasks.find((task) => (task.desired as { path?: string }).path === '/etc/halyard/daemon.env');
    expect(env?.type.kind).toBe('file');
    expect(env?.desired).toMatchObject({ owner: 'root', group: 'root', mode: '0600', sensitive: true });
    expect(env?.notify).toEqual([HALYARD_DAEMON_RESTART_HANDLER]);
    // An SSH key for the daemon's jobs: a secret file, never diffed or printed.
    const withKey = tasksOf({ halyard_daemon_config: CONFIG, halyard_daemon_files: { deploy_key: new Secret('-----BEGIN OPENSSH PRIVATE KEY-----\n', 'deploy_key'), 'inventory.yml': INVENTORY } });
    expect(withKey.find((task) => (task.desired as { path?: string }).path === '/etc/halyard/deploy_key')?.desired).toMatchObject({ mode: '0640', group: 'halyard', sensitive: true });
    expect(withKey.find((task) => (task.desired as { path?: string }).path === '/etc/halyard/inventory.yml')?.desired).toMatchObject({ sensitive: false });
    expect(() => halyardDaemonEnvironment({ A: 'two\nlines' })).toThrow(/halyard_daemon_environment\.A: a value must be one line/);
    expect(() => halyardDaemon.tasks(hostContext({ halyard_daemon_config: CONFIG, halyard_daemon_environment: { 'aws-key': 'x' } }))).toThrow(/halyard_daemon_environment/);
  });

  test('release activation under a real sh: extract, switch current in one rename, drop older releases; the guard then holds', () => {
    const install = mkdtempSync(join(tmpdir(), 'hy install '));
    const releases = join(install, 'releases');
    mkdirSync(releases);
    const makeTarball = (id: string, text: string) => {
      const tree = mkdtempSync(join(tmpdir(), 'hy-tree-'));
      mkdirSync(join(tree, 'bin'));
      writeFileSync(join(tree, 'bin', 'halyard.js'), text);
      execFileSync('tar', ['-czf', join(releases, `halyard-${id}.tgz`), '-C', tree, 'bin']);
    };
    const sh = (script: string) => spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    makeTarball('aaaaaaaaaaaaaaaa', 'one');
    expect(sh(releaseActiveCheck(install, 'aaaaaaaaaaaaaaaa')).status).toBe(1);
    expect(sh(activateReleaseScript(install, 'aaaaaaaaaaaaaaaa'))).toMatchObject({ status: 0, stderr: '' });
    expect(readlinkSync(join(install, 'current'))).toBe('releases/aaaaaaaaaaaaaaaa');
    expect(readFileSync(join(install, 'current', 'bin', 'halyard.js'), 'utf8')).toBe('one');
    expect(sh(releaseActiveCheck(install, 'aaaaaaaaaaaaaaaa')).status).toBe(0);

    makeTarball('bbbbbbbbbbbbbbbb', 'two');
    expect(sh(releaseActiveCheck(install, 'bbbbbbbbbbbbbbbb')).status).toBe(1);
    expect(sh(activateReleaseScript(install, 'bbbbbbbbbbbbbbbb'))).toMatchObject({ status: 0, stderr: '' });
    expect(readFileSync(join(install, 'current', 'bin', 'halyard.js'), 'utf8')).toBe('two');
    expect(readdirSync(releases).sort()).toEqual(['bbbbbbbbbbbbbbbb', 'halyard-bbbbbbbbbbbbbbbb.tgz']);
    expect(readdirSync(install).sort()).toEqual(['current', 'releases']);

    // A damaged tarball fails the task and leaves the running release as it was.
    writeFileSync(join(releases, 'halyard-cccccccccccccccc.tgz'), 'not gzip');
    expect(sh(activateReleaseScript(install, 'cccccccccccccccc')).status).not.toBe(0);
    expect(readlinkSync(join(install, 'current'))).toBe('releases/bbbbbbbbbbbbbbbb');
    expect(readFileSync(join(install, 'current', 'bin', 'halyard.js'), 'utf8')).toBe('two');
  });

  test('a project for drift jobs: shipped as one archive, swapped in under the config dir, readable by the daemon only', () => {
    const project = mkdtempSync(join(tmpdir(), 'hy-project-'));
    mkdirSync(join(project, 'playbooks'));
    writeFileSync(join(project, 'playbooks', 'site.ts'), 'export default 1;\n');
    const tasks = tasksOf({ halyard_daemon_config: CONFIG, halyard_daemon_project_dir: project, halyard_daemon_project_paths: ['playbooks'] });
    const archive = projectArchive(project, ['playbooks']);
    const id = archive.sha256.slice(0, 16);
    const at = tasks.findIndex((task) => (task.desired as { path?: string }).path === '/opt/halyard/project');
    expect(tasks.slice(at, at + 3).map((task) => [task.type.kind, task.name])).toEqual([
      ['directory', 'directory /opt/halyard/project'],
      ['upload', `halyard-daemon: project ${id} (1 files)`],
      ['command', `halyard-daemon: activate project ${id}`],
    ]);
    expect(tasks[at + 2]?.desired).toMatchObject({ command: activateProjectScript('/opt/halyard', '/etc/halyard', 'halyard', id), unless: projectActiveCheck('/etc/halyard', id) });
    expect(tasks[at + 2]?.notify).toEqual([HALYARD_DAEMON_RESTART_HANDLER]);

    // Under a real sh: the tree is swapped in whole, owned root:<group>, no access for others; the guard then holds.
    const root = mkdtempSync(join(tmpdir(), 'hy-project-host-'));
    const [install, config] = [join(root, 'opt'), join(root, 'etc')];
    mkdirSync(join(install, 'project'), { recursive: true });
    mkdirSync(config);
    const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
    copyFileSync(archive.file, join(install, 'project', `project-${id}.tgz`));
    writeFileSync(join(install, 'project', 'project-0000000000000000.tgz'), 'old');
    mkdirSync(join(config, 'project', 'playbooks'), { recursive: true });
    writeFileSync(join(config, 'project', 'playbooks', 'gone.ts'), 'old\n');
    const sh = (script: string) => spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    expect(sh(projectActiveCheck(config, id)).status).toBe(1);
    expect(sh(activateProjectScript(install, config, group, id))).toMatchObject({ status: 0, stderr: '' });
    expect(readdirSync(join(config, 'project', 'playbooks'))).toEqual(['site.ts']);
    expect(execFileSync('stat', ['-c', '%U:%G %a', join(config, 'project'), join(config, 'project', 'playbooks', 'site.ts')], { encoding: 'utf8' })).toBe(`root:${group} 750\nroot:${group} 640\n`);
    expect(readdirSync(config)).toEqual(['project']);
    expect(readdirSync(join(install, 'project'))).toEqual([`project-${id}.tgz`]);
    expect(sh(projectActiveCheck(config, id)).status).toBe(0);
  });

  test("this controller's node must be a self-contained Linux build to be shipped", () => {
    expect(controllerNodeProblem('linux', { node_shared: false, node_shared_openssl: false, node_use_openssl: true })).toBeUndefined();
    expect(controllerNodeProblem('darwin', {})).toBe('it is built for darwin, not Linux');
    // Debian's and Ubuntu's nodejs package: libnode.so and system libraries.
    expect(controllerNodeProblem('linux', { node_shared: true, node_shared_openssl: true, node_shared_libuv: true, node_shared_zlib: false })).toBe(
      'it is a distribution build that needs shared libraries beside it (node_shared, node_shared_libuv, node_shared_openssl); run the controller on an official node build (nodejs.org, NodeSource, nvm)',
    );
    // The node running these tests is one that can be shipped (the e2e does).
    expect(controllerNodeProblem(process.platform, process.config.variables as unknown as Record<string, unknown>)).toBeUndefined();
  });

  test("drift jobs need the release's esbuild to run on the host: refused from a controller that is not Linux, fine without drift jobs", () => {
    const drift = { name: 'drift-web', kind: 'drift' };
    const probe = { name: 'probes', kind: 'probe' };
    expect(driftJobsProblem('linux', [drift, probe])).toBeUndefined();
    expect(driftJobsProblem('darwin', [probe])).toBeUndefined();
    expect(driftJobsProblem('darwin', [drift, probe])).toBe(
      "drift job drift-web bundles playbooks with esbuild, and the release ships this controller's esbuild binary, built for darwin, not Linux; run the role from a Linux controller of the host's CPU architecture",
    );
  });

  test('the files the jobs read, as shipped, are parsed at plan time: a bad one fails the run naming job, file and problem', () => {
    const backupJob = { name: 'nightly', kind: 'backup', schedule: '0 30 2 * * *', backup_file: 'backup.yml' };
    const config = { jobs: [...CONFIG.jobs, backupJob] };
    const backup = 'inventory: inventory.yml\nbucket: ops-backups\nvolumes:\n  - { name: data, hosts: all, kind: dir, path: /srv/data }\n';
    const run = (files: Record<string, unknown>, extra: Record<string, unknown> = {}) => () => halyardDaemon.tasks(hostContext({ halyard_daemon_config: config, halyard_daemon_files: files, ...extra }));
    expect(run({ 'inventory.yml': INVENTORY, 'backup.yml': backup })).not.toThrow();
    expect(run({ 'inventory.yml': 'all:\n  hosts:\n    h1: { ansible_port: nope }\n', 'backup.yml': backup })).toThrow(
      /^role halyard-daemon: job probes reads \/etc\/halyard\/inventory\.yml, which halyard_daemon_files ships: .*ansible_port/,
    );
    expect(run({ 'inventory.yml': INVENTORY, 'backup.yml': backup.replace('kind: dir', 'kind: tape') })).toThrow(
      /^role halyard-daemon: job nightly reads \/etc\/halyard\/backup\.yml, which halyard_daemon_files ships: \/etc\/halyard\/backup\.yml: volumes\.0/,
    );
    // Files the role does not ship (placed some other way) are not its to judge.
    expect(run({ 'backup.yml': backup })).not.toThrow();
    // A drift job's playbook must be in the shipped project.
    const project = mkdtempSync(join(tmpdir(), 'hy-project-'));
    mkdirSync(join(project, 'playbooks'));
    writeFileSync(join(project, 'playbooks', 'site.ts'), 'export default 1;\n');
    const drift = { jobs: [{ name: 'drift', kind: 'drift', schedule: '0 0 * * * *', playbook: 'project/playbooks/sites.ts', inventory: 'inventory.yml' }] };
    expect(() => halyardDaemon.tasks(hostContext({ halyard_daemon_config: drift, halyard_daemon_files: { 'inventory.yml': INVENTORY }, halyard_daemon_project_dir: project, halyard_daemon_project_paths: ['playbooks'] }))).toThrow(
      'role halyard-daemon: job drift reads /etc/halyard/project/playbooks/sites.ts, which the project ships: cannot read it (ENOENT)',
    );
  });

  test('the unit: ready only when the daemon says so, sandboxed, writable only in the state dir, restarted on failure', () => {
    const v = halyardDaemonVars.parse({});
    const unit = halyardDaemonUnit(v, halyardDaemonLayout(v, 'bin/halyard.js'));
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'User=halyard',
      'ExecStart=/opt/halyard/bin/node /opt/halyard/current/bin/halyard.js daemon -c /etc/halyard/daemon.yml',
      'WorkingDirectory=/etc/halyard',
      'EnvironmentFile=-/etc/halyard/daemon.env',
      'Restart=on-failure',
      'RestartPreventExitStatus=65',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/halyard',
      'KillSignal=SIGTERM',
      'KillMode=mixed',
      'WantedBy=multi-user.target',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
    // With a project shipped, the daemon runs in it: its ansible.cfg and halyard.yml count, as for `halyard` run there.
    const withProject = halyardDaemonVars.parse({ halyard_daemon_project_dir: 'ops' });
    expect(halyardDaemonUnit(withProject, halyardDaemonLayout(withProject, 'bin/halyard.js')).split('\n')).toContain('WorkingDirectory=/etc/halyard/project');
  });

  test('the daemon file: the role sets state_dir and the port, and it passes the daemon\'s own validation', () => {
    const text = halyardDaemonConfigText(halyardDaemonVars.parse({ halyard_daemon_config: CONFIG, halyard_daemon_http_port: 9999 }));
    expect(parse(text)).toMatchObject({ state_dir: '/var/lib/halyard', http: { port: 9999 }, jobs: CONFIG.jobs });
    expect(parseDaemonConfig(text, '/etc/halyard/daemon.yml').jobs[0]).toMatchObject({ inventory: '/etc/halyard/inventory.yml' });
  });

  test('bad input fails the run with the var named: invalid daemon file, secrets inline, bad port', () => {
    const run = (vars: Record<string, unknown>) => () => halyardDaemon.tasks(hostContext(vars));
    expect(run({ halyard_daemon_config: { jobs: [] } })).toThrow(/var halyard_daemon_config\.jobs: needs at least one job/);
    expect(run({ halyard_daemon_config: { ...CONFIG, jobs: [{ ...CONFIG.jobs[0], schedule: 'hourly' }] } })).toThrow(/var halyard_daemon_config\.jobs\.0\.schedule: is not a cron expression/);
    expect(run({ halyard_daemon_config: { ...CONFIG, aws: { region: 'eu-west-1', aws_secret_access_key: 'x' } } })).toThrow(/halyard_daemon_config\.aws\.aws_secret_access_key: looks like a secret/);
    expect(run({ halyard_daemon_config: { ...CONFIG, jobs: [{ ...CONFIG.jobs[0], health_urls: [new Secret('http://u:p@x/', 'url')] }] } })).toThrow(/holds a secret/);
    expect(run({ halyard_daemon_http_port: 0, halyard_daemon_config: CONFIG })).toThrow(/role halyard-daemon: var halyard_daemon_http_port/);
    // Its own user: not the login (admin here), whose home and shell the role would take over, nor root.
    expect(run({ halyard_daemon_user: 'admin', halyard_daemon_config: CONFIG })).toThrow(
      'role halyard-daemon: var halyard_daemon_user: admin is the user halyard logs in as; the daemon needs a user of its own (its home becomes /var/lib/halyard, its shell nologin)',
    );
    expect(run({ halyard_daemon_user: 'root', halyard_daemon_config: CONFIG })).toThrow(/halyard_daemon_user: root is root;/);
  });
});
