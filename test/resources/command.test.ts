import { describe, expect, test } from 'vitest';
import { commandResource, renderCommandArgv, type CommandDesired } from '../../src/resources/command.js';
import { outcomeOf, planOf, type PlanRow } from './plan-table.js';

const rows: PlanRow<CommandDesired>[] = [
  { name: 'no guard: always runs the snippet as written', desired: { command: 'echo hi | tee /tmp/x && date' }, facts: {}, expected: { scripts: ['echo hi | tee /tmp/x && date'] } },
  { name: 'argv words are quoted', desired: { argv: ['/usr/local/bin/tool', '--name', 'my app', "it's", '$HOME'] }, facts: {}, expected: { scripts: [`/usr/local/bin/tool --name 'my app' 'it'\\''s' '$HOME'`] } },
  {
    name: 'chdir and env before the command',
    desired: { argv: ['make', 'install'], chdir: '/opt/src/my app', env: { PREFIX: '/usr/local', CFLAGS: '-O2 -g' } },
    facts: {},
    expected: { scripts: [[`cd -- '/opt/src/my app' || exit 1`, 'export PREFIX=/usr/local', `export CFLAGS='-O2 -g'`, 'make install'].join('\n')] },
  },
  { name: 'creates: path exists -> noop', desired: { command: 'tar xf /tmp/x.tgz -C /opt', creates: '/opt/x' }, facts: { creates: true }, expected: { noop: '/opt/x exists (creates)' } },
  { name: 'creates: path missing -> run', desired: { command: 'tar xf /tmp/x.tgz -C /opt', creates: '/opt/x' }, facts: { creates: false }, expected: { scripts: ['tar xf /tmp/x.tgz -C /opt'] } },
  { name: 'removes: path missing -> noop', desired: { argv: ['rm', '-rf', '--', '/opt/old'], removes: '/opt/old' }, facts: { removes: false }, expected: { noop: '/opt/old does not exist (removes)' } },
  { name: 'removes: path exists -> run', desired: { argv: ['rm', '-rf', '--', '/opt/old'], removes: '/opt/old' }, facts: { removes: true }, expected: { scripts: ['rm -rf -- /opt/old'] } },
  { name: 'unless succeeded -> noop', desired: { command: 'ufw enable', unless: 'ufw status | grep -q active' }, facts: { unless: 0 }, expected: { noop: 'unless command succeeded' } },
  { name: 'unless failed -> run', desired: { command: 'ufw enable', unless: 'ufw status | grep -q active' }, facts: { unless: 1 }, expected: { scripts: ['ufw enable'] } },
  { name: 'onlyIf failed -> noop', desired: { command: 'systemctl reboot', onlyIf: 'test -f /run/reboot-required' }, facts: { onlyIf: 1 }, expected: { noop: 'onlyIf command failed (exit 1)' } },
  { name: 'onlyIf succeeded -> run', desired: { command: 'systemctl reboot', onlyIf: 'test -f /run/reboot-required' }, facts: { onlyIf: 0 }, expected: { scripts: ['systemctl reboot'] } },
  {
    name: 'all guards pass -> run',
    desired: { command: 'x', creates: '/a', removes: '/b', unless: 'false', onlyIf: 'true' },
    facts: { creates: false, removes: true, unless: 1, onlyIf: 0 },
    expected: { scripts: ['x'] },
  },
  { name: 'argv[0] that is a reserved word is quoted', desired: { argv: ['if', 'x'] }, facts: {}, expected: { scripts: [`'if' x`] } },
  { name: 'argv[0] that looks like an assignment is quoted', desired: { argv: ['A=b', 'x'] }, facts: {}, expected: { scripts: [`'A=b' x`] } },
  { name: 'argv[0] with a space', desired: { argv: ['/opt/my tool/bin/x'] }, facts: {}, expected: { scripts: [`'/opt/my tool/bin/x'`] } },
  { name: 'argv with an empty word', desired: { argv: ['printf', '%s', ''] }, facts: {}, expected: { scripts: [`printf %s ''`] } },
  { name: 'neither command nor argv', desired: {}, facts: {}, expected: { error: 'command: give exactly one of command and argv' } },
  { name: 'both command and argv', desired: { command: 'x', argv: ['x'] }, facts: {}, expected: { error: 'command: give exactly one of command and argv' } },
  { name: 'blank command', desired: { command: '  ' }, facts: {}, expected: { error: 'command: command must be a non-empty string' } },
  { name: 'empty argv', desired: { argv: [] }, facts: {}, expected: { error: 'command: argv must be a non-empty list' } },
  { name: 'empty argv[0]', desired: { argv: ['', 'x'] }, facts: {}, expected: { error: 'command: argv[0] must not be empty' } },
  { name: 'NUL in argv', desired: { argv: ['echo', 'a\0b'] }, facts: {}, expected: { error: 'command: argv words must be strings without NUL bytes' } },
  { name: 'relative creates', desired: { command: 'x', creates: 'opt/x' }, facts: { creates: false }, expected: { error: 'command creates path must be absolute: "opt/x"' } },
  { name: 'relative chdir', desired: { command: 'x', chdir: 'src' }, facts: {}, expected: { error: 'command chdir path must be absolute: "src"' } },
  { name: 'bad env name', desired: { command: 'x', env: { 'A;B': '1' } }, facts: {}, expected: { error: 'command: invalid environment variable name "A;B"' } },
  { name: 'blank unless', desired: { command: 'x', unless: '' }, facts: { unless: 0 }, expected: { error: 'command: unless must be a non-empty shell snippet' } },
  { name: 'guard fact missing', desired: { command: 'x', creates: '/a' }, facts: {}, expected: { error: 'no fact for the creates guard' } },
];

describe('commandResource.plan', () => {
  test.each(rows)('$name', ({ desired, facts, expected }) => {
    expect(outcomeOf(commandResource, desired, facts)).toEqual(expected);
  });

  test('label is the first line, shortened', () => {
    const plan = planOf(commandResource, { command: `set -e\n${'x'.repeat(200)}` }, {});
    expect(plan).toMatchObject({ action: 'change', changes: ['run set -e …'], steps: [{ label: 'run set -e …' }] });
    const long = planOf(commandResource, { argv: ['echo', 'y'.repeat(200)] }, {});
    expect(long.action === 'change' && long.steps[0]?.label).toBe(`run echo ${'y'.repeat(74)}…`);
  });

  test('facts: guards only when given; invalidates everything', () => {
    expect(commandResource.facts({ command: 'x' }, { diff: false })).toEqual({});
    const facts = commandResource.facts({ command: 'x', creates: '/a', removes: '/b', unless: 'test -f /c', onlyIf: 'true', chdir: '/srv' }, { diff: false });
    expect(Object.keys(facts)).toEqual(['creates', 'removes', 'unless', 'onlyIf']);
    expect(facts.creates?.key).toBe('exists:/a');
    expect(facts.removes?.key).toBe('exists:/b');
    expect(facts.unless?.key).toMatch(/^status:test -f \/c:[0-9a-f]{12}$/);
    expect(facts.unless?.script).toContain(`cd -- /srv || exit 1`);
    expect(commandResource.invalidates({ command: 'x' })).toEqual(['*']);
    expect(commandResource.describe({ argv: ['echo', 'a b'] })).toBe(`command echo 'a b'`);
  });

  test.each([
    [['ls'], 'ls'],
    [['!'], `'!'`],
    [['{'], `'{'`],
    [['done'], `'done'`],
    [["it's"], `'it'\\''s'`],
  ])('renderCommandArgv(%j)', (argv, expected) => {
    expect(renderCommandArgv(argv)).toBe(expected);
  });
});
