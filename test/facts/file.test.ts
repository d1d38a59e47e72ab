import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, test } from 'vitest';
import { FactParseError } from '../../src/facts/fact.js';
import { DIFF_MAX_BYTES, parsePathState, pathFact, type PathState } from '../../src/facts/file.js';
import { probeLocally, probeOne } from './local-shell.js';

const HELLO_SHA = '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03';

describe('parsePathState', () => {
  // Captured with GNU stat/sha256sum on Debian 12 (the same coreutils format on Amazon Linux 2023).
  const rows: { name: string; stdout: string; exitCode?: number; expected: PathState | string }[] = [
    { name: 'absent', stdout: 'absent\n', expected: { type: 'absent' } },
    {
      name: 'regular file',
      stdout: `stat regular file|0|0|root|root|644|6\nsha256 ${HELLO_SHA}\n`,
      expected: { type: 'file', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o644, size: 6, sha256: HELLO_SHA },
    },
    {
      name: 'empty file',
      stdout: 'stat regular empty file|1000|1000|deploy|deploy|600|0\nsha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n',
      expected: { type: 'file', uid: 1000, gid: 1000, user: 'deploy', group: 'deploy', mode: 0o600, size: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
    },
    {
      name: 'directory with sticky bit',
      stdout: 'stat directory|0|0|root|root|1777|4096\n',
      expected: { type: 'directory', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o1777, size: 4096 },
    },
    {
      name: 'symlink',
      stdout: 'stat symbolic link|0|0|root|root|777|11\n',
      expected: { type: 'symlink', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o777, size: 11 },
    },
    {
      name: 'fifo is other; unknown owner names kept as printed',
      stdout: 'stat fifo|4242|4242|UNKNOWN|UNKNOWN|644|0\n',
      expected: { type: 'other', uid: 4242, gid: 4242, user: 'UNKNOWN', group: 'UNKNOWN', mode: 0o644, size: 0 },
    },
    {
      name: 'content for diff mode',
      stdout: `stat regular file|0|0|root|root|644|6\nsha256 ${HELLO_SHA}\ncontent aGVsbG8K\n`,
      expected: { type: 'file', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o644, size: 6, sha256: HELLO_SHA, contentBase64: 'aGVsbG8K' },
    },
    { name: 'stat failed', stdout: '', exitCode: 3, expected: 'cannot read fact path:/x: stat failed with exit code 3' },
    { name: 'malformed stat line', stdout: 'stat regular file|0\n', expected: 'cannot read fact path:/x: unexpected stat output on line 1 (2 fields, 7 expected)' },
    { name: 'no output at all', stdout: '', expected: 'cannot read fact path:/x: no stat line in probe output (0 lines, 0 bytes)' },
    // Host bytes never reach the message: a lying sha256sum, content that is not base64.
    { name: 'sha256 that is not a hash', stdout: 'stat regular file|0|0|root|root|644|5\nsha256 \u001b]0;PWNED\u0007\n', expected: 'cannot read fact path:/x: sha256sum printed something other than a 64-digit hex hash on line 2' },
    { name: 'content that is not base64', stdout: 'stat regular file|0|0|root|root|600|5\ncontent s3cr3t PIN 123456\n', expected: 'cannot read fact path:/x: base64 printed something other than base64 on line 2' },
  ];
  test.each(rows)('$name', ({ stdout, exitCode, expected }) => {
    if (typeof expected === 'string') {
      expect(() => parsePathState('path:/x', stdout, exitCode ?? 0)).toThrow(FactParseError);
      expect(() => parsePathState('path:/x', stdout, exitCode ?? 0)).toThrow(expected);
    } else {
      expect(parsePathState('path:/x', stdout, exitCode ?? 0)).toEqual(expected);
    }
  });
});

describe('pathFact', () => {
  test('script is exact (quoted path, hash read from stdin)', () => {
    expect(pathFact("/etc/it's").script).toBe(
      [
        `if [ -e '/etc/it'\\''s' ] || [ -L '/etc/it'\\''s' ]; then`,
        `  stat -c 'stat %F|%u|%g|%U|%G|%a|%s' -- '/etc/it'\\''s' || exit 3`,
        `  if [ -f '/etc/it'\\''s' ] && [ ! -L '/etc/it'\\''s' ]; then printf 'sha256 '; sha256sum < '/etc/it'\\''s' | cut -c1-64; fi`,
        `else echo absent; fi`,
      ].join('\n'),
    );
    expect(pathFact('/etc/motd').key).toBe('path:/etc/motd');
    expect(pathFact('/etc/motd', { withContent: true }).key).toBe('path:/etc/motd:content');
  });

  describe('probed locally', () => {
    const dir = mkdtempSync(join(tmpdir(), 'halyard-pathfact-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('file, directory, symlink, dangling symlink, fifo, absent', async () => {
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
});
