// The run guard under a real sh on this machine: a hung request cannot keep the shell (and its
// lock) alive once the channel closes, and what a run recorded as "to undo" is undone when it
// dies, by its guard or by the next locked run. `docker` and `systemctl` are stand-ins here that
// log their arguments; test/backup/backup-lab.e2e.test.ts does the same against real containers.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CLEAR_UNDO, guardedShellScript, parseUndone, recordUndo, recoveryScript, type GuardTimings } from '../../src/engine/guard.js';
import { lockScript, parseLockOutcome } from '../../src/engine/lock.js';
import { RemoteShell } from '../../src/engine/remote-shell.js';
import type { ExecResult } from '../../src/ssh/types.js';

const OWNER = { runId: 'run1', controller: 'ctl', pid: 7, startedAt: '2026-12-05T00:00:00Z' };

// A scratch dir with stand-in docker/systemctl that log `NAME ARGS` to `calls`, an undo dir and lock dirs.
function scratch() {
  const base = mkdtempSync(join(tmpdir(), 'hy-guard-'));
  const bin = join(base, 'bin');
  mkdirSync(bin);
  for (const name of ['docker', 'systemctl']) {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> ${join(base, 'calls')}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const undoDir = join(base, 'undo');
  const calls = () => (existsSync(join(base, 'calls')) ? readFileSync(join(base, 'calls'), 'utf8') : '');
  return { base, bin, undoDir, calls, lockPaths: { rootDir: join(base, 'run-halyard'), userHome: join(base, 'home') } };
}

// Starts a guarded shell as root with the stand-ins first on PATH, in its own session and process
// group as sshd starts a session's command (so `signalSession` can signal it as sshd does).
function guarded(dir: ReturnType<typeof scratch>, timings?: GuardTimings, env: Record<string, string> = {}) {
  const started = Date.now();
  const child = spawn('sh', ['-c', guardedShellScript(dir.undoDir, timings)], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: `${dir.bin}:${process.env.PATH}`, ...env }, detached: true });
  const done = new Promise<ExecResult & { endedAfterMs: number }>((resolve) => {
    child.on('close', (code, signal) => resolve({ exitCode: code, signal, stdout: '', stderr: '', durationMs: Date.now() - started, endedAfterMs: Date.now() - started }));
  });
  return { child, shell: new RemoteShell({ stdin: child.stdin, stdout: child.stdout, done }), done };
}

// A zombie is not alive (this machine's pid 1 may not reap orphans).
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

// A killed process closes its files before it turns zombie: on a busy machine the pipe's end can
// reach us a moment before /proc shows it dead. Waits up to a second for each to finish exiting.
function expectDead(pids: number[]): Promise<void> {
  return vi.waitFor(() => {
    for (const pid of pids) expect(alive(pid), `pid ${pid}`).toBe(false);
  }, { timeout: 1_000, interval: 20 });
}

describe('run guard', () => {
  it('a record the disk refuses (full) fails with one line saying so, before the change it guards', () => {
    const dir = scratch();
    mkdirSync(dir.undoDir, { mode: 0o700 });
    // Writes to /dev/full fail as they do on a full disk.
    symlinkSync('/dev/full', join(dir.undoDir, 'run.1'));
    const run = spawnSync('sh', ['-c', `${recordUndo([{ kind: 'container', value: 'c0ffee' }])}\necho changed`], { env: { PATH: process.env.PATH, HALYARD_UNDO: join(dir.undoDir, 'run.1') }, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`halyard: could not write the undo record ${join(dir.undoDir, 'run.1')} (is its disk full?); nothing was changed\n`);
  });

  it('runs where no folder can be made in /tmp (a full disk): its FIFO goes to /dev/shm, and is gone after', async () => {
    const dir = scratch();
    const before = readdirSync('/dev/shm').filter((name) => name.startsWith('halyard-run.'));
    const run = guarded(dir, undefined, { TMPDIR: join(dir.base, 'no-such-tmp') });
    const reply = await run.shell.request('echo "shell $$"', { label: 'hello', timeoutMs: 10_000 });
    expect(reply.output).toMatch(/^shell \d+\n$/);
    expect(readdirSync('/dev/shm').filter((name) => name.startsWith('halyard-run.')).length).toBe(before.length + 1);
    await run.shell.close(20_000);
    expect((await run.done).exitCode).toBe(0);
    expect(readdirSync('/dev/shm').filter((name) => name.startsWith('halyard-run.'))).toEqual(before);
  });

  it('a request that never returns: once the channel closes, the shell and its children are stopped and the lock is free', async () => {
    const dir = scratch();
    mkdirSync(dir.lockPaths.userHome, { recursive: true });
    const first = guarded(dir);
    const locked = await first.shell.request(lockScript(first.shell.nonce, OWNER, 0, dir.lockPaths), { label: 'lock', timeoutMs: 10_000 });
    expect(parseLockOutcome(locked.output, first.shell.nonce).outcome.locked).toBe(true);
    const pidFile = join(dir.base, 'pids');
    await expect(first.shell.request(`sleep 600 & echo $! $$ > ${pidFile}; wait`, { label: 'hung', timeoutMs: 500 })).rejects.toThrow(/timed out/);
    const pids = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
    expect(pids.every(alive)).toBe(true);
    const closedAt = Date.now();
    await first.shell.close(20_000);
    const ended = Date.now() - closedAt;
    // Grace (2 s) before TERM; the default TERM ends sh and sleep.
    expect(ended).toBeLessThan(6_000);
    expect(ended).toBeGreaterThanOrEqual(1_500);
    await expectDead(pids);

    const second = guarded(dir);
    const again = await second.shell.request(lockScript(second.shell.nonce, { ...OWNER, runId: 'run2' }, 0, dir.lockPaths), { label: 'lock', timeoutMs: 10_000 });
    expect(parseLockOutcome(again.output, second.shell.nonce).outcome.locked).toBe(true);
    const closedQuickly = Date.now();
    await second.shell.close();
    // A shell that ends by itself is not waited for.
    expect(Date.now() - closedQuickly).toBeLessThan(1_500);
  }, 30_000);

  // sshd passes a channel's signal request (the controller abandoning a request, or a lock wait
  // given up) to the session's whole process group: killpg, measured against the lab's sshd. That
  // group holds the guard and its feeder, not the shell in its own session.
  it('a signal to the session (sshd killpg): the guard stops the hung shell at once, undoes its record and frees the lock', async () => {
    const dir = scratch();
    mkdirSync(dir.lockPaths.userHome, { recursive: true });
    const first = guarded(dir);
    const locked = await first.shell.request(lockScript(first.shell.nonce, OWNER, 0, dir.lockPaths), { label: 'lock', timeoutMs: 10_000 });
    expect(parseLockOutcome(locked.output, first.shell.nonce).outcome.locked).toBe(true);
    await first.shell.request(`( ${recordUndo([{ kind: 'container', value: 'c0ffee' }])} )`, { label: 'record', timeoutMs: 10_000 });
    const pidFile = join(dir.base, 'pids');
    await expect(first.shell.request(`sleep 600 & echo $! $$ > ${pidFile}; wait`, { label: 'hung', timeoutMs: 500 })).rejects.toThrow(/timed out/);
    const pids = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
    const signalledAt = Date.now();
    process.kill(-first.child.pid!, 'SIGTERM');
    // The channel stays open: the guard acts on the signal, not on the end of its stdin.
    const ended = await first.done;
    expect(Date.now() - signalledAt).toBeLessThan(1_500);
    expect(ended.exitCode).not.toBe(0);
    await expectDead(pids);
    expect(dir.calls()).toBe('docker start c0ffee\n');
    const second = guarded(dir);
    const again = await second.shell.request(lockScript(second.shell.nonce, { ...OWNER, runId: 'run2' }, 0, dir.lockPaths), { label: 'lock', timeoutMs: 10_000 });
    expect(parseLockOutcome(again.output, second.shell.nonce).outcome.locked).toBe(true);
    await second.shell.close();
    first.child.stdin.destroy();
  }, 30_000);

  it('a shell that ignores TERM is killed killAfterSeconds later; a signal before the shell exists stops it once it does', async () => {
    const dir = scratch();
    const first = guarded(dir, { graceSeconds: 2, killAfterSeconds: 1 });
    const pidFile = join(dir.base, 'pids');
    await expect(first.shell.request(`trap '' TERM; sleep 600 & echo $! $$ > ${pidFile}; wait`, { label: 'stubborn', timeoutMs: 500 })).rejects.toThrow(/timed out/);
    const pids = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
    const signalledAt = Date.now();
    process.kill(-first.child.pid!, 'SIGTERM');
    await first.done;
    const took = Date.now() - signalledAt;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(4_000);
    await expectDead(pids);
    first.child.stdin.destroy();

    // TERM while the guard still makes its FIFO (a slow mkfifo stand-in): the shell never runs a request.
    writeFileSync(join(dir.bin, 'mkfifo'), `#!/bin/sh\nsleep 0.5\nexec /usr/bin/mkfifo "$@"\n`);
    chmodSync(join(dir.bin, 'mkfifo'), 0o755);
    const early = guarded(dir);
    await new Promise((resolve) => setTimeout(resolve, 150));
    process.kill(-early.child.pid!, 'SIGTERM');
    early.child.stdin.write(`touch ${join(dir.base, 'ran')}\n`);
    await early.done;
    expect(existsSync(join(dir.base, 'ran'))).toBe(false);
    early.child.stdin.destroy();
  }, 30_000);

  // Paths are whole lines' rest: blanks inside and at the end are the path's own.
  it.each(['data', 'my  data  '])('a shell killed outright: its guard undoes the record (staging removed, swap put back, containers and services started): %j', async (name) => {
    const dir = scratch();
    const target = join(dir.base, name);
    mkdirSync(`${target}.halyard-old`);
    writeFileSync(join(`${target}.halyard-old`, 'keep'), 'old data');
    mkdirSync(`${target}.halyard-restore`);
    const { shell, done } = guarded(dir);
    const recorded = await shell.request(
      `( ${recordUndo([
        { kind: 'container', value: 'c0ffee' },
        { kind: 'service', value: 'app.service' },
        { kind: 'staging', value: `${target}.halyard-restore` },
        { kind: 'swap', value: target },
      ])} )`,
      { label: 'record', timeoutMs: 10_000 },
    );
    expect(recorded.exitCode).toBe(0);
    const records = readFileSync(join(dir.undoDir, (await shell.request('echo "${HALYARD_UNDO##*/}"', { label: 'name', timeoutMs: 5_000 })).output.trim()), 'utf8');
    expect(records).toBe(`container c0ffee\nservice app.service\nstaging ${target}.halyard-restore\nswap ${target}\n`);
    // The shell dies at once, mid-run; its stdin is still open.
    const diedAt = Date.now();
    await expect(shell.request('kill -KILL $$', { label: 'die', timeoutMs: 10_000 })).rejects.toThrow(/die/);
    await done;
    // The guard noticed at once, not at a timeout.
    expect(Date.now() - diedAt).toBeLessThan(3_000);
    expect(dir.calls()).toBe('docker start c0ffee\nsystemctl start app.service\n');
    expect(readFileSync(join(target, 'keep'), 'utf8')).toBe('old data');
    expect(existsSync(`${target}.halyard-restore`)).toBe(false);
    expect(existsSync(`${target}.halyard-old`)).toBe(false);
  }, 30_000);

  it('a run that clears its record leaves nothing to undo', async () => {
    const dir = scratch();
    const { shell } = guarded(dir);
    await shell.request(`( ${recordUndo([{ kind: 'container', value: 'c0ffee' }])} ) && ${CLEAR_UNDO}`, { label: 'record', timeoutMs: 10_000 });
    await shell.close();
    expect(dir.calls()).toBe('');
  }, 30_000);

  it('a swap inside a mount point that a run died in is put back, at either stage; a finished one keeps the new data and loses the replaced', async () => {
    const dir = scratch();
    mkdirSync(dir.undoDir, { mode: 0o700 });
    const at = (name: string) => join(dir.base, name);
    const files = (name: string) => readdirSync(at(name)).sort();
    // Died while the replaced entries moved out: one is out, one still in; the staging is whole.
    mkdirSync(at('moving/.halyard-old.part'), { recursive: true });
    writeFileSync(at('moving/.halyard-old.part/a'), 'old a');
    writeFileSync(at('moving/b'), 'old b');
    mkdirSync(at('moving/.halyard-restore'));
    writeFileSync(at('moving/.halyard-restore/new'), 'new');
    // Died while the staged entries moved in: the target has one of them and the staging's mode.
    mkdirSync(at('moved/.halyard-old.moving'), { recursive: true });
    writeFileSync(at('moved/.halyard-old.moving/a'), 'old a');
    chmodSync(at('moved/.halyard-old.moving'), 0o700);
    writeFileSync(at('moved/new1'), 'new 1');
    chmodSync(at('moved'), 0o755);
    mkdirSync(at('moved/.halyard-restore'));
    writeFileSync(at('moved/.halyard-restore/new2'), 'new 2');
    // Died after the swap, before the replaced data was deleted.
    mkdirSync(at('done/.halyard-old'), { recursive: true });
    writeFileSync(at('done/.halyard-old/a'), 'old a');
    writeFileSync(at('done/new'), 'new');
    ['moving', 'moved', 'done'].forEach((name, index) => writeFileSync(join(dir.undoDir, `run.99999999${index}`), `staging ${at(name)}/.halyard-restore\nswap-inside ${at(name)}\n`));
    const { shell } = guarded(dir);
    const reply = await shell.request(recoveryScript(shell.nonce, dir.undoDir), { label: 'recover', timeoutMs: 10_000 });
    await shell.close();
    const undone = parseUndone(reply.output, shell.nonce).undone;
    expect(undone.filter((line) => line.startsWith('swap ')).sort()).toEqual([`swap ${at('moved')}`, `swap ${at('moving')}`]);
    expect(files('moving')).toEqual(['a', 'b']);
    expect(files('moved')).toEqual(['a']);
    expect(readFileSync(at('moved/a'), 'utf8')).toBe('old a');
    expect(statSync(at('moved')).mode & 0o777).toBe(0o700);
    expect(files('done')).toEqual(['new']);
  }, 30_000);

  it("the next locked run undoes the records of runs that died with their guard, never a live run's", async () => {
    const dir = scratch();
    mkdirSync(dir.undoDir, { mode: 0o700 });
    // Its last line was cut short (a full disk): a kind without a value is skipped, the rest undone.
    const staged = join(dir.base, 'da\\ta.halyard-restore');
    mkdirSync(staged);
    writeFileSync(join(dir.undoDir, 'run.999999999'), `container dead1\nswap\nstaging ${staged}\n`);
    writeFileSync(join(dir.undoDir, `run.${process.pid}`), 'container live1\n');
    writeFileSync(join(dir.undoDir, 'run.999999998.undoing.999999997'), 'container dead2\n');
    const { shell } = guarded(dir);
    const reply = await shell.request(recoveryScript(shell.nonce, dir.undoDir), { label: 'recover', timeoutMs: 10_000 });
    await shell.close();
    expect(parseUndone(reply.output, shell.nonce).undone.sort()).toEqual(['container dead1', 'container dead2', `staging ${staged}`]);
    expect(existsSync(staged)).toBe(false);
    expect(dir.calls().split('\n').filter(Boolean).sort()).toEqual(['docker start dead1', 'docker start dead2']);
    expect(existsSync(join(dir.undoDir, `run.${process.pid}`))).toBe(true);
    expect(existsSync(join(dir.undoDir, 'run.999999999'))).toBe(false);
  }, 30_000);
});
