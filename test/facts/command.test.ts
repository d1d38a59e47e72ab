import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import { commandStatusFact, existsFact, parseCommandStatus, parseExists, preludeLines } from '../../src/facts/command.js';
import { FactParseError, defineFact, type Fact } from '../../src/facts/fact.js';
import { sh } from '../../src/core/shell.js';
import { HOSTILE_PATH_WORDS, HOSTILE_WORDS, quotedAfter } from '../core/hostile-words.js';
import { probeLocally, probeOne } from './local-shell.js';

describe('parsers', () => {
  test.each([
    ['yes\n', 0, true],
    ['no\n', 0, false],
  ])('parseExists(%j)', (stdout, exitCode, expected) => {
    expect(parseExists('exists:/x', stdout, exitCode)).toBe(expected);
  });
  test.each([
    ['', 0],
    ['maybe\n', 0],
    ['yes\n', 1],
  ])('parseExists(%j, %d) is a FactParseError', (stdout, exitCode) => {
    expect(() => parseExists('exists:/x', stdout, exitCode)).toThrow(FactParseError);
  });
  test.each([
    ['status 0\n', 0],
    ['status 1\n', 1],
    ['status 127\n', 127],
  ])('parseCommandStatus(%j)', (stdout, expected) => {
    expect(parseCommandStatus('status:x', stdout, 0)).toBe(expected);
  });
  test.each([['', 0], ['status x\n', 0], ['status 0\n', 2]])('parseCommandStatus(%j, %d) is a FactParseError', (stdout, exitCode) => {
    expect(() => parseCommandStatus('status:x', stdout, exitCode)).toThrow(FactParseError);
  });
});

describe('scripts', () => {
  test('existsFact is exact', () => {
    expect(existsFact('/opt/app/bin/app').key).toBe('exists:/opt/app/bin/app');
    expect(existsFact('/opt/my app').script).toBe(`if [ -e '/opt/my app' ] || [ -L '/opt/my app' ]; then echo yes; else echo no; fi`);
  });

  test.each(HOSTILE_PATH_WORDS)('existsFact: a path holding $name is one quoted word', (row) => {
    const quoted = quotedAfter('/srv/', row);
    expect(existsFact(`/srv/${row.value}`).script).toBe(`if [ -e ${quoted} ] || [ -L ${quoted} ]; then echo yes; else echo no; fi`);
  });

  test.each(HOSTILE_WORDS)('preludeLines: an environment value holding $name is one quoted word', (row) => {
    expect(preludeLines({ chdir: '/srv', env: { A: row.value } }).map(String)).toEqual(['cd -- /srv || exit 1', `export A=${row.quoted}`]);
  });

  test('commandStatusFact takes an sh`...` guard: keyed and run by its text', () => {
    const guard = sh`test -e ${"/srv/it's"}`;
    const text = `test -e '/srv/it'\\''s'`;
    expect(commandStatusFact(guard).key).toBe(`status:${text}`);
    expect(commandStatusFact(guard).script).toBe(commandStatusFact(text).script);
  });

  test('commandStatusFact runs the snippet in its own sh, read from fd 3 (never argv), output discarded', () => {
    const fact = commandStatusFact("grep -q 'x' /etc/y");
    const delimiter = `HALYARD_GUARD_${createHash('sha256').update("grep -q 'x' /etc/y").digest('hex').slice(0, 16)}`;
    expect(fact.key).toBe("status:grep -q 'x' /etc/y");
    expect(fact.script).toBe([`(`, `  exec sh /dev/fd/3 3<<'${delimiter}'`, "grep -q 'x' /etc/y", delimiter, `) </dev/null >/dev/null 2>&1`, `printf 'status %s\\n' "$?"`].join('\n'));
  });

  test('a guard snippet run by a real sh: its status, its stdin is /dev/null, and ps never shows it', () => {
    const snippet = 'read line; test -z "$line" && sleep 2 && exit 7';
    const fact = commandStatusFact(snippet);
    // The probe script travels on the run shell's stdin, as it does on a host. ps is asked until
    // the snippet runs (a fixed wait lost the race on a machine at load 60), and every answer kept.
    const watch = `for i in $(seq 1 200); do p=$(ps -eo args); printf '%s\\n' "$p"; printf '%s\\n' "$p" | grep -qx 'sh /dev/fd/3' && break; sleep 0.05; done`;
    const ps = spawnSync('sh', ['-s'], { input: `(${fact.script}) & ${watch}; wait\n`, encoding: 'utf8' });
    expect(ps.stdout).toContain('status 7');
    expect(ps.stdout).toMatch(/^sh \/dev\/fd\/3$/m);
    expect(ps.stdout).not.toContain('read line');
  });

  test('chdir and env are quoted; env values stay out of the key', () => {
    const fact = commandStatusFact('test -f x', { chdir: '/srv/my app', env: { TOKEN: "s3cr'et" } });
    expect(fact.script).toBe(
      [`(`, `  cd -- '/srv/my app' || exit 1`, `  export TOKEN='s3cr'\\''et'`, `  exec sh /dev/fd/3 3<<'HALYARD_GUARD_${createHash('sha256').update('test -f x').digest('hex').slice(0, 16)}'`, 'test -f x', `HALYARD_GUARD_${createHash('sha256').update('test -f x').digest('hex').slice(0, 16)}`, `) </dev/null >/dev/null 2>&1`, `printf 'status %s\\n' "$?"`].join('\n'),
    );
    expect(fact.key).toMatch(/^status:test -f x:[0-9a-f]{12}$/);
    expect(fact.key).not.toContain('s3cr');
    expect(commandStatusFact('test -f x', { chdir: '/a' }).key).not.toBe(commandStatusFact('test -f x', { chdir: '/b' }).key);
  });

  test('preludeLines rejects a bad variable name', () => {
    expect(() => preludeLines({ env: { 'A B': 'x' } })).toThrow('invalid environment variable name "A B"');
  });
});

describe('probed locally', () => {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-guards-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('existsFact: file, dangling symlink, missing, hostile name', async () => {
    writeFileSync(join(dir, 'f'), '');
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    writeFileSync(join(dir, "it's $(x) `y`\n*"), '');
    const names = ['f', 'dangling', 'missing', "it's $(x) `y`\n*"];
    const values = await probeLocally(names.map((name) => existsFact(join(dir, name))));
    expect(names.map((name) => values.get(`exists:${join(dir, name)}`))).toEqual([true, true, false, true]);
  });

  test('commandStatusFact reports only the exit status, and a broken snippet does not break the batch', async () => {
    const snippets = ['true', 'false', 'exit 3', 'echo noise; echo more noise >&2; exit 0', 'if then (', 'cat', 'no-such-command-halyard'];
    const last = defineFact('last', 'echo last', (stdout) => stdout) as Fact<unknown>;
    const values = await probeLocally([...snippets.map((snippet) => commandStatusFact(snippet)), last]);
    expect(snippets.map((snippet) => values.get(`status:${snippet}`))).toEqual([0, 1, 3, 0, 2, 0, 127]);
    expect(values.get('last')).toBe('last\n');
  });

  test('guards run in chdir with env', async () => {
    writeFileSync(join(dir, 'marker'), '');
    const status = await probeOne(commandStatusFact('test -f marker && test "$GREETING" = "hello world"', { chdir: dir, env: { GREETING: 'hello world' } }));
    expect(status).toBe(0);
    expect(await probeOne(commandStatusFact('test -f marker', { chdir: join(dir, 'missing') }))).toBe(1);
  });

  test('a snippet is run by sh as written, but a chdir or env value is never run', async () => {
    const marker = join(tmpdir(), `halyard-pwned-${randomBytes(6).toString('hex')}`);
    const hostile = `$(touch ${marker})\`touch ${marker}\`;touch ${marker}`;
    expect(await probeOne(commandStatusFact('true', { chdir: join(dir, hostile), env: { X: hostile } }))).toBe(1);
    expect(await probeOne(commandStatusFact(`test "$X" = '${hostile.replace(/'/g, `'\\''`)}'`, { env: { X: hostile } }))).toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});
