// playbooks/site.ts and playbooks/examples/stack-files.ts list the bundled roles: each role brings
// its tasks, its handlers and become, with no wiring (and no condition) in the playbook.
import { describe, expect, test } from 'vitest';
import type { Host, HostContext, Play } from 'halyard';
import { playBecome } from '../../src/playbook/define.js';
import { flattenTasks } from '../../src/playbook/types.js';
import site from '../../playbooks/site.js';
import stackFilesPlaybook from '../../playbooks/examples/stack-files.js';
import { docker } from '../../roles/docker/index.js';
import { halyardDaemon } from '../../roles/halyard-daemon/index.js';
import { observabilityStack } from '../../roles/observability-stack/index.js';
import { stackFiles } from '../../roles/stack-files/index.js';
import { contextFor } from '../support/host-context.js';

const SECRETS = { grafana_admin_password: 'g-pw', postgres_password: 'pg-pw', grafana_password: 'g-pw' };

function hostContext(vars: Record<string, unknown> = {}): HostContext {
  const host: Host = { name: 'h1', address: '10.0.0.5', port: 22, user: 'admin', privateKeyFile: undefined, become: false, becomePassword: undefined, groups: ['all'], vars: { ...SECRETS, ...vars } };
  return contextFor(host);
}

// A play's tasks and handler names for one host, as the engine puts them together: roles first.
function workOf(play: Play, context: HostContext): { tasks: string[]; handlers: string[] } {
  const roles = play.roles ?? [];
  const tasks = [...roles.flatMap((role) => flattenTasks(role.tasks(context))), ...flattenTasks(play.tasks?.(context) ?? [])];
  const handlers = [...roles.map((role) => role.handlers(context)), play.handlers?.(context) ?? {}].flatMap((set) => Object.keys(set));
  return { tasks: tasks.map((task) => task.name), handlers };
}

describe('playbooks/site.ts', () => {
  const play = site.plays[0]!;

  test('one play listing docker, the stack and the daemon, in that order; no tasks, handlers or condition of its own', () => {
    expect(site.plays).toHaveLength(1);
    expect(play.roles).toEqual([docker, observabilityStack, halyardDaemon]);
    expect(play.tasks).toBeUndefined();
    expect(play.handlers).toBeUndefined();
    expect(site.afterHosts.map((step) => step.name)).toEqual([expect.stringMatching(/^monitor apply/)]);
    // Every role needs root: the play's hosts become root unless their vars say otherwise.
    expect(playBecome(play)).toBe(true);
  });

  test('a host without halyard_daemon_config: Docker, then the stack; the roles\' handlers in order, none for the daemon', () => {
    const work = workOf(play, hostContext());
    expect(work.tasks.slice(0, 6)).toEqual([
      'docker packages (distribution)',
      'directory /etc/docker',
      'file /etc/docker/daemon.json',
      'service docker.service',
      'user admin in group docker',
      'flush handlers',
    ]);
    expect(work.tasks.at(-2)).toBe('compose project observability-stack');
    expect(work.tasks.at(-1)).toMatch(/^http health of observability-stack/);
    expect(work.tasks.filter((name) => name.includes('halyard'))).toEqual([]);
    expect(work.handlers).toEqual(['restart docker', ...['loki', 'tempo', 'mimir', 'otel-collector', 'grafana', 'nginx'].map((service) => `restart ${service}`)]);
  });
});

describe('playbooks/examples/stack-files.ts', () => {
  test('the stack-files role alone: packages, dirs, configs, .env; become from the role', () => {
    const play = stackFilesPlaybook.plays[0]!;
    expect(play.roles).toEqual([stackFiles]);
    expect(playBecome(play)).toBe(true);
    expect(workOf(play, hostContext())).toEqual({
      tasks: [
        'packages curl, ca-certificates',
        'directory /opt/observability',
        'directory /opt/observability/loki-data',
        'directory /opt/observability/mimir-data',
        'directory /opt/observability/tempo-data',
        'directory /opt/observability/grafana-data',
        'file /opt/observability/docker-compose.yml',
        'file /opt/observability/otel-collector-config.yml',
        'file /opt/observability/tempo-config.yml',
        'file /opt/observability/loki-config.yml',
        'file /opt/observability/mimir-config.yml',
        'file /opt/observability/nginx.conf',
        'file /opt/observability/.env',
      ],
      handlers: [],
    });
    expect(() => stackFiles.tasks(hostContext({ loki_port: 'x' }))).toThrow(/^role stack-files: var loki_port: /);
  });
});
