import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { commitRestoreScript, parseCommitSteps, restoreLayout, type RestoreLayout } from '../../src/backup/plan.js';

// A restore's commit (stop, swap, start, remove in one request) run by sh on a staged directory,
// with docker and, where a case needs it, mv replaced by stubs that log or fail.

let work: string;
let bin: string;
const ID = 'c'.repeat(64);

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'hy-commit-'));
  bin = join(work, 'bin');
  mkdirSync(bin);
  mkdirSync(join(work, 'undo'), { mode: 0o700 });
  mkdirSync(join(work, 'data'));
  writeFileSync(join(work, 'data/file.txt'), 'current\n');
  mkdirSync(join(work, 'data.halyard-restore'));
  writeFileSync(join(work, 'data.halyard-restore/file.txt'), 'restored\n');
});

afterEach(() => rmSync(work, { recursive: true, force: true }));

// A docker that logs its calls; `start` or `stop` fails when named in `failing`.
function stubDocker(failing: 'start' | 'stop' | undefined): void {
  const fail = failing ? `[ "$1" = ${failing} ] && { echo "docker ${failing} failed" >&2; exit 1; }\n` : '';
  writeFileSync(join(bin, 'docker'), `#!/bin/sh\necho "$*" >> '${join(work, 'docker.log')}'\n${fail}exit 0\n`, { mode: 0o755 });
}

// Runs the commit as the run's shell would: root's undo record in $HALYARD_UNDO.
function commit(layout: RestoreLayout = restoreLayout(join(work, 'data'), false)): { status: number | null; steps: ReturnType<typeof parseCommitSteps>['steps']; rest: string; record: string | undefined } {
  const record = join(work, 'undo/run.1');
  const run = spawnSync('sh', ['-c', commitRestoreScript(layout, [ID])], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, HALYARD_UNDO: record } });
  const { steps, rest } = parseCommitSteps(run.stdout + run.stderr);
  return { status: run.status, steps, rest, record: existsSync(record) ? readFileSync(record, 'utf8') : undefined };
}

const content = () => readFileSync(join(work, 'data/file.txt'), 'utf8');
const besideData = () => readdirSync(work).filter((name) => name.startsWith('data.')).sort();
const dockerCalls = () => readFileSync(join(work, 'docker.log'), 'utf8').trim().split('\n');

// Polls `check` until it holds (the background deletion), for at most 10 s.
async function eventually(check: () => boolean): Promise<void> {
  for (const started = Date.now(); !check(); ) {
    if (Date.now() - started > 10_000) throw new Error('still not so after 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('commitRestoreScript', () => {
  test('stops, swaps the staging in, starts, clears the record and deletes the replaced data in the background, with what an interrupted deletion left', async () => {
    stubDocker(undefined);
    mkdirSync(join(work, 'data.halyard-old.Ab12Cd34/data.halyard-old'), { recursive: true });
    // rm of the replaced data takes a second here: the commit does not wait for it.
    const realRm = spawnSync('sh', ['-c', 'command -v rm'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(join(bin, 'rm'), `#!/bin/sh
case "$*" in *.halyard-old.*) sleep 1 ;; esac
exec ${realRm} "$@"
`, { mode: 0o755 });
    const started = Date.now();
    const result = commit();
    expect(Date.now() - started).toBeLessThan(900);
    expect(result.steps).toEqual({ stop: '0', swap: '0', start: '0', remove: '0' });
    expect(content()).toBe('restored\n');
    expect(besideData()).toHaveLength(2);
    expect(besideData().every((name) => /^data\.halyard-old\.[A-Za-z0-9]{8}$/.test(name))).toBe(true);
    expect(dockerCalls()).toEqual([`stop -t 30 ${ID}`, `start ${ID}`]);
    expect(result.record).toBeUndefined();
    await eventually(() => besideData().length === 0);
  });

  test('a target that did not exist leaves nothing to delete', () => {
    stubDocker(undefined);
    rmSync(join(work, 'data'), { recursive: true });
    const result = commit();
    expect(result.steps).toEqual({ stop: '0', swap: '0', start: '0', remove: '0' });
    expect(content()).toBe('restored\n');
    expect(besideData()).toEqual([]);
  });

  test('a swap failing halfway puts the data back, drops the staging and still starts the containers', () => {
    stubDocker(undefined);
    const realMv = spawnSync('sh', ['-c', 'command -v mv'], { encoding: 'utf8' }).stdout.trim();
    // The first mv (the data aside) works, the second (the staging in) fails.
    writeFileSync(join(bin, 'mv'), `#!/bin/sh\ncase "$1" in *.halyard-restore) echo "mv: cannot move $1" >&2; exit 1 ;; esac\nexec ${realMv} "$@"\n`, { mode: 0o755 });
    const result = commit();
    expect(result.steps).toEqual({ stop: '0', swap: '1', start: '0' });
    expect(result.rest).toContain('mv: cannot move');
    expect(content()).toBe('current\n');
    expect(besideData()).toEqual([]);
    expect(dockerCalls()).toEqual([`stop -t 30 ${ID}`, `start ${ID}`]);
    expect(result.record).toBeUndefined();
  });

  test('a container that does not start keeps the record and the replaced data for the guard', () => {
    stubDocker('start');
    const result = commit();
    expect(result.steps).toEqual({ stop: '0', swap: '0', start: '1' });
    expect(content()).toBe('restored\n');
    expect(besideData()).toEqual(['data.halyard-old']);
    expect(result.record).toBe(`container ${ID}\n`);
  });

  test('a stop that fails swaps nothing: the data stays, the staging goes, the containers are started', () => {
    stubDocker('stop');
    const result = commit();
    expect(result.steps).toEqual({ stop: '1', swap: 'skipped', start: '0' });
    expect(content()).toBe('current\n');
    expect(besideData()).toEqual([]);
    expect(result.record).toBeUndefined();
  });
});

describe('commitRestoreScript into a mount point (staged inside it: no rename can move a mount point)', () => {
  const target = () => join(work, 'mnt');
  const entries = () => readdirSync(target()).sort();
  const stat = () => statSync(target());

  beforeEach(() => {
    // The target's own owner and mode (a service's), and a staging tar gave another pair.
    mkdirSync(join(target(), 'sub'), { recursive: true });
    writeFileSync(join(target(), 'old.txt'), 'old\n');
    writeFileSync(join(target(), '.hidden'), 'old hidden\n');
    writeFileSync(join(target(), 'sub/x'), 'old x\n');
    chownSync(target(), 1234, 1234);
    chmodSync(target(), 0o700);
    mkdirSync(join(target(), '.halyard-restore/sub'), { recursive: true });
    writeFileSync(join(target(), '.halyard-restore/new.txt'), 'new\n');
    writeFileSync(join(target(), '.halyard-restore/sub/y'), 'new y\n');
    chownSync(join(target(), '.halyard-restore'), 10001, 10001);
    chmodSync(join(target(), '.halyard-restore'), 0o755);
  });

  const old = () => {
    expect(entries()).toEqual(['.hidden', 'old.txt', 'sub']);
    expect(readFileSync(join(target(), 'sub/x'), 'utf8')).toBe('old x\n');
    expect(stat().uid).toBe(1234);
    expect(stat().mode & 0o7777).toBe(0o700);
  };

  const realMv = () => spawnSync('sh', ['-c', 'command -v mv'], { encoding: 'utf8' }).stdout.trim();

  test('swaps the entries: the staged ones in, with the staging\'s owner and mode, the replaced ones deleted before it answers', () => {
    stubDocker(undefined);
    const result = commit(restoreLayout(`${target()}/`, true));
    expect(result.steps).toEqual({ stop: '0', swap: '0', start: '0', remove: '0' });
    expect(entries()).toEqual(['new.txt', 'sub']);
    expect(readdirSync(join(target(), 'sub'))).toEqual(['y']);
    expect(stat().uid).toBe(10001);
    expect(stat().mode & 0o7777).toBe(0o755);
    expect(dockerCalls()).toEqual([`stop -t 30 ${ID}`, `start ${ID}`]);
    expect(result.record).toBeUndefined();
  });

  test('a swap failing while the staged entries move in puts the replaced ones back, owner and mode too, and drops the staging', () => {
    stubDocker(undefined);
    // The first `mv -t TARGET -- STAGED...`: the first staged entry moves, then it fails (moving the
    // replaced entries back, also into the target, works).
    const failed = join(work, 'failed-once');
    writeFileSync(join(bin, 'mv'), `#!/bin/sh\nif [ "$1" = -t ] && [ "$2" = '${target()}' ] && [ ! -e '${failed}' ]; then : > '${failed}'; shift 3; '${realMv()}' -t '${target()}' -- "$1"; echo "mv: cannot move $2" >&2; exit 1; fi\nexec '${realMv()}' "$@"\n`, { mode: 0o755 });
    const result = commit(restoreLayout(target(), true));
    expect(result.steps).toEqual({ stop: '0', swap: '1', start: '0' });
    expect(result.rest).toContain('mv: cannot move');
    old();
    expect(dockerCalls()).toEqual([`stop -t 30 ${ID}`, `start ${ID}`]);
    expect(result.record).toBeUndefined();
  });

  test('a swap failing while the replaced entries move out puts them back and drops the staging', () => {
    stubDocker(undefined);
    writeFileSync(join(bin, 'mv'), `#!/bin/sh\ncase "$1 $2" in '-t '*.halyard-old.part) d=$2; shift 3; '${realMv()}' -t "$d" -- "$1"; echo "mv: cannot move $2" >&2; exit 1 ;; esac\nexec '${realMv()}' "$@"\n`, { mode: 0o755 });
    const result = commit(restoreLayout(target(), true));
    expect(result.steps).toEqual({ stop: '0', swap: '1', start: '0' });
    old();
  });
});
