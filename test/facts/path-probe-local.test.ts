// The batched probe of paths run with this machine's sh, stat and sha256sum, against what Node
// itself sees (fs.lstat, crypto's sha256): every kind of path and hostile name in one section.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FactParseError } from '../../src/facts/fact.js';
import { DIFF_MAX_BYTES, pathFact, type PathState } from '../../src/facts/file.js';
import { HOSTILE_PATH_WORDS } from '../core/hostile-words.js';
import { probeLocally } from './local-shell.js';

const NOBODY = { uid: 65534, gid: 65534 };
const asRoot = process.getuid?.() === 0;

// The name getent gives an id, or stat's "UNKNOWN" when there is none.
const knownNames = new Map<string, string>();
function nameOf(database: 'passwd' | 'group', id: number): string {
  const key = `${database}:${id}`;
  let name = knownNames.get(key);
  if (name === undefined) {
    try {
      name = execFileSync('getent', [database, String(id)], { encoding: 'utf8' }).split(':')[0] ?? 'UNKNOWN';
    } catch {
      name = 'UNKNOWN';
    }
    knownNames.set(key, name);
  }
  return name;
}

// What the probe must say of a path, from Node's lstat and a hash of the bytes Node reads.
function expectedState(path: string, withContent: boolean): PathState {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch {
    return { type: 'absent' };
  }
  const type = stats.isFile() ? 'file' : stats.isDirectory() ? 'directory' : stats.isSymbolicLink() ? 'symlink' : 'other';
  const state: PathState = {
    type,
    uid: stats.uid,
    gid: stats.gid,
    user: nameOf('passwd', stats.uid),
    group: nameOf('group', stats.gid),
    mode: stats.mode & 0o7777,
    size: stats.size,
  };
  if (type === 'file') {
    const bytes = readFileSync(path);
    state.sha256 = createHash('sha256').update(bytes).digest('hex');
    if (withContent && bytes.length <= DIFF_MAX_BYTES) state.contentBase64 = bytes.toString('base64');
  }
  return state;
}

describe('probe of paths on this machine matches fs.lstat and crypto', () => {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-paths-'));
  const names: string[] = [];
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(() => {
    // Another uid must get in to probe as it (runs without become).
    chmodSync(dir, 0o755);
    const file = (name: string, content: string | Buffer, mode = 0o644) => {
      writeFileSync(join(dir, name), content);
      chmodSync(join(dir, name), mode);
      names.push(name);
    };
    file('plain', 'hello\n');
    file('empty', '');
    file('big', Buffer.alloc(DIFF_MAX_BYTES + 1, 97));
    file('at-the-limit', Buffer.alloc(DIFF_MAX_BYTES, 98));
    file('setuid', '#!/bin/sh\n', 0o4755);
    file('private', 'only the owner\n', 0o600);
    // Every hostile word that can be a file name (no '/'): quotes, newlines, backslashes, dashes, globs.
    for (const row of HOSTILE_PATH_WORDS.filter((row) => !row.value.includes('/'))) file(`h-${row.value}`, `content of ${row.name}\n`);
    file('-leading-dash', 'dash\n');
    file('--', 'double dash\n');
    file('trailing-newline\n', 'x');
    file('only\\backslash\\', 'y');
    mkdirSync(join(dir, 'dir'));
    mkdirSync(join(dir, 'sticky'));
    chmodSync(join(dir, 'sticky'), 0o1777);
    mkdirSync(join(dir, 'dir with spaces'));
    names.push('dir', 'sticky', 'dir with spaces');
    symlinkSync(join(dir, 'plain'), join(dir, 'link-to-file'));
    symlinkSync(join(dir, 'dir'), join(dir, 'link-to-dir'));
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    symlinkSync('relative\nname', join(dir, 'link\nwith newline'));
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    names.push('link-to-file', 'link-to-dir', 'dangling', 'link\nwith newline', 'fifo');
    if (asRoot) {
      chownSync(join(dir, 'private'), NOBODY.uid, NOBODY.gid);
      chownSync(join(dir, 'dir'), 10001, 10001);
    }
    names.push('absent', 'absent\nwith newline', '-absent');
  });

  test('every path, with and without content, in one batch', async () => {
    const asked = names.flatMap((name) => [pathFact(join(dir, name)), pathFact(join(dir, name), { withContent: true })]);
    const values = await probeLocally(asked);
    for (const name of names) {
      const path = join(dir, name);
      expect({ name, state: values.get(`path:${path}`) }).toEqual({ name, state: expectedState(path, false) });
      expect({ name, state: values.get(`path:${path}:content`) }).toEqual({ name, state: expectedState(path, true) });
    }
    expect((values.get(`path:${join(dir, 'absent')}`) as PathState).type).toBe('absent');
    expect((values.get(`path:${join(dir, 'fifo')}`) as PathState).type).toBe('other');
  });

  test('a path given twice, as a directory with a trailing slash, and / itself', async () => {
    const values = await probeLocally([pathFact('/'), pathFact(`${dir}/dir/`), pathFact(join(dir, 'plain')), pathFact(join(dir, 'plain'), { withContent: true })]);
    expect(values.get('path:/')).toEqual(expectedState('/', false));
    expect(values.get(`path:${dir}/dir/`)).toEqual(expectedState(`${dir}/dir/`, false));
    expect(values.get(`path:${join(dir, 'plain')}:content`)).toMatchObject({ contentBase64: Buffer.from('hello\n').toString('base64') });
  });

  test('a file the probing user cannot read fails its fact by name; a path behind a closed directory is absent to it', async () => {
    const unreadable = join(dir, 'unreadable');
    writeFileSync(unreadable, 'secret\n');
    chmodSync(unreadable, 0o000);
    const closed = join(dir, 'closed');
    mkdirSync(closed);
    writeFileSync(join(closed, 'inside'), 'x');
    // Closed to the probing user: root's 0700 for nobody, or 0000 for its own owner.
    chmodSync(closed, asRoot ? 0o700 : 0o000);
    // Root reads everything: the probe then runs as nobody, as a run without become would.
    const options = asRoot ? { user: NOBODY } : {};
    if (!asRoot) expect(() => readFileSync(unreadable)).toThrow();
    const probe = probeLocally([pathFact(join(dir, 'plain')), pathFact(unreadable)], undefined, options);
    await expect(probe).rejects.toThrow(FactParseError);
    await expect(probe).rejects.toThrow(`cannot read fact path:${unreadable}: sha256sum printed no hash for it (the file is unreadable, or changed while it was probed)`);
    const behind = await probeLocally([pathFact(join(closed, 'inside')), pathFact(join(dir, 'plain'))], undefined, options);
    expect(behind.get(`path:${join(closed, 'inside')}`)).toEqual({ type: 'absent' });
    expect((behind.get(`path:${join(dir, 'plain')}`) as PathState).sha256).toBe(createHash('sha256').update('hello\n').digest('hex'));
    chmodSync(closed, 0o700);
  });
});
