// playbooks/examples/home-files.ts (the fleet bench's playbook): no root, a directory and three
// files in the login user's home, so every simulated host converges on its own home.
import { describe, expect, test } from 'vitest';
import type { Host } from 'halyard';
import homeFiles from '../../playbooks/examples/home-files.js';
import { playBecome } from '../../src/playbook/define.js';
import { flattenTasks } from '../../src/playbook/types.js';
import { contextFor } from '../support/host-context.js';

function tasksFor(user: string | undefined, vars: Record<string, unknown> = {}): string[] {
  const host: Host = { name: 'sim0042', address: '127.0.0.1', port: 30041, user, privateKeyFile: undefined, become: false, becomePassword: undefined, groups: ['all'], vars };
  return flattenTasks(homeFiles.plays[0]!.tasks!(contextFor(host))).map((task) => task.name);
}

describe('playbooks/examples/home-files.ts', () => {
  test('one play without become: a directory and three files under the login user\'s home', () => {
    expect(playBecome(homeFiles.plays[0]!)).toBe(false);
    expect(tasksFor('sim0042')).toEqual([
      'directory /home/sim0042/halyard-example',
      'file /home/sim0042/halyard-example/motd.txt',
      'file /home/sim0042/halyard-example/settings.env',
      'file /home/sim0042/halyard-example/hosts.txt',
    ]);
  });

  test('home_files_dir moves the files; a host with no login user is told what is missing', () => {
    expect(tasksFor('deploy', { home_files_dir: '/srv/example' })[0]).toBe('directory /srv/example');
    expect(() => tasksFor(undefined)).toThrow('sim0042: home-files.ts needs the login user (ansible_user) to find its home');
  });
});
