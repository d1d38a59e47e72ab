import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { Secret, type Host, type HostContext } from 'halyard';
import { describeRoleVars } from '../../src/playbook/role-vars.js';
import { flattenTasks } from '../../src/playbook/types.js';
import { parseDaemonConfig } from '../../src/daemon/config.js';
import {
  HALYARD_DAEMON_RESTART_HANDLER,
  HALYARD_DAEMON_UNIT,
  halyardDaemon,
  halyardDaemonConfigText,
  halyardDaemonHandlers,
  halyardDaemonUnit,
  halyardDaemonVars,
} from '../../roles/halyard-daemon/index.js';

const tarball = join(mkdtempSync(join(tmpdir(), 'hy-pkg-')), 'halyard-0.1.0.tgz');
writeFileSync(tarball, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4]));

const CONFIG = {
  sns_topic_arn: 'arn:aws:sns:eu-west-1:123456789012:halyard-alerts',
  jobs: [{ name: 'probes', kind: 'probe', schedule: '0 */5 * * * *', inventory: 'inventory.yml' }],
};

function hostContext(vars: Record<string, unknown>): HostContext {
  const host: Host = { name: 'h1', address: '10.0.0.5', port: 22, user: 'admin', privateKeyFile: undefined, become: true, becomePassword: undefined, groups: ['all'], vars };
  return { name: 'h1', groups: ['all'], vars, host };
}

describe('roles/halyard-daemon', () => {
  test('every var has a type, a default and a description', () => {
    const docs = describeRoleVars(halyardDaemonVars);
    expect(docs.map((doc) => doc.name)).toEqual([
      'halyard_daemon_package',
      'halyard_daemon_config',
      'halyard_daemon_files',
      'halyard_daemon_user',
      'halyard_daemon_config_dir',
      'halyard_daemon_state_dir',
      'halyard_daemon_http_port',
      'halyard_daemon_bin',
      'halyard_daemon_node_packages',
      'halyard_daemon_stop_seconds',
    ]);
    for (const doc of docs) {
      expect(doc.default, doc.name).not.toBeUndefined();
      expect(doc.type, doc.name).toMatch(/^(string|record|number|array)$/);
      expect(doc.description, doc.name).toMatch(/\w{3,}/);
    }
  });

  test('the task list, in order: node, user, dirs, package shipped then installed once, config, unit, service', () => {
    const tasks = flattenTasks(halyardDaemon(hostContext({ halyard_daemon_package: tarball, halyard_daemon_config: CONFIG, halyard_daemon_files: { 'inventory.yml': 'all: {}\n' } })));
    const rows = tasks.map((task) => {
      const d = task.desired as Record<string, unknown>;
      return [task.type.kind, (d.path ?? d.name ?? d.command ?? d.names) as unknown, d.mode ?? null, d.owner ?? null, d.group ?? null, task.notify ?? []];
    });
    const sha = /halyard-([0-9a-f]{16})\.tgz/.exec(JSON.stringify(rows))?.[1];
    expect(sha).toBeDefined();
    const restart = [HALYARD_DAEMON_RESTART_HANDLER];
    expect(rows).toEqual([
      ['packages', ['nodejs', 'npm'], null, null, null, []],
      ['group', 'halyard', null, null, null, []],
      ['user', 'halyard', null, null, 'halyard', []],
      ['directory', '/etc/halyard', '0750', 'root', 'halyard', []],
      ['directory', '/var/lib/halyard', '0750', 'halyard', 'halyard', []],
      ['directory', '/var/lib/halyard/dist', '0755', 'root', 'root', []],
      ['file', `/var/lib/halyard/dist/halyard-${sha}.tgz`, '0644', 'root', 'root', []],
      ['command', `npm install -g --omit=dev --no-audit --no-fund /var/lib/halyard/dist/halyard-${sha}.tgz && touch /var/lib/halyard/dist/.installed-${sha}`, null, null, null, restart],
      ['file', '/etc/halyard/daemon.yml', '0640', 'root', 'halyard', restart],
      ['file', '/etc/halyard/inventory.yml', '0640', 'root', 'halyard', restart],
      ['file', HALYARD_DAEMON_UNIT, '0644', 'root', 'root', restart],
      ['service', 'halyard-daemon', null, null, null, []],
    ]);
    expect(tasks[2]?.desired).toMatchObject({ system: true, home: '/var/lib/halyard', shell: '/usr/sbin/nologin' });
    expect(tasks[7]?.desired).toMatchObject({ creates: `/var/lib/halyard/dist/.installed-${sha}` });
    expect(Buffer.isBuffer((tasks[6]?.desired as { content: unknown }).content)).toBe(true);
    expect(tasks[11]?.desired).toEqual({ name: 'halyard-daemon', enabled: true, state: 'started', daemonReload: true });
    expect(halyardDaemonHandlers()[HALYARD_DAEMON_RESTART_HANDLER]?.desired).toEqual({ name: 'halyard-daemon', state: 'restarted', daemonReload: true });
  });

  test('the unit: sandboxed, writable only in the state dir, restarted on failure', () => {
    const unit = halyardDaemonUnit(halyardDaemonVars.parse({}));
    for (const line of [
      'User=halyard',
      'ExecStart=/usr/local/bin/halyard daemon -c /etc/halyard/daemon.yml',
      'Restart=on-failure',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/halyard',
      'KillSignal=SIGTERM',
      'KillMode=mixed',
      'WantedBy=multi-user.target',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
  });

  test('the daemon file: the role sets state_dir and the port, and it passes the daemon\'s own validation', () => {
    const text = halyardDaemonConfigText(halyardDaemonVars.parse({ halyard_daemon_config: CONFIG, halyard_daemon_http_port: 9999 }));
    expect(parse(text)).toMatchObject({ state_dir: '/var/lib/halyard', http: { port: 9999 }, jobs: CONFIG.jobs });
    expect(parseDaemonConfig(text, '/etc/halyard/daemon.yml').jobs[0]).toMatchObject({ inventory: '/etc/halyard/inventory.yml' });
  });

  test('bad input fails the run with the var named: invalid daemon file, secrets inline, missing tarball', () => {
    const run = (vars: Record<string, unknown>) => () => halyardDaemon(hostContext({ halyard_daemon_package: tarball, ...vars }));
    expect(run({})).toThrow(/var halyard_daemon_config\.jobs: needs at least one job/);
    expect(run({ halyard_daemon_config: { ...CONFIG, jobs: [{ ...CONFIG.jobs[0], schedule: 'hourly' }] } })).toThrow(/var halyard_daemon_config\.jobs\.0\.schedule: is not a cron expression/);
    expect(run({ halyard_daemon_config: { ...CONFIG, aws: { region: 'eu-west-1', aws_secret_access_key: 'x' } } })).toThrow(/halyard_daemon_config\.aws\.aws_secret_access_key: looks like a secret/);
    expect(run({ halyard_daemon_config: { ...CONFIG, jobs: [{ ...CONFIG.jobs[0], health_urls: [new Secret('http://u:p@x/', 'url')] }] } })).toThrow(/holds a secret/);
    expect(() => halyardDaemon(hostContext({ halyard_daemon_package: '/nonexistent/halyard.tgz', halyard_daemon_config: CONFIG }))).toThrow(/halyard_daemon_package: cannot read \/nonexistent\/halyard\.tgz \(ENOENT\)/);
    expect(run({ halyard_daemon_http_port: 0, halyard_daemon_config: CONFIG })).toThrow(/role halyard-daemon: var halyard_daemon_http_port/);
  });
});
