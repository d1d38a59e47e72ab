import { describe, expect, test } from 'vitest';
import type { GroupInfo } from '../../src/facts/users.js';
import { groupResource, type GroupDesired } from '../../src/resources/group.js';
import { outcomeOf, type PlanRow } from './plan-table.js';

const none: { group: GroupInfo } = { group: { exists: false, name: 'docker', members: [] } };
const docker: { group: GroupInfo } = { group: { exists: true, name: 'docker', gid: 999, members: ['deploy'] } };

const rows: PlanRow<GroupDesired>[] = [
  { name: 'create', desired: { name: 'docker' }, facts: none, expected: { scripts: ['groupadd -- docker'] } },
  { name: 'create with gid, system', desired: { name: 'docker', gid: 998, system: true }, facts: none, expected: { scripts: ['groupadd -g 998 -r -- docker'] } },
  { name: 'noop', desired: { name: 'docker' }, facts: docker, expected: { noop: 'group docker exists' } },
  { name: 'noop with gid', desired: { name: 'docker', gid: 999, system: true }, facts: docker, expected: { noop: 'group docker exists with gid 999' } },
  { name: 'gid drift', desired: { name: 'docker', gid: 2000 }, facts: docker, expected: { scripts: ['groupmod -g 2000 -- docker'] } },
  { name: 'absent: remove', desired: { name: 'docker', state: 'absent' }, facts: docker, expected: { scripts: ['groupdel -- docker'] } },
  { name: 'absent: noop', desired: { name: 'docker', state: 'absent' }, facts: none, expected: { noop: 'group docker does not exist' } },
  { name: 'name with a leading -', desired: { name: '-f' }, facts: none, expected: { error: 'invalid group name "-f"' } },
  { name: 'name with spaces', desired: { name: 'my group' }, facts: none, expected: { error: 'invalid group name "my group"' } },
  { name: 'bad gid', desired: { name: 'docker', gid: 4294967295 }, facts: none, expected: { error: 'invalid gid 4294967295' } },
  { name: 'bad state', desired: { name: 'docker', state: 'x' as 'present' }, facts: none, expected: { error: 'group docker: invalid state "x"' } },
];

describe('groupResource.plan', () => {
  test.each(rows)('$name', ({ desired, facts, expected }) => {
    expect(outcomeOf(groupResource, desired, facts)).toEqual(expected);
  });

  test('facts, invalidation and description', () => {
    expect(Object.values(groupResource.facts({ name: 'docker' }, { diff: false })).map((fact) => fact.key)).toEqual(['group:docker']);
    expect(groupResource.invalidates({ name: 'docker' })).toEqual(['group:docker', 'user:*', 'path:*', 'status:*']);
    expect(groupResource.describe({ name: 'docker' })).toBe('group docker');
  });
});
