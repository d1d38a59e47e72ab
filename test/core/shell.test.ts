import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/core/secret.js';
import { awsSecret } from '../../src/core/secret-ref.js';
import { isShellScript, quote, renderArgv, sh, ShellScript } from '../../src/core/shell.js';
import { template } from '../../src/core/template.js';
import { HOSTILE_WORDS } from './hostile-words.js';

// Runs a script as `/bin/sh -c SCRIPT` (dash on Debian) and returns its stdout bytes.
function runUnderSh(script: ShellScript): Buffer {
  return execFileSync('/bin/sh', ['-c', script.text]);
}

// Runs a script the way a host does, on the stdin of `/bin/sh -s`.
function runOnStdin(script: ShellScript): Buffer {
  return execFileSync('/bin/sh', ['-s'], { input: script.text });
}

describe('quote', () => {
  it.each(HOSTILE_WORDS)('quotes $name', ({ value, quoted }) => {
    expect(quote(value)).toBe(quoted);
  });

  it('refuses NUL, which no shell word can hold', () => {
    expect(() => quote('a\0b')).toThrow(/NUL/);
  });

  it('round-trips hostile words through a real sh byte for byte', () => {
    const words = ["'", '"', '$(touch /tmp/hy-pwned)', '`x`', ';', '\n', '\t', '-n', '\\', 'ü ✓ 日本', '%s', '*', 'A=b'];
    const script = `for w in ${words.map(quote).join(' ')}; do printf '%s\\0' "$w"; done`;
    const out = execFileSync('sh', ['-c', script]).toString('utf8');
    expect(out.split('\0').slice(0, -1)).toEqual(words);
  });

  it('renders argv word by word', () => {
    expect(renderArgv(['printf', '%s', "a b'c"])).toBe(`printf %s 'a b'\\''c'`);
    expect(renderArgv([])).toBe('');
  });
});

describe('sh`...`', () => {
  it.each(HOSTILE_WORDS)('quotes $name as quote() does', ({ value, quoted }) => {
    expect(sh`rm -f -- ${value}`.text).toBe(`rm -f -- ${quoted}`);
    expect(sh`${value}`.text).toBe(quote(value));
  });

  it('keeps the code between values as written, escapes cooked as in any template literal', () => {
    expect(sh`printf '%s\\n' "$x" | tr -d '\\r' >&2`.text).toBe(`printf '%s\\n' "$x" | tr -d '\\r' >&2`);
    expect(sh`a\nb`.text).toBe('a\nb');
    expect(sh`echo \${HOME}`.text).toBe('echo ${HOME}');
    expect(sh``.text).toBe('');
  });

  it('quotes numbers as their decimal text', () => {
    expect(sh`sleep ${2}; exit ${-1}; x=${1.5} ${10n}`.text).toBe('sleep 2; exit -1; x=1.5 10');
    expect(sh`find / ! -newermt @${1767225600} -name .x`.text).toBe('find / ! -newermt @1767225600 -name .x');
  });

  it('expands a list into its words, each quoted, space-separated', () => {
    expect(sh`apt-get install -y -- ${['curl', 'two words', "it's", '', '*']}`.text).toBe(`apt-get install -y -- curl 'two words' 'it'\\''s' '' '*'`);
    expect(sh`groupadd ${['-g', 1001]} -- app`.text).toBe('groupadd -g 1001 -- app');
    expect(sh`ls ${[]} -l`.text).toBe('ls  -l');
  });

  it('inserts another script as is: scripts compose without quoting twice', () => {
    const inner = sh`echo ${"it's"}`;
    expect(sh`(${inner}) 2>&1`.text).toBe(`(echo 'it'\\''s') 2>&1`);
    expect(sh`if ${sh`test -e ${'/a b'}`}; then ${inner}; fi`.text).toBe(`if test -e '/a b'; then echo 'it'\\''s'; fi`);
    expect(sh`${[sh`"$t"`, 'x y']}`.text).toBe(`"$t" 'x y'`);
  });

  it('sh.trusted marks shell code the caller vouches for: inserted unquoted', () => {
    expect(sh.trusted('"$t"').text).toBe('"$t"');
    expect(sh`chmod 0600 -- ${sh.trusted('"$t"')}`.text).toBe('chmod 0600 -- "$t"');
    expect(sh.trusted('').text).toBe('');
  });

  it('sh.join and sh.lines render values as ${} does, between separators', () => {
    expect(sh.join([sh`mkdir -p -- ${'/a b'}`, sh`chmod 0755 -- ${'/a b'}`], sh` && `).text).toBe(`mkdir -p -- '/a b' && chmod 0755 -- '/a b'`);
    expect(sh.join(['a b', 'c', ['d', 'e f']], sh` | `).text).toBe(`'a b' | c | d 'e f'`);
    expect(sh.lines([sh`set -e`, sh`cd -- ${'/srv/my app'}`, sh`make`]).text).toBe(`set -e\ncd -- '/srv/my app'\nmake`);
    expect(sh.lines([]).text).toBe('');
  });

  it('a script is an immutable value: text, String(), template literals and JSON all give the script', () => {
    const script = sh`rm -f -- ${'/tmp/a b'}`;
    expect(script).toBeInstanceOf(ShellScript);
    expect(Object.isFrozen(script)).toBe(true);
    expect(() => {
      (script as { text: string }).text = 'reboot';
    }).toThrow(TypeError);
    expect(script.text).toBe(`rm -f -- '/tmp/a b'`);
    expect(String(script)).toBe(script.text);
    expect(`${script}`).toBe(script.text);
    expect(JSON.stringify({ script })).toBe(JSON.stringify({ script: script.text }));
  });

  it('only sh makes scripts; isShellScript tells them from lookalikes', () => {
    expect(() => new ShellScript(Symbol('forged') as never, 'reboot')).toThrow('a ShellScript is made with sh`...` or sh.trusted(...), not new ShellScript()');
    expect(isShellScript(sh`true`)).toBe(true);
    expect(isShellScript('true')).toBe(false);
    expect(isShellScript({ text: 'true' })).toBe(false);
    expect(isShellScript(null)).toBe(false);
  });
});

describe('sh`...` refuses what it cannot quote', () => {
  const secret = new Secret('hunter2-secret-value', 'db_password');

  it('a Secret: secrets travel on stdin, never in script text', () => {
    let error: unknown;
    try {
      sh`echo ${secret as never} | chpasswd`;
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TypeError);
    const message = (error as Error).message;
    expect(message).toBe(
      'sh: value 1 (after "echo ") is a Secret (db_password): ' +
        "secrets never go into a script's text (labels, logs and a streamed step's argv show it); they travel on stdin: " +
        'write them with file({ content }) (the file resource sends the bytes inside the run script on stdin and masks them in output) or pass them as Command.stdin',
    );
    expect(message).not.toContain('hunter2');
  });

  it('a Secret inside a list, a template holding one, an unresolved secret reference', () => {
    // The code before the value is shown as a JSON string (its backslashes doubled).
    expect(() => sh`printf '%s\\n' ${['user', secret] as never}`).toThrow(`sh: element 2 of value 1 (after "printf '%s\\\\n' ") is a Secret (db_password): secrets never go`);
    expect(() => sh`echo ${template`PASSWORD=${secret}` as never}`).toThrow(/^sh: value 1 \(after "echo "\) is a template holding secrets: .*travel on stdin/);
    expect(() => sh`echo ${awsSecret('prod/db', 'password') as never}`).toThrow(/^sh: value 1 \(after "echo "\) is a secret reference \(prod\/db#password\): .*travel on stdin/);
    expect(() => sh.join([secret as never], sh` `)).toThrow(/^sh: value 1 of sh.join is a Secret \(db_password\)/);
  });

  it.each([
    ['undefined', undefined, 'sh: value 2 (after " -- ") is undefined; only strings, numbers, lists of them, or sh`...` scripts can go into a script'],
    ['null', null, 'sh: value 2 (after " -- ") is null; only strings, numbers, lists of them, or sh`...` scripts can go into a script'],
    ['a boolean', true, 'sh: value 2 (after " -- ") is the boolean true; only strings, numbers, lists of them, or sh`...` scripts can go into a script'],
    ['an object', { path: '/tmp' }, 'sh: value 2 (after " -- ") is an object (Object); only strings, numbers, lists of them, or sh`...` scripts can go into a script'],
    ['a lookalike of a script', { text: 'reboot' }, 'sh: value 2 (after " -- ") is an object (Object); only strings, numbers, lists of them, or sh`...` scripts can go into a script'],
    ['a function', () => 'x', 'sh: value 2 (after " -- ") is a function; only strings, numbers, lists of them, or sh`...` scripts can go into a script'],
    ['NaN', Number.NaN, 'sh: value 2 (after " -- ") is the number NaN, which is no shell word'],
    ['a nested list', [['a']], 'sh: element 1 of value 2 (after " -- ") is a nested list; only strings, numbers or sh`...` scripts can go into a script'],
    ['undefined in a list', ['a', undefined], 'sh: element 2 of value 2 (after " -- ") is undefined; only strings, numbers or sh`...` scripts can go into a script'],
  ])('%s: a TypeError naming its position', (_name, value, message) => {
    expect(() => sh`rm -f ${'-r'} -- ${value as never}`).toThrow(new TypeError(message));
  });

  it('names the position after the last line of code before the value, shortened', () => {
    expect(() => sh`set -e\ncd /\n${undefined as never}`).toThrow('sh: value 1 (after "") is undefined');
    expect(() => sh`printf 'a very long line of shell code before the value that goes on' ${undefined as never}`).toThrow(
      `sh: value 1 (after "…ell code before the value that goes on' ") is undefined`,
    );
  });

  it('a NUL byte, which no shell word can hold', () => {
    expect(() => sh`echo ${'a\0b'}`).toThrow('sh: value 1 (after "echo "): a shell argument cannot contain a NUL byte');
    expect(() => sh`echo ${['a', 'b\0']}`).toThrow('sh: element 2 of value 1 (after "echo "): a shell argument cannot contain a NUL byte');
    expect(() => sh.trusted('a\0b')).toThrow('sh.trusted: shell code cannot contain a NUL byte');
  });

  it("a value inside the template's own quotes, where sh's quoting would cancel out or show", () => {
    const path = "/srv/it's a $(dir)";
    expect(() => sh`trap 'rm -rf ${path}' EXIT`).toThrow(
      new TypeError(`sh: value 1 (after "trap 'rm -rf ") is inside the template's own single quotes; sh quotes every value itself: put it outside them, or in a variable the quoted code reads`),
    );
    expect(() => sh`echo "copying ${path} now"`).toThrow(`sh: value 1 (after "echo \\"copying ") is inside the template's own double quotes`);
    expect(() => sh`a='x' b="$(cat "$f")" c="${[path]}"`).toThrow("is inside the template's own double quotes");
    // Inside `$(...)` the quoting starts afresh, also within "..."; escaped and commented quotes open nothing.
    expect(sh`v="$(id -Gn -- ${path})"`.text).toBe(`v="$(id -Gn -- '/srv/it'\\''s a $(dir)')"`);
    expect(sh`echo \\' "a\\"b" (x) ${'y z'}`.text).toBe(`echo \\' "a\\"b" (x) 'y z'`);
    expect(sh`# it's a comment\necho ${'a b'}`.text).toBe(`# it's a comment\necho 'a b'`);
    expect(() => sh`echo ${'a'}# it's part of the word ${'b'}`).toThrow("value 2 (after \"# it's part of the word \") is inside the template's own single quotes");
    // A script goes in as written wherever the caller puts it (a here-document's quoted delimiter).
    expect(sh`cat <<'${sh.trusted('EOF')}'`.text).toBe(`cat <<'EOF'`);
  });

  it('sh.trusted takes text only; sh.join takes a script as separator', () => {
    expect(() => sh.trusted(undefined as never)).toThrow(new TypeError('sh.trusted takes shell code as a string, got undefined'));
    expect(() => sh.trusted(sh`x` as never)).toThrow(new TypeError('sh.trusted takes shell code as a string, got object'));
    expect(() => sh.join(['a'], ' && ' as never)).toThrow(new TypeError('sh.join: the separator must be an sh`...` script (e.g. sh` && `)'));
  });
});

describe('sh`...` under a real /bin/sh', () => {
  it.each(HOSTILE_WORDS)('$name comes back byte for byte (sh -c)', ({ value }) => {
    expect(runUnderSh(sh`printf '%s\\n' ${value}`)).toEqual(Buffer.from(`${value}\n`, 'utf8'));
  });

  it.each(HOSTILE_WORDS)('$name comes back byte for byte (script on stdin, assigned to a variable first)', ({ value }) => {
    expect(runOnStdin(sh.lines([sh`v=${value}`, sh`printf '%s\\n' "$v"`]))).toEqual(Buffer.from(`${value}\n`, 'utf8'));
  });

  it('a list of every hostile word comes back as the same words, in order', () => {
    const values = HOSTILE_WORDS.map((row) => row.value);
    const out = runUnderSh(sh`for w in ${values}; do printf '%s\\0' "$w"; done`).toString('utf8');
    expect(out.split('\0').slice(0, -1)).toEqual(values);
  });

  it('composed scripts keep each value whole', () => {
    const values = HOSTILE_WORDS.map((row) => row.value);
    const script = sh.lines([sh`set -e`, sh.join(values.map((value) => sh`printf '%s\\0' ${value}`), sh` && `)]);
    expect(runOnStdin(script).toString('utf8').split('\0').slice(0, -1)).toEqual(values);
  });
});
