import { contextFor } from '../support/host-context.js';
import { describe, expect, test } from 'vitest';
import { describeRoleVars } from '../../src/playbook/role-vars.js';
import type { Host, HostContext } from 'halyard';
import { flattenTasks } from '../../src/playbook/types.js';
import type { ResourceInstance } from '../../src/resources/types.js';
import type { PackagesQuery } from '../../src/facts/packages.js';
import { DOCKER_RESTART_HANDLER, daemonJson, docker, dockerPackages, dockerVars } from '../../roles/docker/index.js';

function hostContext(vars: Record<string, unknown> = {}, user: string | undefined = 'admin'): HostContext {
  const host: Host = { name: 'h1', address: '10.0.0.5', port: 22, user, privateKeyFile: undefined, become: true, becomePassword: undefined, groups: ['all'], vars };
  return contextFor(host);
}

const names = (tasks: ResourceInstance[]) => tasks.map((task) => task.name);

// The role's tasks for a host, flattened as the engine runs them.
const tasksOf = (context: HostContext) => flattenTasks(docker.tasks(context));

// Plans a task as a fresh Debian 12 host would answer its probes (nothing installed, lists fresh).
function planFresh(task: ResourceInstance): unknown {
  const kind = task.type.kind;
  const facts: Record<string, unknown> = {};
  if (kind === 'packages') {
    // The names the fact asks where apt is the tool (its item in the packages family).
    const fact = Object.values(task.type.facts(task.desired, { diff: false }))[0];
    const wanted = (fact?.batch?.item as PackagesQuery | undefined)?.apt ?? [];
    facts.packages = {
      tool: 'apt',
      packages: Object.fromEntries(wanted.map((name) => [name, { installed: false, versions: [], providers: [], available: true }])),
      aptListsAgeSeconds: 60,
      aptSourcesNewer: false,
    };
  } else if (kind === 'command') {
    facts.creates = false;
    facts.unless = 1;
  } else if (kind === 'directory' || kind === 'file') {
    facts.path = { type: 'absent' };
  }
  const plan = task.type.plan(task.desired, facts, { diff: false });
  return plan.action === 'noop' ? { noop: plan.reason } : plan.steps.map((step) => step.script);
}

describe('roles/docker vars', () => {
  test('every var has a type, a default and a description', () => {
    const docs = describeRoleVars(dockerVars('admin'));
    expect(docs.map((doc) => [doc.name, doc.type, doc.default])).toEqual([
      ['docker_source', 'enum', 'distribution'],
      ['docker_users', 'array', ['admin']],
      ['docker_log_max_size', 'string', '10m'],
      ['docker_log_max_file', 'number', 3],
      ['docker_daemon_extra', 'record', {}],
    ]);
    for (const doc of docs) expect(doc.description, doc.name).toMatch(/\w{3,}/);
  });

  test('docker_users defaults to the connection user, but never to root', () => {
    expect(dockerVars('admin').parse({}).docker_users).toEqual(['admin']);
    expect(dockerVars('root').parse({}).docker_users).toEqual([]);
    expect(dockerVars(undefined).parse({}).docker_users).toEqual([]);
  });

  test('a bad var fails the run with its name', () => {
    expect(() => docker.tasks(hostContext({ docker_source: 'snap' }))).toThrow(/role docker: var docker_source: /);
    expect(() => docker.tasks(hostContext({ docker_log_max_size: '10 MB' }))).toThrow(/role docker: var docker_log_max_size: /);
  });
});

describe('daemon.json', () => {
  test('json-file logs with rotation, stable bytes', () => {
    expect(daemonJson(dockerVars().parse({}))).toBe('{\n  "log-driver": "json-file",\n  "log-opts": {\n    "max-file": "3",\n    "max-size": "10m"\n  }\n}\n');
  });

  test('extra keys are merged (and win), keys sorted at every level', () => {
    const vars = dockerVars().parse({ docker_log_max_size: '50m', docker_daemon_extra: { 'live-restore': true, 'log-driver': 'local', 'default-address-pools': [{ size: 24, base: '10.200.0.0/16' }] } });
    expect(JSON.parse(daemonJson(vars))).toEqual({
      'default-address-pools': [{ base: '10.200.0.0/16', size: 24 }],
      'live-restore': true,
      'log-driver': 'local',
      'log-opts': { 'max-file': '3', 'max-size': '50m' },
    });
    expect(daemonJson(vars).indexOf('"default-address-pools"')).toBeLessThan(daemonJson(vars).indexOf('"live-restore"'));
  });
});

describe('roles/docker tasks', () => {
  test('distribution (default): packages per manager, daemon.json notifying the restart, service, users', () => {
    const tasks = tasksOf(hostContext());
    expect(names(tasks)).toEqual([
      'docker packages (distribution)',
      'directory /etc/docker',
      'file /etc/docker/daemon.json',
      'service docker.service',
      'user admin in group docker',
      'flush handlers',
    ]);
    expect(tasks[0]?.desired).toEqual({ names: { apt: ['docker.io', 'docker-compose'], dnf: ['docker'] } });
    expect(tasks[2]?.notify).toEqual([DOCKER_RESTART_HANDLER]);
    expect(tasks[2]?.desired).toMatchObject({ owner: 'root', group: 'root', mode: '0644' });
    expect(tasks[3]?.desired).toEqual({ name: 'docker', enabled: true, state: 'started' });
    expect(tasks[4]?.desired).toEqual({ name: 'admin', groups: ['docker'] });
    expect(names(tasksOf(hostContext({ docker_users: ['deploy', 'ci', 'deploy'] })))).toContain('user ci in group docker');
    expect(names(tasksOf(hostContext({}, 'root')))).not.toContain('user root in group docker');
    // docker_users set (even empty) replaces the connection user.
    expect(names(tasksOf(hostContext({ docker_users: [] })))).not.toContain('user admin in group docker');
    expect(names(tasksOf(hostContext({ docker_users: ['deploy'] })))).not.toContain('user admin in group docker');
  });

  test('the role: named docker, needs root, no tags or custom facts', () => {
    expect(docker).toMatchObject({ name: 'docker', become: true, tags: [], facts: [] });
  });

  test('handlers: restart docker', () => {
    const handlers = docker.handlers(hostContext());
    expect(Object.keys(handlers)).toEqual([DOCKER_RESTART_HANDLER]);
    expect((handlers[DOCKER_RESTART_HANDLER] as ResourceInstance | undefined)?.desired).toEqual({ name: 'docker', state: 'restarted' });
  });

  // Docker's repository cannot be reached from the test machines: its planned steps are checked here instead.
  test("docker-repo on a fresh Debian host: key, source line (from os-release on the host), Docker's packages", () => {
    const tasks = tasksOf(hostContext({ docker_source: 'docker-repo' }));
    expect(names(tasks).slice(0, 5)).toEqual([
      'packages apt: ca-certificates, curl',
      'directory /etc/apt/keyrings',
      'docker apt key /etc/apt/keyrings/docker.asc',
      'docker apt source /etc/apt/sources.list.d/docker.list',
      'docker packages (docker-repo)',
    ]);
    const APT = 'DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300';
    // The deb line, values as printf arguments: arch, codename and distribution come from the host.
    const PRINT_SOURCE = `printf 'deb [arch=%s signed-by=%s] %s/%s %s stable\\n' "$(dpkg --print-architecture)" /etc/apt/keyrings/docker.asc https://download.docker.com/linux "$ID" "$VERSION_CODENAME"`;
    expect(planFresh(tasks[0] as ResourceInstance)).toEqual([`${APT} install -y --no-install-recommends -- ca-certificates curl`]);
    expect(planFresh(tasks[2] as ResourceInstance)).toEqual([
      '. /etc/os-release && curl -fsSL https://download.docker.com/linux/"$ID"/gpg -o /etc/apt/keyrings/docker.asc && chmod 0644 /etc/apt/keyrings/docker.asc',
    ]);
    expect(planFresh(tasks[3] as ResourceInstance)).toEqual([
      `. /etc/os-release && ${PRINT_SOURCE} > /etc/apt/sources.list.d/docker.list`,
    ]);
    // The guard is an sh`...` script: the same line printed on the host, compared with the file.
    expect(String((tasks[3]?.desired as { unless?: unknown }).unless)).toBe(
      `. /etc/os-release && [ "$(cat /etc/apt/sources.list.d/docker.list 2>/dev/null)" = "$(${PRINT_SOURCE})" ]`,
    );
    expect(tasks[2]?.desired).toMatchObject({ creates: '/etc/apt/keyrings/docker.asc' });
    expect(planFresh(tasks[4] as ResourceInstance)).toEqual([`${APT} install -y --no-install-recommends -- docker-ce docker-ce-cli containerd.io docker-compose-plugin`]);
  });

  test('docker-repo is for apt hosts: a dnf host fails to plan with a clear message', () => {
    const packagesTask = tasksOf(hostContext({ docker_source: 'docker-repo' }))[4] as ResourceInstance;
    const facts = { packages: { tool: 'dnf', packages: {}, aptListsAgeSeconds: null, aptSourcesNewer: false } };
    expect(() => packagesTask.type.plan(packagesTask.desired, facts, { diff: false })).toThrow(
      'packages apt: docker-ce, docker-ce-cli, containerd.io, docker-compose-plugin: no package names for dnf, which this host uses',
    );
    expect(dockerPackages('distribution').dnf).toEqual(['docker']);
  });
});
