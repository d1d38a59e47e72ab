// What a run takes from ansible.cfg settings: the exact values, errors and warnings.
import { describe, expect, it } from 'vitest';
import { runSettings } from '../../src/cli/ansible-settings.js';

describe('runSettings', () => {
  it('-i wins over the file; without -i the file names the inventories; forks and connection defaults pass through', () => {
    const settings = { file: '/repo/ansible.cfg', inventory: ['/repo/hosts'], remoteUser: 'deploy', privateKeyFile: '/repo/id', become: true, forks: 7 };
    expect(runSettings(['/elsewhere'], settings, {}, {})).toEqual({ ansible: settings, project: {}, inventory: ['/elsewhere'], connectionDefaults: { user: 'deploy', privateKeyFile: '/repo/id', become: true }, forks: 7, warnings: [] });
    expect(runSettings(undefined, settings, {}, {}).inventory).toEqual(['/repo/hosts']);
    expect(() => runSettings([], {}, {}, {})).toThrow('no inventory: pass -i, or set inventory in ansible.cfg or ANSIBLE_INVENTORY');
  });

  it('refuses what would change who runs commands, warns about what it does not follow', () => {
    expect(() => runSettings(['/h'], { file: '/r/ansible.cfg', becomeUser: 'postgres' })).toThrow('/r/ansible.cfg: become_user = postgres: halyard becomes root only');
    expect(runSettings(['/h'], { becomeUser: 'root', becomeMethod: 'sudo' }).warnings).toEqual([]);
    expect(runSettings(['/h'], { file: '/r/ansible.cfg', hostKeyChecking: false }).warnings).toEqual([
      "/r/ansible.cfg: host_key_checking = False is ignored: halyard records a new host's key and refuses a changed one (--strict-host-keys refuses new ones too)",
    ]);
  });

  it('-u, -b and --private-key sit above ansible.cfg (and below inventory vars); --become-user is root only', () => {
    const settings = { file: '/r/ansible.cfg', remoteUser: 'deploy', become: false, privateKeyFile: '/r/id' };
    expect(runSettings(['/h'], settings, { user: 'ops', become: true, privateKey: '/k/ops' }).connectionDefaults).toEqual({ user: 'ops', become: true, privateKeyFile: '/k/ops' });
    expect(runSettings(['/h'], settings, {}).connectionDefaults).toEqual({ user: 'deploy', become: false, privateKeyFile: '/r/id' });
    expect(runSettings(['/h'], {}, { becomeUser: 'root' }).connectionDefaults).toEqual({});
    expect(() => runSettings(['/h'], {}, { becomeUser: 'www-data' })).toThrow('--become-user www-data: halyard becomes root only');
  });

  it('halyard.yml sits between the command line and ansible.cfg: inventory, forks, -u, --private-key, -b', () => {
    const ansible = { file: '/r/ansible.cfg', inventory: ['/r/hosts.ini'], remoteUser: 'cfg-user', privateKeyFile: '/r/cfg-key', become: false, forks: 7 };
    const project = { file: '/r/halyard.yml', inventory: ['/r/inventory/prod.yml'], user: 'yml-user', privateKey: '/r/yml-key', become: true, forks: 30 };
    // halyard.yml beats ansible.cfg.
    expect(runSettings(undefined, ansible, {}, project)).toMatchObject({
      project,
      inventory: ['/r/inventory/prod.yml'],
      connectionDefaults: { user: 'yml-user', privateKeyFile: '/r/yml-key', become: true },
      forks: 30,
    });
    // The command line beats halyard.yml (apply's --forks is read by apply itself: runSettings gives the file's).
    expect(runSettings(['/cli/hosts'], ansible, { user: 'cli-user', privateKey: '/cli/key', become: false }, project)).toMatchObject({
      inventory: ['/cli/hosts'],
      connectionDefaults: { user: 'cli-user', privateKeyFile: '/cli/key', become: false },
    });
    // What halyard.yml leaves unset still comes from ansible.cfg.
    expect(runSettings(undefined, ansible, {}, { file: '/r/halyard.yml', user: 'yml-user' })).toMatchObject({
      inventory: ['/r/hosts.ini'],
      connectionDefaults: { user: 'yml-user', privateKeyFile: '/r/cfg-key', become: false },
      forks: 7,
    });
  });
});
