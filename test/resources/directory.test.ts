import { describe, expect, test } from 'vitest';
import type { PathState } from '../../src/facts/file.js';
import { directoryResource, parentsOf, type DirectoryDesired } from '../../src/resources/directory.js';
import { HOSTILE_PATH_WORDS, quotedAfter } from '../core/hostile-words.js';
import { outcomeOf, type PlanRow } from './plan-table.js';

const dirState = (extra: Partial<PathState> = {}): PathState => ({ type: 'directory', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o755, size: 4096, ...extra });

const rows: PlanRow<DirectoryDesired>[] = [
  { name: 'create', desired: { path: '/srv/app' }, facts: { path: { type: 'absent' } }, expected: { scripts: ['mkdir -p -- /srv/app'] } },
  {
    name: 'create with owner, group and mode',
    desired: { path: '/srv/app', owner: 'deploy', group: 'deploy', mode: '0750' },
    facts: { path: { type: 'absent' } },
    expected: { scripts: ['mkdir -p -- /srv/app && chown deploy:deploy -- /srv/app && chmod 0750 -- /srv/app'] },
  },
  {
    name: 'create a quoted path',
    desired: { path: '/srv/my app $(x)', mode: '1777' },
    facts: { path: { type: 'absent' } },
    expected: { scripts: [`mkdir -p -- '/srv/my app $(x)' && chmod 1777 -- '/srv/my app $(x)'`] },
  },
  { name: 'noop', desired: { path: '/srv/app', owner: 'root', mode: '0755' }, facts: { path: dirState() }, expected: { noop: '/srv/app already exists with this owner and mode' } },
  { name: 'noop without ownership', desired: { path: '/srv/app' }, facts: { path: dirState({ uid: 1000, mode: 0o700 }) }, expected: { noop: '/srv/app already exists with this owner and mode' } },
  { name: 'noop: sticky bit', desired: { path: '/tmp', mode: '1777' }, facts: { path: dirState({ mode: 0o1777 }) }, expected: { noop: '/tmp already exists with this owner and mode' } },
  { name: 'owner drift', desired: { path: '/srv/app', owner: 'deploy' }, facts: { path: dirState() }, expected: { scripts: ['chown deploy -- /srv/app'] } },
  { name: 'mode drift', desired: { path: '/srv/app', mode: '0700' }, facts: { path: dirState() }, expected: { scripts: ['chmod 0700 -- /srv/app'] } },
  {
    name: 'owner, group and mode drift',
    desired: { path: '/srv/app', owner: 1000, group: 1000, mode: '0750' },
    facts: { path: dirState() },
    expected: { scripts: ['chown 1000:1000 -- /srv/app && chmod 0750 -- /srv/app'] },
  },
  { name: 'a file in the way', desired: { path: '/srv/app' }, facts: { path: { type: 'file' } }, expected: { error: '/srv/app is a file, not a directory; remove it first' } },
  { name: 'a symlink in the way', desired: { path: '/srv/app' }, facts: { path: { type: 'symlink' } }, expected: { error: '/srv/app is a symlink, not a directory; remove it first' } },
  { name: 'relative path', desired: { path: 'srv' }, facts: { path: { type: 'absent' } }, expected: { error: 'directory path must be absolute: "srv"' } },
  { name: 'non-normalized path', desired: { path: '/srv//app' }, facts: { path: { type: 'absent' } }, expected: { error: 'directory path must be normalized (no "//" or "/./"): /srv//app' } },
  { name: 'bad mode', desired: { path: '/srv/app', mode: 'rwx' }, facts: { path: { type: 'absent' } }, expected: { error: 'invalid mode "rwx": use octal like "0644"' } },
  { name: 'bad owner', desired: { path: '/srv/app', owner: 'x;y' }, facts: { path: { type: 'absent' } }, expected: { error: 'invalid owner "x;y"' } },
];

describe('directoryResource.plan', () => {
  test.each(rows)('$name', ({ desired, facts, expected }) => {
    expect(outcomeOf(directoryResource, desired, facts)).toEqual(expected);
  });

  test.each(HOSTILE_PATH_WORDS)('a path holding $name is one quoted word', (row) => {
    const path = `/srv/${row.value}`;
    const quoted = quotedAfter('/srv/', row);
    expect(outcomeOf(directoryResource, { path, owner: 'deploy', group: 10001, mode: '0750' }, { path: { type: 'absent' } })).toEqual({
      scripts: [`mkdir -p -- ${quoted} && chown deploy:10001 -- ${quoted} && chmod 0750 -- ${quoted}`],
    });
    expect(outcomeOf(directoryResource, { path, owner: 'deploy' }, { path: dirState() })).toEqual({ scripts: [`chown deploy -- ${quoted}`] });
  });

  test('invalidates the tree below, the parents (mkdir -p) and guards', () => {
    expect(directoryResource.invalidates({ path: '/srv/app/data' })).toEqual([
      'path:/srv/app/data*',
      'exists:/srv/app/data*',
      'path:/srv',
      'exists:/srv',
      'path:/srv/app',
      'exists:/srv/app',
      'status:*',
    ]);
  });

  test.each([
    ['/a/b/c', ['/a', '/a/b']],
    ['/a', []],
    ['/', []],
  ])('parentsOf(%s)', (path, parents) => {
    expect(parentsOf(path)).toEqual(parents);
  });
});
