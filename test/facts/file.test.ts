import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, test } from 'vitest';
import { FactParseError } from '../../src/facts/fact.js';
import { DIFF_MAX_BYTES, parsePathState, parsePathStates, pathFact, pathsProbeScript, type PathState } from '../../src/facts/file.js';
import { HOSTILE_PATH_WORDS, quotedAfter } from '../core/hostile-words.js';
import { probeLocally, probeOne } from './local-shell.js';

const HELLO_SHA = '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03';
const EMPTY_SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

// The lines every probe of paths has: one stat for all, the regular files kept, one sha256sum.
const STAT_LINE = `stat --printf 'stat\\0%f\\0%u\\0%g\\0%U\\0%G\\0%s\\0%n\\0' -- / "$@" 2>/dev/null`;
const KEEP_FILES = `for p in "$@"; do shift; if [ -f "$p" ] && [ ! -L "$p" ]; then set -- "$@" "$p"; fi; done`;
const HASH_LINES = [`printf 'sha256\\0'`, `if [ "$#" -gt 0 ]; then sha256sum -z -- /dev/null "$@" 2>/dev/null; fi`];

// Probe output as GNU stat and sha256sum print it: tokens, each ended by NUL.
const out = (...tokens: string[]) => tokens.map((token) => `${token}\0`).join('');
const root = ['stat', '41ed', '0', '0', 'root', 'root', '4096', '/'];
const nullHash = `${EMPTY_SHA}  /dev/null`;

describe('pathsProbeScript', () => {
  test('exact script for one path: no content part', () => {
    expect(pathFact("/etc/it's").script).toBe([`set -- '/etc/it'\\''s'`, STAT_LINE, KEEP_FILES, ...HASH_LINES, `printf 'end\\0'`].join('\n'));
    expect(pathFact('/etc/motd').key).toBe('path:/etc/motd');
    expect(pathFact('/etc/motd', { withContent: true }).key).toBe('path:/etc/motd:content');
  });

  test.each(HOSTILE_PATH_WORDS)('exact script for a path with $name: one quoted word, never code', (row) => {
    const quoted = quotedAfter('/srv/', row);
    expect(pathsProbeScript([{ path: `/srv/${row.value}`, withContent: false }])).toBe([`set -- ${quoted}`, STAT_LINE, KEEP_FILES, ...HASH_LINES, `printf 'end\\0'`].join('\n'));
  });

  test('every hostile path in one section: each listed once, in order, duplicates once', () => {
    const items = HOSTILE_PATH_WORDS.map((row) => ({ path: `/srv/${row.value}`, withContent: false }));
    const quoted = HOSTILE_PATH_WORDS.map((row) => quotedAfter('/srv/', row)).join(' ');
    expect(pathsProbeScript([...items, ...items])).toBe([`set -- ${quoted}`, STAT_LINE, KEEP_FILES, ...HASH_LINES, `printf 'end\\0'`].join('\n'));
  });

  test('diff mode adds one stat, cat and base64 for the small files of the paths that want content', () => {
    expect(
      pathsProbeScript([
        { path: '/etc/a b', withContent: true },
        { path: '/etc/dir', withContent: false },
        { path: '-x', withContent: true },
      ]),
    ).toBe(
      [
        `set -- '/etc/a b' /etc/dir -x`,
        STAT_LINE,
        KEEP_FILES,
        ...HASH_LINES,
        `set -- '/etc/a b' -x`,
        KEEP_FILES,
        `printf 'content\\0'`,
        `if [ "$#" -gt 0 ]; then for s in $(stat -c %s -- "$@" 2>/dev/null); do f=$1; shift; if [ "$s" -le ${DIFF_MAX_BYTES} ]; then set -- "$@" "$f"; printf 'file\\0%s\\0%s\\0' "$s" "$f"; fi; done; fi`,
        `printf 'base64\\0'`,
        `if [ "$#" -gt 0 ]; then cat -- "$@" 2>/dev/null | base64 -w0; fi`,
        `printf '\\0'`,
        `printf 'end\\0'`,
      ].join('\n'),
    );
  });
});

describe('parsePathStates', () => {
  // Tokens as GNU stat --printf and sha256sum -z print them on Debian 12 (coreutils 9.1).
  const rows: { name: string; items: { path: string; withContent?: boolean }[]; stdout: string; exitCode?: number; expected: PathState[] | string }[] = [
    { name: 'absent (no stat record)', items: [{ path: '/x' }], stdout: out(...root, 'sha256', 'end'), expected: [{ type: 'absent' }] },
    {
      name: 'regular file',
      items: [{ path: '/x' }],
      stdout: out(...root, 'stat', '81a4', '0', '0', 'root', 'root', '6', '/x', 'sha256', nullHash, `${HELLO_SHA}  /x`, 'end'),
      expected: [{ type: 'file', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o644, size: 6, sha256: HELLO_SHA }],
    },
    {
      name: 'empty file, setuid bits kept',
      items: [{ path: '/x' }],
      stdout: out(...root, 'stat', '89ed', '1000', '1000', 'deploy', 'deploy', '0', '/x', 'sha256', nullHash, `${EMPTY_SHA}  /x`, 'end'),
      expected: [{ type: 'file', uid: 1000, gid: 1000, user: 'deploy', group: 'deploy', mode: 0o4755, size: 0, sha256: EMPTY_SHA }],
    },
    {
      name: 'directory with sticky bit, symlink, fifo (other), unknown owner names kept as printed',
      items: [{ path: '/d' }, { path: '/l' }, { path: '/p' }],
      stdout: out(
        ...root,
        'stat', '43ff', '0', '0', 'root', 'root', '4096', '/d',
        'stat', 'a1ff', '0', '0', 'root', 'root', '11', '/l',
        'stat', '11a4', '4242', '4242', 'UNKNOWN', 'UNKNOWN', '0', '/p',
        'sha256',
        'end',
      ),
      expected: [
        { type: 'directory', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o1777, size: 4096 },
        { type: 'symlink', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o777, size: 11 },
        { type: 'other', uid: 4242, gid: 4242, user: 'UNKNOWN', group: 'UNKNOWN', mode: 0o644, size: 0 },
      ],
    },
    {
      name: 'names with a newline, a backslash and a leading dash map back (sha256sum -z does not escape)',
      items: [{ path: '/a\nb' }, { path: '/c\\d' }, { path: '-e' }],
      stdout: out(
        ...root,
        'stat', '81a4', '0', '0', 'root', 'root', '6', '/a\nb',
        'stat', '81a4', '0', '0', 'root', 'root', '6', '-e',
        'stat', '81a4', '0', '0', 'root', 'root', '0', '/c\\d',
        'sha256', nullHash, `${HELLO_SHA}  /a\nb`, `${EMPTY_SHA}  /c\\d`, `${HELLO_SHA}  -e`,
        'end',
      ),
      expected: [
        { type: 'file', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o644, size: 6, sha256: HELLO_SHA },
        { type: 'file', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o644, size: 0, sha256: EMPTY_SHA },
        { type: 'file', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o644, size: 6, sha256: HELLO_SHA },
      ],
    },
    {
      name: 'content for diff mode: small files cut out of one base64 by size; the same path without content shares the record',
      items: [{ path: '/x', withContent: true }, { path: '/y', withContent: true }, { path: '/x' }],
      stdout: out(
        ...root,
        'stat', '81a4', '0', '0', 'root', 'root', '6', '/x',
        'stat', '8180', '0', '0', 'root', 'root', '0', '/y',
        'sha256', nullHash, `${HELLO_SHA}  /x`, `${EMPTY_SHA}  /y`,
        'content', 'file', '6', '/x', 'file', '0', '/y', 'base64', Buffer.from('hello\n').toString('base64'),
        'end',
      ),
      expected: [
        { type: 'file', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o644, size: 6, sha256: HELLO_SHA, contentBase64: 'aGVsbG8K' },
        { type: 'file', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o600, size: 0, sha256: EMPTY_SHA, contentBase64: '' },
        { type: 'file', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o644, size: 6, sha256: HELLO_SHA },
      ],
    },
    {
      name: 'a file above the diff limit has no content',
      items: [{ path: '/big', withContent: true }],
      stdout: out(...root, 'stat', '81a4', '0', '0', 'root', 'root', String(DIFF_MAX_BYTES + 1), '/big', 'sha256', nullHash, `${HELLO_SHA}  /big`, 'content', 'base64', '', 'end'),
      expected: [{ type: 'file', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o644, size: DIFF_MAX_BYTES + 1, sha256: HELLO_SHA }],
    },
    // Errors name the fact, never the bytes the host printed.
    { name: 'failed section', items: [{ path: '/x' }], stdout: '', exitCode: 2, expected: 'cannot read fact path:/x: probe failed with exit code 2' },
    { name: 'no output at all', items: [{ path: '/x' }], stdout: '', expected: 'cannot read fact path:/x: stat printed no record for / (GNU coreutils stat with --printf is needed)' },
    { name: 'cut short in a token', items: [{ path: '/x' }], stdout: `${out(...root)}sha2`, expected: 'cannot read fact path:/x: probe output does not end with a complete record' },
    { name: 'a stat record cut short', items: [{ path: '/x' }], stdout: out(...root, 'stat', '81a4', '0'), expected: 'cannot read fact path:/x: a stat record is cut short (2 fields, 7 expected)' },
    { name: 'stat without --printf (nothing for /)', items: [{ path: '/x' }], stdout: out('sha256', 'end'), expected: 'cannot read fact path:/x: stat printed no record for / (GNU coreutils stat with --printf is needed)' },
    { name: 'a record for / that is not first', items: [{ path: '/x' }], stdout: out('stat', '81a4', '0', '0', 'root', 'root', '6', '/x', ...root, 'sha256', 'end'), expected: 'cannot read fact path:/x: stat did not report / first' },
    { name: 'a mode that is not hex', items: [{ path: '/x' }], stdout: out(...root, 'stat', 'PWNED', '0', '0', 'r', 'r', '6', '/x', 'sha256', 'end'), expected: 'cannot read fact path:/x: stat printed a record whose mode, ids or size are not numbers' },
    { name: 'a record for a path not asked for', items: [{ path: '/x' }], stdout: out(...root, 'stat', '81a4', '0', '0', 'r', 'r', '6', '/y', 'sha256', 'end'), expected: 'cannot read fact path:/x: stat printed a record for a path that was not asked for' },
    { name: 'two records for one path', items: [{ path: '/x' }], stdout: out(...root, 'stat', '41ed', '0', '0', 'r', 'r', '6', '/x', 'stat', '41ed', '0', '0', 'r', 'r', '6', '/x', 'sha256', 'end'), expected: 'cannot read fact path:/x: stat printed two records for one path' },
    { name: 'no sha256 part', items: [{ path: '/x' }], stdout: out(...root, 'end'), expected: 'cannot read fact path:/x: no sha256 part in probe output' },
    { name: 'a hash that is not one', items: [{ path: '/x' }], stdout: out(...root, 'sha256', '\u001b]0;PWNED\u0007  /x', 'end'), expected: 'cannot read fact path:/x: sha256sum printed something other than a 64-digit hex hash and a name' },
    { name: 'a hash before /dev/null', items: [{ path: '/x' }], stdout: out(...root, 'sha256', `${HELLO_SHA}  /x`, 'end'), expected: 'cannot read fact path:/x: sha256sum did not hash /dev/null first' },
    { name: 'a hash for a path not asked for', items: [{ path: '/x' }], stdout: out(...root, 'sha256', nullHash, `${HELLO_SHA}  /etc/shadow`, 'end'), expected: 'cannot read fact path:/x: sha256sum printed a hash for a path that was not asked for' },
    {
      name: 'a regular file without a hash (unreadable)',
      items: [{ path: '/ok' }, { path: '/secret' }],
      stdout: out(...root, 'stat', '81a4', '0', '0', 'r', 'r', '6', '/ok', 'stat', '8180', '0', '0', 'r', 'r', '6', '/secret', 'sha256', nullHash, `${HELLO_SHA}  /ok`, 'end'),
      expected: 'cannot read fact path:/secret: sha256sum printed no hash for it (the file is unreadable, or changed while it was probed)',
    },
    {
      name: 'sha256sum without -z (coreutils before 8.30) prints nothing',
      items: [{ path: '/x' }],
      stdout: out(...root, 'stat', '81a4', '0', '0', 'r', 'r', '6', '/x', 'sha256', 'end'),
      expected: 'cannot read fact path:/x: sha256sum printed nothing (GNU coreutils 8.30 or newer is needed for sha256sum -z)',
    },
    {
      name: 'content that does not match the hash (the file changed between reads)',
      items: [{ path: '/x', withContent: true }],
      stdout: out(...root, 'stat', '81a4', '0', '0', 'r', 'r', '6', '/x', 'sha256', nullHash, `${HELLO_SHA}  /x`, 'content', 'file', '6', '/x', 'base64', Buffer.from('HELLO\n').toString('base64'), 'end'),
      expected: 'cannot read fact path:/x: its content could not be read back whole (the file changed while it was probed; run again)',
    },
    {
      name: 'content shorter than the sizes listed',
      items: [{ path: '/x', withContent: true }],
      stdout: out(...root, 'stat', '81a4', '0', '0', 'r', 'r', '6', '/x', 'sha256', nullHash, `${HELLO_SHA}  /x`, 'content', 'file', '6', '/x', 'base64', 'aGVs', 'end'),
      expected: 'cannot read fact path:/x: its content could not be read back whole (the file changed while it was probed; run again)',
    },
    { name: 'content that is not base64', items: [{ path: '/x', withContent: true }], stdout: out(...root, 'sha256', 'content', 'base64', 's3cr3t PIN 123456', 'end'), expected: 'cannot read fact path:/x: base64 printed something other than base64' },
    { name: 'output after the end', items: [{ path: '/x' }], stdout: out(...root, 'sha256', 'end', 'more'), expected: 'cannot read fact path:/x: unexpected output after the probe of paths' },
  ];
  test.each(rows)('$name', ({ items, stdout, exitCode, expected }) => {
    const asked = items.map((item) => ({ path: item.path, withContent: item.withContent === true }));
    if (typeof expected === 'string') {
      expect(() => parsePathStates(stdout, exitCode ?? 0, asked)).toThrow(FactParseError);
      expect(() => parsePathStates(stdout, exitCode ?? 0, asked)).toThrow(expected);
    } else {
      expect(parsePathStates(stdout, exitCode ?? 0, asked)).toEqual(expected);
    }
  });

  test('parsePathState reads one path', () => {
    expect(parsePathState('/x', out(...root, 'sha256', 'end'), 0)).toEqual({ type: 'absent' });
  });
});

describe('pathFact probed locally', () => {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-pathfact-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('file, directory, symlink, dangling symlink, fifo, absent: one section', async () => {
    writeFileSync(join(dir, 'f'), 'hello\n');
    chmodSync(join(dir, 'f'), 0o640);
    mkdirSync(join(dir, 'd'));
    symlinkSync(join(dir, 'f'), join(dir, 'l'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    execFileSync('mkfifo', [join(dir, 'p')]);
    const facts = ['f', 'd', 'l', 'dangling', 'p', 'missing'].map((name) => pathFact(join(dir, name)));
    const values = await probeLocally(facts);
    const state = (name: string) => values.get(`path:${join(dir, name)}`) as PathState;
    expect(state('f')).toMatchObject({ type: 'file', mode: 0o640, size: 6, sha256: HELLO_SHA, uid: process.getuid?.() });
    expect(state('d').type).toBe('directory');
    expect(state('l').type).toBe('symlink');
    expect(state('l').sha256).toBeUndefined();
    expect(state('dangling').type).toBe('symlink');
    expect(state('p').type).toBe('other');
    expect(state('missing')).toEqual({ type: 'absent' });
  });

  // Regression: `sha256sum -- NAME` prints "\<hash>" for names holding a newline or backslash.
  test.each(['new\nline', 'back\\slash', "quote'd", 'sp ace', '-dash', 'ünï'])('sha256 of %j matches', async (name) => {
    const content = `content of ${name}\n`;
    writeFileSync(join(dir, name), content);
    const state = await probeOne(pathFact(join(dir, name)));
    expect(state.sha256).toBe(createHash('sha256').update(content).digest('hex'));
  });

  test('content for diff mode only below the size limit', async () => {
    writeFileSync(join(dir, 'small'), 'abc');
    writeFileSync(join(dir, 'big'), Buffer.alloc(DIFF_MAX_BYTES + 1, 97));
    const small = await probeOne(pathFact(join(dir, 'small'), { withContent: true }));
    const big = await probeOne(pathFact(join(dir, 'big'), { withContent: true }));
    expect(small.contentBase64).toBe(Buffer.from('abc').toString('base64'));
    expect(big.contentBase64).toBeUndefined();
    expect(big.size).toBe(DIFF_MAX_BYTES + 1);
  });
});
