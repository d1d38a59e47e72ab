import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { Secret } from '../../src/core/secret.js';
import { sh } from '../../src/core/shell.js';
import { commandResource, renderCommandArgv, type CommandDesired } from '../../src/resources/command.js';
import { argumentProblem } from '../../src/resources/schemas.js';
import { HOSTILE_PATH_WORDS, HOSTILE_WORDS, quotedAfter } from '../core/hostile-words.js';
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
  { name: 'blank command', desired: { command: '  ' }, facts: {}, expected: { error: 'command: command must be non-empty shell text (a string or sh`...`)' } },
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

describe('commandResource with hostile values', () => {
  test.each(HOSTILE_WORDS)('an argv word holding $name is one quoted word, and comes back whole from /bin/sh', (row) => {
    const plan = outcomeOf(commandResource, { argv: ['printf', '%s\\n', row.value] }, {});
    expect(plan).toEqual({ scripts: [`printf '%s\\n' ${row.quoted}`] });
    const script = 'scripts' in plan ? (plan.scripts[0] as string) : '';
    expect(execFileSync('/bin/sh', ['-c', script])).toEqual(Buffer.from(`${row.value}\n`, 'utf8'));
  });

  test.each(HOSTILE_WORDS)('an environment value holding $name is one quoted word', (row) => {
    expect(outcomeOf(commandResource, { argv: ['env'], env: { APP_VALUE: row.value } }, {})).toEqual({ scripts: [`export APP_VALUE=${row.quoted}\nenv`] });
  });

  test.each(HOSTILE_PATH_WORDS)('a chdir holding $name is one quoted word, in the command and in its guard', (row) => {
    const chdir = `/srv/${row.value}`;
    const quoted = quotedAfter('/srv/', row);
    expect(outcomeOf(commandResource, { argv: ['make'], chdir }, {})).toEqual({ scripts: [`cd -- ${quoted} || exit 1\nmake`] });
    expect(commandResource.facts({ argv: ['make'], chdir, unless: 'test -f done' }, { diff: false }).unless?.script).toContain(`\n  cd -- ${quoted} || exit 1\n`);
    expect(commandResource.facts({ argv: ['make'], creates: chdir }, { diff: false }).creates?.script).toBe(`if [ -e ${quoted} ] || [ -L ${quoted} ]; then echo yes; else echo no; fi`);
  });
});

describe('commandResource with sh`...` scripts', () => {
  const path = "/srv/it's $(x)";

  test('command, unless and onlyIf take a script: its values stay quoted, the text is used as is', () => {
    const desired: CommandDesired = { command: sh`touch -- ${path}`, unless: sh`test -e ${path}`, onlyIf: sh`test -d ${'/srv'}`, chdir: '/srv' };
    expect(outcomeOf(commandResource, desired, { unless: 1, onlyIf: 0 })).toEqual({ scripts: [`cd -- /srv || exit 1\ntouch -- '/srv/it'\\''s $(x)'`] });
    const facts = commandResource.facts(desired, { diff: false });
    expect(facts.unless?.key).toMatch(/^status:test -e '\/srv\/it'\\''s \$\(x\)':[0-9a-f]{12}$/);
    expect(facts.unless?.script).toContain(`\ntest -e '/srv/it'\\''s $(x)'\n`);
    expect(facts.onlyIf?.key).toMatch(/^status:test -d \/srv:[0-9a-f]{12}$/);
    expect(commandResource.describe(desired)).toBe(`command touch -- '/srv/it'\\''s $(x)'`);
    expect(planOf(commandResource, desired, { unless: 1, onlyIf: 0 })).toMatchObject({ changes: [`run touch -- '/srv/it'\\''s $(x)'`] });
  });

  test('a script and the same text plan alike', () => {
    const script = sh.lines([sh`set -e`, sh`rm -rf -- ${path}`]);
    expect(outcomeOf(commandResource, { command: script }, {})).toEqual(outcomeOf(commandResource, { command: script.text }, {}));
  });

  test('empty scripts are refused like empty text; the schema takes text or a script', () => {
    expect(outcomeOf(commandResource, { command: sh`  ` }, {})).toEqual({ error: 'command: command must be non-empty shell text (a string or sh`...`)' });
    expect(outcomeOf(commandResource, { command: 'x', unless: sh`` }, { unless: 1 })).toEqual({ error: 'command: unless must be a non-empty shell snippet' });
    expect(argumentProblem('command', { command: sh`true`, unless: sh`false`, onlyIf: 'true' })).toBeUndefined();
    expect(argumentProblem('command', { command: 42 })).toBe('command must be shell text (a string) or an sh`...` script');
    expect(argumentProblem('command', { command: { text: 'reboot' } })).toBe('command must be shell text (a string) or an sh`...` script');
  });

  test('a secret cannot be put into a command: it goes on stdin', () => {
    expect(() => sh`echo ${new Secret('s3cret-value', 'api_token') as never} | login`).toThrow(/is a Secret \(api_token\): .*travel on stdin/);
  });
});
