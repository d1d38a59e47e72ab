import { describe, expect, test } from 'vitest';
import type { GroupInfo, UserInfo } from '../../src/facts/users.js';
import { userResource, type UserDesired } from '../../src/resources/user.js';
import { outcomeOf, planOf, type PlanRow } from './plan-table.js';

const noUser = (name: string): UserInfo => ({ exists: false, name, groups: [] });
const noGroup = (name: string): GroupInfo => ({ exists: false, name, members: [] });
const deploy = (extra: Partial<UserInfo> = {}): UserInfo => ({
  exists: true, name: 'deploy', uid: 1001, gid: 1001, group: 'deploy', groups: ['deploy', 'sudo'], gecos: '', home: '/home/deploy', shell: '/bin/bash', ...extra,
});
const existing = (extra: Partial<UserInfo> = {}) => ({ user: deploy(extra), ownGroup: { exists: true, name: 'deploy', gid: 1001, members: [] } });
const creating = (ownGroupExists = false) => ({
  user: noUser('deploy'),
  ownGroup: ownGroupExists ? { exists: true, name: 'deploy', gid: 1001, members: [] } : noGroup('deploy'),
});

const rows: PlanRow<UserDesired>[] = [
  { name: 'create with defaults (home created)', desired: { name: 'deploy' }, facts: creating(), expected: { scripts: ['useradd -m -- deploy'] } },
  {
    name: 'create with everything',
    desired: { name: 'deploy', uid: 1001, group: 'staff', groups: ['docker', 'sudo'], home: '/srv/deploy', shell: '/bin/bash' },
    facts: creating(),
    expected: { scripts: ['useradd -u 1001 -g staff -G docker,sudo -d /srv/deploy -s /bin/bash -m -- deploy'] },
  },
  {
    name: 'create a system user (no home by default)',
    desired: { name: 'prometheus', system: true, shell: '/usr/sbin/nologin', home: '/var/lib/prometheus' },
    facts: { user: noUser('prometheus'), ownGroup: noGroup('prometheus') },
    expected: { scripts: ['useradd -d /var/lib/prometheus -s /usr/sbin/nologin -r -M -- prometheus'] },
  },
  {
    name: 'create a system user with a home',
    desired: { name: 'app', system: true, createHome: true },
    facts: { user: noUser('app'), ownGroup: noGroup('app') },
    expected: { scripts: ['useradd -r -m -- app'] },
  },
  { name: 'create without a home', desired: { name: 'deploy', createHome: false }, facts: creating(), expected: { scripts: ['useradd -M -- deploy'] } },
  {
    name: 'create when a group of the same name exists: join it',
    desired: { name: 'deploy' },
    facts: creating(true),
    expected: { scripts: ['useradd -g deploy -m -- deploy'] },
  },
  { name: 'create with a numeric primary group', desired: { name: 'deploy', group: 100 }, facts: creating(), expected: { scripts: ['useradd -g 100 -m -- deploy'] } },
  { name: 'noop: exists', desired: { name: 'deploy' }, facts: existing(), expected: { noop: 'user deploy exists' } },
  {
    name: 'noop: every setting matches',
    desired: { name: 'deploy', uid: 1001, group: 'deploy', groups: ['sudo'], home: '/home/deploy', shell: '/bin/bash' },
    facts: existing(),
    expected: { noop: 'user deploy exists with the wanted uid, group, groups, home, shell' },
  },
  { name: 'noop: primary group by gid', desired: { name: 'deploy', group: 1001 }, facts: existing(), expected: { noop: 'user deploy exists with the wanted group' } },
  { name: 'noop: the primary group listed in groups', desired: { name: 'deploy', groups: ['deploy', 'sudo'] }, facts: existing(), expected: { noop: 'user deploy exists with the wanted groups' } },
  {
    name: 'add to docker, keep other groups (append default)',
    desired: { name: 'deploy', groups: ['docker'] },
    facts: existing(),
    expected: { scripts: ['usermod -a -G docker -- deploy'] },
  },
  {
    name: 'add only the missing groups',
    desired: { name: 'deploy', groups: ['sudo', 'docker', 'adm', 'docker'] },
    facts: existing(),
    expected: { scripts: ['usermod -a -G docker,adm -- deploy'] },
  },
  {
    name: 'append false: set the exact supplementary groups',
    desired: { name: 'deploy', groups: ['docker'], append: false },
    facts: existing(),
    expected: { scripts: ['usermod -G docker -- deploy'] },
  },
  {
    name: 'append false: no supplementary groups at all',
    desired: { name: 'deploy', groups: [], append: false },
    facts: existing(),
    expected: { scripts: [`usermod -G '' -- deploy`] },
  },
  {
    name: 'append false: already exact (order ignored, primary ignored)',
    desired: { name: 'deploy', groups: ['docker', 'deploy', 'sudo'], append: false },
    facts: existing({ groups: ['deploy', 'sudo', 'docker'] }),
    expected: { noop: 'user deploy exists with the wanted groups' },
  },
  {
    name: 'uid, primary group, home and shell drift in one usermod',
    desired: { name: 'deploy', uid: 2000, group: 'staff', home: '/srv/deploy', shell: '/bin/sh' },
    facts: existing(),
    expected: { scripts: ['usermod -u 2000 -g staff -d /srv/deploy -s /bin/sh -- deploy'] },
  },
  { name: 'absent: remove', desired: { name: 'deploy', state: 'absent' }, facts: existing(), expected: { scripts: ['userdel -- deploy'] } },
  { name: 'absent: noop', desired: { name: 'deploy', state: 'absent' }, facts: creating(), expected: { noop: 'user deploy does not exist' } },
  { name: 'name with a leading -', desired: { name: '-o' }, facts: creating(), expected: { error: 'invalid user name "-o"' } },
  { name: 'name with a shell word', desired: { name: 'a;b' }, facts: creating(), expected: { error: 'invalid user name "a;b"' } },
  { name: 'numeric name', desired: { name: '1000' }, facts: creating(), expected: { error: 'invalid user name "1000"' } },
  { name: 'name too long', desired: { name: 'a'.repeat(33) }, facts: creating(), expected: { error: `invalid user name "${'a'.repeat(33)}"` } },
  { name: 'group with a comma', desired: { name: 'deploy', groups: ['docker,sudo'] }, facts: creating(), expected: { error: 'invalid group name "docker,sudo"' } },
  { name: 'bad uid', desired: { name: 'deploy', uid: -1 }, facts: creating(), expected: { error: 'invalid uid -1' } },
  { name: 'fractional uid', desired: { name: 'deploy', uid: 1.5 }, facts: creating(), expected: { error: 'invalid uid 1.5' } },
  { name: 'relative home', desired: { name: 'deploy', home: 'home/deploy' }, facts: creating(), expected: { error: 'user deploy home path must be absolute: "home/deploy"' } },
  { name: 'home with a colon', desired: { name: 'deploy', home: '/home/a:b' }, facts: creating(), expected: { error: "user deploy home must not contain ':' or a newline" } },
  { name: 'shell with a newline', desired: { name: 'deploy', shell: '/bin/sh\nroot' }, facts: creating(), expected: { error: "user deploy shell must not contain ':' or a newline" } },
  { name: 'bad state', desired: { name: 'deploy', state: 'gone' as 'absent' }, facts: creating(), expected: { error: 'user deploy: invalid state "gone"' } },
];

describe('userResource.plan', () => {
  test.each(rows)('$name', ({ desired, facts, expected }) => {
    expect(outcomeOf(userResource, desired, facts)).toEqual(expected);
  });

  test('changes describe the drift', () => {
    const plan = planOf(userResource, { name: 'deploy', uid: 2000, groups: ['docker'], append: false }, existing());
    expect(plan).toMatchObject({ action: 'change', changes: ['uid 1001 -> 2000', 'groups sudo -> docker'], steps: [{ label: 'modify user deploy' }] });
    expect(planOf(userResource, { name: 'deploy', groups: ['docker'] }, existing())).toMatchObject({ changes: ['add to groups docker'] });
  });

  test('facts, invalidation and description', () => {
    const facts = userResource.facts({ name: 'deploy' }, { diff: false });
    expect(Object.values(facts).map((fact) => fact.key)).toEqual(['user:deploy', 'group:deploy']);
    expect(() => userResource.facts({ name: '$(x)' }, { diff: false })).toThrow('invalid user name "$(x)"');
    expect(userResource.invalidates({ name: 'deploy' })).toEqual(['user:deploy', 'group:*', 'path:*', 'exists:*', 'status:*']);
    expect(userResource.describe({ name: 'deploy', state: 'absent' })).toBe('user deploy (absent)');
  });
});
