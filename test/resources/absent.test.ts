import { describe, expect, test } from 'vitest';
import { absentResource, type AbsentDesired } from '../../src/resources/absent.js';
import { HOSTILE_PATH_WORDS, quotedAfter } from '../core/hostile-words.js';
import { outcomeOf, type PlanRow } from './plan-table.js';

const rows: PlanRow<AbsentDesired>[] = [
  { name: 'already absent', desired: { path: '/tmp/x' }, facts: { path: { type: 'absent' } }, expected: { noop: '/tmp/x does not exist' } },
  { name: 'a file', desired: { path: '/etc/cron.d/old' }, facts: { path: { type: 'file' } }, expected: { scripts: ['rm -f -- /etc/cron.d/old'] } },
  { name: 'a symlink (the link, not its target)', desired: { path: '/etc/nginx/sites-enabled/default' }, facts: { path: { type: 'symlink' } }, expected: { scripts: ['rm -f -- /etc/nginx/sites-enabled/default'] } },
  { name: 'a fifo', desired: { path: '/run/x.fifo' }, facts: { path: { type: 'other' } }, expected: { scripts: ['rm -f -- /run/x.fifo'] } },
  { name: 'an empty directory', desired: { path: '/srv/old' }, facts: { path: { type: 'directory' } }, expected: { scripts: ['rmdir -- /srv/old'] } },
  { name: 'a directory tree', desired: { path: '/srv/old', recursive: true }, facts: { path: { type: 'directory' } }, expected: { scripts: ['rm -rf -- /srv/old'] } },
  { name: 'a quoted path starting with -', desired: { path: "/srv/-rf it's" }, facts: { path: { type: 'file' } }, expected: { scripts: [`rm -f -- '/srv/-rf it'\\''s'`] } },
  { name: 'the root', desired: { path: '/', recursive: true }, facts: { path: { type: 'directory' } }, expected: { error: 'refusing to remove /' } },
  { name: '/etc', desired: { path: '/etc', recursive: true }, facts: { path: { type: 'directory' } }, expected: { error: 'refusing to remove /etc' } },
  { name: '/usr/local', desired: { path: '/usr/local', recursive: true }, facts: { path: { type: 'directory' } }, expected: { error: 'refusing to remove /usr/local' } },
  { name: '//etc is not a way around the guard', desired: { path: '//etc', recursive: true }, facts: { path: { type: 'directory' } }, expected: { error: 'absent path must be normalized (no "//" or "/./"): //etc' } },
  { name: '/./etc is not a way around the guard', desired: { path: '/./etc', recursive: true }, facts: { path: { type: 'directory' } }, expected: { error: 'absent path must be normalized (no "//" or "/./"): /./etc' } },
  { name: '/etc/.. is not a way around the guard', desired: { path: '/etc/..', recursive: true }, facts: { path: { type: 'directory' } }, expected: { error: 'absent path must not contain "..": /etc/..' } },
  { name: 'relative path', desired: { path: 'tmp/x' }, facts: { path: { type: 'file' } }, expected: { error: 'absent path must be absolute: "tmp/x"' } },
];

describe('absentResource.plan', () => {
  test.each(rows)('$name', ({ desired, facts, expected }) => {
    expect(outcomeOf(absentResource, desired, facts)).toEqual(expected);
  });

  test('invalidates everything below the path and guards', () => {
    expect(absentResource.invalidates({ path: '/srv/old' })).toEqual(['path:/srv/old*', 'exists:/srv/old*', 'status:*']);
    expect(absentResource.describe({ path: '/srv/old' })).toBe('absent /srv/old');
    expect(absentResource.invalidates({ path: '/etc/systemd/system/old.service' })).toContain('service:*');
    expect(absentResource.invalidates({ path: '/etc/systemd' })).toContain('service:*');
  });

  test.each(HOSTILE_PATH_WORDS)('a path holding $name is one quoted word', (row) => {
    const path = `/srv/${row.value}`;
    const quoted = quotedAfter('/srv/', row);
    expect(outcomeOf(absentResource, { path }, { path: { type: 'file' } })).toEqual({ scripts: [`rm -f -- ${quoted}`] });
    expect(outcomeOf(absentResource, { path }, { path: { type: 'directory' } })).toEqual({ scripts: [`rmdir -- ${quoted}`] });
    expect(outcomeOf(absentResource, { path, recursive: true }, { path: { type: 'directory' } })).toEqual({ scripts: [`rm -rf -- ${quoted}`] });
  });
});
