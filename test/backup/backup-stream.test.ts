import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { VolumeSpec } from '../../src/backup/config.js';
import { CHANGED_EXAMPLES, backupStreamScript, parseChangedWhileRead } from '../../src/backup/plan.js';

// A directory backup's stream script run by sh with the real tar and gzip: a directory written
// while tar reads it is still backed up (tar's exit 1 is a warning, counted on stderr), any other
// failure of tar fails the stream with tar's own message, and no temp file is left either way.

let work: string;
let temp: string;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'hy-backup-stream-'));
  temp = join(work, 'tmp');
  mkdirSync(temp);
});

afterEach(() => rmSync(work, { recursive: true, force: true }));

const dirSpec = (path: string): VolumeSpec => ({ name: 'data', hosts: 'all', stop: [], kind: 'dir', path }) as VolumeSpec;

function stream(path: string): { status: number | null; stdout: Buffer; stderr: string } {
  const result = spawnSync('sh', ['-c', backupStreamScript(dirSpec(path), path, 'gzip')], { env: { ...process.env, TMPDIR: temp }, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8') };
}

// The names of the files in a gzipped tar stream.
function listed(archive: Buffer): string[] {
  const result = spawnSync('tar', ['-tzf', '-'], { input: archive, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.split('\n').filter((name) => name !== '' && name !== './').sort();
}

describe('backupStreamScript (dir) run by sh', () => {
  test('a quiet directory: the archive holds every file, stderr is empty, no temp file is left', () => {
    const source = join(work, 'source');
    mkdirSync(source);
    writeFileSync(join(source, 'a.txt'), 'a\n');
    writeFileSync(join(source, 'b.txt'), 'b\n');
    const result = stream(source);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(listed(result.stdout)).toEqual(['./a.txt', './b.txt']);
    expect(parseChangedWhileRead(result.stderr)).toBeUndefined();
    expect(readdirSync(temp)).toEqual([]);
  });

  test('a directory written while tar reads it is backed up: exit 0, the archive whole, the changed files counted and named on stderr', async () => {
    const source = join(work, 'source');
    mkdirSync(source);
    writeFileSync(join(source, 'big.log'), Buffer.alloc(32 * 1024 * 1024, 'l'));
    writeFileSync(join(source, 'quiet.txt'), 'quiet\n');
    // A service appending to its log the whole time (tar compares a file's size and times after reading it).
    const writer = spawn('sh', ['-c', 'while :; do echo line >> "$1"; done', 'writer', join(source, 'big.log')], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      // On a loaded machine the writer may not run while tar reads the file: a few tries at most.
      let result = stream(source);
      for (let attempt = 1; attempt < 5 && parseChangedWhileRead(result.stderr) === undefined; attempt += 1) result = stream(source);
      expect(result.status, result.stderr).toBe(0);
      const changed = parseChangedWhileRead(result.stderr);
      expect(changed, result.stderr).toBeDefined();
      expect(changed!.count).toBeGreaterThanOrEqual(1);
      expect(changed!.examples.length).toBe(Math.min(changed!.count, CHANGED_EXAMPLES));
      expect(changed!.examples.join('\n')).toMatch(/^tar: \.\/big\.log: (file changed as we read it|File shrank by \d+ bytes; padding with zeros)$/m);
      expect(listed(result.stdout)).toEqual(['./big.log', './quiet.txt']);
      expect(readdirSync(temp)).toEqual([]);
    } finally {
      writer.kill('SIGKILL');
    }
  });

  test("tar's failure (the directory is gone) fails the stream with tar's message and both statuses; no temp file is left", () => {
    const result = stream(join(work, 'gone'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^tar: .*gone: Cannot open: No such file or directory\n(.*\n)*halyard backup: tar exited 2, gzip exited 0\n$/);
    expect(parseChangedWhileRead(result.stderr)).toBeUndefined();
    expect(readdirSync(temp)).toEqual([]);
  });
});

describe('parseChangedWhileRead', () => {
  const mark = (count: string) => `\u001ehalyard-changed-while-read ${count}`;

  test("the count after the mark, and tar's messages printed before it (at most CHANGED_EXAMPLES, never more than the count)", () => {
    const messages = ['tar: ./a: file changed as we read it', 'tar: ./b: File removed before we read it', 'tar: ./c: file changed as we read it', 'tar: ./d: file changed as we read it', 'tar: ./e: file changed as we read it'];
    expect(parseChangedWhileRead(`${messages.join('\n')}\n${mark('12')}\n`)).toEqual({ count: 12, examples: messages });
    expect(parseChangedWhileRead(`sudo: a note\n${messages[0]}\n${mark('1')}\n`)).toEqual({ count: 1, examples: [messages[0]] });
    // wc -l pads its count on some systems.
    expect(parseChangedWhileRead(`${messages[0]}\n${messages[1]}\n${mark('      2')}\n`)).toEqual({ count: 2, examples: messages.slice(0, 2) });
  });

  test('no mark, or one without a count, is no change', () => {
    expect(parseChangedWhileRead('')).toBeUndefined();
    expect(parseChangedWhileRead('tar: ./a: file changed as we read it\n')).toBeUndefined();
    expect(parseChangedWhileRead(`${mark('')}\n`)).toBeUndefined();
    expect(parseChangedWhileRead(`${mark('many')}\n`)).toBeUndefined();
  });
});
