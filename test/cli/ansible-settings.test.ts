// What a run takes from ansible.cfg settings: the exact values, errors and warnings.
import { describe, expect, it } from 'vitest';
import { runSettings } from '../../src/cli/ansible-settings.js';

describe('runSettings', () => {
  it('-i wins over the file; without -i the file names the inventories; forks and connection defaults pass through', () => {
    const settings = { file: '/repo/ansible.cfg', inventory: ['/repo/hosts'], remoteUser: 'deploy', privateKeyFile: '/repo/id', become: true, forks: 7 };
    expect(runSettings(['/elsewhere'], settings)).toEqual({ ansible: settings, inventory: ['/elsewhere'], connectionDefaults: { user: 'deploy', privateKeyFile: '/repo/id', become: true }, forks: 7, warnings: [] });
    expect(runSettings(undefined, settings).inventory).toEqual(['/repo/hosts']);
    expect(() => runSettings([], {})).toThrow('no inventory: pass -i, or set inventory in ansible.cfg or ANSIBLE_INVENTORY');
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
});
