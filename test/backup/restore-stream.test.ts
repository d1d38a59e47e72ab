import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { VolumeSpec } from '../../src/backup/config.js';
import { backupStreamScript, restoreLayout, restoreStreamScript, stagingPath } from '../../src/backup/plan.js';

// A restore's stream script run by sh on directories whose paths a backup file may name (any
// absolute path): the data lands in the staging beside the target, and a stream cut short leaves
// no staging behind.

let work: string;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'hy-restore-stream-'));
});

afterEach(() => rmSync(work, { recursive: true, force: true }));

const dirSpec = (path: string): VolumeSpec => ({ name: 'data', hosts: 'all', stop: [], kind: 'dir', path }) as VolumeSpec;

// sh reading `stream` on stdin, in the test's folder (where a path run as code would leave its mark).
function run(script: string, stream: Buffer): { status: number | null; stderr: string } {
  const result = spawnSync('sh', ['-c', script], { cwd: work, input: stream, encoding: 'buffer' });
  return { status: result.status, stderr: result.stderr.toString('utf8') };
}

describe('restoreStreamScript on paths with blanks, quotes and shell syntax', () => {
  const names = ['my data', "it's", 'a$(touch pwned)b', 'back\\slash', 'da\\ta', `both ' and "`, 'blanks at the end  '];

  test.each(names)('%s: the stream lands in the staging; cut short, it leaves none', (name) => {
    const source = join(work, 'source');
    mkdirSync(source);
    writeFileSync(join(source, 'file.txt'), 'restored\n');
    // The backup's own stream script makes the stream, as a backup would.
    const stream = spawnSync('sh', ['-c', backupStreamScript(dirSpec(source), source, 'gzip')], { encoding: 'buffer' });
    expect(stream.status).toBe(0);

    const target = join(work, name);
    const good = run(restoreStreamScript(dirSpec(target), restoreLayout(target, false), 'gzip'), stream.stdout);
    expect(good).toEqual({ status: 0, stderr: '' });
    expect(readFileSync(join(stagingPath(target), 'file.txt'), 'utf8')).toBe('restored\n');

    rmSync(stagingPath(target), { recursive: true });
    const cut = run(restoreStreamScript(dirSpec(target), restoreLayout(target, false), 'gzip'), stream.stdout.subarray(0, 40));
    expect(cut.status).toBe(1);
    expect(cut.stderr).toMatch(/\nhalyard backup: gzip exited 1, tar exited \d+\n$/);
    expect(cut.stderr).not.toMatch(/trap/);
    expect(existsSync(stagingPath(target))).toBe(false);
    // Nothing of the path ran as code.
    expect(readdirSync(work).sort()).toEqual(['source']);
  });
});

describe('no temp file on the host', () => {
  test('a backup and its restore stream where no temp file can be made (a full or read-only /tmp): both whole, both statuses read', () => {
    const source = join(work, 'source');
    mkdirSync(source);
    writeFileSync(join(source, 'file.txt'), 'restored\n');
    // mktemp fails in a TMPDIR that does not exist, as it fails to write in a full one.
    const env = { ...process.env, TMPDIR: join(work, 'no-such-tmp') };
    const stream = spawnSync('sh', ['-c', backupStreamScript(dirSpec(source), source, 'gzip')], { encoding: 'buffer', env });
    expect({ status: stream.status, stderr: stream.stderr.toString('utf8') }).toEqual({ status: 0, stderr: '' });
    const target = join(work, 'target');
    const restored = spawnSync('sh', ['-c', restoreStreamScript(dirSpec(target), restoreLayout(target, false), 'gzip')], { cwd: work, input: stream.stdout, encoding: 'buffer', env });
    expect({ status: restored.status, stderr: restored.stderr.toString('utf8') }).toEqual({ status: 0, stderr: '' });
    expect(readFileSync(join(stagingPath(target), 'file.txt'), 'utf8')).toBe('restored\n');
    // A failing side is still named with its status.
    const cut = spawnSync('sh', ['-c', restoreStreamScript(dirSpec(target), restoreLayout(target, false), 'gzip')], { cwd: work, input: stream.stdout.subarray(0, 40), encoding: 'buffer', env });
    expect(cut.status).toBe(1);
    expect(cut.stderr.toString('utf8')).toMatch(/\nhalyard backup: gzip exited 1, tar exited \d+\n$/);
  });
});
