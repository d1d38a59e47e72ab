import { describe, expect, test } from 'vitest';
import { FactParseError } from '../../src/facts/fact.js';
import { groupFact, parseGroupInfo, parseUserInfo, userFact, type GroupInfo, type UserInfo } from '../../src/facts/users.js';
import { probeLocally, probeOne } from './local-shell.js';

describe('parseUserInfo', () => {
  const rows: { name: string; user: string; stdout: string; expected: UserInfo }[] = [
    {
      name: 'root (captured on Debian 12)',
      user: 'root',
      stdout: 'passwd root:x:0:0:root:/root:/bin/bash\ngroup root\ngroups root\n',
      expected: { exists: true, name: 'root', uid: 0, gid: 0, group: 'root', groups: ['root'], gecos: 'root', home: '/root', shell: '/bin/bash' },
    },
    {
      name: 'system user with empty gecos (captured on Debian 12)',
      user: '_apt',
      stdout: 'passwd _apt:x:42:65534::/nonexistent:/usr/sbin/nologin\ngroup nogroup\ngroups nogroup\n',
      expected: { exists: true, name: '_apt', uid: 42, gid: 65534, group: 'nogroup', groups: ['nogroup'], gecos: '', home: '/nonexistent', shell: '/usr/sbin/nologin' },
    },
    {
      name: 'service user in a supplementary group (captured on Debian 12)',
      user: 'postgres',
      stdout: 'passwd postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\ngroup postgres\ngroups postgres ssl-cert\n',
      expected: {
        exists: true, name: 'postgres', uid: 101, gid: 104, group: 'postgres', groups: ['postgres', 'ssl-cert'],
        gecos: 'PostgreSQL administrator,,,', home: '/var/lib/postgresql', shell: '/bin/bash',
      },
    },
    {
      name: 'adduser gecos with commas and spaces, several groups',
      user: 'deploy',
      stdout: 'passwd deploy:x:1001:1001:Deploy User,,,:/home/deploy:/bin/bash\ngroup deploy\ngroups deploy sudo docker\n',
      expected: { exists: true, name: 'deploy', uid: 1001, gid: 1001, group: 'deploy', groups: ['deploy', 'sudo', 'docker'], gecos: 'Deploy User,,,', home: '/home/deploy', shell: '/bin/bash' },
    },
    {
      name: 'Amazon Linux ec2-user',
      user: 'ec2-user',
      stdout: 'passwd ec2-user:x:1000:1000:EC2 Default User:/home/ec2-user:/bin/bash\ngroup ec2-user\ngroups ec2-user adm wheel systemd-journal\n',
      expected: {
        exists: true, name: 'ec2-user', uid: 1000, gid: 1000, group: 'ec2-user', groups: ['ec2-user', 'adm', 'wheel', 'systemd-journal'],
        gecos: 'EC2 Default User', home: '/home/ec2-user', shell: '/bin/bash',
      },
    },
    {
      name: 'primary gid without a group entry (id -gn fails, no group line)',
      user: 'orphan',
      stdout: 'passwd orphan:x:1500:4242::/home/orphan:/bin/sh\ngroups \n',
      expected: { exists: true, name: 'orphan', uid: 1500, gid: 4242, groups: [], gecos: '', home: '/home/orphan', shell: '/bin/sh' },
    },
    { name: 'absent (getent exit 2)', user: 'nosuch', stdout: 'absent\n', expected: { exists: false, name: 'nosuch', groups: [] } },
  ];
  test.each(rows)('$name', ({ user, stdout, expected }) => {
    expect(parseUserInfo(`user:${user}`, user, stdout, 0)).toEqual(expected);
  });

  test.each([
    ['getent failed (e.g. exit 1)', '', 1, 'getent failed with exit code 1'],
    ['passwd entry with too few fields', 'passwd x:x:1\n', 0, 'unexpected passwd entry (3 fields, 7 expected)'],
    ['non-numeric uid', 'passwd x:x:a:1::/:/bin/sh\n', 0, 'unexpected passwd entry'],
    ['no passwd line', 'groups a\n', 0, 'no passwd entry in probe output'],
  ])('%s is a FactParseError', (_name, stdout, exitCode, message) => {
    expect(() => parseUserInfo('user:x', 'x', stdout, exitCode)).toThrow(FactParseError);
    expect(() => parseUserInfo('user:x', 'x', stdout, exitCode)).toThrow(message);
  });
});

describe('parseGroupInfo', () => {
  const rows: { name: string; group: string; stdout: string; expected: GroupInfo }[] = [
    { name: 'root (captured)', group: 'root', stdout: 'group root:x:0:\n', expected: { exists: true, name: 'root', gid: 0, members: [] } },
    { name: 'users (captured)', group: 'users', stdout: 'group users:x:100:\n', expected: { exists: true, name: 'users', gid: 100, members: [] } },
    { name: 'ssl-cert with a member (captured)', group: 'ssl-cert', stdout: 'group ssl-cert:x:103:postgres\n', expected: { exists: true, name: 'ssl-cert', gid: 103, members: ['postgres'] } },
    { name: 'docker with members', group: 'docker', stdout: 'group docker:x:999:deploy,ci\n', expected: { exists: true, name: 'docker', gid: 999, members: ['deploy', 'ci'] } },
    { name: 'Amazon Linux wheel', group: 'wheel', stdout: 'group wheel:x:10:ec2-user\n', expected: { exists: true, name: 'wheel', gid: 10, members: ['ec2-user'] } },
    { name: 'absent', group: 'nosuch', stdout: 'absent\n', expected: { exists: false, name: 'nosuch', members: [] } },
  ];
  test.each(rows)('$name', ({ group, stdout, expected }) => {
    expect(parseGroupInfo(`group:${group}`, group, stdout, 0)).toEqual(expected);
  });

  test.each([
    ['getent failed', '', 1, 'getent failed with exit code 1'],
    ['garbage', 'hello\n', 0, 'unexpected output (1 line, 6 bytes)'],
    ['bad gid', 'group x:x:y:\n', 0, 'unexpected group entry (4 fields, 4 expected, gid not numeric)'],
  ])('%s is a FactParseError', (_name, stdout, exitCode, message) => {
    expect(() => parseGroupInfo('group:x', 'x', stdout, exitCode)).toThrow(FactParseError);
    expect(() => parseGroupInfo('group:x', 'x', stdout, exitCode)).toThrow(message);
  });
});

describe('user and group facts', () => {
  test('scripts are exact', () => {
    expect(userFact('deploy').script).toBe(
      [
        'e=$(getent passwd -- deploy); rc=$?',
        'if [ "$rc" -eq 2 ]; then echo absent; exit 0; fi',
        'if [ "$rc" -ne 0 ]; then exit "$rc"; fi',
        `printf 'passwd %s\\n' "$e"`,
        `g=$(id -gn -- deploy 2>/dev/null) && printf 'group %s\\n' "$g"`,
        `printf 'groups %s\\n' "$(id -Gn -- deploy 2>/dev/null)"`,
      ].join('\n'),
    );
    expect(groupFact('docker').script).toBe(
      [
        'e=$(getent group -- docker); rc=$?',
        'if [ "$rc" -eq 2 ]; then echo absent; exit 0; fi',
        'if [ "$rc" -ne 0 ]; then exit "$rc"; fi',
        `printf 'group %s\\n' "$e"`,
      ].join('\n'),
    );
  });

  test('probed locally: root, an absent user, root group, an absent group', async () => {
    const values = await probeLocally([userFact('root'), userFact('halyard-nosuch'), groupFact('root'), groupFact('halyard-nosuch')]);
    expect(values.get('user:root')).toMatchObject({ exists: true, uid: 0, gid: 0, group: 'root', home: '/root' });
    expect((values.get('user:root') as UserInfo).groups[0]).toBe('root');
    expect(values.get('user:halyard-nosuch')).toEqual({ exists: false, name: 'halyard-nosuch', groups: [] });
    expect(values.get('group:root')).toMatchObject({ exists: true, gid: 0 });
    expect(values.get('group:halyard-nosuch')).toEqual({ exists: false, name: 'halyard-nosuch', members: [] });
  });

  test('a hostile name is looked up literally, never run', async () => {
    const info = await probeOne(userFact('$(touch /tmp/halyard-pwned-users)'));
    expect(info.exists).toBe(false);
  });
});
